"""The benchmark code runs and compares like with like (no timing is asserted: machines are noisy)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_training_step_benchmark_runs_the_same_computation_everywhere():
    import bench_training_step

    rows = bench_training_step.run(rounds=2, sizes=[(16, 32)])  # asserts the losses agree inside
    assert rows[0]["ratio"]["numpy"] == 1.0 and rows[0]["ms"]["tinytorch"] > 0
    assert 0 < rows[0]["memory"]["peak_bytes"]


@pytest.mark.slow
def test_cross_entropy_benchmark_checks_values_and_measures_buffers():
    import bench_cross_entropy

    rows = bench_cross_entropy.run(rounds=1, sizes=[(128, 50)])  # asserts loss and gradient agree inside
    assert rows[0]["peak_buffers"]["tinytorch"] > 1.0  # at least the gradient itself


@pytest.mark.slow
def test_conv_benchmark_runs_the_same_network_in_both_frameworks():
    import bench_conv

    result = bench_conv.run(rounds=1, batches=[8], cifar_batch=2)  # asserts inside that the frameworks agree
    step, cifar = result["training_step"][0], result["cifar_layer"]
    assert step["im2col_bytes"] == [4 * 8 * 64 * 9, 4 * 8 * 16 * 9 * 16] and step["ms"]["tinytorch"] > 0
    assert cifar["im2col_bytes"][1] == 4 * 2 * 32 * 32 * 9 * 16 and cifar["input_bytes"] == 4 * 2 * 3 * 32 * 32


def test_importing_the_package_and_cli_is_light_and_writes_nothing(tmp_path):
    import subprocess

    root = Path(__file__).resolve().parents[1]
    code = ("import sys, tinytorch, tinytorch.core.training, tinytorch.core.losses, tinytorch.data.loader, tito\n"
            "heavy = [m for m in ('rich', 'matplotlib', 'nbgrader', 'jupytext', 'torch', 'scipy') if m in sys.modules]\n"
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(root), "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr == ""
    assert list(tmp_path.iterdir()) == []  # no log file, no cache, nothing


@pytest.mark.slow
def test_gelu_benchmark_compares_the_same_function():
    import bench_gelu

    result = bench_gelu.run(rounds=1, shape=(8, 16))  # asserts inside that the old and new GELU agree
    assert set(result["ratio_to_relu"]) >= {"relu", "gelu", "gelu_tanh", "gelu_per_element_erf"}
    assert result["ratio_to_relu"]["relu"] == (1.0, 1.0, 1.0)
