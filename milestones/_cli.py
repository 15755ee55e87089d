"""What the milestones share: the flags (--seed, --epochs, --plot, --no-progress), the BLAS thread count, the figure."""

from __future__ import annotations

import argparse
import importlib.util
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

CURVES_HELP = "save the loss/accuracy curves to this PNG"
PLOT_INSTALL = 'pip install -e ".[plot]"'


def parse_args(doc: str, argv: list[str] | None, epochs: int, plot_help: str = CURVES_HELP,
               more: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse a milestone's arguments; its description is the first line of ``doc`` (the script's docstring).

    ``more(parser)`` adds a milestone's own flags to the shared ones. ``--plot`` without matplotlib is
    refused here, before any training, not after it.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--plot", default=None, help=f"{plot_help} (needs matplotlib: {PLOT_INSTALL})")
    parser.add_argument("--no-progress", action="store_true")
    if more is not None:
        more(parser)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.plot and not _installed("matplotlib"):
        parser.error(f"--plot needs matplotlib, which is not installed: {PLOT_INSTALL} (nothing was trained)")
    return args


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except ImportError:
        return False


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread.

    The milestones multiply small matrices (32 x 128): a second thread costs
    more in hand-offs than it saves, and on a busy machine waiting for it made
    milestone 03 take 8-55 s instead of about a second.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def plot_curves(history: dict[str, list[float]], path: str | Path, title: str, goal: float | None = None) -> Path:
    """Loss and accuracy per epoch (train, validation) as a PNG; ``goal`` draws the target accuracy. Returns path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, history["train_loss"], marker=".", label="train")
    right.plot(epochs, 100 * np.asarray(history["train_accuracy"]), marker=".", label="train")
    if history.get("val_loss"):
        left.plot(epochs, history["val_loss"], marker=".", label="validation")
        right.plot(epochs, 100 * np.asarray(history["val_accuracy"]), marker=".", label="validation")
    if goal is not None:
        right.axhline(100 * goal, color="grey", linestyle="--", linewidth=1, label=f"goal {100 * goal:.0f}%")
    left.set(xlabel="epoch", ylabel="loss (mean per example)", title=f"{title}: loss")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    for axis in (left, right):
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
