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


def paired_rounds(candidates: dict[str, Callable[[], object]], rounds: int, inner: int,
                  warmup: int = 3) -> tuple[dict[str, float], list[float]]:
    """Median ms per call of each candidate over ``rounds`` rounds of ``inner`` calls each, and the
    per-round ratios tinytorch / pytorch (empty without PyTorch): a round runs both under the same load."""
    per_round = [interleaved(candidates, rounds=1, inner=inner, warmup=warmup if i == 0 else 0)
                 for i in range(rounds)]
    ms = {name: 1000 * statistics.median(r[name] for r in per_round) for name in candidates}
    ratios = [r["tinytorch"] / r["pytorch"] for r in per_round] if "pytorch" in candidates else []
    return ms, ratios


def quartiles(values: list[float]) -> list[float]:
    """The 25th and 75th percentiles: the spread reported beside a median ratio."""
    return [float(q) for q in np.percentile(values, [25, 75])]


def machine() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
            "cpus": str(os.cpu_count()), "blas_threads": os.environ["OPENBLAS_NUM_THREADS"]}


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
