"""Milestone 04 -- a convolutional network reads handwritten digits (LeCun, Bottou, Bengio, Haffner, 1998).

"Gradient-based learning applied to document recognition" (Proc. IEEE,
1998) put LeNet-5 to work reading cheques: convolutions share one small
filter over the whole image, pooling makes the features tolerant to small
shifts, and the whole stack trains with the backpropagation of milestone 03.

Here a LeNet-style network -- conv 3x3 (16) -> ReLU -> max-pool 2 -> conv 3x3
(32) -> ReLU -> max-pool 2 -> Linear(128, 10), 6,090 parameters -- learns the
bundled 8x8 digits with cross-entropy (label smoothing 0.1) and Adam. 144
training images are held out for validation; the fixed 360-image test split
is used once, at the end. Milestone 03's MLP (26,122 parameters) is trained
on the same images for comparison. Success: >= 98% test accuracy.

    tito milestone run 04 [--seed N] [--epochs N] [--plot curves.png]
"""

from __future__ import annotations

import os

# The matrices here are small: BLAS threads would cost more than they give, and one thread makes timings repeatable.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import sys  # noqa: E402
import time  # noqa: E402
from typing import NamedTuple  # noqa: E402

import numpy as np  # noqa: E402

from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.layers import Linear, Module, Sequential  # noqa: E402
from tinytorch.core.losses import CrossEntropyLoss  # noqa: E402
from tinytorch.core.optimizers import Adam  # noqa: E402
from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d  # noqa: E402
from tinytorch.core.training import Trainer, plot_history  # noqa: E402
from tinytorch.data.loader import DataLoader, TensorDataset  # noqa: E402
from tinytorch.datasets import load_digits  # noqa: E402

from _cli import parse_args  # noqa: E402  (milestones/_cli.py: the flags every milestone shares)

THRESHOLD = 0.98
VALIDATION = 144  # images carved from the 1,437 training digits
EPOCHS, LR, BATCH = 15, 3e-3, 32


class Split(NamedTuple):
    train: tuple[np.ndarray, np.ndarray]  # images (N, 1, 8, 8) float32, labels (N,) int64
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]


def load_split(seed: int) -> Split:
    """Train / validation (carved from train by a seeded permutation) / the fixed test split, standardised
    with the training images' mean and standard deviation (one number each: a CNN shares its filters over
    all pixels, so all pixels get the same scale)."""
    digits = load_digits(flatten=False)
    order = np.random.default_rng(seed).permutation(len(digits.train_images))
    train, val = order[VALIDATION:], order[:VALIDATION]
    mean, std = digits.train_images[train].mean(), digits.train_images[train].std()

    def images(raw: np.ndarray) -> np.ndarray:
        return ((raw - mean) / std).astype(np.float32)[:, None]  # (N, 1, 8, 8): one channel

    return Split((images(digits.train_images[train]), digits.train_labels[train]),
                 (images(digits.train_images[val]), digits.train_labels[val]),
                 (images(digits.test_images), digits.test_labels))


def build_cnn(rng: np.random.Generator) -> Sequential:
    return Sequential(Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),   # (16, 8, 8) -> (16, 4, 4)
                      Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),  # (32, 4, 4) -> (32, 2, 2)
                      Flatten(), Linear(128, 10, rng=rng))


def build_mlp(rng: np.random.Generator) -> Sequential:
    """Milestone 03's network, on the flattened pixels."""
    return Sequential(Flatten(), Linear(64, 128, rng=rng), ReLU(), Linear(128, 128, rng=rng), ReLU(),
                      Linear(128, 10, rng=rng))


class Result(NamedTuple):
    trainer: Trainer
    parameters: int
    seconds: float  # training time
    test_accuracy: float


def train(model: Module, split: Split, seed: int, epochs: int, lr: float, progress: bool = False) -> Result:
    """Adam on cross-entropy (label smoothing 0.1), validation after each epoch, the test split once at the end."""
    trainer = Trainer(model, CrossEntropyLoss(label_smoothing=0.1), Adam(model.parameters(), lr=lr))
    train_loader = DataLoader(TensorDataset(*split.train), batch_size=BATCH, shuffle=True, seed=seed)
    start = time.perf_counter()
    trainer.fit(train_loader, epochs, val_loader=DataLoader(TensorDataset(*split.val), batch_size=500),
                progress=progress)
    seconds = time.perf_counter() - start
    _, accuracy = trainer.evaluate(DataLoader(TensorDataset(*split.test), batch_size=500))
    return Result(trainer, sum(p.data.size for p in model.parameters()), seconds, accuracy)


def train_cnn(seed: int, epochs: int = EPOCHS, progress: bool = False) -> Result:
    return train(build_cnn(np.random.default_rng(seed)), load_split(seed), seed, epochs, LR, progress)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=EPOCHS)
    split = load_split(args.seed)
    print(f"training a CNN on {len(split.train[0]):,} digits ({len(split.val[0])} held out for validation)")
    cnn = train(build_cnn(np.random.default_rng(args.seed)), split, args.seed, args.epochs, LR,
                progress=not args.no_progress)
    print("training milestone 03's MLP on the same digits for comparison ...")
    mlp = train(build_mlp(np.random.default_rng(args.seed)), split, args.seed, 20, 1e-3)

    if args.plot:
        print(f"curves saved to {plot_history(cnn.trainer.history, args.plot, 'CNN on 8x8 digits')}")
    print(f"{'model':<28}{'parameters':>12}{'training':>11}{'test accuracy':>15}")
    for name, result in [("MLP 64-128-128-10 (1986)", mlp), ("CNN, LeNet-style (1998)", cnn)]:
        print(f"{name:<28}{result.parameters:>12,}{result.seconds:>9.2f} s{100 * result.test_accuracy:>14.1f}%")
    gained = round(360 * (cnn.test_accuracy - mlp.test_accuracy))
    print(f"convolution {'fixed' if gained >= 0 else 'added'} {abs(gained)} of the MLP's test errors "
          f"with {mlp.parameters / cnn.parameters:.1f}x fewer parameters")
    print(f"training time: {cnn.seconds:.2f} s for {args.epochs} epochs")
    print(f"result: {'reached' if cnn.test_accuracy >= THRESHOLD else 'below'} the {100 * THRESHOLD:.0f}% threshold")
    print(f"test accuracy: {100 * cnn.test_accuracy:.1f}%")
    return 0 if cnn.test_accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
