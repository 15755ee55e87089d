"""Benchmark plumbing shared by the suite: one BLAS thread, interleaved timing, medians, JSON.

Import this module before numpy: it pins the BLAS thread pools to one
thread, so ratios compare the frameworks and not the thread scheduler.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402


def load_torch():
    """torch with one thread, or None when it is not installed (its rows are then left out)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def interleaved(candidates: dict[str, Callable[[], object]], rounds: int, inner: int = 1,
                warmup: int = 3) -> dict[str, float]:
    """Median seconds per call of each candidate, measured round-robin so drift hits all alike."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(values) for name, values in samples.items()}


def machine() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": str(os.cpu_count()), "blas_threads": os.environ["OPENBLAS_NUM_THREADS"]}


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
