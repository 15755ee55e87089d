"""The cross-entropy kernel: forward + backward, float32, against hand-written numpy and PyTorch.

Time is the median of interleaved runs; memory is the peak that tracemalloc
sees above the inputs, in units of one B x C float32 buffer.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import tracemalloc

import numpy as np

from common import interleaved, load_torch
from tinytorch.core.losses import cross_entropy
from tinytorch.core.tensor import Tensor

SIZES = [(64, 10), (4096, 1000), (1024, 50257)]


def numpy_cross_entropy(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The textbook numpy version: log-softmax, pick, mean; gradient softmax - onehot over N."""
    rows = np.arange(len(y))
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean()
    grad = np.exp(log_p)
    grad[rows, y] -= 1.0
    grad /= len(y)
    return float(loss), grad


def tinytorch_cross_entropy(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    logits = Tensor(x, requires_grad=True)
    loss = cross_entropy(logits, y)
    loss.backward()
    return loss.item(), logits.grad.data


def torch_cross_entropy(torch, x: np.ndarray, y: np.ndarray):
    logits = torch.from_numpy(x).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    return loss.item(), logits.grad


def peak_buffers(fn, x: np.ndarray, y: np.ndarray) -> float:
    """Peak extra memory of one call, in B x C float32 buffers (the result counts: it is the gradient)."""
    fn(x, y)
    tracemalloc.start()
    result = fn(x, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / x.nbytes


def run(rounds: int = 7, sizes: list[tuple[int, int]] = SIZES) -> list[dict]:
    torch = load_torch()
    rows = []
    for batch, classes in sizes:
        rng = np.random.default_rng(0)
        x = (rng.standard_normal((batch, classes)) * 3).astype(np.float32)
        y = rng.integers(0, classes, batch)
        ours_loss, ours_grad = tinytorch_cross_entropy(x, y)
        ref_loss, ref_grad = numpy_cross_entropy(x, y)
        assert np.isclose(ours_loss, ref_loss, rtol=1e-4) and np.allclose(ours_grad, ref_grad, atol=1e-6)
        candidates = {"numpy": lambda: numpy_cross_entropy(x, y), "tinytorch": lambda: tinytorch_cross_entropy(x, y)}
        if torch is not None:
            candidates["pytorch"] = lambda: torch_cross_entropy(torch, x, y)
        big = batch * classes > 10_000_000
        times = interleaved(candidates, rounds=rounds if big else 5 * rounds, inner=1 if big else 20,
                            warmup=1 if big else 3)
        rows.append({"batch": batch, "classes": classes, "ms": {k: 1000 * v for k, v in times.items()},
                     "ratio": {k: v / times["numpy"] for k, v in times.items()},
                     "peak_buffers": {"numpy": peak_buffers(numpy_cross_entropy, x, y),
                                      "tinytorch": peak_buffers(tinytorch_cross_entropy, x, y)}})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
