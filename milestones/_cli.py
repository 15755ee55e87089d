"""The command line the milestones share: --seed, --epochs, --plot, --no-progress."""

from __future__ import annotations

import argparse
from typing import Callable

CURVES_HELP = "save the loss/accuracy curves to this PNG"


def parse_args(doc: str, argv: list[str] | None, epochs: int, plot_help: str = CURVES_HELP,
               more: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse a milestone's arguments; its description is the first line of ``doc`` (the script's docstring).

    ``more(parser)`` adds a milestone's own flags to the shared ones."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--plot", default=None, help=plot_help)
    parser.add_argument("--no-progress", action="store_true")
    if more is not None:
        more(parser)
    return parser.parse_args(argv)
