"""Milestones: they reach their thresholds with fixed seeds, and tito refuses when a module is missing."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import copy_project, hide_packages, run_tito
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


def _script(name: str):
    """A milestone script as a module (its file name starts with a digit, so it cannot be imported by name)."""
    sys.path.insert(0, str(ROOT / "milestones"))
    spec = importlib.util.spec_from_file_location(f"milestone_{name}", ROOT / "milestones" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_perceptron_prints_its_boundary_with_signs():
    boundary = _script("01_perceptron").boundary
    assert boundary(np.array([1.525, 2.948]), -0.709) == "1.525 x + 2.948 y - 0.709 = 0"
    assert boundary(np.array([-0.5, -2.0]), 0.25) == "-0.500 x - 2.000 y + 0.250 = 0"


def test_milestones_train_with_one_blas_thread():
    from threadpoolctl import threadpool_info

    one_blas_thread = _script("_cli").one_blas_thread
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy reports no BLAS library"
    with one_blas_thread():
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == \
        [pool["num_threads"] for pool in blas]


def test_plot_without_matplotlib_is_refused_before_training(tmp_path):
    env = hide_packages(tmp_path / "hidden", "matplotlib")
    result = subprocess.run([sys.executable, str(ROOT / "milestones" / "03_mlp_digits.py"), "--plot",
                             str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2 and 'pip install -e ".[plot]"' in result.stderr
    assert "training" not in result.stdout and not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_milestone_03_figure_shows_validation_and_the_goal(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = []
    original = plt.Figure.savefig

    def keep(fig, *args, **kwargs):
        shown.append(fig)
        return original(fig, *args, **kwargs)

    plt.Figure.savefig = keep
    try:
        code = _script("03_mlp_digits").main(["--no-progress", "--epochs", "3", "--plot", str(tmp_path / "c.png")])
    finally:
        plt.Figure.savefig = original
    assert code in (0, 1) and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    loss, accuracy = shown[0].axes
    for axis in (loss, accuracy):
        assert axis.get_title() and axis.get_xlabel() == "epoch" and axis.get_ylabel()
        assert [t for t in axis.get_xticks() if 1 <= t <= 3] == [1.0, 2.0, 3.0]  # whole epochs only
        assert [line.get_label() for line in axis.get_lines()][:2] == ["train", "validation"]
    assert any(line.get_label() == "goal 97%" and set(line.get_ydata()) == {97.0} for line in accuracy.get_lines())
