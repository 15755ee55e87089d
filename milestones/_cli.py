"""The command line the milestones share: --seed, --epochs, --plot, --no-progress."""

from __future__ import annotations

import argparse

CURVES_HELP = "save the loss/accuracy curves to this PNG"


def parse_args(doc: str, argv: list[str] | None, epochs: int, plot_help: str = CURVES_HELP) -> argparse.Namespace:
    """Parse a milestone's arguments; its description is the first line of ``doc`` (the script's docstring)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--plot", default=None, help=plot_help)
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)
