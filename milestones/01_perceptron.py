"""Milestone 01 -- the perceptron (Rosenblatt, 1957).

Frank Rosenblatt's perceptron was the first machine that learned from
examples: a weighted sum of its inputs, a threshold, and a rule that nudges
the weights only when it gets an example wrong. For data that a straight
line can separate, the perceptron convergence theorem (Novikoff, 1962)
guarantees it finds such a line in a finite number of mistakes.

Here the perceptron is one ``Linear(2, 1)`` layer trained with the
perceptron criterion with a margin, ``max(0, 1 - y s)`` (``HingeLoss``): its
gradient is zero for points classified with room to spare and ``-y x``
otherwise -- Rosenblatt's update rule, applied until every training point
clears the line by a margin (with margin 0 the rule stops at the first line
that separates the training points, which may pass very close to new ones). The training loop is written out
by hand -- the five lines every framework runs -- so this milestone needs
only modules 01-06. Success: 100% on held-out points.

    tito milestone run 01 [--seed N] [--plot curves.png]
"""

from __future__ import annotations

import sys

import numpy as np

from rich.progress import Progress

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear
from tinytorch.core.losses import HingeLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor

from _cli import one_blas_thread, parse_args, plot_curves  # milestones/_cli.py: what every milestone shares

THRESHOLD = 1.0


def separable_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points on either side of the line x + 2y = 0.5, at least 0.2 away from it; labels -1/+1."""
    points = rng.uniform(-2, 2, size=(4 * n, 2))
    side = points @ np.array([1.0, 2.0]) - 0.5
    keep = np.abs(side) > 0.2 * np.sqrt(5.0)
    points, side = points[keep][:n], side[keep][:n]
    return points.astype(np.float32), np.sign(side).astype(np.float32).reshape(-1, 1)


def boundary(w: np.ndarray, b: float) -> str:
    """The line w0 x + w1 y + b = 0 as a reader writes it: ``0.512 x - 0.709 y + 0.100 = 0``."""
    text = f"{w[0]:.3f} x"
    for value, name in ((w[1], " y"), (b, "")):
        text += f" {'-' if value < 0 else '+'} {abs(value):.3f}{name}"
    return text + " = 0"


def sign_accuracy(scores: Tensor, labels: np.ndarray) -> float:
    return float(((scores.data > 0) == (labels > 0)).mean())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__, argv, epochs=20)

    rng = np.random.default_rng(args.seed)
    (train_x, train_y), (test_x, test_y) = separable_points(400, rng), separable_points(200, rng)
    perceptron = Linear(2, 1, rng=rng)
    loss_fn, optimizer = HingeLoss(margin=1.0), SGD(perceptron.parameters(), lr=0.1)
    curves = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": []}
    with Progress(disable=args.no_progress) as progress, one_blas_thread():
        task = progress.add_task("perceptron", total=args.epochs)
        for epoch in range(args.epochs):
            order = rng.permutation(len(train_x))
            for start in range(0, len(order), 16):
                rows = order[start:start + 16]
                optimizer.zero_grad()
                loss = loss_fn(perceptron(Tensor(train_x[rows])), Tensor(train_y[rows]))
                loss.backward()
                optimizer.step()
            with no_grad():
                for split, x, y in (("train", train_x, train_y), ("val", test_x, test_y)):
                    scores = perceptron(Tensor(x))
                    curves[f"{split}_loss"].append(loss_fn(scores, Tensor(y)).item())
                    curves[f"{split}_accuracy"].append(sign_accuracy(scores, y))
            progress.update(task, advance=1, description=f"epoch {epoch + 1}  loss {curves['train_loss'][-1]:.4f}  "
                                                         f"accuracy {100 * curves['train_accuracy'][-1]:.1f}%")
    accuracy = curves["val_accuracy"][-1]
    w, b = perceptron.weight.data[:, 0], perceptron.bias.data[0]
    if args.plot:
        print(f"curves saved to {plot_curves(curves, args.plot, 'perceptron', goal=THRESHOLD)}")
    print(f"learned boundary: {boundary(w, b)} (true: x + 2y - 0.5 = 0, up to scale)")
    print("result: the perceptron separates the two classes" if accuracy >= THRESHOLD
          else f"result: below the {100 * THRESHOLD:.0f}% threshold")
    print(f"test accuracy: {100 * accuracy:.1f}%")
    return 0 if accuracy >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
