"""Milestones: they reach their thresholds with fixed seeds, and tito refuses when a module is missing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import copy_project, run_tito
from tito_cli.manifest import MILESTONES

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 3])
def test_milestone_03_reaches_97_percent(seed):
    result = _run(str(ROOT / "milestones" / "03_mlp_digits.py"), "--no-progress", "--seed", str(seed))
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"test accuracy: (\d+\.\d)%", last)
    assert match, last
    assert float(match.group(1)) >= 97.0


@pytest.mark.slow
@pytest.mark.parametrize("milestone", ["01", "02"])
def test_early_milestones_succeed_through_tito(milestone, tmp_path):
    result = run_tito(ROOT, "milestone", "run", milestone, "--no-progress", "--plot", str(tmp_path / "curves.png"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("test accuracy: 100.0%")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_milestone_list_names_every_milestone_and_its_modules():
    result = run_tito(ROOT, "milestone", "list")
    assert result.returncode == 0
    for m in MILESTONES:
        assert m.name in result.stdout and str(m.year) in result.stdout


def test_run_refuses_when_a_needed_module_is_missing(tmp_path):
    root = copy_project(tmp_path)
    (root / "tinytorch" / "core" / "training.py").unlink()
    result = run_tito(root, "milestone", "run", "03")
    assert result.returncode == 2
    assert "needs module 07_training" in result.stderr and "tito module complete 07" in result.stderr
    unknown = run_tito(ROOT, "milestone", "run", "7")
    assert unknown.returncode == 2 and "unknown milestone '7'" in unknown.stderr
