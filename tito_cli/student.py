"""`tito module status | start NN | complete NN | test NN`: the student loop.

The course source (``modules/``) is never written by this loop. A student
works in a workspace of their own, ``work/NN_name/`` (git-ignored):

* ``start`` writes ``work/NN_name/name.py`` (and ``name.ipynb`` when jupytext
  is installed): the module with every solution replaced by a stub that names
  its task, or the module as it is when it is already a release (a kit);
* ``complete`` exports the student's copy into the package, checks that it
  imports (putting the package back on every other outcome), runs the
  module's tests with a time box per test, and records the result;
* ``.tito/progress.json`` holds, per module, what ``start`` wrote and what the
  last ``complete`` exported and measured; ``.tito/backups/`` keeps a
  student's file before ``start --force`` replaces it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tito_cli import CommandError, package_env, require
from tito_cli.export import ExportError, atomic_write, check_writable, companion_texts, parse_cells, render
from tito_cli.manifest import MILESTONES, MODULES, Module, find_module
from tito_cli.scaffold import STUB_MESSAGE, TASK_PATTERN, has_solutions, scaffold

WORKSPACE = Path("work")
TEST_TIMEOUT = 120.0  # seconds one test (or the import check) may run before tito stops it
IMPORT_OK = "tito: import finished"
_STUB_RAISED = re.compile(r"NotImplementedError: task (\d+)\.(\d+): " + re.escape(STUB_MESSAGE))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _escape(text: object) -> str:
    from rich.markup import escape

    return escape(str(text))


class Workspace:
    """A project's student state: the copies in ``work/``, and ``.tito/`` (progress, backups)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / ".tito"

    def copy(self, module: Module) -> Path:
        """The student's percent file of ``module``: ``work/NN_name/name.py``."""
        return self.root / WORKSPACE / module.slug / f"{module.name}.py"

    def notebook(self, module: Module) -> Path:
        return self.copy(module).with_suffix(".ipynb")

    def progress(self) -> dict:
        path = self.folder / "progress.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return {}  # a damaged progress file costs the history, never the command

    def record(self, module: Module, **fields) -> None:
        progress = self.progress()
        progress.setdefault(module.slug, {}).update(fields)
        atomic_write(self.folder / "progress.json", json.dumps(progress, indent=2, sort_keys=True) + "\n")

    def backup(self, module: Module, path: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.folder / "backups" / module.slug / f"{stamp}-{path.name}"
        counter = 1
        while target.exists():
            target = target.with_name(f"{stamp}-{counter}-{path.name}")
            counter += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        return target


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def course_text(root: Path, module: Module) -> str:
    source = root / module.source
    if not source.exists():
        raise CommandError(f"{module.source.as_posix()} is missing; `git checkout -- {module.source.as_posix()}` "
                           "restores it")
    return source.read_text(encoding="utf-8")


def release_text(text: str, filename: str) -> str:
    """What a student starts from: the source with solutions stubbed, or the source itself if it is a release."""
    return scaffold(text, filename) if has_solutions(text) else text


def _notebook_text(path: Path) -> str:
    import jupytext

    return jupytext.writes(jupytext.read(path), fmt="py:percent")


def _export_cells(root: Path, module: Module, text: str) -> str:
    """What the package would receive from ``text`` (an ExportError is shown as such)."""
    try:
        return render(module, text, companions=companion_texts(root, module))
    except ExportError as error:
        return f"<does not export: {error}>"


def student_source(root: Path, module: Module, choice: str | None = None) -> tuple[str, Path]:
    """The text of the student's module and the file it came from.

    With both ``name.py`` and ``name.ipynb`` present and differing in what
    they export, the one still as ``start`` wrote it is not the work; when both
    were edited tito does not guess (a notebook autosave is not a decision):
    ``choice`` ("py" or "ipynb", from ``--from``) must say which.
    """
    workspace = Workspace(root)
    py, notebook = workspace.copy(module), workspace.notebook(module)
    if not py.exists() and not notebook.exists():
        raise CommandError(f"you have not started module {module.number} ({module.name}): "
                           f"`tito module start {module.number}` writes your copy to "
                           f"{_rel(root, py.parent)}/")
    if choice == "py" or (choice is None and not notebook.exists()):
        if not py.exists():
            raise CommandError(f"{_rel(root, py)} does not exist; use --from ipynb")
        return py.read_text(encoding="utf-8"), py
    require("jupytext", f"to read {_rel(root, notebook)}")
    if choice == "ipynb" or not py.exists():
        if not notebook.exists():
            raise CommandError(f"{_rel(root, notebook)} does not exist; use --from py")
        return _notebook_text(notebook), notebook
    py_text, nb_text = py.read_text(encoding="utf-8"), _notebook_text(notebook)
    if _export_cells(root, module, py_text) == _export_cells(root, module, nb_text):
        return py_text, py
    edited = _edited(workspace, module, workspace.progress().get(module.slug, {}))
    if edited == [py]:  # the notebook is as `start` wrote it: the work is in the .py file
        return py_text, py
    if edited == [notebook]:
        return nb_text, notebook
    newer = "the notebook" if notebook.stat().st_mtime > py.stat().st_mtime else "the .py file"
    raise CommandError(f"you edited both {_rel(root, py)} and {notebook.name} and they differ in their export "
                       f"cells ({newer} was saved last); say which one holds your work: "
                       f"`tito module complete {module.number} --from py` or `--from ipynb`")


# ---- start -------------------------------------------------------------------------

def _edited(workspace: Workspace, module: Module, record: dict) -> list[Path]:
    """The student's files that differ from what `start` wrote (work tito must not overwrite silently)."""
    edited = []
    for path, key in ((workspace.copy(module), "scaffold_sha"), (workspace.notebook(module), "notebook_sha")):
        if path.exists() and _sha(path.read_text(encoding="utf-8")) != record.get(key):
            edited.append(path)
    return edited


def _write_notebook(text: str, path: Path) -> str | None:
    """The percent text as a notebook beside it; its checksum, or None without jupytext."""
    try:
        import jupytext
    except ImportError:
        return None
    content = jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="ipynb")
    atomic_write(path, content)
    return _sha(content)


def tasks_of(text: str) -> list[str]:
    return sorted(set(TASK_PATTERN.findall(text)), key=lambda t: tuple(int(p) for p in t.split(".")))


def start(root: Path, module: Module, force: bool) -> int:
    workspace = Workspace(root)
    text = course_text(root, module)
    try:
        student_text = release_text(text, module.source.as_posix())
        render(module, student_text, companions=companion_texts(root, module))  # the copy must export as it is
    except (ValueError, ExportError) as error:
        raise CommandError(f"cannot build your copy of module {module.number}: {error}") from None
    record = workspace.progress().get(module.slug, {})
    edited = _edited(workspace, module, record)
    if edited and not force:
        names = " and ".join(_rel(root, p) for p in edited)
        raise CommandError(f"{names} holds your edits; `tito module start {module.number} --force` replaces them, "
                           "keeping a backup in .tito/backups/")
    backups = [workspace.backup(module, path) for path in edited]
    py, notebook = workspace.copy(module), workspace.notebook(module)
    atomic_write(py, student_text)
    notebook_sha = _write_notebook(student_text, notebook)
    if notebook_sha is None and notebook.exists():
        notebook.unlink()  # backed up above if edited; a stale notebook would disagree with the new copy
    workspace.record(module, scaffold_sha=_sha(student_text), notebook_sha=notebook_sha,
                     started=time.strftime("%Y-%m-%d %H:%M:%S"))
    tasks = tasks_of(student_text)
    print(f"module {module.number} ({module.name}) is ready for you: {_rel(root, py)}"
          + (f" and {_rel(root, notebook)}" if notebook_sha else ""))
    if notebook_sha is None:
        print(f"no notebook was written: jupytext is not installed (`pip install -e \".[dev]\"`, then "
              f"`jupytext --to ipynb {_rel(root, py)}`); the .py file is all you need")
    print(f"your tasks: {', '.join(tasks)} (each TODO names its task; `pytest -m task_{tasks[0].replace('.', '_')}` "
          "runs one task's tests once exported)" if tasks else "this module has no tasks")
    for backup in backups:
        print(f"backup of your previous file: {_rel(root, backup)}")
    print(f"when you are done: tito module complete {module.number}")
    return 0


# ---- tests ----------------------------------------------------------------------

@dataclass
class TestResult:
    name: str
    outcome: str  # passed, failed, error, skipped, waiting (stopped at a later module's stub)
    tasks: list[str] = field(default_factory=list)  # "4.1", from the test's task markers
    statement: str = ""  # the line that failed
    message: str = ""  # pytest's explanation: the values it compared


def _read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the last line of a killed process may be cut short
    return events


def run_tests(root: Path, module: Module, timeout: float = TEST_TIMEOUT) -> list[TestResult]:
    """Run the module's pytest file in a fresh interpreter, each test time-boxed; the results as measured."""
    require("pytest", "to run the module's tests")
    tests = root / module.tests
    if not tests.exists():
        raise CommandError(f"{module.tests.as_posix()} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.jsonl"
        command = [sys.executable, "-m", "pytest", str(tests), "-q", "--tb=short", "-p", "no:cacheprovider",
                   "-p", "tito_cli.pytest_report", f"--tito-report={report}", f"--tito-timeout={timeout:g}"]
        env = dict(package_env(root), MPLBACKEND="Agg")
        try:
            completed = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env,
                                       timeout=max(1800.0, 20 * timeout))
            output = (completed.stdout + completed.stderr).strip()
        except subprocess.TimeoutExpired:
            output = "the test run as a whole took too long and was stopped"
        events = _read_events(report)
    if not events:
        last = output.splitlines()[-3:] or ["no output"]
        raise CommandError(f"pytest could not run {module.tests.as_posix()}: {' / '.join(last)}")
    results = [TestResult(e["name"], e["outcome"], [t[len("task_"):].replace("_", ".") for t in e["tasks"]],
                          e.get("statement", ""), e.get("message", ""))
               for e in events if e["event"] == "result"]
    finished = {e["nodeid"] for e in events if e["event"] == "result"}
    for event in events:
        if event["event"] == "start" and event["nodeid"] not in finished:
            results.append(TestResult(event["name"], "error", [t[len("task_"):].replace("_", ".") for t in event["tasks"]],
                                      message=f"the test process ended during this test (os._exit, a crash, or more "
                                              f"than {timeout:g} s inside compiled code); the tests after it did not run"))
    return _waiting(module, results)


def _waiting(module: Module, results: list[TestResult]) -> list[TestResult]:
    """Mark the failures that stopped at the stub of a later module's task: they wait for that module.

    In a kit, module 01's tests of ``backward`` reach the engine of module 05:
    until the student completes 05 such a test cannot pass, and it is not
    module 01's failure. tito says so instead of counting it as failed.
    """
    for r in results:
        found = _STUB_RAISED.search(r.message) if r.outcome in ("failed", "error") else None
        if found and int(found.group(1)) > int(module.number):
            later = next((m for m in MODULES if int(m.number) == int(found.group(1))), None)
            r.outcome = "waiting"
            r.message = (f"stopped at task {found.group(1)}.{found.group(2)} of module "
                         f"{later.slug if later else found.group(1)}: it runs once you complete that module")
    return results


def task_points(text: str) -> dict[str, float]:
    """Points of each task: the nbgrader-graded cells after a task's solution, until the next task."""
    points: dict[str, float] = {}
    task = None
    for cell in parse_cells(text):
        found = tasks_of("\n".join(cell.lines))
        if found:
            task = found[-1]
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade") and task is not None:
            points[task] = points.get(task, 0.0) + float(grading.get("points", 0))
    return points


def report_tests(module: Module, results: list[TestResult], points: dict[str, float]) -> tuple[int, int]:
    """A table per task (passed/total, points), then each failure with its check and values; (passed, not passed)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    passed = [r for r in results if r.outcome == "passed"]
    waiting = [r for r in results if r.outcome == "waiting"]
    others = [r for r in results if r.outcome not in ("passed", "waiting")]
    by_task: dict[str, list[TestResult]] = {}
    for r in results:
        for task in r.tasks or ["-"]:
            by_task.setdefault(task, []).append(r)
    order = sorted(by_task, key=lambda t: (t == "-", tuple(int(p) for p in t.split(".")) if t != "-" else ()))
    table = Table(title=f"{module.slug}: tests per task")
    for column in ("task", "passed", "points", ""):
        table.add_column(column)
    for task in order:
        group = by_task[task]
        ok = sum(r.outcome == "passed" for r in group)
        held = sum(r.outcome == "waiting" for r in group)
        mark = "[green]done[/green]" if ok + held == len(group) else "[red]not yet[/red]"
        if held:
            mark += f" ({held} waiting for a later module)"
        worth = f"{points[task]:g}" if task in points else "-"
        table.add_row("other tests" if task == "-" else f"task {task}", f"{ok}/{len(group)}", worth, mark)
    console.print(table)
    for r in waiting:
        console.print(f"[yellow]WAITING[/yellow]  {_escape(r.name)}: {_escape(r.message)}")
    for r in others:
        where = f"task {', '.join(r.tasks)}" if r.tasks else "other test"
        console.print(f"[red]{r.outcome.upper()}[/red]  {_escape(where)}  {_escape(r.name)}")
        if r.statement:
            console.print(f"        check: {_escape(r.statement)}")
        lines = [line.rstrip() for line in r.message.splitlines() if line.strip()][:8]
        for number, line in enumerate(lines):
            console.print(f"        {'got:  ' if number == 0 else '      '}{_escape(line[:300])}")
    console.print(f"{module.slug}: {len(passed)} passed, {len(others)} failed"
                  + (f", {len(waiting)} waiting for later modules" if waiting else ""))
    return len(passed), len(others)


# ---- complete -------------------------------------------------------------------

def _import_problem(root: Path, module: Module, timeout: float) -> str | None:
    """None if the package module imports and the import returns; otherwise what went wrong."""
    # The marker is printed after the import: an import that calls sys.exit(0) or os._exit(0)
    # ends with code 0 too, but never prints it.
    code = (f"import importlib\n"
            f"try:\n"
            f"    importlib.import_module({module.target!r})\n"
            f"except SystemExit as stop:\n"
            f"    raise RuntimeError(f'importing it called sys.exit({{stop.code!r}})') from None\n"
            f"print({IMPORT_OK!r})\n")
    try:
        completed = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                                   timeout=timeout, env=package_env(root))
    except subprocess.TimeoutExpired:
        return f"importing it did not finish in {timeout:g} s: is there an endless loop outside a function?"
    if completed.returncode == 0 and IMPORT_OK in completed.stdout:
        return None
    lines = completed.stderr.strip().splitlines()
    if lines:
        return lines[-1]
    return f"importing it ended the process (exit code {completed.returncode}): does it call os._exit?"


def _export_checked(root: Path, module: Module, generated: str, timeout: float) -> None:
    """Write ``generated`` to the package; unless it then imports cleanly, put the previous file back."""
    target = root / module.target_path
    check_writable(root, [target])
    previous = target.read_text(encoding="utf-8") if target.exists() else None
    clean = False
    try:
        atomic_write(target, generated)
        problem = _import_problem(root, module, timeout)
        clean = problem is None
    finally:
        if not clean:  # a failed check, an exception, Ctrl-C: the package is never left broken
            if previous is None:
                target.unlink(missing_ok=True)
            else:
                atomic_write(target, previous)
    if problem is not None:
        raise CommandError(f"your {module.name} code does not import ({problem}); the package was left as it was")


def complete(root: Path, module: Module, choice: str | None = None, timeout: float = TEST_TIMEOUT) -> int:
    require("pytest", "to run the module's tests")  # before anything is written
    text, origin = student_source(root, module, choice)
    try:
        generated = render(module, text, _rel(root, origin), companion_texts(root, module))
    except ExportError as error:
        raise CommandError(f"{error}; nothing was exported, fix the cell and run `tito module complete "
                           f"{module.number}` again") from None
    try:
        _export_checked(root, module, generated, timeout)
    except ExportError as error:
        raise CommandError(f"{error} (nothing was exported)") from None
    print(f"exported {_rel(root, origin)} -> {module.target_path.as_posix()}")
    results = run_tests(root, module, timeout)
    passed, failed = report_tests(module, results, task_points(text))
    Workspace(root).record(module, completed=failed == 0, passed=passed, failed=failed,
                           tested=time.strftime("%Y-%m-%d %H:%M:%S"), exported_sha=_sha(generated),
                           source_sha=_sha(text), failures=[r.name for r in results if r.outcome not in ("passed", "waiting")],
                           waiting=[r.name for r in results if r.outcome == "waiting"])
    if failed:
        print(f"fix the failures above and run `tito module complete {module.number}` again "
              f"(`pytest {module.tests.as_posix()} -k NAME` runs one test)")
        return 1
    print(f"module {module.number} ({module.name}) complete.")
    _next_steps(root, module)
    return 0


def _next_steps(root: Path, module: Module) -> None:
    ready = {m.number for m in MODULES if package_problem(root, m) is None}
    for milestone in MILESTONES:
        if module.number in milestone.needs and set(milestone.needs) <= ready:
            print(f"unlocked: milestone {milestone.number} ({milestone.name}) -- tito milestone run {milestone.number}")
    later = [m for m in MODULES if int(m.number) > int(module.number)]
    if later:
        print(f"next: tito module start {later[0].number} ({later[0].name})")


# ---- the state of the package --------------------------------------------------------

def package_problem(root: Path, module: Module) -> str | None:
    """Why the package's copy of ``module`` is not a finished one, or None.

    * a file holding a task stub is unfinished wherever it came from;
    * a file that the last ``complete`` exported is finished if its tests passed;
    * otherwise, in the course source (modules with solutions) the package is
      the reference solution and is finished; in a student kit (released
      modules, no solutions) only a passing ``complete`` finishes a module.
    """
    target = root / module.target_path
    if not target.exists():
        return f"{module.target_path.as_posix()} is missing"
    text = target.read_text(encoding="utf-8")
    if STUB_MESSAGE in text:
        stubbed = tasks_of(" ".join(f"(task {line.split('task ', 1)[1].split(':')[0]})" for line in text.splitlines()
                                    if STUB_MESSAGE in line and "task " in line))
        return "it still holds unfinished tasks" + (f" ({', '.join(stubbed)})" if stubbed else "")
    record = Workspace(root).progress().get(module.slug, {})
    if record.get("exported_sha") == _sha(text):
        if record.get("completed"):
            return None
        return f"{record.get('failed', 'some')} of its tests failed at your last `tito module complete {module.number}`"
    source = root / module.source
    if source.exists() and has_solutions(source.read_text(encoding="utf-8")):
        return None
    return f"it was not completed with `tito module complete {module.number}`"


def exported_by_student(root: Path, modules: tuple[Module, ...] = MODULES) -> list[Module]:
    """The modules whose package file is the one the student's last ``complete`` wrote."""
    progress = Workspace(root).progress()
    found = []
    for module in modules:
        target = root / module.target_path
        sha = progress.get(module.slug, {}).get("exported_sha")
        if sha and target.exists() and _sha(target.read_text(encoding="utf-8")) == sha:
            found.append(module)
    return found


def _work_state(workspace: Workspace, module: Module, record: dict) -> str:
    py, notebook = workspace.copy(module), workspace.notebook(module)
    if not py.exists() and not notebook.exists():
        return "not started"
    text = py.read_text(encoding="utf-8") if py.exists() else None
    if text is not None and _sha(text) == record.get("source_sha"):
        return "complete" if record.get("completed") else "tests failing"
    if text is not None and _sha(text) == record.get("scaffold_sha") and not _edited(workspace, module, record):
        return "started"
    return "in progress"


def status(root: Path) -> int:
    from rich.console import Console
    from rich.table import Table

    workspace = Workspace(root)
    progress = workspace.progress()
    table = Table(title="TinyTorch modules")
    for column in ("NN", "module", "your work", "tests", "package", "unlocks"):
        table.add_column(column)
    for module in MODULES:
        record = progress.get(module.slug, {})
        tests = f"{record['passed']} passed, {record['failed']} failed" if "passed" in record else "not run"
        problem = package_problem(root, module)
        unlocks = ", ".join(f"milestone {m.number}" for m in MILESTONES if max(m.needs) == module.number)
        table.add_row(module.number, module.name, _work_state(workspace, module, record), _escape(tests),
                      "ready" if problem is None else _escape(problem), unlocks or "-")
    Console().print(table)
    return 0


def run(args: argparse.Namespace, root: Path) -> int:
    if args.action == "status":
        return status(root)
    module = find_module(args.module)
    if args.action == "start":
        return start(root, module, args.force)
    if args.action == "complete":
        return complete(root, module, args.source, args.timeout)
    text = course_text(root, module)
    passed, failed = report_tests(module, run_tests(root, module, args.timeout), task_points(text))
    return 0 if failed == 0 else 1
