"""Shared test helpers: task markers, the PyTorch oracle, tensor factories."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_TASK = re.compile(r"\(task (\d+)\.(\d+)\)")


def pytest_configure(config: pytest.Config) -> None:
    # One marker per student task (`pytest -m task_4_3`), read from the
    # TODOs in the module sources so the two can never disagree.
    tasks = set()
    for source in sorted((ROOT / "modules").glob("*/*.py")):
        tasks.update(_TASK.findall(source.read_text(encoding="utf-8")))
    for major, minor in sorted(tasks):
        config.addinivalue_line("markers", f"task_{int(major)}_{int(minor)}: tests of task {int(major)}.{int(minor)}")


def torch_or_skip():
    """The torch module. CI sets TINYTORCH_REQUIRE_TORCH=1, which makes a missing torch an error, not a skip."""
    try:
        import torch
    except ImportError:
        if os.environ.get("TINYTORCH_REQUIRE_TORCH") == "1":
            raise
        pytest.skip("PyTorch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(1)
    return torch


@pytest.fixture
def torch():
    return torch_or_skip()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
