"""Simulated student submissions of module 04, built from the release and the instructor's source.

Each builder returns a notebook (nbformat) as a student might hand it in.
"""

from __future__ import annotations

import copy
import re


def _by_id(notebook):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}


def correct(release, source):
    """Every solution cell filled in with the reference solution."""
    notebook = copy.deepcopy(release)
    solutions = _by_id(source)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = solutions[meta["grade_id"]].source
    return notebook


def _replace_in(notebook, grade_id, old, new):
    cell = _by_id(notebook)[grade_id]
    assert old in cell.source, (grade_id, old)
    cell.source = cell.source.replace(old, new)
    return notebook


def partly_wrong(release, source):
    """MSE reduces with the sum instead of the requested reduction: the MSE test fails."""
    notebook = correct(release, source)
    cell = _by_id(notebook)["mse_loss"]
    cell.source, count = re.subn(r"return _reduce\(residual \* residual, reduction[^\n]*",
                                 "return (residual * residual).sum()", cell.source)
    assert count == 1, cell.source
    return notebook


def hard_coded(release, source):
    """The triplet loss returns the numbers the visible test expects: hidden tests catch it."""
    notebook = correct(release, source)
    cell = _by_id(notebook)["triplet_margin_loss"]
    start = cell.source.index("    d_pos = ")
    end = cell.source.index("    ### END SOLUTION")
    cell.source = cell.source[:start] + "    return Tensor([0.0, 2.0])\n" + cell.source[end:]
    return notebook


def syntax_error(release, source):
    """A SyntaxError in the Huber cell: only what depends on it fails."""
    return _replace_in(correct(release, source), "huber_loss", "residual = input - target", "residual = input - target)")


def infinite_loop(release, source):
    """The focal loss cell never finishes: the cell times out, the rest is graded."""
    return _replace_in(correct(release, source), "focal_loss", "log_pt = -cross_entropy",
                       "while True:\n        pass\n    log_pt = -cross_entropy")


def edited_test(release, source):
    """The student weakened a locked test cell: nbgrader restores it from the source."""
    notebook = correct(release, source)
    _by_id(notebook)["test_cross_entropy"].source = "assert True  # tests are boring"
    return notebook


def deleted_test(release, source):
    """A whole test cell deleted: it is added back and graded."""
    notebook = correct(release, source)
    notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_dpo_loss"]
    return notebook


def lost_metadata(release, source):
    """Saved through a plain script: the cells survive, every nbgrader metadata entry is gone."""
    notebook = correct(release, source)
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
        cell.pop("id", None)
    return notebook


# points of module 04's graded cells, to state the expected scores in one place
POINTS = {"test_mse_loss": 3, "test_huber_loss": 3, "test_bce_with_logits": 4, "test_cross_entropy": 5,
          "test_masked_mean": 2, "test_focal_loss": 3, "test_info_nce_loss": 3, "test_triplet_margin_loss": 3,
          "test_dpo_loss": 3, "test_loss_term_shares": 2}
TOTAL = sum(POINTS.values())

SUBMISSIONS = {
    "ada": (correct, TOTAL),
    "ben": (partly_wrong, TOTAL - POINTS["test_mse_loss"]),
    "cyd": (hard_coded, TOTAL - POINTS["test_triplet_margin_loss"]),
    "dan": (syntax_error, TOTAL - POINTS["test_huber_loss"]),
    "eve": (infinite_loop, TOTAL - POINTS["test_focal_loss"]),
    "fay": (edited_test, TOTAL),
    "gus": (deleted_test, TOTAL),
    "hal": (lost_metadata, TOTAL),
}
ABSENT = "ivy"  # on the roster, never submitted
