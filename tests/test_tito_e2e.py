"""tito end to end: help, bad input, doctor, and the instructor's nbgrader workflow (the student's path: test_student.py)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import copy_project, run_tito  # noqa: E402

from tito_cli.manifest import MODULES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path) -> Path:
    """A private copy of the project, so tests may change modules and the package."""
    return copy_project(tmp_path / "project")


def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


# ---- help and bad input ----------------------------------------------------------------

def test_help_of_every_command():
    for args in (["--help"], ["export", "--help"], ["module", "--help"], ["module", "complete", "--help"],
                 ["nbgrader", "--help"], ["nbgrader", "autograde", "--help"], ["milestone", "--help"],
                 ["doctor", "--help"]):
        result = run_tito(ROOT, *args)
        assert result.returncode == 0 and "usage: tito" in result.stdout, args
    assert "export the student's" not in run_tito(ROOT, "--help").stdout  # the top level lists commands, not details
    assert "complete" in run_tito(ROOT, "module", "--help").stdout


def test_bad_input_is_one_line_nonzero_and_writes_nothing(project):
    before = _snapshot(project)
    cases = [
        (("module", "start", "42"), "unknown module '42'"),
        (("module", "complete", "nine"), "unknown module 'nine'"),
        (("nbgrader", "--course", "no_such_course", "autograde", "04"), "course folder 'no_such_course' does not exist"),
        (("nbgrader", "--course", "no_such_course", "report", "04"), "course folder 'no_such_course' does not exist"),
        (("milestone", "run", "12"), "unknown milestone '12'"),
        (("milestone", "run"), "which milestone? `tito milestone run NN` with NN one of: 01 (perceptron, 1957)"),
    ]
    for args, message in cases:
        result = run_tito(project, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    (project / "course").mkdir()
    result = run_tito(project, "nbgrader", "autograde", "04")
    assert result.returncode == 2 and "was never generated" in result.stderr and "tito nbgrader generate 04" in result.stderr
    (project / "course").rmdir()
    assert _snapshot(project) == before


def test_doctor_reports_a_ready_machine():
    result = run_tito(ROOT, "doctor")
    assert result.returncode == 0, result.stdout
    assert "everything is ready" in result.stdout and "python3 kernel found" in result.stdout


# ---- the instructor's workflow ----------------------------------------------------------

SOLUTION_LINE = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.mark.slow
def test_release_of_every_module_has_no_solutions_and_no_hidden_tests(project):
    # PATH without this interpreter's folder: nbgrader must still find alembic (a virtualenv that is not activated)
    env = dict(os.environ, PATH=os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                                 if Path(p).resolve() != Path(sys.executable).parent.resolve()))
    result = run_tito(project, "nbgrader", "generate", "--all", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    for module in MODULES:
        release = project / "course" / "release" / module.slug / f"{module.slug}.ipynb"
        text = "\n".join(cell.source for cell in nbformat.read(release, as_version=4).cells)
        source = (project / module.source).read_text()
        public = HIDDEN_BLOCK.sub("", SOLUTION_LINE.sub("", source))
        # a secret line: in a solution or hidden-test block, long enough to be specific, nowhere else in the source
        secrets = [line.strip() for block in SOLUTION_LINE.findall(source) + HIDDEN_BLOCK.findall(source)
                   for line in block.splitlines() if len(line.strip()) > 25 and line.strip() not in public]
        assert secrets, module.slug
        leaked = [line for line in secrets if line in text]
        assert not leaked, (module.slug, leaked[:3])
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text
        assert "raise NotImplementedError" in text

