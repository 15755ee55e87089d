"""`tito nbgrader generate | autograde | report`: the instructor's workflow on an nbgrader course folder.

    course/
      source/04_losses/04_losses.ipynb     written from modules/04_losses/losses.py (jupytext)
      release/04_losses/04_losses.ipynb    what students get: no solutions, no hidden tests
      submitted/<student>/04_losses/*.ipynb
      autograded/...                       nbgrader's graded copies
      gradebook.db                         the sqlite gradebook
      students.txt                         optional roster: one student id per line
      grades_04.csv                        written by `report`

nbgrader is driven through its Python API with the configuration passed in
(it does not read nbgrader_config.py on its own in this mode). A submission
that fails to process is recorded and graded 0 with the reason; the run goes
on to the next student.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import difflib
import io
import json
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from tito_cli import CommandError
from tito_cli.export import atomic_write
from tito_cli.manifest import MODULES, Module, find_module

CODE_STUB = ('# YOUR CODE HERE\n'
             'raise NotImplementedError("replace this line with your solution (see the TODO above)")')
SECRET_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


@dataclass
class Outcome:
    student: str
    status: str  # graded, failed, missing
    seconds: float = 0.0
    note: str = ""


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

def roster(course: Path) -> list[str]:
    path = course / "students.txt"
    if not path.exists():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


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
                    submission.cells[j].metadata["nbgrader"] = dict(meta)
                    restored += 1
    return restored


def _repair_submission(course: Path, module: Module, student: str) -> str:
    """Restore lost nbgrader metadata before grading; the student's original is kept. Returns a note."""
    import nbformat

    folder = course / "submitted" / student / module.slug
    release_nb = course / "release" / module.slug / f"{module.slug}.ipynb"
    notes = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:
            notes.append(f"{path.name} is not a readable notebook ({type(error).__name__})")
            continue
        if _has_nbgrader_metadata(notebook):
            continue
        keep = course / "tito" / "originals" / module.slug / student / path.name
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, keep)
        restored = restore_metadata(notebook, nbformat.read(release_nb, as_version=4))
        for number, cell in enumerate(notebook.cells):
            cell.setdefault("id", f"restored-{number}")  # nbformat 4.5 wants an id on every cell
        atomic_write(path, nbformat.writes(notebook))
        notes.append(f"{path.name} had no nbgrader metadata: restored it on {restored} cells by matching the "
                     f"release (original kept in {keep.relative_to(course)})")
    return "; ".join(notes)


@contextlib.contextmanager
def _quiet(log: Path):
    """Send what kernels and libraries write to stderr into ``log``; nbgrader's results carry the errors."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("a", encoding="utf-8") as handle, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _grade_one(api, course: Path, module: Module, student: str, echo) -> Outcome:
    """Autograde one student's submission; a crash of nbgrader itself is recorded, not raised."""
    note = _repair_submission(course, module, student)
    if note:
        echo(f"{student}: {note}")
    start = time.perf_counter()
    try:
        result = api.autograde(module.slug, student, force=True, create=True)
    except Exception as error:
        result = {"success": False, "error": f"{type(error).__name__}: {error}"}
    seconds = time.perf_counter() - start
    if result.get("success"):
        return Outcome(student, "graded", seconds, note)
    lines = (result.get("error") or result.get("log") or "").strip().splitlines()
    reason = lines[-1] if lines else "processing failed"
    echo(f"{student}: grading failed ({reason}); recorded with score 0")
    return Outcome(student, "failed", seconds, (note + "; " if note else "") + reason)


def autograde(root: Path, module: Module, course: Path, timeout: int, echo=print) -> list[Outcome]:
    """Grade every submission of ``module``; every student (submitted or on the roster) gets an outcome."""
    if not (course / "source" / module.slug).is_dir() or not (course / "release" / module.slug).is_dir():
        raise CommandError(f"assignment {module.slug} was never generated in {course}; run "
                           f"`tito nbgrader generate {module.number}` first")
    submitted = course / "submitted"
    students = sorted(p.parent.name for p in submitted.glob(f"*/{module.slug}") if p.is_dir()) \
        if submitted.is_dir() else []
    api = _api(course, timeout)
    outcomes = []
    with _quiet(course / "tito" / "autograde.log"):
        for student in students:
            outcomes.append(_grade_one(api, course, module, student, echo))
    with api.gradebook as gradebook:
        for student in roster(course):
            gradebook.update_or_create_student(student)
            if student not in students:
                outcomes.append(Outcome(student, "missing", 0.0, "no submission"))
        for outcome in outcomes:
            gradebook.update_or_create_student(outcome.student)
    atomic_write(course / "tito" / f"autograde_{module.slug}.json",
                 json.dumps([asdict(o) for o in outcomes], indent=2) + "\n")
    return outcomes


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
        start = time.perf_counter()
        outcomes = autograde(root, module, course, args.timeout)
        graded = [o for o in outcomes if o.status != "missing"]
        per = sum(o.seconds for o in graded) / len(graded) if graded else 0.0
        print(f"autograded {len(graded)} submission(s) of {module.slug} in {time.perf_counter() - start:.1f} s "
              f"({per:.1f} s per notebook); {sum(o.status == 'failed' for o in outcomes)} failed to process")
        _print_rows(scores(course, module), f"{module.slug} scores")
        return 0
    rows = scores(course, module)
    path = Path(args.csv) if args.csv else course / f"grades_{module.number}.csv"
    write_csv(rows, path)
    _print_rows(rows, f"{module.slug} scores")
    print(f"CSV written to {path}")
    return 0
