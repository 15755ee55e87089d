"""Convolutions: milestone 04's training step and a CIFAR-sized conv stack, tinytorch against PyTorch eager.

The training step is the whole of milestone 04's inner loop -- conv 3x3 (16) -> ReLU -> max-pool 2 -> conv 3x3
(32) -> ReLU -> max-pool 2 -> Linear(128, 10), cross-entropy with label smoothing 0.1, backward, Adam -- on
(B, 1, 8, 8) digits. The CIFAR-sized case is two convolutions, 3 -> 16 -> 32 channels with ReLU, on a
(64, 3, 32, 32) batch, forward and backward. Both frameworks start from the same weights and are timed
round-robin in one process on one thread. Also reported: the im2col buffer of every convolution, its only
large temporary.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import statistics

import numpy as np

from common import interleaved, load_torch, paired_rounds, quartiles
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d, conv_output_size
from tinytorch.core.tensor import Tensor

STEP_BATCHES = [32, 128]
LR, SMOOTHING = 3e-3, 0.1


def im2col_bytes(batch: int, channels: int, size: int, kernel: int = 3, padding: int = 1) -> int:
    """Bytes of the float32 im2col buffer of a stride-1 convolution on (batch, channels, size, size)."""
    out = conv_output_size(size, kernel, 1, padding)
    return 4 * batch * out * out * kernel * kernel * channels


def lenet(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Conv2d(16, 32, 3, padding=1, rng=rng),
                      ReLU(), MaxPool2d(2), Flatten(), Linear(128, 10, rng=rng))


def torch_lenet(torch, ours: Sequential):
    """The same network in PyTorch, with our initial weights (our Linear stores W as (in, out))."""
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10))
    with torch.no_grad():
        for theirs, mine in [(model[0], ours[0]), (model[3], ours[3]), (model[7], ours[7])]:
            weight = mine.weight.data.T if isinstance(mine, Linear) else mine.weight.data
            theirs.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
            theirs.bias.copy_(torch.from_numpy(mine.bias.data))
    return model


def make_digits(batch: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, 1, 8, 8)).astype(np.float32), rng.integers(0, 10, batch)


class TinyStep:
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.model = lenet()
        self.optimizer = Adam(self.model.parameters(), lr=LR)
        self.loss_fn = CrossEntropyLoss(label_smoothing=SMOOTHING)
        self.x, self.y = Tensor(x), Tensor(y)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


class TorchStep:
    def __init__(self, torch, x: np.ndarray, y: np.ndarray) -> None:
        self.torch = torch
        self.model = torch_lenet(torch, lenet())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x), self.y, label_smoothing=SMOOTHING)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def training_step(rounds: int = 40, batches: list[int] = STEP_BATCHES) -> list[dict]:
    torch = load_torch()
    rows = []
    for batch in batches:
        x, y = make_digits(batch)
        candidates = {"tinytorch": TinyStep(x, y)}
        if torch is not None:
            candidates["pytorch"] = TorchStep(torch, x, y)
        first = {name: [fn() for _ in range(3)] for name, fn in candidates.items()}  # three steps: Adam moved
        if torch is not None:
            assert np.allclose(first["tinytorch"], first["pytorch"], rtol=1e-4, atol=1e-5), first
        # one round at a time, so every round gives a paired ratio: its quartiles are the spread
        ms, ratios = paired_rounds(candidates, rounds, inner=10 if batch <= 32 else 4)
        row = {"batch": batch, "ms": ms, "im2col_bytes": [im2col_bytes(batch, 1, 8), im2col_bytes(batch, 16, 4)]}
        if ratios:
            row["ratio"], row["ratio_quartiles"] = statistics.median(ratios), quartiles(ratios)
        rows.append(row)
    return rows


def cifar_layer(rounds: int = 10, batch: int = 64) -> dict:
    """Conv(3, 16, 3, padding 1) -> ReLU -> Conv(16, 32, 3, padding 1) on (64, 3, 32, 32): forward and backward."""
    torch = load_torch()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    ours = Sequential(Conv2d(3, 16, 3, padding=1, rng=rng), ReLU(), Conv2d(16, 32, 3, padding=1, rng=rng))
    upstream = rng.standard_normal((batch, 32, 32, 32)).astype(np.float32)

    def tiny() -> np.ndarray:
        for p in ours.parameters():
            p.grad = None
        out = ours(Tensor(x))
        out.backward(upstream)
        return out.data

    candidates = {"tinytorch": tiny}
    if torch is not None:
        nn = torch.nn
        theirs = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1))
        with torch.no_grad():
            for layer, mine in [(theirs[0], ours[0]), (theirs[2], ours[2])]:
                layer.weight.copy_(torch.from_numpy(mine.weight.data))
                layer.bias.copy_(torch.from_numpy(mine.bias.data))
        tx, tg = torch.from_numpy(x), torch.from_numpy(upstream)

        def eager() -> np.ndarray:
            theirs.zero_grad()
            out = theirs(tx)
            out.backward(tg)
            return out.detach().numpy()

        candidates["pytorch"] = eager
        assert np.allclose(tiny(), eager(), rtol=1e-3, atol=1e-3)
    times = interleaved(candidates, rounds=rounds, inner=1, warmup=2)
    row = {"batch": batch, "ms": {k: 1000 * v for k, v in times.items()},
           "im2col_bytes": [im2col_bytes(batch, 3, 32), im2col_bytes(batch, 16, 32)],
           "input_bytes": 4 * x.size}
    if torch is not None:
        row["ratio"] = times["tinytorch"] / times["pytorch"]
    return row


def run(rounds: int = 40, batches: list[int] = STEP_BATCHES, cifar_batch: int = 64) -> dict:
    return {"training_step": training_step(rounds, batches),
            "cifar_layer": cifar_layer(max(2, rounds // 4), batch=cifar_batch)}


if __name__ == "__main__":
    for key, value in run().items():
        print(key, value)
