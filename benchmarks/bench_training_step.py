"""One training step of an MLP 64 -> H -> H -> 10: forward, softmax cross-entropy, backward, SGD momentum.

Compared in one run: tinytorch, a hand-fused numpy step written below (the
floor for any numpy framework), and PyTorch eager when installed. Also
checks with tracemalloc that a tinytorch step allocates no more than its
activations and gradients need.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import tracemalloc

import numpy as np

from common import interleaved, load_torch
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor

SIZES = [(32, 128), (256, 128), (256, 1024)]
LR, MOMENTUM = 0.01, 0.9


def make_data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 64)).astype(np.float32), rng.integers(0, 10, batch)


def init_weights(hidden: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    shapes = [(64, hidden), (hidden,), (hidden, hidden), (hidden,), (hidden, 10), (10,)]
    return [rng.uniform(-0.1, 0.1, s).astype(np.float32) for s in shapes]


class NumpyStep:
    """The same step, fused by hand: no graph, no per-op objects, gradients written out."""

    def __init__(self, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        self.w = [w.copy() for w in weights]
        self.buffers = [np.zeros_like(w) for w in self.w]
        self.x, self.y = x, y
        self.rows = np.arange(len(y))

    def __call__(self) -> float:
        w1, b1, w2, b2, w3, b3 = self.w
        x, y, n = self.x, self.y, len(self.y)
        h1 = x @ w1 + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ w2 + b2
        a2 = np.maximum(h2, 0)
        logits = a2 @ w3 + b3
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        loss = float((np.log(s[:, 0]) + m[:, 0] - logits[self.rows, y]).mean())
        g = e / s
        g[self.rows, y] -= 1.0
        g /= n
        grads = [None] * 6
        grads[4], grads[5] = a2.T @ g, g.sum(axis=0)
        g = (g @ w3.T) * (h2 > 0)
        grads[2], grads[3] = a1.T @ g, g.sum(axis=0)
        g = (g @ w2.T) * (h1 > 0)
        grads[0], grads[1] = x.T @ g, g.sum(axis=0)
        for p, buf, grad in zip(self.w, self.buffers, grads):
            buf *= MOMENTUM
            buf += grad
            p -= LR * buf
        return loss


class TinyStep:
    def __init__(self, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        hidden = weights[0].shape[1]
        self.model = Sequential(Linear(64, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 10))
        for p, w in zip(self.model.parameters(), weights):
            p.data[...] = w
        self.optimizer = SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.loss_fn = CrossEntropyLoss()
        self.x, self.y = Tensor(x), Tensor(y)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


class TorchStep:
    def __init__(self, torch, weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> None:
        hidden = weights[0].shape[1]
        nn = torch.nn
        self.torch = torch
        self.model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, 10))
        with torch.no_grad():
            for layer, (w, b) in zip([self.model[0], self.model[2], self.model[4]],
                                     [(weights[0], weights[1]), (weights[2], weights[3]), (weights[4], weights[5])]):
                layer.weight.copy_(torch.from_numpy(w.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def _peak(step) -> int:
    for _ in range(3):
        step()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def step_allocations(batch: int, hidden: int) -> dict[str, float]:
    """Peak bytes one step allocates, tinytorch against the hand-fused numpy step (which holds only
    the activations and gradients the computation needs)."""
    x, y = make_data(batch)
    weights = init_weights(hidden)
    ours, floor = _peak(TinyStep(weights, x, y)), _peak(NumpyStep(weights, x, y))
    return {"peak_bytes": ours, "numpy_peak_bytes": floor, "ratio": ours / floor}


def run(rounds: int = 60, sizes: list[tuple[int, int]] = SIZES) -> list[dict]:
    torch = load_torch()
    rows = []
    for batch, hidden in sizes:
        x, y = make_data(batch)
        weights = init_weights(hidden)
        candidates = {"numpy": NumpyStep(weights, x, y), "tinytorch": TinyStep(weights, x, y)}
        if torch is not None:
            candidates["pytorch"] = TorchStep(torch, weights, x, y)
        losses = {name: fn() for name, fn in candidates.items()}
        assert max(losses.values()) - min(losses.values()) < 1e-4, losses  # the same computation
        inner = 20 if hidden <= 128 else 3
        times = interleaved(candidates, rounds=rounds, inner=inner)
        row = {"batch": batch, "hidden": hidden, "ms": {k: 1000 * v for k, v in times.items()},
               "ratio": {k: v / times["numpy"] for k, v in times.items()},
               "memory": step_allocations(batch, hidden)}
        rows.append(row)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
