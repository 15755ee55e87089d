"""The student's path: start a module in work/, complete it, read what failed, run a milestone; the class kit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import copy_project, hide_packages, run_tito
from tito_cli.scaffold import STUB_MESSAGE

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)\n\s*### END SOLUTION", re.S)
STUB = re.compile(r"[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\([^\n]*\)")


@pytest.fixture
def project(tmp_path) -> Path:
    """A private copy of the project, so tests may change the package (no work/, no .tito/)."""
    return copy_project(tmp_path / "project")


def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def fill_in(scaffold_text: str, reference_text: str) -> str:
    """What a student does: replace every stub by the solution the reference has at that place."""
    solutions = SOLUTION.findall(reference_text)
    stubs = STUB.findall(scaffold_text)
    assert len(solutions) == len(stubs) > 0
    for stub, solution in zip(stubs, solutions):
        scaffold_text = scaffold_text.replace(stub, solution, 1)
    return scaffold_text


def with_export_cell(text: str, code: str) -> str:
    """``text`` with one more export cell, holding ``code``, at the end."""
    return text.rstrip("\n") + "\n\n\n# %%\n#| export\n" + code + "\n"


def started(project: Path, number: str, slug: str) -> tuple[Path, str]:
    """Start module ``number``; its work file and the course source (the reference)."""
    result = run_tito(project, "module", "start", number)
    assert result.returncode == 0, result.stdout + result.stderr
    name = slug.split("_", 1)[1]
    return project / "work" / slug / f"{name}.py", (project / "modules" / slug / f"{name}.py").read_text()


# ---- item 4: the workspace -------------------------------------------------------------

def test_start_writes_the_workspace_and_never_the_course_source(project):
    modules = _snapshot(project / "modules")
    work, reference = started(project, "04", "04_losses")
    assert _snapshot(project / "modules") == modules  # the course source is untouched
    text = work.read_text()
    assert "### BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert 'raise NotImplementedError("task 4.4: replace this line' in text
    assert (project / "work" / "04_losses" / "losses.ipynb").exists()
    check = run_tito(project, "export", "--check")
    assert check.returncode == 0, check.stdout  # nothing for a maintainer to "fix" by committing stubs
    assert "work/" in (ROOT / ".gitignore").read_text().splitlines()
    # an edited copy is never overwritten silently; --force keeps a backup
    work.write_text(text + "\n# my notes\n")
    refused = run_tito(project, "module", "start", "04")
    assert refused.returncode == 2 and "--force" in refused.stderr and work.read_text().endswith("# my notes\n")
    forced = run_tito(project, "module", "start", "04", "--force")
    assert forced.returncode == 0 and "backup of your previous file: .tito/backups/04_losses/" in forced.stdout
    backups = list((project / ".tito" / "backups" / "04_losses").iterdir())
    assert any(p.read_text().endswith("# my notes\n") for p in backups)


def test_complete_before_start_says_how_to_start(project):
    result = run_tito(project, "module", "complete", "03")
    assert result.returncode == 2 and "tito module start 03" in result.stderr


def test_module_that_does_not_parse_is_refused_and_package_untouched(project):
    work, reference = started(project, "03", "03_layers")
    work.write_text(fill_in(work.read_text(), reference).replace("out = x @ w\n", "out = x @@ w\n"))
    package = _snapshot(project / "tinytorch")
    result = run_tito(project, "module", "complete", "03")
    assert result.returncode == 2
    assert re.search(r"layers\.py:\d+: export cell does not parse", result.stderr)
    assert "nothing was exported" in result.stderr
    assert _snapshot(project / "tinytorch") == package


# ---- item 2: complete never leaves a broken package; each test is time-boxed --------------------

@pytest.mark.slow
@pytest.mark.parametrize("code, says", [
    ("while True:\n    pass", "did not finish in 3 s"),
    ("import sys\nsys.exit(0)", "called sys.exit(0)"),
    ("import os\nos._exit(0)", "ended the process"),
    ("raise RuntimeError('my bug')", "RuntimeError: my bug"),
])
def test_complete_restores_the_package_unless_the_import_check_passes_cleanly(project, code, says):
    work, reference = started(project, "03", "03_layers")
    work.write_text(with_export_cell(fill_in(work.read_text(), reference), code))
    package = _snapshot(project / "tinytorch")
    result = run_tito(project, "module", "complete", "03", "--timeout", "3", timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the package was left as it was" in result.stderr and says in result.stderr, result.stderr
    assert _snapshot(project / "tinytorch") == package
    imported = subprocess.run([sys.executable, "-c", "import tinytorch.core.layers"], cwd=project, timeout=60)
    assert imported.returncode == 0


@pytest.mark.slow
def test_a_test_stuck_in_a_loop_is_stopped_and_reported(project):
    work, reference = started(project, "03", "03_layers")
    solved = fill_in(work.read_text(), reference)
    line = next(line for line in solved.splitlines() if line.strip() == "out = x @ w")
    indent = line[: len(line) - len(line.lstrip())]
    work.write_text(solved.replace(line + "\n", f"{line}\n{indent}while True:\n{indent}    pass\n", 1))
    result = run_tito(project, "module", "complete", "03", "--timeout", "2", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TimeoutError: the test ran longer than 2 s" in result.stdout
    counts = re.search(r"03_layers: (\d+) passed, (\d+) failed", result.stdout)
    assert counts and int(counts.group(1)) >= 1 and int(counts.group(2)) >= 1


# ---- items 3, 5, 8: unfinished work is named; the report per task; milestones wait ------------------

@pytest.mark.slow
def test_student_completes_module_04_and_reads_what_failed_and_why(project):
    work, reference = started(project, "04", "04_losses")
    scaffold_text = work.read_text()

    # unfinished: tests fail with the task named; doctor and the milestone say which module to finish
    unfinished = run_tito(project, "module", "complete", "04")
    assert unfinished.returncode == 1 and "NotImplementedError: task 4.1" in unfinished.stdout
    assert re.search(r"task 4\.1\s*│\s*0/\d+\s*│\s*3\s*│\s*not yet", unfinished.stdout), unfinished.stdout
    ids = re.findall(r"(?:FAILED|ERROR)\s+(?:task [\d., ]+|other test)\s+(\S+)", unfinished.stdout)
    assert len(ids) == len(set(ids)) > 10, ids  # each parametrized test once, its [id] not eaten as markup
    assert "test_finite_values_and_gradients_at_logits_1e4_float32[bce_with_logits-<lambda>]" in ids
    doctor = run_tito(project, "doctor")
    assert doctor.returncode == 1 and re.search(r"04_losses: it still holds unfinished tasks \(4\.1, 4\.2,", doctor.stdout)
    milestone = run_tito(project, "milestone", "run", "03")
    assert milestone.returncode == 2 and "needs module 04_losses" in milestone.stderr
    assert "tito module complete 04" in milestone.stderr and "Traceback" not in milestone.stderr

    # a wrong DPO: every parametrized id is shown with its brackets, the check and the values compared
    solved = fill_in(scaffold_text, reference)
    right = "return _reduce(softplus(-z), reduction)"
    assert solved.count(right) == 1
    wrong = solved.replace(right, "return _reduce(softplus(z), reduction)")  # the sign of z flipped
    work.write_text(wrong)
    failed = run_tito(project, "module", "complete", "04")
    assert failed.returncode == 1
    report = failed.stdout.split("test_dpo_prefers_raising_the_chosen_answer", 1)[1]
    assert "check: assert np.isclose(chosen.grad.data[0], -0.5)" in report
    assert "got:  assert np.False_" in report and "where np.False_ = isclose(np.float32(0.5), -0.5)" in report, report
    assert re.search(r"task 4\.9\s*│\s*\d+/\d+\s*│\s*3\s*│\s*not yet", failed.stdout)
    milestone = run_tito(project, "milestone", "run", "03")
    assert milestone.returncode == 2 and "needs module 04_losses" in milestone.stderr and "failed" in milestone.stderr
    check = run_tito(project, "export", "--check")  # the maintainer's check tells the student's export apart
    assert check.returncode == 1 and "holds your work on module 04" in check.stdout
    assert "do not commit your work" in check.stdout

    # fixed: complete, the status says so, and the milestone may run
    work.write_text(solved)
    done = run_tito(project, "module", "complete", "04")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"04_losses: \d+ passed, 0 failed", done.stdout) and "next: tito module start 05" in done.stdout
    status = run_tito(project, "module", "status")
    assert re.search(r"04\s*│\s*losses\s*│\s*complete", status.stdout), status.stdout
    ran = run_tito(project, "milestone", "run", "01", "--no-progress")
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_commands_say_what_to_install_before_changing_anything(project, tmp_path):
    work, reference = started(project, "03", "03_layers")
    work.write_text(fill_in(work.read_text(), reference))
    package = _snapshot(project / "tinytorch")
    env = hide_packages(tmp_path / "hidden", "pytest", "jupytext", "matplotlib")
    complete = run_tito(project, "module", "complete", "03", env=env)
    assert complete.returncode == 2 and "pytest is not installed" in complete.stderr
    assert 'pip install -e ".[dev]"' in complete.stderr and _snapshot(project / "tinytorch") == package
    start = run_tito(project, "module", "start", "05", env=env)
    assert start.returncode == 0 and "no notebook was written: jupytext is not installed" in start.stdout
    plot = run_tito(project, "milestone", "run", "01", "--no-progress", "--plot", str(tmp_path / "x.png"), env=env)
    assert plot.returncode == 2 and 'pip install -e ".[plot]"' in plot.stderr and "nothing was trained" in plot.stderr
    doctor = run_tito(project, "doctor", env=env)
    assert 'pip install -e ".[dev]"' in doctor.stdout and 'pip install -e ".[plot]"' in doctor.stdout  # not eaten as markup


# ---- item 6: .py or .ipynb -------------------------------------------------------------

@pytest.mark.slow
def test_differing_notebook_and_py_are_not_guessed(project):
    import jupytext

    work, reference = started(project, "03", "03_layers")
    notebook_path = work.with_suffix(".ipynb")
    solved = fill_in(work.read_text(), reference)
    jupytext.write(jupytext.reads(solved, fmt="py:percent"), notebook_path)  # the notebook holds the work
    done = run_tito(project, "module", "complete", "03")  # the .py is as `start` wrote it: not the work
    assert done.returncode == 0 and "exported work/03_layers/layers.ipynb" in done.stdout, done.stdout + done.stderr
    work.write_text(solved.replace("# %% [markdown]", "# %% [markdown]\n# my note", 1).replace(
        "out = x @ w\n", "out = x @ w  # mine\n"))  # both edited now, and they differ
    package = _snapshot(project / "tinytorch")
    asked = run_tito(project, "module", "complete", "03")
    assert asked.returncode == 2 and "--from py" in asked.stderr and "--from ipynb" in asked.stderr
    assert "differ in their export cells" in asked.stderr and _snapshot(project / "tinytorch") == package
    done = run_tito(project, "module", "complete", "03", "--from", "ipynb")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exported work/03_layers/layers.ipynb" in done.stdout
    work.write_text(solved)  # both agree now: no question
    again = run_tito(project, "module", "complete", "03")
    assert again.returncode == 0 and "exported work/03_layers/layers.py" in again.stdout


# ---- item 4: the class kit ----------------------------------------------------------------

@pytest.mark.slow
def test_kit_has_no_solutions_and_works_module_by_module(project, tmp_path):
    kit = tmp_path / "kit"
    made = run_tito(project, "kit", str(kit))
    assert made.returncode == 0, made.stdout + made.stderr
    from tito_cli.manifest import MODULES

    # a secret: a solution line that no notebook shows in public (one module's solution may be another's code)
    sources = [(project / path).read_text() for module in MODULES for path in module.sources]
    public = "\n".join(SOLUTION.sub("", text) for text in sources)
    secrets = {line.strip() for text in sources for block in SOLUTION.findall(text)
               for line in block.splitlines() if len(line.strip()) > 25 and line.strip() not in public}
    for module in MODULES:
        assert (kit / module.tests).exists() and (kit / module.source).exists()
        assert STUB_MESSAGE in (kit / module.target_path).read_text()
    assert secrets
    # the visible tests are public (one may spell out a line a solution also has); everything else must not leak
    leaked = [(p, line) for p in kit.rglob("*") if p.is_file() and ".git" not in p.parts and p.suffix in (".py", ".md")
              and p.parent != kit / "tests" for line in secrets if line in p.read_text(errors="replace")]
    assert not leaked, leaked[:3]
    assert (kit / "datasets" / "digits" / "digits8x8.npz").exists() and (kit / "milestones" / "03_mlp_digits.py").exists()
    assert not (kit / "tests" / "test_student.py").exists()  # only the module tests

    imported = subprocess.run([sys.executable, "-c", "import tinytorch.core.losses, tinytorch.data.loader"],
                              cwd=kit, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    refused = run_tito(kit, "milestone", "run", "01")
    assert refused.returncode == 2 and "needs module 01_tensor" in refused.stderr

    reference = (project / "modules" / "01_tensor" / "tensor.py").read_text()
    work, _ = started(kit, "01", "01_tensor")
    work.write_text(fill_in(work.read_text(), reference))
    done = run_tito(kit, "module", "complete", "01")
    assert done.returncode == 0, done.stdout + done.stderr
    # the tests of backward reach module 05's engine, still a stub: they wait for it, they are not failures
    waiting = re.search(r"01_tensor: (\d+) passed, 0 failed, (\d+) waiting for later modules", done.stdout)
    assert waiting and int(waiting.group(1)) > 10, done.stdout
    assert "stopped at task 5.3 of module 05_autograd" in done.stdout
    assert STUB_MESSAGE not in (kit / "tinytorch" / "core" / "tensor.py").read_text()
    refused = run_tito(kit, "milestone", "run", "01")
    assert refused.returncode == 2 and "needs module 02_activations" in refused.stderr
    progress = json.loads((kit / ".tito" / "progress.json").read_text())
    assert progress["01_tensor"]["completed"] is True


def test_kit_refuses_a_folder_that_is_not_empty(project, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("mine")
    result = run_tito(project, "kit", str(tmp_path / "full"))
    assert result.returncode == 2 and "not empty" in result.stderr
    assert (tmp_path / "full" / "x").read_text() == "mine"
