"""tito end to end: the student loop and the instructor's nbgrader workflow, with real kernels and a real gradebook."""

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


def test_module_that_does_not_parse_is_refused_and_package_untouched(project):
    source = project / "modules" / "03_layers" / "layers.py"
    source.write_text(source.read_text().replace("out = x @ w\n", "out = x @@ w\n"))
    package = _snapshot(project / "tinytorch")
    result = run_tito(project, "module", "complete", "03")
    assert result.returncode == 2
    assert re.search(r"layers\.py:\d+: export cell does not parse", result.stderr)
    assert "nothing was exported" in result.stderr
    assert _snapshot(project / "tinytorch") == package


def test_doctor_reports_a_ready_machine():
    result = run_tito(ROOT, "doctor")
    assert result.returncode == 0, result.stdout
    assert "everything is ready" in result.stdout and "python3 kernel found" in result.stdout


# ---- the student loop -------------------------------------------------------------------

def _fill_in(scaffold_text: str, reference_text: str) -> str:
    """What a student does: replace every stub by the solution the reference has at that place."""
    solutions = re.findall(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", reference_text, flags=re.S)
    stubs = re.findall(r"[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\([^\n]*\)", scaffold_text)
    assert len(solutions) == len(stubs) > 0
    for stub, solution in zip(stubs, solutions):
        scaffold_text = scaffold_text.replace(stub, solution, 1)
    return scaffold_text


@pytest.mark.slow
def test_student_starts_completes_and_gets_told_what_failed(project):
    source = project / "modules" / "04_losses" / "losses.py"
    reference = source.read_text()
    started = run_tito(project, "module", "start", "04")
    assert started.returncode == 0, started.stderr
    scaffold_text = source.read_text()
    assert "### BEGIN SOLUTION" not in scaffold_text and "HIDDEN TESTS" not in scaffold_text
    assert 'raise NotImplementedError("task 4.4: replace this line' in scaffold_text
    assert (project / ".tito" / "reference" / "04_losses.py").read_text() == reference
    assert any((project / ".tito" / "backups" / "04_losses").iterdir())

    # unfinished: complete fails and names the tests, but the package still imports
    unfinished = run_tito(project, "module", "complete", "04")
    assert unfinished.returncode == 1 and "NotImplementedError: task 4.1" in unfinished.stdout

    # a wrong MSE: the failing test is named with its assertion message
    solved = _fill_in(scaffold_text, reference)
    source.write_text(solved.replace("return _reduce(residual * residual, reduction, w)", "return (residual * residual).sum()"))
    wrong = run_tito(project, "module", "complete", "04")
    assert wrong.returncode == 1
    assert re.search(r"FAILED\s+test_mse_gradient_is_two_residual_over_n", wrong.stdout)
    assert "assert" in wrong.stdout.split("test_mse_gradient_is_two_residual_over_n", 1)[1].splitlines()[1]
    counts = re.search(r"04_losses: (\d+) passed, (\d+) failed", wrong.stdout)
    assert counts and int(counts.group(2)) >= 1

    # the edited file is protected from a second start
    refused = run_tito(project, "module", "start", "04")
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert source.read_text() != scaffold_text

    # fixed: everything passes and the package holds the student's code
    source.write_text(solved)
    done = run_tito(project, "module", "complete", "04")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"04_losses: \d+ passed, 0 failed", done.stdout)
    assert "next: tito module start 05" in done.stdout
    status = run_tito(project, "module", "status")
    assert re.search(r"04 .*losses.*yes.*passed, 0", status.stdout)


@pytest.mark.slow
def test_student_may_work_in_the_notebook(project):
    import jupytext

    assert run_tito(project, "module", "start", "03").returncode == 0
    reference = (project / ".tito" / "reference" / "03_layers.py").read_text()
    notebook_path = project / "modules" / "03_layers" / "layers.ipynb"
    notebook = jupytext.read(notebook_path)
    solved = jupytext.reads(_fill_in(jupytext.writes(notebook, fmt="py:percent"), reference), fmt="py:percent")
    os.utime(project / "modules" / "03_layers" / "layers.py", (1, 1))  # the notebook is the newer file
    jupytext.write(solved, notebook_path)
    done = run_tito(project, "module", "complete", "03")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exported modules/03_layers/layers.ipynb" in done.stdout


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

