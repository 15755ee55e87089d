"""Milestone 04 -- a convolutional network reads handwritten digits (LeCun, Bottou, Bengio, Haffner, 1998).

"Gradient-based learning applied to document recognition" (Proc. IEEE,
1998) put LeNet-5 to work reading cheques: convolutions share one small
filter over the whole image, pooling makes the features tolerant to small
shifts, and the whole stack trains with the backpropagation of milestone 03.

Here a LeNet-style network -- conv 3x3 (16) -> ReLU -> max-pool 2 -> conv 3x3
(32) -> ReLU -> max-pool 2 -> Linear(128, 10), 6,090 parameters -- learns the
bundled 8x8 digits with cross-entropy (label smoothing 0.1) and Adam, on one
BLAS thread. The 1,437 training images are split (seeded, as in milestone 03)
into 1,293 to train on and 144 to validate on; the fixed 360-image test split
is used once, at the end. Milestone 03's MLP is then run on the same seed, so
the two results stand side by side. Success: >= 98% test accuracy.

    tito milestone run 04 [--seed N] [--epochs N] [--plot curves.png]
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.spatial import Conv2d, Flatten, MaxPool2d
from tinytorch.core.training import Trainer
from tinytorch.data.loader import DataLoader, TensorDataset
from tinytorch.datasets import load_digits

from _cli import one_blas_thread, parse_args, plot_curves  # milestones/_cli.py: what every milestone shares

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


class Result(NamedTuple):
    trainer: Trainer
    parameters: int
    seconds: float  # training time
    test_accuracy: float


def train_cnn(seed: int, epochs: int = EPOCHS, progress: bool = False, split: Split | None = None) -> Result:
    """Adam on cross-entropy (label smoothing 0.1), validation after each epoch, the test split once at the end."""
    split = load_split(seed) if split is None else split
    model = build_cnn(np.random.default_rng(seed))
    trainer = Trainer(model, CrossEntropyLoss(label_smoothing=0.1), Adam(model.parameters(), lr=LR))
    train_loader = DataLoader(TensorDataset(*split.train), batch_size=BATCH, shuffle=True, seed=seed)
    with one_blas_thread():
        start = time.perf_counter()
        trainer.fit(train_loader, epochs, val_loader=DataLoader(TensorDataset(*split.val), batch_size=500),
                    progress=progress)
        seconds = time.perf_counter() - start
        _, accuracy = trainer.evaluate(DataLoader(TensorDataset(*split.test), batch_size=500))
    return Result(trainer, sum(p.data.size for p in model.parameters()), seconds, accuracy)


def mlp_result(seed: int) -> tuple[int, float, float] | str:
    """(parameters, training seconds, test accuracy) of milestone 03 run with this seed -- the same split of the
    same digits -- or why it could not run. Run as milestone 03 itself, so the number is exactly its result."""
    script = Path(__file__).with_name("03_mlp_digits.py")
    result = subprocess.run([sys.executable, str(script), "--seed", str(seed), "--no-progress"],
                            capture_output=True, text=True)
    found = [re.search(pattern, result.stdout) for pattern in
             (r"training ([\d,]+) parameters", r"training time: ([\d.]+) s", r"test accuracy: ([\d.]+)%")]
    if not all(found):
        return f"milestone 03 did not report its result ({(result.stderr or result.stdout).strip()[-300:]})"
    return int(found[0].group(1).replace(",", "")), float(found[1].group(1)), float(found[2].group(1)) / 100


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=EPOCHS)
    split = load_split(args.seed)
    print(f"training a CNN on {len(split.train[0]):,} digits ({len(split.val[0])} held out for validation)")
    cnn = train_cnn(args.seed, args.epochs, progress=not args.no_progress, split=split)
    if args.plot:
        print(f"curves saved to {plot_curves(cnn.trainer.history, args.plot, 'CNN on 8x8 digits', goal=THRESHOLD)}")
    print(f"running milestone 03 (the MLP) with seed {args.seed} for comparison ...")
    mlp = mlp_result(args.seed)
    print(f"{'model':<28}{'parameters':>12}{'training':>11}{'test accuracy':>15}")
    if isinstance(mlp, str):
        print(mlp)
    else:
        print(f"{'MLP 64-128-128-10 (1986)':<28}{mlp[0]:>12,}{mlp[1]:>9.2f} s{100 * mlp[2]:>14.1f}%")
    print(f"{'CNN, LeNet-style (1998)':<28}{cnn.parameters:>12,}{cnn.seconds:>9.2f} s{100 * cnn.test_accuracy:>14.1f}%")
    if not isinstance(mlp, str):
        fixed = round(360 * (cnn.test_accuracy - mlp[2]))
        print(f"convolution {'fixed' if fixed >= 0 else 'added'} {abs(fixed)} of the MLP's test errors "
              f"with {mlp[0] / cnn.parameters:.1f}x fewer parameters")
    print(f"validation accuracy: {100 * cnn.trainer.history['val_accuracy'][-1]:.1f}%")
    print(f"training time: {cnn.seconds:.2f} s for {args.epochs} epochs")
    print(f"result: {'reached' if cnn.test_accuracy >= THRESHOLD else 'below'} the {100 * THRESHOLD:.0f}% threshold")
    print(f"test accuracy: {100 * cnn.test_accuracy:.1f}%")
    return 0 if cnn.test_accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
