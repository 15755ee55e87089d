"""Milestone 03 -- an MLP learns handwritten digits (Rumelhart, Hinton, Williams, 1986).

"Learning representations by back-propagating errors" (Nature, 1986) showed
that the chain rule, applied backwards through a network of hidden layers,
trains it efficiently -- the algorithm your module 05 implements. Within a
few years LeCun's networks were reading zip codes for the US Postal Service.

Here a 64 -> 128 -> 128 -> 10 MLP with ReLU learns the bundled 8x8 digits
(1,437 training images) with cross-entropy (label smoothing 0.1) and Adam.
Success: >= 97% accuracy on the fixed 360-image test split.

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
from tinytorch.core.training import Trainer, plot_history
from tinytorch.data.loader import DataLoader, TensorDataset
from tinytorch.datasets import load_digits

from _cli import parse_args  # milestones/_cli.py: the flags every milestone shares

THRESHOLD = 0.97


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=20)

    digits = load_digits()
    # Standardise each pixel with the training statistics only (the test set stays unseen).
    mean, std = digits.train_images.mean(axis=0), digits.train_images.std(axis=0) + 1e-2
    train_x, test_x = (digits.train_images - mean) / std, (digits.test_images - mean) / std

    rng = np.random.default_rng(args.seed)
    model = Sequential(Linear(64, 128, rng=rng), ReLU(), Linear(128, 128, rng=rng), ReLU(), Linear(128, 10, rng=rng))
    trainer = Trainer(model, CrossEntropyLoss(label_smoothing=0.1), Adam(model.parameters(), lr=1e-3))
    train_loader = DataLoader(TensorDataset(train_x, digits.train_labels), batch_size=32, shuffle=True, seed=args.seed)
    test_loader = DataLoader(TensorDataset(test_x, digits.test_labels), batch_size=360)

    print(f"training {sum(p.numel() for p in model.parameters()):,} parameters on {len(train_x):,} digits")
    start = time.perf_counter()
    trainer.fit(train_loader, args.epochs, val_loader=test_loader, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    _, accuracy = trainer.evaluate(test_loader)

    if args.plot:
        print(f"curves saved to {plot_history(trainer.history, args.plot, 'MLP on 8x8 digits')}")
    print(f"training time: {seconds:.2f} s for {args.epochs} epochs")
    print(f"result: {'reached' if accuracy >= THRESHOLD else 'below'} the {100 * THRESHOLD:.0f}% threshold")
    print(f"test accuracy: {100 * accuracy:.1f}%")
    return 0 if accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
