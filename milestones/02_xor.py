"""Milestone 02 -- XOR (Minsky and Papert, 1969).

In *Perceptrons* (1969) Minsky and Papert proved that a single-layer
perceptron cannot compute XOR: no straight line puts (0,0) and (1,1) on one
side and (0,1) and (1,0) on the other. The book is often blamed for the
first "AI winter". The way out -- a hidden layer -- was known, but there was
no practical way to train it until backpropagation (milestone 03).

This script shows both halves of the story on a noisy XOR cloud: a single
``Linear(2, 1)`` layer stalls near chance however long it trains, while
``Linear(2, 8) -> Tanh -> Linear(8, 1)`` trained by backpropagation solves it.
Success: the hidden-layer network reaches >= 97% and the single layer
stays below 80%.

    tito milestone run 02 [--seed N] [--plot curves.png]
"""

from __future__ import annotations

import sys

import numpy as np

from tinytorch.core.activations import Tanh
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import BCEWithLogitsLoss
from tinytorch.core.optimizers import Adam
from tinytorch.core.training import Trainer
from tinytorch.data.loader import DataLoader, TensorDataset

from _cli import one_blas_thread, parse_args, plot_curves  # milestones/_cli.py: what every milestone shares

HIDDEN_THRESHOLD, SINGLE_CEILING = 0.97, 0.80


def xor_cloud(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points around the four corners of the unit square; label = x XOR y."""
    corners = rng.integers(0, 2, size=(n, 2))
    points = corners + rng.normal(0.0, 0.12, size=(n, 2))
    return points.astype(np.float32), (corners[:, 0] ^ corners[:, 1]).astype(np.float32).reshape(-1, 1)


def train(model, data, test, seed: int, epochs: int, progress: bool) -> Trainer:
    trainer = Trainer(model, BCEWithLogitsLoss(), Adam(model.parameters(), lr=0.05))
    trainer.fit(DataLoader(TensorDataset(*data), batch_size=32, shuffle=True, seed=seed), epochs,
                val_loader=DataLoader(TensorDataset(*test), batch_size=len(test[0])), progress=progress)
    return trainer


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=40, plot_help="save the hidden-layer network's curves to this PNG")

    rng = np.random.default_rng(args.seed)
    data, test = xor_cloud(400, rng), xor_cloud(200, rng)
    with one_blas_thread():
        print("1969: a single layer (a straight line) on XOR")
        single = train(Linear(2, 1, rng=rng), data, test, args.seed, args.epochs, not args.no_progress)
        print("1986: one hidden layer, trained by backpropagation")
        mlp = Sequential(Linear(2, 8, rng=rng), Tanh(), Linear(8, 1, rng=rng))
        hidden = train(mlp, data, test, args.seed, args.epochs, not args.no_progress)

    single_acc, hidden_acc = single.history["val_accuracy"][-1], hidden.history["val_accuracy"][-1]
    if args.plot:
        print(f"curves saved to {plot_curves(hidden.history, args.plot, 'XOR, hidden layer', goal=HIDDEN_THRESHOLD)}")
    solved = hidden_acc >= HIDDEN_THRESHOLD and single_acc < SINGLE_CEILING
    print(f"single layer: {100 * single_acc:.1f}% -- no line separates XOR")
    print("result: the hidden layer solves XOR" if solved else "result: the expected separation was not reached")
    print(f"test accuracy: {100 * hidden_acc:.1f}% with a hidden layer, {100 * single_acc:.1f}% without")
    return 0 if solved else 1


if __name__ == "__main__":
    sys.exit(main())
