"""The module sources a student opens: valid nbgrader cells, solution delimiters, and they run top to bottom."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tito_cli.export import parse_cells
from tito_cli.manifest import MODULES

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"schema_version", "grade", "solution", "locked", "grade_id", "points", "task"}


def _cells(module):
    return parse_cells((ROOT / module.source).read_text(encoding="utf-8"), module.source.as_posix())


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_nbgrader_metadata_is_complete_and_strict(module):
    ids = []
    graded = 0
    for cell in _cells(module):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        where = f"{module.source}:{cell.line_number}"
        assert set(meta) <= ALLOWED, f"{where}: unexpected keys {set(meta) - ALLOWED}"
        assert meta.get("schema_version") == 3, where
        for key in ("grade", "solution", "locked"):
            assert isinstance(meta.get(key), bool), f"{where}: {key} must be true or false"
        assert re.fullmatch(r"[A-Za-z0-9_-]+", meta.get("grade_id", "")), f"{where}: bad grade_id"
        ids.append(meta["grade_id"])
        if meta["grade"]:
            graded += 1
            assert isinstance(meta.get("points"), (int, float)) and meta["points"] > 0, f"{where}: points"
            assert meta["locked"], f"{where}: a graded test cell must be locked"
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, \
                f"{where}: a solution cell without solution delimiters would be replaced whole"
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {module.source}"
    assert graded >= 2, f"{module.source} has only {graded} graded cells"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_every_todo_names_its_task(module):
    text = (ROOT / module.source).read_text(encoding="utf-8")
    todos = re.findall(r"# TODO(.*)", text)
    assert todos, f"{module.source} has no TODO for students"
    for todo in todos:
        assert re.match(rf" \(task {int(module.number)}\.\d+\)", todo), f"TODO without its task number: {todo}"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.slug)
def test_jupytext_reads_the_same_cells(module):
    import jupytext
    notebook = jupytext.read(ROOT / module.source)
    ours = [c for c in _cells(module)[1:]]
    assert len(notebook.cells) == len(ours)
    for theirs, mine in zip(notebook.cells, ours):
        assert theirs.cell_type == mine.kind
        assert theirs.metadata.get("nbgrader") == mine.metadata.get("nbgrader")


SOURCES = [source for module in MODULES for source in module.sources]


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda s: f"{s.parent.name}/{s.stem}")
def test_module_source_runs_top_to_bottom(source, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(ROOT / source)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("source", [s for m in MODULES for s in m.sources[1:]], ids=lambda s: f"{s.parent.name}/{s.stem}")
def test_companion_notebook_has_no_exercise_and_reads_as_a_notebook(source):
    import jupytext

    text = (ROOT / source).read_text(encoding="utf-8")
    cells = parse_cells(text, source.as_posix())
    assert not [c.line_number for c in cells if "nbgrader" in c.metadata], "a companion has no graded or solution cell"
    assert "### BEGIN SOLUTION" not in text and "# TODO" not in text
    assert len(jupytext.read(ROOT / source).cells) == len(cells) - 1


def test_every_task_has_tests_marked_with_its_number():
    marked = set()
    for test_file in (ROOT / "tests").glob("test_*.py"):
        marked.update(re.findall(r"@pytest\.mark\.task_(\d+)_(\d+)", test_file.read_text(encoding="utf-8")))
    for module in MODULES:
        tasks = set(re.findall(r"\(task (\d+)\.(\d+)\)", (ROOT / module.source).read_text(encoding="utf-8")))
        missing = sorted(f"{a}.{b}" for a, b in tasks if (a, b) not in marked)
        assert not missing, f"{module.slug}: tasks without a marked test: {missing}"
