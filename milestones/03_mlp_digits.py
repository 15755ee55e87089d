"""Milestone 03 -- an MLP learns handwritten digits (Rumelhart, Hinton, Williams, 1986).

"Learning representations by back-propagating errors" (Nature, 1986) showed
that the chain rule, applied backwards through a network of hidden layers,
trains it efficiently -- the algorithm your module 05 implements. Within a
few years LeCun's networks were reading zip codes for the US Postal Service.

Here a 64 -> 128 -> 128 -> 10 MLP with ReLU learns the bundled 8x8 digits
with cross-entropy (label smoothing 0.1) and Adam. The 1,437 training images
are split once (seeded) into 1,293 to train on and 144 to validate on: the
curves and the progress bar show the validation split, and the fixed
360-image test split is used once, at the end. Training runs with one BLAS
thread (fastest for these small matrices). Success: >= 97% test accuracy.

    tito milestone run 03 [--seed N] [--epochs N] [--plot curves.png]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.training import Trainer
from tinytorch.data.loader import DataLoader, TensorDataset
from tinytorch.datasets import load_digits

from _cli import one_blas_thread, parse_args, plot_curves  # milestones/_cli.py: what every milestone shares

THRESHOLD = 0.97
VALIDATION = 144  # images carved from the training split (10%)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=25)

    digits = load_digits()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(digits.train_labels))
    val_rows, train_rows = order[:VALIDATION], order[VALIDATION:]
    # Standardise each pixel with the statistics of the images trained on (validation and test stay unseen).
    mean = digits.train_images[train_rows].mean(axis=0)
    std = digits.train_images[train_rows].std(axis=0) + 1e-2
    images, test_x = (digits.train_images - mean) / std, (digits.test_images - mean) / std
    train_x, train_y = images[train_rows], digits.train_labels[train_rows]
    val_x, val_y = images[val_rows], digits.train_labels[val_rows]

    model = Sequential(Linear(64, 128, rng=rng), ReLU(), Linear(128, 128, rng=rng), ReLU(), Linear(128, 10, rng=rng))
    trainer = Trainer(model, CrossEntropyLoss(label_smoothing=0.1), Adam(model.parameters(), lr=1e-3))
    train_loader = DataLoader(TensorDataset(train_x, train_y), batch_size=32, shuffle=True, seed=args.seed)
    val_loader = DataLoader(TensorDataset(val_x, val_y), batch_size=len(val_y))

    print(f"training {sum(p.numel() for p in model.parameters()):,} parameters on {len(train_x):,} digits "
          f"(validating on {len(val_x)})")
    with one_blas_thread():
        start = time.perf_counter()
        trainer.fit(train_loader, args.epochs, val_loader=val_loader, progress=not args.no_progress)
        seconds = time.perf_counter() - start
        _, accuracy = trainer.evaluate(DataLoader(TensorDataset(test_x, digits.test_labels), batch_size=360))

    if args.plot:
        print(f"curves saved to {plot_curves(trainer.history, args.plot, 'MLP on 8x8 digits', goal=THRESHOLD)}")
    print(f"validation accuracy: {100 * trainer.history['val_accuracy'][-1]:.1f}%")
    print(f"training time: {seconds:.2f} s for {args.epochs} epochs")
    print(f"result: {'reached' if accuracy >= THRESHOLD else 'below'} the {100 * THRESHOLD:.0f}% threshold")
    print(f"test accuracy: {100 * accuracy:.1f}%")
    return 0 if accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
