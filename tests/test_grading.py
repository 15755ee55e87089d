"""Autograding: probes cover every graded cell; submissions run sandboxed; hostile ones gain nothing."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import re
import selectors
import shutil
import socket
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "e2e"))
import hostile  # noqa: E402
from helpers import ROOT, copy_project, run_tito  # noqa: E402
from submissions import ABSENT, SUBMISSIONS, TOTAL  # noqa: E402

from tito_cli import grading, sandbox  # noqa: E402
from tito_cli.manifest import MODULES  # noqa: E402
from tito_cli.probing import load_probes  # noqa: E402

needs_bwrap = pytest.mark.skipif(sandbox.bwrap_path() is None,
                                 reason=f"bubblewrap is not installed ({sandbox.INSTALL}); .ci/run installs it")


# ---- probes ----------------------------------------------------------------------

def _graded_ids(module) -> set[str]:
    notebook = jupytext.read(ROOT / module.source)
    return {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("points")}


WITH_PROBES = [m for m in MODULES if (ROOT / "modules" / m.slug / "probes.py").exists()]


def test_modules_01_to_08_have_probes():
    assert {m.number for m in WITH_PROBES} >= {f"{n:02d}" for n in range(1, 9)}


def test_a_module_without_probes_is_refused(tmp_path):
    module = MODULES[0]
    for kind in ("source", "release"):
        folder = tmp_path / "course" / kind / module.slug
        folder.mkdir(parents=True)
        (folder / f"{module.slug}.ipynb").write_text("{}")
    (tmp_path / "modules" / module.slug).mkdir(parents=True)
    with pytest.raises(grading.CommandError, match=rf"modules/{module.slug}/probes.py is missing"):
        grading._inputs(tmp_path, module, tmp_path / "course")


@pytest.mark.parametrize("module", WITH_PROBES, ids=lambda m: m.slug)
def test_every_graded_cell_is_covered_by_probes(module):
    probes, tolerance = load_probes(str(ROOT / "modules" / module.slug / "probes.py"))
    assert set(probes) == _graded_ids(module), "probes must name exactly the graded cells"
    names = [p.__name__ for functions in probes.values() for p in functions]
    assert len(names) == len(set(names)), "probe names are unique (outputs and tolerances are keyed by them)"
    assert all(functions for functions in probes.values())
    for key, (rtol, atol) in tolerance.items():
        assert key in probes or key in names, key
        assert rtol >= 0 and atol >= 0


STUB = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S | re.M)


@pytest.mark.slow
@pytest.mark.parametrize("module", WITH_PROBES, ids=lambda m: m.slug)
def test_probes_run_on_the_reference_and_fail_on_the_stubs(module, tmp_path):
    """Every probe gives outputs on the reference solution; with the solutions replaced by stubs, every cell fails."""
    probes_file = ROOT / "modules" / module.slug / "probes.py"
    probes, tolerance = load_probes(str(probes_file))
    kit = grading._build_kit(ROOT, module, probes_file)
    try:
        job = grading.Job(module, tmp_path, kit, None, None, {}, {g: 1.0 for g in probes}, tolerance, {},
                          sandbox.Limits(), 30.0, False, [])
        notebook = jupytext.read(ROOT / module.source)
        result = grading._run_cells(job, grading.code_cells(notebook), list(probes))
        reference, probe_errors, cell_errors, current = grading._outputs(result, 1 << 26)
        assert not cell_errors and not current and result.returncode == 0, (cell_errors, result.output[-2000:])
        assert not any(probe_errors.values()), probe_errors
        assert set(reference) == set(probes) and all(reference.values())
        for cell in notebook.cells:
            cell.source = STUB.sub(lambda match: match.group(1) + "raise NotImplementedError", cell.source)
        result = grading._run_cells(job, grading.code_cells(notebook), list(probes))
        stubbed, probe_errors, _, _ = grading._outputs(result, 1 << 26)
        for grade_id in probes:
            assert grading.compare(reference[grade_id], stubbed.get(grade_id, {}), probe_errors.get(grade_id, {}),
                                   tolerance, grade_id) != "", grade_id
    finally:
        shutil.rmtree(kit)


def test_compare_names_the_probe_never_the_expected_value():
    reference = {"p/value": np.array([1.0, 2.0]), "p/error": np.array("ValueError"), "q/n": np.array(3)}
    tolerance = {"q": (0.0, 0.0)}
    assert grading.compare(reference, {"p/value": np.array([1.0, 2.0 + 1e-9]), "p/error": np.array("ValueError"),
                                       "q/n": np.array(3)}, {}, tolerance, "test_x") == ""
    assert grading.compare(reference, {"p/value": np.array([1.0, 2.1]), "p/error": np.array("ValueError"),
                                       "q/n": np.array(3)}, {}, tolerance, "test_x") == "probe p: value differs"
    assert grading.compare(reference, {"p/value": np.array([[1.0, 2.0]]), "p/error": np.array("ValueError"),
                                       "q/n": np.array(3)}, {}, tolerance, "test_x") == "probe p: value differs"
    assert grading.compare(reference, {"p/value": np.array([1.0, 2.0]), "p/error": np.array("TypeError"),
                                       "q/n": np.array(3)}, {}, tolerance, "test_x") == "probe p: error differs"
    assert grading.compare(reference, {"p/value": np.array([1.0, 2.0]), "p/error": np.array("ValueError")}, {},
                           tolerance, "test_x") == "probe q: n missing"
    assert grading.compare(reference, {}, {"p": "NameError: name 'f' is not defined"}, tolerance,
                           "test_x") == "probe p raised NameError: name 'f' is not defined"
    # strings never equal numbers; a NaN only matches a NaN in the reference
    assert not grading._same(np.array([1.0]), np.array(["1.0"]), 1e-5, 1e-8)
    assert not grading._same(np.array([1.0]), np.array([np.nan]), 1e-5, 1e-8)
    assert grading._same(np.array([np.nan, np.inf]), np.array([np.nan, np.inf]), 1e-5, 1e-8)


def test_results_archive_refuses_pickles_and_bombs():
    buffer = io.BytesIO()
    np.savez(buffer, ok=np.arange(3.0), text=np.array("ValueError"))
    assert set(grading._load_npz(buffer.getvalue(), 1 << 20)) == {"ok", "text"}
    pickled = io.BytesIO()
    np.savez(pickled, bad=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        grading._load_npz(pickled.getvalue(), 1 << 20)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("big.npy", b"\0" * (8 << 20))
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(ValueError, match="larger than the limit"):
        grading._load_npz(bomb.getvalue(), 1 << 20)


def test_results_frames_are_parsed_whole_or_not_at_all():
    frames: list = []
    blob = json.dumps({"event": "result", "name": "test_x"}).encode()
    stream = bytearray(len(blob).to_bytes(4, "big") + (3).to_bytes(4, "big") + blob + b"abc")
    stream += b"\0\0\0\5\0\0\0\0{not"
    assert sandbox._parse_frames(stream, frames) == ""  # the second frame is incomplete: kept for later
    assert frames == [({"event": "result", "name": "test_x"}, b"abc")]
    stream += b"}"
    assert sandbox._parse_frames(stream, frames) == "a results header that is not JSON"
    assert sandbox._parse_frames(bytearray(b"\xff\xff\xff\xff\0\0\0\0"), []) .startswith("a results header of")


def test_output_keeps_head_and_tail_only():
    output = sandbox._Output(1000)
    for _ in range(1000):
        output.add(b"y" * 1000)
    text = output.text()
    assert output.total == 1_000_000 and len(text) < 1100 and "bytes of output not kept" in text


# ---- end to end, module 02: hostile submissions ----------------------------------------

@pytest.fixture(scope="module")
def project02(tmp_path_factory) -> Path:
    """A private project copy with module 02 generated into course/ (shared; tests copy the course)."""
    project = copy_project(tmp_path_factory.mktemp("grading") / "project")
    result = run_tito(project, "nbgrader", "generate", "02")
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def _course_copy(project: Path, dest: Path) -> Path:
    shutil.copytree(project / "course", dest)
    return dest


def _notebooks(course: Path):
    read = lambda kind: nbformat.read(course / kind / "02_activations" / "02_activations.ipynb", as_version=4)  # noqa: E731
    return read("release"), read("source")


def _submit(course: Path, student: str, notebook, name: str = "02_activations.ipynb") -> Path:
    folder = course / "submitted" / student / "02_activations"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


def _dump(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.iterdump())


def _report(project: Path, course: Path) -> dict:
    result = run_tito(project, "nbgrader", "--course", str(course), "report", "02")
    assert result.returncode == 0, result.stdout + result.stderr
    with (course / "grades_02.csv").open() as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


@pytest.mark.slow
@needs_bwrap
def test_hostile_submissions_gain_nothing_and_honest_grades_are_exact(project02, tmp_path):
    course = _course_copy(project02, tmp_path / "course")
    release, source = _notebooks(course)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    facts = {"course": str(course), "source": str(course / "source" / "02_activations" / "02_activations.ipynb"),
             "leak": str(tmp_path / "leak"), "victim": str(course / "submitted" / "honest" / "02_activations" /
                                                           "02_activations.ipynb"),
             "outside": str(tmp_path / "outside.txt"), "port": listener.getsockname()[1]}
    for student, (_, build, _) in hostile.HOSTILE.items():
        _submit(course, student, build(release, source, facts))
    # what a course folder holds besides: odd, broken and missing submissions
    (course / "submitted" / "linked").mkdir()
    os.symlink(course / "submitted" / "honest" / "02_activations", course / "submitted" / "linked" / "02_activations")
    _submit(course, "garbled", hostile.correct(release, source)).write_text('{"cells": [')
    _submit(course, "empty", hostile.correct(release, source)).write_text("")
    _submit(course, "renamed", hostile.correct(release, source), name="my work.ipynb")
    _submit(course, "twice", hostile.correct(release, source))
    _submit(course, "twice", release, name="old.ipynb")
    lost = hostile.correct(release, source)
    for cell in lost.cells:
        cell.metadata.pop("nbgrader", None)
    _submit(course, "lost", lost)
    (course / "students.txt").write_text("\n".join([*hostile.HOSTILE, "absent"]) + "\n")
    victim = (course / "submitted" / "honest" / "02_activations" / "02_activations.ipynb").read_bytes()
    gradebook = _dump(course / "gradebook.db")

    graded = run_tito(project02, "nbgrader", "--course", str(course), "autograde", "02", "--timeout", "3",
                      "--submission-timeout", "20", "--memory", "1", "--workers", "2")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    connections = 0
    with pytest.raises(socket.timeout):
        while True:
            listener.accept()[0].close()
            connections += 1
    listener.close()

    rows = _report(project02, course)
    expected = {name: score for name, (_, _, score) in hostile.HOSTILE.items()}
    expected.update({"linked": 0, "garbled": 0, "empty": 0, "renamed": hostile.TOTAL, "twice": hostile.TOTAL,
                     "lost": hostile.TOTAL, "absent": 0})
    assert {s: float(r["score"]) for s, r in rows.items()} == expected
    notes = {s: r["note"] for s, r in rows.items()}
    assert rows["linked"]["status"] == "failed" and "symbolic link: refused" in notes["linked"]
    assert "not valid JSON" in notes["garbled"] and "is empty" in notes["empty"]
    assert "named my work.ipynb" in notes["renamed"] and "2 notebooks" in notes["twice"]
    assert "no nbgrader metadata" in notes["lost"] and rows["absent"]["status"] == "missing"
    assert "cell test_sigmoid: probe" in notes["wrong"] and "cell test_sigmoid: probe" in notes["patcher"]
    assert "cell test_softmax: probe" in notes["hooker"]
    assert "cell test_relu: timed out after 3 s" in notes["sleeper"]
    assert "MemoryError (memory limit 1 GiB)" in notes["hog"]
    assert "exited (code 3) (in cell sigmoid)" in notes["crasher"]
    assert "printed 47.7 MiB" in notes["shouter"]
    assert notes["honest"] == "" and notes["quitter"] == ""

    # nothing outside the sandbox changed, nothing leaked, no connection was made
    assert connections == 0
    assert not (tmp_path / "leak").exists() and not (tmp_path / "outside.txt").exists()
    assert (course / "submitted" / "honest" / "02_activations" / "02_activations.ipynb").read_bytes() == victim
    backups = sorted((course / "tito" / "backups").glob("gradebook-*.db"))
    assert len(backups) == 1 and _dump(backups[0]) == gradebook
    logs = course / "tito" / "logs"
    assert "Operation not permitted" in (logs / "forker" / "02_activations.log").read_text()
    assert "FileNotFoundError" in (logs / "thief" / "02_activations.log").read_text()
    assert "hidden" not in (logs / "thief" / "02_activations.log").read_text().lower()
    assert (logs / "shouter" / "02_activations.log").stat().st_size < 200_000
    assert re.search(r"overwrote|Read-only|No such file", (logs / "gradebook" / "02_activations.log").read_text())
    autograded = nbformat.read(course / "autograded" / "wrong" / "02_activations" / "02_activations.ipynb", 4)
    verdicts = [c.outputs[0].text for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert verdicts[0] == "autograded: passed\n" and verdicts[1].startswith("autograded: probe sigmoid")
    hidden_line = "_s64 = stable_sigmoid(np.array([-30.0]))"  # a hidden test of module 02, in the source only
    assert hidden_line in (course / "source" / "02_activations" / "02_activations.ipynb").read_text()
    assert hidden_line not in json.dumps(autograded)  # nbgrader's feedback shows this copy to the student
    feedback = grading._api(course).generate_feedback("02_activations", "wrong")
    assert feedback["success"], feedback
    html = (course / "feedback" / "wrong" / "02_activations" / "02_activations.html").read_text()
    assert "autograded: probe sigmoid_extremes" in html and hidden_line not in html


@pytest.mark.slow
@needs_bwrap
def test_two_runs_at_once_never_interleave(project02, tmp_path):
    course = _course_copy(project02, tmp_path / "course")
    release, source = _notebooks(course)
    _submit(course, "honest", hostile.correct(release, source))
    _submit(course, "wrong", hostile.HOSTILE["wrong"][1](release, source, {}))
    lock = course / "tito" / "autograde.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        refused = run_tito(project02, "nbgrader", "--course", str(course), "autograde", "02")
        assert refused.returncode == 2 and "another autograde is running" in refused.stderr + refused.stdout
        assert not (course / "tito" / "backups").exists()  # refused before touching anything
        waiting = subprocess.Popen([sys.executable, str(project02 / "tito.py"), "nbgrader", "--course", str(course),
                                    "autograde", "02", "--wait"], cwd=project02, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        ready = selectors.DefaultSelector()
        ready.register(waiting.stdout, selectors.EVENT_READ)
        assert ready.select(timeout=120), "the second run neither waited nor finished"
        first_line = waiting.stdout.readline()
        assert "another autograde is running on this course" in first_line and "waiting" in first_line
        assert waiting.poll() is None  # still waiting for the lock
    # two more at once, both waiting their turn
    second = subprocess.Popen([sys.executable, str(project02 / "tito.py"), "nbgrader", "--course", str(course),
                               "autograde", "02", "--wait", "--student", "wrong"], cwd=project02,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out_first, _ = waiting.communicate(timeout=300)
    out_second, _ = second.communicate(timeout=300)
    assert waiting.returncode == 0, out_first
    assert second.returncode == 0, out_second
    assert "wrong: 5/8" in out_second and "honest:" not in out_second  # --student regrades that student only
    rows = _report(project02, course)
    assert float(rows["honest"]["score"]) == hostile.TOTAL
    assert float(rows["wrong"]["score"]) == hostile.TOTAL - hostile.POINTS["test_sigmoid"]
    assert len(list((course / "tito" / "backups").glob("gradebook-*.db"))) == 2


@pytest.mark.slow
def test_without_bubblewrap_autograde_refuses_and_no_sandbox_warns(project02, tmp_path):
    course = _course_copy(project02, tmp_path / "course")
    release, source = _notebooks(course)
    _submit(course, "honest", hostile.correct(release, source))
    _submit(course, "wrong", hostile.HOSTILE["wrong"][1](release, source, {}))
    no_bwrap = dict(os.environ, PATH=str(tmp_path / "empty"))
    from tito_cli import doctor

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", no_bwrap["PATH"])
        with pytest.raises(RuntimeError, match=r"bubblewrap \(bwrap\) is not installed.*apt-get install bubblewrap"):
            doctor._sandbox()
    refused = run_tito(project02, "nbgrader", "--course", str(course), "autograde", "02", env=no_bwrap)
    assert refused.returncode == 2
    assert "apt-get install bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    assert not (course / "tito").exists()
    unprotected = run_tito(project02, "nbgrader", "--course", str(course), "autograde", "02", "--no-sandbox",
                           env=no_bwrap)
    assert unprotected.returncode == 0, unprotected.stdout + unprotected.stderr
    assert "warning: --no-sandbox" in unprotected.stderr
    rows = _report(project02, course)
    assert float(rows["honest"]["score"]) == hostile.TOTAL
    assert float(rows["wrong"]["score"]) == hostile.TOTAL - hostile.POINTS["test_sigmoid"]


# ---- end to end, module 04: the course's own examples ----------------------------------

@pytest.mark.slow
@needs_bwrap
@pytest.mark.filterwarnings("ignore::nbformat.warnings.MissingIDFieldWarning")  # hal's notebook lost its ids on purpose
def test_autograde_module_04_submissions_and_a_missing_one(tmp_path):
    project = copy_project(tmp_path / "project")
    assert run_tito(project, "nbgrader", "generate", "04").returncode == 0
    course = project / "course"
    release = nbformat.read(course / "release" / "04_losses" / "04_losses.ipynb", as_version=4)
    source = nbformat.read(course / "source" / "04_losses" / "04_losses.ipynb", as_version=4)
    for student, (build, _) in SUBMISSIONS.items():
        folder = course / "submitted" / student / "04_losses"
        folder.mkdir(parents=True)
        nbformat.write(build(release, source), folder / "04_losses.ipynb")
    (course / "students.txt").write_text("\n".join([*SUBMISSIONS, ABSENT]) + "\n")
    original_hal = (course / "submitted" / "hal" / "04_losses" / "04_losses.ipynb").read_bytes()

    graded = run_tito(project, "nbgrader", "autograde", "04", "--timeout", "3")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    assert re.search(r"hal: 31/31 .* no nbgrader metadata: restored", graded.stdout)
    assert re.search(r"autograded 8 submission\(s\) of 04_losses in \d+\.\d s", graded.stdout)
    report = run_tito(project, "nbgrader", "report", "04")
    assert report.returncode == 0, report.stderr
    with (course / "grades_04.csv").open() as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(SUBMISSIONS) | {ABSENT}
    for student, (_, expected) in SUBMISSIONS.items():
        assert float(rows[student]["score"]) == expected, (student, rows[student])
        assert float(rows[student]["max_score"]) == TOTAL and rows[student]["status"] == "graded"
    assert "timed out after 3 s" in rows["eve"]["note"]
    assert float(rows[ABSENT]["score"]) == 0 and rows[ABSENT]["status"] == "missing"
    # the student's own file is never rewritten (lost metadata is restored on a copy)
    assert (course / "submitted" / "hal" / "04_losses" / "04_losses.ipynb").read_bytes() == original_hal
