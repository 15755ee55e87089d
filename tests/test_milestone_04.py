"""Milestone 04 (CNN on the digits): one seed end to end through tito, and the five-seed accuracy target."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_tito

ROOT = Path(__file__).resolve().parents[1]
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def test_milestone_04_through_tito_reports_both_models(tmp_path):
    plot = tmp_path / "curves.png"
    result = run_tito(ROOT, "milestone", "run", "04", "--seed", "0", "--no-progress", "--plot", str(plot),
                      env=dict(os.environ, **ONE_THREAD))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    accuracy = float(re.fullmatch(r"test accuracy: (\d+\.\d)%", lines[-1]).group(1))
    assert accuracy >= 98.0 and lines[-2] == "result: reached the 98% threshold"
    assert "1,293 digits (144 held out for validation)" in result.stdout
    mlp = re.search(r"MLP 64-128-128-10 \(1986\)\s+26,122\s+[\d.]+ s\s+(\d+\.\d)%", result.stdout)
    cnn = re.search(r"CNN, LeNet-style \(1998\)\s+6,090\s+[\d.]+ s\s+(\d+\.\d)%", result.stdout)
    assert mlp and cnn and float(cnn.group(1)) == accuracy and 90.0 < float(mlp.group(1)) <= 100.0
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_milestone_04_five_seeds_meet_the_target():
    # Seeds 0-4 in one process (one import, one BLAS thread): mean >= 98.7%, each >= 98.0%. The training time
    # is printed for the record, never asserted: this machine's load is not the code's speed.
    code = ("import importlib.util, json, sys\n"
            "sys.path.insert(0, 'milestones')\n"
            "spec = importlib.util.spec_from_file_location('m04', 'milestones/04_cnn_digits.py')\n"
            "m04 = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(m04)\n"
            "runs = [m04.train_cnn(seed) for seed in range(5)]\n"
            "print(json.dumps([[r.test_accuracy, r.seconds] for r in runs]))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, **ONE_THREAD))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    accuracies = [accuracy for accuracy, _ in runs]
    print("accuracies", accuracies, "seconds", [seconds for _, seconds in runs])
    assert min(accuracies) >= 0.98, accuracies
    assert sum(accuracies) / 5 >= 0.987, accuracies
