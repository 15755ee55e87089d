"""`tito module status | start NN | complete NN | test NN`: the student loop.

Workspace state lives in ``.tito/`` at the project root:

* ``reference/<slug>.py`` -- the module source with solutions, saved the first
  time the module is started (so the scaffold can be rebuilt);
* ``backups/<slug>/`` -- a copy of the student's file before tito replaces it;
* ``progress.json`` -- per module: scaffold checksum, last test results.

A student's file is never overwritten without a backup, and never when it
holds edits unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from tito_cli import CommandError, package_env
from tito_cli.export import ExportError, atomic_write, companion_texts, render
from tito_cli.manifest import MILESTONES, MODULES, Module, find_module
from tito_cli.scaffold import TASK_PATTERN, has_solutions, scaffold


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Workspace:
    """The ``.tito`` folder of a project: reference copies, backups, progress."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / ".tito"

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

    def reference_path(self, module: Module) -> Path:
        return self.folder / "reference" / f"{module.slug}.py"

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


def _notebook_path(root: Path, module: Module) -> Path:
    return (root / module.source).with_suffix(".ipynb")


def _write_notebook(text: str, path: Path) -> bool:
    """The percent text as a notebook next to it (when jupytext is installed); True if written."""
    try:
        import jupytext
    except ImportError:
        return False
    notebook = jupytext.reads(text, fmt="py:percent")
    atomic_write(path, jupytext.writes(notebook, fmt="ipynb"))
    return True


def student_source(root: Path, module: Module) -> tuple[str, Path]:
    """The text of the student's module: the notebook if it was saved after the .py, else the .py."""
    py, notebook = root / module.source, _notebook_path(root, module)
    if not py.exists():
        raise CommandError(f"{module.source.as_posix()} is missing; restore it with `git checkout -- "
                           f"{module.source.as_posix()}` or `tito module start {module.number} --force`")
    if notebook.exists() and notebook.stat().st_mtime > py.stat().st_mtime + 1e-3:
        import jupytext

        return jupytext.writes(jupytext.read(notebook), fmt="py:percent"), notebook
    return py.read_text(encoding="utf-8"), py


# ---- start -------------------------------------------------------------------------

def start(root: Path, module: Module, force: bool) -> int:
    workspace = Workspace(root)
    source = root / module.source
    if not source.exists():
        raise CommandError(f"{module.source.as_posix()} is missing; `git checkout -- {module.source.as_posix()}` "
                           "restores it")
    current = source.read_text(encoding="utf-8")
    reference_file = workspace.reference_path(module)
    reference = reference_file.read_text(encoding="utf-8") if reference_file.exists() else current
    if not has_solutions(reference):
        raise CommandError(f"{module.source.as_posix()} has no solution cells to turn into exercises, and no "
                           f"reference copy is saved in {reference_file.relative_to(root).as_posix()}")
    record = workspace.progress().get(module.slug, {})
    notebook = _notebook_path(root, module)
    untouched = current == reference or _sha(current) == record.get("scaffold_sha")
    if notebook.exists() and _sha(notebook.read_text(encoding="utf-8")) != record.get("notebook_sha"):
        untouched = False
    if not untouched and not force:
        raise CommandError(f"{module.source.as_posix()} (or its notebook) holds your edits; "
                           f"`tito module start {module.number} --force` replaces them, keeping a backup in .tito/backups/")
    try:
        student_text = scaffold(reference, module.source.as_posix())
        render(module, student_text, companion_texts(root, module))  # the scaffold must still export
    except (ValueError, ExportError) as error:
        raise CommandError(f"cannot build the scaffold: {error}") from None
    backups = [workspace.backup(module, path) for path in (source, notebook) if path.exists()]
    if not reference_file.exists():
        atomic_write(reference_file, reference)
    atomic_write(source, student_text)
    wrote_notebook = _write_notebook(student_text, notebook)
    workspace.record(module, scaffold_sha=_sha(student_text), started=time.strftime("%Y-%m-%d %H:%M:%S"),
                     notebook_sha=_sha(notebook.read_text(encoding="utf-8")) if wrote_notebook else None)
    tasks = sorted(set(TASK_PATTERN.findall(student_text)), key=lambda t: tuple(int(p) for p in t.split(".")))
    print(f"module {module.number} ({module.name}) is ready for you: {module.source.as_posix()}"
          + (f" and {notebook.relative_to(root).as_posix()}" if wrote_notebook else ""))
    print(f"your tasks: {', '.join(tasks)} (each TODO names its task; `pytest -m task_{tasks[0].replace('.', '_')}` "
          "runs one task's tests once exported)" if tasks else "this module has no tasks")
    for backup in backups:
        print(f"backup of the previous file: {backup.relative_to(root).as_posix()}")
    print(f"when you are done: tito module complete {module.number}")
    return 0


# ---- tests ----------------------------------------------------------------------

@dataclass
class TestResult:
    name: str
    outcome: str  # passed, failed, error, skipped
    message: str = ""


def run_tests(root: Path, module: Module, quiet: bool = False) -> list[TestResult]:
    """Run the module's pytest file in a fresh interpreter; the results as pytest reported them."""
    tests = root / module.tests
    if not tests.exists():
        raise CommandError(f"{module.tests.as_posix()} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        command = [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                   "-o", "junit_family=xunit1"]
        env = dict(os.environ, MPLBACKEND="Agg")
        completed = subprocess.run(command, cwd=root, capture_output=True, text=True, env=env, timeout=1800)
        if not report.exists():
            raise CommandError(f"pytest could not run {module.tests.as_posix()}: "
                               f"{(completed.stderr or completed.stdout).strip().splitlines()[-1:]}")
        results = []
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            name = case.get("name", "?")
            outcome, message = "passed", ""
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = "failed" if child.tag == "failure" else child.tag
                    message = (child.get("message") or child.text or "").strip()
                    break
            results.append(TestResult(name, outcome, message))
    return results


def report_tests(module: Module, results: list[TestResult]) -> tuple[int, int]:
    """Print the results with the message of every failure; returns (passed, not passed)."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    passed = [r for r in results if r.outcome == "passed"]
    others = [r for r in results if r.outcome != "passed"]
    for r in results:
        mark = "[green]PASS[/green]" if r.outcome == "passed" else f"[red]{r.outcome.upper()}[/red]"
        console.print(f"  {mark}  {r.name}")
        if r.outcome != "passed" and r.message:
            first = r.message.splitlines()[0]
            console.print(f"        {first[:300]}", markup=False)
    console.print(f"{module.slug}: {len(passed)} passed, {len(others)} failed")
    return len(passed), len(others)


# ---- complete -------------------------------------------------------------------

def _import_error(root: Path, module: Module) -> str | None:
    code = f"import importlib; importlib.import_module({module.target!r})"
    completed = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                               env=package_env(root))
    if completed.returncode == 0:
        return None
    lines = completed.stderr.strip().splitlines()
    return lines[-1] if lines else "import failed"


def complete(root: Path, module: Module) -> int:
    text, origin = student_source(root, module)
    try:
        generated = render(module, text, companion_texts(root, module))
    except ExportError as error:
        raise CommandError(f"{error}; nothing was exported, fix the cell and run `tito module complete "
                           f"{module.number}` again") from None
    target = root / module.target_path
    previous = target.read_text(encoding="utf-8") if target.exists() else None
    atomic_write(target, generated)
    problem = _import_error(root, module)
    if problem is not None:
        if previous is None:
            target.unlink()
        else:
            atomic_write(target, previous)
        raise CommandError(f"your {module.name} code does not import ({problem}); the package was left as it was")
    print(f"exported {origin.relative_to(root).as_posix()} -> {module.target_path.as_posix()}")
    results = run_tests(root, module)
    passed, failed = report_tests(module, results)
    Workspace(root).record(module, completed=failed == 0, passed=passed, failed=failed,
                           tested=time.strftime("%Y-%m-%d %H:%M:%S"),
                           failures=[r.name for r in results if r.outcome != "passed"])
    if failed:
        print(f"fix the failing tests above and run `tito module complete {module.number}` again "
              f"(`pytest {module.tests.as_posix()} -k NAME` runs one)")
        return 1
    print(f"module {module.number} ({module.name}) complete.")
    _next_steps(root, module)
    return 0


def _next_steps(root: Path, module: Module) -> None:
    progress = Workspace(root).progress()
    done = {m.number for m in MODULES if progress.get(m.slug, {}).get("completed")}
    for milestone in MILESTONES:
        if module.number in milestone.needs and set(milestone.needs) <= done | {module.number}:
            print(f"unlocked: milestone {milestone.number} ({milestone.name}) -- tito milestone run {milestone.number}")
    later = [m for m in MODULES if int(m.number) > int(module.number)]
    if later:
        print(f"next: tito module start {later[0].number} ({later[0].name})")


# ---- status -----------------------------------------------------------------------

def _source_state(root: Path, module: Module, workspace: Workspace, record: dict) -> str:
    path = root / module.source
    if not path.exists():
        return "missing"
    text = path.read_text(encoding="utf-8")
    if _sha(text) == record.get("scaffold_sha"):
        return "started"
    if workspace.reference_path(module).exists():
        return "in progress"
    return "reference" if has_solutions(text) else "edited"


def status(root: Path) -> int:
    from rich.console import Console
    from rich.table import Table

    workspace = Workspace(root)
    progress = workspace.progress()
    table = Table(title="TinyTorch modules")
    for column in ("NN", "module", "source", "exported", "tests", "unlocks"):
        table.add_column(column)
    for module in MODULES:
        record = progress.get(module.slug, {})
        try:
            text, _ = student_source(root, module)
            target = root / module.target_path
            generated = render(module, text, companion_texts(root, module))
            exported = "yes" if target.exists() and target.read_text(encoding="utf-8") == generated else "no"
        except (CommandError, ExportError):
            exported = "no (source does not parse)"
        if "passed" in record:
            tests = f"{record['passed']} passed, {record['failed']} failed"
        else:
            tests = "not run"
        unlocks = ", ".join(f"milestone {m.number}" for m in MILESTONES if max(m.needs) == module.number)
        table.add_row(module.number, module.name, _source_state(root, module, workspace, record), exported, tests,
                      unlocks or "-")
    Console().print(table)
    return 0


def run(args: argparse.Namespace, root: Path) -> int:
    if args.action == "status":
        return status(root)
    module = find_module(args.module)
    if args.action == "start":
        return start(root, module, args.force)
    if args.action == "complete":
        return complete(root, module)
    passed, failed = report_tests(module, run_tests(root, module))
    return 0 if failed == 0 else 1
