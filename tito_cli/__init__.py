"""The pieces of the `tito` command line (see tito.py)."""

from __future__ import annotations

import os
from pathlib import Path


class CommandError(Exception):
    """A user-facing error: tito prints it as one line and exits with code 2, having written nothing."""


def package_env(root: Path) -> dict[str, str]:
    """This process's environment with the project at ``root`` first on PYTHONPATH.

    Subprocesses that import the package must see the files in ``root`` (a
    student's workspace), not whatever copy an editable install points at.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    return env
