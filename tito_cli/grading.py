"""`tito nbgrader generate | autograde | report`: the instructor's workflow on an nbgrader course folder.

    course/
      source/04_losses/04_losses.ipynb     written from modules/04_losses/losses.py (jupytext)
      release/04_losses/04_losses.ipynb    what students get: no solutions, no hidden tests
      submitted/<student>/04_losses/*.ipynb
      autograded/<student>/04_losses/      the graded copy formgrader shows (test cells with verdicts)
      gradebook.db                         nbgrader's sqlite gradebook
      students.txt                         optional roster: one student id per line
      grades_04.csv                        written by `report`
      tito/logs/<student>/04_losses.log    the full log of a student's last grading
      tito/backups/                        gradebook.db as it was when each autograde started
      tito/reference/                      the reference solution's probe outputs (a cache)

`generate` drives nbgrader's API (it creates the assignment and its cells in
the gradebook). `autograde` does not let nbgrader run submissions: each runs
sandboxed (tito_cli/sandbox.py), its probes' outputs are compared here with
the reference solution's (tito_cli/probing.py), and the grades are written
into the gradebook with nbgrader's models, one transaction per student.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import csv
import difflib
import hashlib
import io
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tito_cli import CommandError, sandbox
from tito_cli.export import atomic_write
from tito_cli.manifest import MODULES, Module, find_module

CODE_STUB = ('# YOUR CODE HERE\n'
             'raise NotImplementedError("replace this line with your solution (see the TODO above)")')
SECRET_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def _course(root: Path, name: str, must_exist: bool = True) -> Path:
    course = (root / name).resolve() if not Path(name).is_absolute() else Path(name)
    if must_exist and not course.is_dir():
        raise CommandError(f"course folder {name!r} does not exist; create it with `tito nbgrader generate NN "
                           f"--course {name}` or pass --course")
    return course


def _config(course: Path, timeout: int = 60):
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(course)
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    config.Execute.timeout = timeout
    config.Execute.kernel_name = "python3"  # a submission's kernelspec may name a kernel this machine lacks
    config.OverwriteCells.add_missing_cells = True
    return config


def _api(course: Path, timeout: int = 60):
    # nbgrader runs `alembic` from PATH when it creates a gradebook; a virtualenv that is not
    # activated does not have its scripts folder on PATH, so put this interpreter's there.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.apps import NbGraderAPI

    return NbGraderAPI(config=_config(course, timeout))


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise CommandError(f"{what} failed: {detail[-1] if detail else 'no detail'}")


# ---- generate ----------------------------------------------------------------------

def generate(root: Path, module: Module, course: Path) -> Path:
    """modules/NN/name.py -> course/source/<slug>/<slug>.ipynb -> nbgrader -> course/release/<slug>/."""
    import jupytext

    source_py = root / module.source
    if not source_py.exists():
        raise CommandError(f"{module.source.as_posix()} is missing")
    text = source_py.read_text(encoding="utf-8")
    if "### BEGIN SOLUTION" not in text:
        raise CommandError(f"{module.source.as_posix()} has no solution cells: it looks like a student scaffold, "
                           "not the instructor's source")
    try:
        notebook = jupytext.reads(text, fmt="py:percent")
    except Exception as error:  # jupytext raises several types for a broken file
        raise CommandError(f"{module.source.as_posix()} is not a readable percent notebook: {error}") from None
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    course.mkdir(parents=True, exist_ok=True)
    atomic_write(course / "source" / module.slug / f"{module.slug}.ipynb", jupytext.writes(notebook, fmt="ipynb"))
    _check(_api(course).generate_assignment(module.slug, force=True, create=True), f"generating {module.slug}")
    release = course / "release" / module.slug
    leaks = [str(p.relative_to(course)) for p in release.rglob("*.ipynb")
             if any(marker in p.read_text(encoding="utf-8") for marker in SECRET_MARKERS)]
    if leaks:
        raise CommandError(f"the release still contains solution or hidden-test text: {', '.join(leaks)}")
    return release


# ---- autograde ------------------------------------------------------------------------
#
# Trust model: the grader (this process) never runs submitted code. Each submission runs
# in its own sandbox (tito_cli/sandbox.py) that sees the package (without the graded
# module's file) and the probes, not the course folder; it returns the probes' outputs
# as npz frames.
# The grader compares them with the reference solution's outputs on the same probes
# (computed once from the course source, cached) and writes the gradebook itself.

NOTEBOOK_LIMIT = 20 * (1 << 20)  # bytes: a larger "notebook" is refused, not parsed
DEFAULT_TOLERANCE = (1e-5, 1e-8)  # np.allclose's defaults, which the hidden tests used
KEEP_BACKUPS = 20


@dataclass
class Outcome:
    student: str
    status: str  # graded (the submission ran), failed (it could not be read or run), missing
    seconds: float = 0.0
    note: str = ""  # one line: why the score is not full, or what was odd; empty when all is well
    score: float = 0.0
    max_score: float = 0.0
    cells: dict = field(default_factory=dict)  # grade_id -> "" (passed) or why it failed
    cpu_seconds: float | None = None  # as the sandboxed process reported it (for statistics only)


@dataclass
class Job:
    """What the grader needs to grade one module: made once per run, shared by the workers."""
    module: Module
    course: Path
    kit: Path  # read-only in the sandbox: the package without module NN's file, the probe runner, probes.py
    seccomp: Path
    release: object  # the release notebook (nbformat), to restore lost metadata
    test_cells: dict  # grade_id -> the release's test cell (no hidden tests), for the autograded copy
    points: dict  # grade_id -> points, from the gradebook
    tolerance: dict  # grade_id or probe name -> (rtol, atol)
    reference: dict  # grade_id -> {output name: array}
    limits: sandbox.Limits
    cell_timeout: float
    sandboxed: bool
    hidden: list  # folders the sandbox must not see
    live: set = field(default_factory=set)  # running processes, killed if the grader is interrupted


def _is_code_to_run(cell) -> bool:
    """The code a probe calls: solution cells and ``#| export`` cells (what `tito export` puts in the package).

    Test cells are replaced by probes; demos, figures and visible checks are not run.
    """
    if cell.cell_type != "code":
        return False
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return False
    return bool(meta.get("solution")) or any(line.strip() == "#| export" for line in cell.source.splitlines()[:3])


def code_cells(notebook, release=None) -> list[dict]:
    """The cells to run, in order, named by grade_id or position; locked cells come from the release."""
    locked = {}
    if release is not None:
        locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("locked")
                  and not c.metadata["nbgrader"].get("solution") and "grade_id" in c.metadata["nbgrader"]}
    cells = []
    for number, cell in enumerate(notebook.cells, 1):
        if _is_code_to_run(cell):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            cells.append({"name": grade_id or f"#{number}", "source": locked.get(grade_id, cell.source)})
    return cells


def _graded_cells(notebook) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade") and "grade_id" in c.metadata["nbgrader"]}


def _build_kit(root: Path, module: Module, probes: Path) -> Path:
    """A temporary folder: the package without module NN's file, the probe runner, the probes.

    In the sandbox the notebook's code takes the place of module NN's file
    (tinytorch.core.losses is the student's), so the other modules use it.
    """
    kit = Path(tempfile.mkdtemp(prefix="tito-kit-"))
    for path in sorted((root / "tinytorch").rglob("*.py")):
        relative = path.relative_to(root)
        if "__pycache__" not in relative.parts and relative != module.target_path:
            (kit / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, kit / relative)
    (kit / "tito_cli").mkdir()
    here = Path(__file__).parent
    for name in ("__init__.py", "probing.py"):
        shutil.copyfile(here / name, kit / "tito_cli" / name)
    shutil.copyfile(probes, kit / "probes.py")
    # compiled once here: the sandbox cannot write bytecode, and compiling the package is most of a start-up
    compileall.compile_dir(str(kit), quiet=2)
    for folder in [kit, *[p for p in kit.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)
    return kit


def _run_cells(job: Job, cells: list[dict], graded: list[str]) -> sandbox.Result:
    """Run ``cells`` then the probes of ``graded`` in a fresh sandbox (or a plain process with --no-sandbox)."""
    plan = Path(tempfile.mkdtemp(prefix="tito-plan-"))
    scratch = None
    try:
        plan.chmod(0o755)
        (plan / "plan.json").write_text(json.dumps({
            "limits": job.limits.rlimits(job.sandboxed), "cells": cells, "graded": graded, "target": job.module.target,
            "cell_timeout": job.cell_timeout}), encoding="utf-8")
        if job.sandboxed:
            def command(results_fd, seccomp_fd):
                runner = [sys.executable, "-I", "-B", "/kit/tito_cli/probing.py", "/kit", "/plan/plan.json",
                          str(results_fd)]
                return sandbox.bwrap_command(job.kit, plan, runner, job.hidden, job.limits, seccomp_fd)
            return sandbox.run(command, job.limits, seccomp=job.seccomp, live=job.live)
        scratch = Path(tempfile.mkdtemp(prefix="tito-scratch-"))
        env = dict(sandbox.sandbox_env(), HOME=str(scratch), TMPDIR=str(scratch), MPLCONFIGDIR=str(scratch),
                   PATH=os.environ.get("PATH", ""))

        def command(results_fd, seccomp_fd):
            return [sys.executable, "-I", "-B", str(job.kit / "tito_cli" / "probing.py"), str(job.kit),
                    str(plan / "plan.json"), str(results_fd)]
        return sandbox.run(command, job.limits, live=job.live, env=env, cwd=scratch)
    finally:
        shutil.rmtree(plan, ignore_errors=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _load_npz(payload: bytes, limit: int) -> dict:
    """A results frame's arrays; refuses pickles and archives that would inflate beyond ``limit`` bytes."""
    import zipfile

    import numpy as np

    archive = io.BytesIO(payload)
    with zipfile.ZipFile(archive) as zipped:
        if sum(info.file_size for info in zipped.infolist()) > limit:
            raise ValueError("results larger than the limit once unpacked")
    with np.load(archive, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _outputs(result: sandbox.Result, limit: int) -> tuple[dict, dict, dict, str]:
    """From the frames: (grade_id -> arrays, grade_id -> {probe: error}, notebook cell -> error, last cell started)."""
    arrays, probe_errors, cell_errors, current = {}, {}, {}, ""
    for header, payload in result.frames:
        event, name = header.get("event"), str(header.get("name", ""))[:100]
        if event in ("cell", "probing"):
            current = name
        elif event == "cell_error":
            cell_errors.setdefault(name, _one_line(header.get("error", "")))
        elif event == "result":
            errors = header.get("errors") if isinstance(header.get("errors"), dict) else {}
            probe_errors[name] = {str(k)[:100]: _one_line(v) for k, v in errors.items()}
            try:
                arrays[name] = _load_npz(payload, limit)
            except Exception as error:  # a forged or broken archive fails this cell, nothing else
                probe_errors[name]["*"] = f"unreadable results ({type(error).__name__})"
        elif event == "done":
            current = ""
    return arrays, probe_errors, cell_errors, current


def _one_line(text, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _same(expected, got, rtol: float, atol: float) -> bool:
    import numpy as np

    if got is None or expected.shape != got.shape:
        return False
    if expected.dtype.kind in "fc":
        if got.dtype.kind not in "biufc":
            return False
        return bool(np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))
    if expected.dtype.kind in "biu":
        return got.dtype.kind in "biu" and bool(np.array_equal(got, expected))
    return got.dtype.kind == expected.dtype.kind and bool(np.array_equal(got, expected))


def compare(reference: dict, arrays: dict, errors: dict, tolerance: dict, grade_id: str) -> str:
    """'' when every reference output is matched, else which probe differs (never the expected value).

    ``tolerance`` maps a probe name or a grade_id to (rtol, atol); a probe's own entry wins.
    """
    if "*" in errors:
        return errors["*"]
    for key, expected in reference.items():
        probe, _, output = key.partition("/")
        if probe in errors:
            return f"probe {probe} raised {errors[probe]}"
        rtol, atol = tolerance.get(probe, tolerance.get(grade_id, DEFAULT_TOLERANCE))
        if not _same(expected, arrays.get(key), rtol, atol):
            return f"probe {probe}: {output} differs" if key in arrays else f"probe {probe}: {output} missing"
    return ""


def _process_failure(result: sandbox.Result, current: str, limits: sandbox.Limits) -> str:
    """Why the sandboxed process ended early, or ''."""
    where = f" (in cell {current})" if current else ""
    if result.timed_out:
        return f"killed: wall-clock limit {limits.wall_seconds:g} s{where}"
    if result.results_overflow:
        return f"killed: sent more than {limits.results_bytes >> 20} MiB of results"
    if result.returncode in (-signal.SIGXCPU, -signal.SIGKILL) and result.seconds >= limits.cpu_seconds * 0.5:
        return f"killed: CPU time limit {limits.cpu_seconds} s{where}"
    if result.returncode == -signal.SIGXFSZ:
        return f"killed: file size limit {limits.file_bytes >> 20} MiB{where}"
    if result.returncode and result.returncode < 0:
        try:
            name = signal.Signals(-result.returncode).name
        except ValueError:
            name = str(-result.returncode)
        hint = f", out of memory under the {limits.memory_bytes / (1 << 30):g} GiB limit?" \
            if name in ("SIGSEGV", "SIGABRT", "SIGBUS") else ""
        return f"killed by signal {name}{where}{hint}"
    if current or not result.frames or result.frames[-1][0].get("event") != "done":
        return f"the process exited (code {result.returncode}){where} before finishing"
    if result.garbled:
        return f"results unreadable: {result.garbled}"
    return ""


def _fix_memory_note(reason: str, limits: sandbox.Limits) -> str:
    return reason.replace("(memory limit)", f"(memory limit {limits.memory_bytes / (1 << 30):g} GiB)")


def grade_cells(job: Job, cells: list[dict]) -> tuple[dict, list[str], sandbox.Result]:
    """Run a submission's cells and probes; grade_id -> '' or why it failed, and notes for the log."""
    result = _run_cells(job, cells, list(job.reference))
    arrays, probe_errors, cell_errors, current = _outputs(result, job.limits.results_bytes)
    ended = _process_failure(result, current, job.limits)
    verdicts = {}
    for grade_id, reference in job.reference.items():
        if grade_id in arrays or grade_id in probe_errors:
            why = compare(reference, arrays.get(grade_id, {}), probe_errors.get(grade_id, {}), job.tolerance,
                          grade_id)
            if why == "timed out":
                why = f"timed out after {job.cell_timeout:g} s"
        else:
            why = f"no result ({ended})" if ended else "no result"
        verdicts[grade_id] = _fix_memory_note(why, job.limits)
    notes = [f"cell {name} raised {_fix_memory_note(error, job.limits)}" for name, error in cell_errors.items()]
    if ended:
        notes.insert(0, ended)
    if result.output_total > job.limits.output_bytes:
        notes.append(f"printed {result.output_total / (1 << 20):.1f} MiB (the log keeps {job.limits.output_bytes >> 10} "
                     "KiB of it: the start and the end)")
    return verdicts, notes, result


# ---- one submission -----------------------------------------------------------------

class Refused(Exception):
    """A submission that cannot be graded (unreadable, symlinked, missing): the student gets 0 and this reason."""


def _real_dir(path: Path, course: Path) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise Refused(f"{path.relative_to(course)} is a symbolic link: refused, not followed")
    if not stat.S_ISDIR(info.st_mode):
        raise Refused(f"{path.relative_to(course)} is not a folder")


def read_submission(course: Path, module: Module, student: str) -> tuple[object, str, float | None]:
    """(notebook, note, mtime) of ``submitted/<student>/<slug>/``; never follows a symbolic link."""
    import nbformat

    folder = course / "submitted" / student / module.slug
    for path in (course / "submitted", folder.parent, folder):
        _real_dir(path, course)
    entries = sorted(p for p in os.listdir(folder) if p.endswith(".ipynb") and not p.startswith("."))
    if not entries:
        raise Refused(f"no .ipynb notebook in submitted/{student}/{module.slug}")
    note = ""
    name = f"{module.slug}.ipynb" if f"{module.slug}.ipynb" in entries else entries[0]
    if len(entries) > 1:
        if name != f"{module.slug}.ipynb":
            name = max(entries, key=lambda e: os.lstat(folder / e).st_mtime)
        note = f"{len(entries)} notebooks in the folder ({', '.join(entries[:4])}): graded {name}"
    elif name != f"{module.slug}.ipynb":
        note = f"notebook named {name}, not {module.slug}.ipynb: graded it"
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as error:
        raise Refused(f"{name} cannot be opened ({'a symbolic link' if os.path.islink(folder / name) else error.strerror})")
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{name} is not a regular file")
        data = handle.read(NOTEBOOK_LIMIT + 1)
    if not data.strip():
        raise Refused(f"{name} is empty")
    if len(data) > NOTEBOOK_LIMIT:
        raise Refused(f"{name} is larger than {NOTEBOOK_LIMIT >> 20} MiB")
    try:
        parsed = json.loads(data)
    except ValueError as error:
        raise Refused(f"{name} is not valid JSON ({_one_line(error, 60)})") from None
    try:
        if isinstance(parsed, dict) and parsed.get("nbformat") == 4:  # the usual case: no conversion, no schema check
            notebook = nbformat.from_dict(parsed)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                notebook = nbformat.reads(data.decode("utf-8", errors="replace"), as_version=4)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no cell list")
        for cell in notebook.cells:
            if isinstance(cell.get("source"), list) and all(isinstance(line, str) for line in cell.source):
                cell.source = "".join(cell.source)
            if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in ("code", "markdown", "raw"):
                raise ValueError("a cell without source text")
            if not isinstance(cell.get("metadata", {}), dict):
                raise ValueError("a cell whose metadata is not a mapping")
            cell.setdefault("metadata", nbformat.NotebookNode())
    except Exception as error:
        raise Refused(f"{name} is not a readable notebook ({_one_line(error, 60)})") from None
    return notebook, note, info.st_mtime


def _has_nbgrader_metadata(notebook) -> bool:
    return any("nbgrader" in cell.get("metadata", {}) for cell in notebook.cells)


def restore_metadata(submission, release) -> int:
    """Copy nbgrader metadata from the release onto the submission's matching cells; returns how many.

    Cells are aligned by content (difflib): test cells match exactly; the
    cells between two matches are paired in order, which finds the edited
    solution cells.
    """
    theirs = [cell.source.strip() for cell in submission.cells]
    ours = [cell.source.strip() for cell in release.cells]
    matcher = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False)
    restored = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for i, j in zip(range(i1, i2), range(j1, j2)):
                meta = release.cells[i].get("metadata", {}).get("nbgrader")
                if meta is not None and submission.cells[j].cell_type == release.cells[i].cell_type:
                    submission.cells[j].setdefault("metadata", {})["nbgrader"] = dict(meta)
                    restored += 1
    return restored


def _reported_cpu(result: sandbox.Result) -> float | None:
    last = result.frames[-1][0] if result.frames else {}
    value = last.get("cpu_seconds") if last.get("event") == "done" else None
    return round(float(value), 3) if isinstance(value, (int, float)) else None


def _reason(verdicts: dict, run_notes: list[str]) -> list[str]:
    """The parts of the one-line reason: how the process ended, the first failed cell, what it printed."""
    ended = [n for n in run_notes if n.startswith(("killed", "the process", "results unreadable"))]
    unrun = [g for g, why in verdicts.items() if why.startswith("no result")]
    failed = [f"cell {g}: {why}" for g, why in verdicts.items() if why and g not in unrun]
    parts = [ended[0] + (f": no result for {len(unrun)} graded cell(s)" if unrun else "")] if ended else []
    if failed:
        parts.append(failed[0] + (f" (+{len(failed) - 1} more cells)" if len(failed) > 1 else ""))
        parts += [n for n in run_notes if n.startswith("cell ")][:1]  # the notebook cell that likely caused it
    return parts + [n for n in run_notes if n.startswith("printed")]


def grade_student(job: Job, student: str) -> tuple[Outcome, str, object]:
    """Grade one submission: (outcome, the full log text, the notebook or None). Never raises for a bad submission."""
    start = time.monotonic()
    max_score = float(sum(job.points.values()))
    log = [f"{student} / {job.module.slug}, graded {time.strftime('%Y-%m-%d %H:%M:%S')}"]
    try:
        notebook, note, _ = read_submission(job.course, job.module, student)
    except Refused as refused:
        log.append(f"not graded: {refused}")
        return Outcome(student, "failed", time.monotonic() - start, str(refused), 0.0, max_score,
                       {g: "not graded" for g in job.points}), "\n".join(log), None
    notes = [note] if note else []
    if not _has_nbgrader_metadata(notebook):
        restored = restore_metadata(notebook, job.release)
        notes.append(f"the notebook had no nbgrader metadata: restored on {restored} cells from the release")
    verdicts, run_notes, result = grade_cells(job, code_cells(notebook, job.release))
    score = float(sum(job.points[g] for g, why in verdicts.items() if not why))
    outcome = Outcome(student, "graded", time.monotonic() - start, "; ".join(notes + _reason(verdicts, run_notes)),
                      score, max_score, verdicts, _reported_cpu(result))
    log += notes + [f"score {score:g} / {max_score:g} in {outcome.seconds:.1f} s", "", "graded cells:"]
    log += [f"  {g}: {'passed' if not why else why}" for g, why in verdicts.items()]
    log += ["", "notes:"] + [f"  {n}" for n in run_notes] if run_notes else []
    log += ["", f"process exit code {result.returncode}, CPU {outcome.cpu_seconds} s (as reported), wall "
            f"{result.seconds:.2f} s; output ({result.output_total} bytes):", result.output]
    return outcome, "\n".join(log) + "\n", notebook


# ---- reference --------------------------------------------------------------------

def reference_outputs(job: Job, source, probes_text: str) -> dict:
    """grade_id -> {output: array} of the reference solution, cached in course/tito/reference/ by content."""
    import numpy as np

    cells = code_cells(source)
    digest = hashlib.sha256()
    for part in [json.dumps(cells), probes_text, np.__version__, sys.version,
                 *[p.read_text() for p in sorted(job.kit.rglob("*.py"))]]:
        digest.update(part.encode())
    cache = job.course / "tito" / "reference" / f"{job.module.slug}.npz"
    key_file = cache.with_suffix(".key")
    if cache.exists() and key_file.exists() and key_file.read_text().strip() == digest.hexdigest():
        with np.load(cache, allow_pickle=False) as data:
            stored = {key: data[key] for key in data.files}
        reference = {}
        for key, value in stored.items():
            grade_id, _, output = key.partition("|")
            reference.setdefault(grade_id, {})[output] = value
        if set(reference) >= set(job.points):
            return {g: reference[g] for g in job.points}
    result = _run_cells(job, cells, list(job.points))
    arrays, probe_errors, cell_errors, current = _outputs(result, job.limits.results_bytes)
    problems = [f"cell {name} raised {error}" for name, error in cell_errors.items()]
    problems += [f"{g}: probe {p} raised {e}" for g, errors in probe_errors.items() for p, e in errors.items()]
    ended = _process_failure(result, current, job.limits)
    missing = [g for g in job.points if g not in arrays]
    if problems or ended or missing:
        detail = "; ".join(problems + ([ended] if ended else []) + [f"no result for {', '.join(missing)}"] * bool(missing))
        raise CommandError(f"the reference solution of {job.module.slug} fails its own probes: {_one_line(detail, 400)}"
                           f"\n{result.output[-2000:]}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    with open(partial, "wb") as handle:
        np.savez(handle, **{f"{g}|{k}": v for g, outputs in arrays.items() for k, v in outputs.items()})
    os.replace(partial, cache)
    atomic_write(key_file, digest.hexdigest() + "\n")
    return {g: arrays[g] for g in job.points}


# ---- gradebook ----------------------------------------------------------------------

def _gradebook_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def backup_gradebook(course: Path) -> Path | None:
    """A consistent copy of gradebook.db in course/tito/backups/ (the newest KEEP_BACKUPS are kept)."""
    import sqlite3

    database = course / "gradebook.db"
    if not database.exists():
        return None
    folder = course / "tito" / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"gradebook-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.db"
    with contextlib.closing(sqlite3.connect(database)) as source, contextlib.closing(sqlite3.connect(target)) as copy:
        source.backup(copy)
    for old in sorted(folder.glob("gradebook-*.db"))[:-KEEP_BACKUPS]:
        old.unlink()
    return target


def record(gradebook, module: Module, outcome: Outcome, timestamp) -> None:
    """Write one student's grades in one transaction, with nbgrader's own models (as its autograde does)."""
    db = gradebook.db
    try:
        with db.no_autoflush:  # one flush, at the commit
            _fill(gradebook, module, outcome, timestamp)
        db.commit()
    except Exception:
        db.rollback()
        raise


def _fill(gradebook, module: Module, outcome: Outcome, timestamp) -> None:
    """Find or mirror (as Gradebook.add_submission does) the student's submission, then set its auto scores."""
    from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook

    db = gradebook.db
    try:
        student = gradebook.find_student(outcome.student)
    except MissingEntry:
        student = Student(id=outcome.student)
        db.add(student)
    try:
        submission = gradebook.find_submission(module.slug, outcome.student)
    except MissingEntry:
        submission = SubmittedAssignment(assignment=gradebook.find_assignment(module.slug), student=student)
        for notebook in submission.assignment.notebooks:
            submitted = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in notebook.grade_cells:
                Grade(cell_id=cell.id, notebook=submitted)
            for cell in [*notebook.solution_cells, *notebook.task_cells]:
                Comment(cell_id=cell.id, notebook=submitted)
        db.add(submission)
    if timestamp is not None:
        submission.timestamp = timestamp
    cells = {cell.id: cell for notebook in submission.assignment.notebooks for cell in notebook.grade_cells}
    for submitted in submission.notebooks:
        for grade in submitted.grades:
            cell = cells.get(grade.cell_id)
            verdict = outcome.cells.get(cell.name) if cell is not None else None
            if verdict is None:
                continue  # a cell this grader does not score (a manually graded task)
            grade.auto_score = float(cell.max_score) if verdict == "" else 0.0
            grade.needs_manual_grade = grade.manual_score is not None


def _timestamp(course: Path, module: Module, student: str):
    """The submission time nbgrader's collect wrote (timestamp.txt), or None."""
    from nbgrader.utils import parse_utc

    path = course / "submitted" / student / module.slug / "timestamp.txt"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as handle:
            return parse_utc(handle.read(100).strip())
    except Exception:  # absent or unreadable: nbgrader's own default (no timestamp) applies
        return None


def write_autograded(job: Job, student: str, notebook, outcome: Outcome) -> None:
    """course/autograded/<student>/<slug>/<slug>.ipynb for nbgrader's formgrader and feedback.

    Test cells come from the release (never the hidden tests: nbgrader's
    feedback shows them to the student), each with the grader's verdict.
    """
    import nbformat

    folder = job.course / "autograded" / student / job.module.slug
    for path in (folder.parent.parent, folder.parent, folder):
        if path.is_symlink():
            return
        path.mkdir(exist_ok=True)
    copy = nbformat.from_dict(json.loads(json.dumps(notebook)))
    copy.setdefault("metadata", {})
    copy.setdefault("nbformat", 4)
    copy.setdefault("nbformat_minor", 5)
    for cell in copy.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in job.test_cells and cell.cell_type == "code":
            cell.source = job.test_cells[grade_id].source
            cell.metadata["nbgrader"] = dict(job.test_cells[grade_id].metadata["nbgrader"])
            verdict = outcome.cells.get(grade_id, "")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=f"autograded: {'passed' if not verdict else verdict}\n")]
        elif cell.cell_type == "code":
            cell.outputs = []
    for number, cell in enumerate(copy.cells):
        cell.setdefault("id", f"cell-{number}")
    atomic_write(folder / f"{job.module.slug}.ipynb", json.dumps(copy, ensure_ascii=False) + "\n")


# ---- the run -----------------------------------------------------------------------

@contextlib.contextmanager
def course_lock(course: Path, wait: bool, echo):
    """One autograde per course at a time: refuse (or, with ``wait``, wait) while another holds the lock."""
    import fcntl

    path = course / "tito" / "autograde.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if not wait:
                raise CommandError(f"another autograde is running on {course} ({holder}); wait for it to finish "
                                   "or pass --wait") from None
            echo(f"another autograde is running on this course ({holder}); waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _students(course: Path, module: Module, only: str | None) -> list[str]:
    submitted = course / "submitted"
    if only is not None:
        if not (submitted / only / module.slug).exists() and not (submitted / only / module.slug).is_symlink():
            raise CommandError(f"no submission of {module.slug} by {only!r} in {submitted}")
        return [only]
    if not submitted.is_dir():
        return []
    return sorted(name for name in os.listdir(submitted) if not name.startswith(".")
                  and os.path.lexists(submitted / name / module.slug))


def _inputs(root: Path, module: Module, course: Path) -> tuple[Path, Path, Path]:
    """The source and release notebooks and the probes file; CommandError if one is missing."""
    source_nb = course / "source" / module.slug / f"{module.slug}.ipynb"
    release_nb = course / "release" / module.slug / f"{module.slug}.ipynb"
    if not source_nb.exists() or not release_nb.exists():
        raise CommandError(f"assignment {module.slug} was never generated in {course}; run "
                           f"`tito nbgrader generate {module.number}` first")
    probes = root / "modules" / module.slug / "probes.py"
    if not probes.exists():
        raise CommandError(f"modules/{module.slug}/probes.py is missing: autograde compares the probes of every "
                           "graded cell with the reference solution (format: tito_cli/probing.py)")
    return source_nb, release_nb, probes


def prepare(root: Path, module: Module, course: Path, limits: sandbox.Limits, cell_timeout: float,
            sandboxed: bool) -> Job:
    """Everything the workers share: the kit, the release, the points, the reference outputs."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    source_nb, release_nb, probes = _inputs(root, module, course)
    source = nbformat.read(source_nb, as_version=4)
    release = nbformat.read(release_nb, as_version=4)
    with Gradebook(_gradebook_url(course)) as gradebook:
        try:
            assignment = gradebook.find_assignment(module.slug)
        except MissingEntry:
            raise CommandError(f"assignment {module.slug} is not in the gradebook; run `tito nbgrader generate "
                               f"{module.number}`") from None
        points = {cell.name: float(cell.max_score) for notebook in assignment.notebooks
                  for cell in notebook.grade_cells}
    from tito_cli.probing import load_probes

    declared, tolerance = load_probes(str(probes))
    uncovered = sorted(set(points) - set(declared))
    if uncovered:
        raise CommandError(f"modules/{module.slug}/probes.py has no probes for the graded cells "
                           f"{', '.join(uncovered)}: autograde refuses to grade what it cannot check")
    hidden = [course.resolve(), (root / "modules").resolve(), (root / "tinytorch").resolve()]
    kit = _build_kit(root, module, probes)
    seccomp = kit.parent / f"{kit.name}.bpf"
    seccomp.write_bytes(sandbox.seccomp_filter())
    job = Job(module, course, kit, seccomp, release, _graded_cells(release), points,
              {g: tuple(tolerance[g]) for g in tolerance}, {}, limits, cell_timeout, sandboxed, hidden)
    try:
        job.reference = reference_outputs(job, source, probes.read_text(encoding="utf-8"))
    except BaseException:
        cleanup(job)
        raise
    return job


def cleanup(job: Job) -> None:
    for process in list(job.live):
        sandbox._kill(process)
    shutil.rmtree(job.kit, ignore_errors=True)
    job.seccomp.unlink(missing_ok=True)


def _save_outcomes(course: Path, module: Module, outcomes: list[Outcome]) -> None:
    path = course / "tito" / f"autograde_{module.slug}.json"
    kept = {}
    if path.exists():
        with contextlib.suppress(ValueError, TypeError, KeyError):
            kept = {o["student"]: o for o in json.loads(path.read_text(encoding="utf-8"))}
    kept.update({o.student: asdict(o) for o in outcomes})
    atomic_write(path, json.dumps([kept[s] for s in sorted(kept)], indent=2) + "\n")


def _write_log(course: Path, module: Module, student: str, text: str) -> None:
    folder = course / "tito" / "logs" / student
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / f"{module.slug}.log", text)


def autograde(root: Path, module: Module, course: Path, *, workers: int | None = None, student: str | None = None,
              cell_timeout: float = 10.0, limits: sandbox.Limits | None = None, sandboxed: bool = True,
              wait: bool = False, echo=print, progress: bool = True) -> list[Outcome]:
    """Grade the submissions of ``module`` (or one student's) in parallel sandboxes into the gradebook."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from nbgrader.api import Gradebook

    limits = limits or sandbox.Limits()
    if sandboxed and sandbox.bwrap_path() is None:
        raise CommandError(f"bubblewrap (bwrap) is not installed, and autograde runs every submission in it: "
                           f"{sandbox.INSTALL}; or pass --no-sandbox to run submitted code unprotected")
    for name in ([student] if student else []):
        if not name or name.startswith(".") or "/" in name or name in ("..",):
            raise CommandError(f"{name!r} is not a student id")
    _inputs(root, module, course)  # refuse before writing anything
    with course_lock(course, wait, echo):
        students = _students(course, module, student)
        job = prepare(root, module, course, limits, cell_timeout, sandboxed)
        outcomes: list[Outcome] = []
        pool = ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1))
        try:
            backup = backup_gradebook(course)
            if backup:
                echo(f"gradebook backed up to {backup.relative_to(course)}")
            with Gradebook(_gradebook_url(course)) as gradebook, \
                    _progress(len(students), progress) as (bar, task, say):
                # the course lock makes this the only writer: what it loaded stays valid after each commit,
                # so the assignment and its cells are read once, not once per student
                gradebook.db.expire_on_commit = False
                futures = {pool.submit(grade_student, job, name): name for name in students}
                for future in as_completed(futures):
                    outcome = _finish(job, gradebook, futures[future], future)
                    outcomes.append(outcome)
                    say(f"{time.strftime('%H:%M:%S')} {outcome.student}: {outcome.score:g}/{outcome.max_score:g} "
                        f"in {outcome.seconds:.1f} s{' - ' + outcome.note if outcome.note else ''}")
                    bar.advance(task)
                if student is None:
                    for name in roster(course):
                        gradebook.update_or_create_student(name)
                        if name not in students:
                            outcomes.append(Outcome(name, "missing", 0.0, "no submission"))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # interrupted: no new sandbox starts...
            cleanup(job)  # ...and the running ones are killed
            pool.shutdown(wait=True)
            _save_outcomes(course, module, outcomes)
    return outcomes


def _finish(job: Job, gradebook, student: str, future) -> Outcome:
    """Record one graded submission: gradebook row, log, autograded copy (a grader bug is recorded, not raised)."""
    try:
        outcome, log_text, notebook = future.result()
    except Exception as error:
        outcome = Outcome(student, "failed", 0.0, f"grader error: {type(error).__name__}: {error}", 0.0,
                          float(sum(job.points.values())), {g: "not graded" for g in job.points})
        log_text, notebook = traceback.format_exc(), None
    record(gradebook, job.module, outcome, _timestamp(job.course, job.module, student))
    _write_log(job.course, job.module, student, log_text)
    if notebook is not None:
        write_autograded(job, student, notebook, outcome)
    return outcome


@contextlib.contextmanager
def _progress(total: int, show: bool):
    """A rich progress bar with ETA; ``say`` prints a line above it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
        TimeRemainingColumn

    console = Console(highlight=False, soft_wrap=True)
    columns = [TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=not show, transient=False) as bar:
        task = bar.add_task("grading", total=total)
        yield bar, task, (lambda line: bar.console.print(line, markup=False))


def roster(course: Path) -> list[str]:
    path = course / "students.txt"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


# ---- report -----------------------------------------------------------------------

def scores(course: Path, module: Module) -> list[dict]:
    """One row per student in the gradebook: score, max score, status."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (course / "gradebook.db").exists():
        raise CommandError(f"{course / 'gradebook.db'} does not exist; run `tito nbgrader autograde "
                           f"{module.number}` first")
    notes_file = course / "tito" / f"autograde_{module.slug}.json"
    notes = {o["student"]: o for o in json.loads(notes_file.read_text())} if notes_file.exists() else {}
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        try:
            assignment = gradebook.find_assignment(module.slug)
        except MissingEntry:
            raise CommandError(f"assignment {module.slug} is not in the gradebook; run `tito nbgrader generate "
                               f"{module.number}`") from None
        max_score = assignment.max_score
        for student in sorted(s.id for s in gradebook.students):
            info = notes.get(student, {})
            try:
                submission = gradebook.find_submission(module.slug, student)
                score, status = submission.score, info.get("status", "graded")
            except MissingEntry:
                score, status = 0.0, info.get("status", "missing")
            rows.append({"student": student, "score": round(float(score), 2), "max_score": float(max_score),
                         "percent": round(100.0 * float(score) / max_score, 1) if max_score else 0.0,
                         "status": status, "note": info.get("note", "")})
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=["student", "score", "max_score", "percent", "status", "note"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, text.getvalue())


def _print_rows(rows: list[dict], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("student", "score", "percent", "status", "note"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["student"], f"{row['score']:g} / {row['max_score']:g}", f"{row['percent']:.1f}%",
                      row["status"], row["note"][:80])
    Console().print(table)


def add_autograde_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `tito nbgrader autograde NN`."""
    parser.add_argument("module", metavar="NN")
    parser.add_argument("--workers", type=int, default=None,
                        help="submissions graded at once (default: the number of cores)")
    parser.add_argument("--student", default=None, metavar="ID", help="grade only this student's submission")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds a notebook cell, or a graded cell's probes, may run (default: 10)")
    parser.add_argument("--submission-timeout", type=float, default=60.0,
                        help="wall-clock and CPU seconds for a whole submission (default: 60)")
    parser.add_argument("--memory", type=float, default=2.0, help="memory limit per submission in GiB (default: 2)")
    parser.add_argument("--wait", action="store_true", help="wait for another autograde of this course to finish "
                        "(default: refuse)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions without bubblewrap (unsafe: their code runs as you)")


def run(args: argparse.Namespace, root: Path) -> int:
    modules = MODULES if getattr(args, "all", False) else None
    if modules is None:
        if not args.module:
            raise CommandError("name a module (e.g. `tito nbgrader generate 04`) or pass --all")
        modules = (find_module(args.module),)
    if args.action == "generate":
        course = _course(root, args.course, must_exist=False)
        for module in modules:
            release = generate(root, module, course)
            print(f"released {module.slug}: {release.relative_to(root) if release.is_relative_to(root) else release}")
        return 0
    course = _course(root, args.course)
    module = modules[0]
    if args.action == "autograde":
        if args.no_sandbox:
            print("warning: --no-sandbox: submitted code runs with your permissions, network and files",
                  file=sys.stderr)
        limits = sandbox.Limits(memory_bytes=int(args.memory * (1 << 30)), cpu_seconds=int(args.submission_timeout),
                                wall_seconds=float(args.submission_timeout))
        start = time.perf_counter()
        outcomes = autograde(root, module, course, workers=args.workers, student=args.student,
                             cell_timeout=args.timeout, limits=limits, sandboxed=not args.no_sandbox,
                             wait=args.wait, progress=sys.stdout.isatty())
        graded = [o for o in outcomes if o.status != "missing"]
        seconds = time.perf_counter() - start
        print(f"autograded {len(graded)} submission(s) of {module.slug} in {seconds:.1f} s "
              f"({len(graded) / seconds if seconds else 0:.1f} per second); "
              f"{sum(o.status == 'failed' for o in outcomes)} could not be run; logs in {course / 'tito' / 'logs'}")
        _print_rows(scores(course, module), f"{module.slug} scores")
        return 0
    rows = scores(course, module)
    path = Path(args.csv) if args.csv else course / f"grades_{module.number}.csv"
    write_csv(rows, path)
    _print_rows(rows, f"{module.slug} scores")
    print(f"CSV written to {path}")
    return 0
