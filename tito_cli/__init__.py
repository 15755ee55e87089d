"""The pieces of the `tito` command line (see tito.py)."""

from __future__ import annotations

import importlib.util
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



def require(package: str, purpose: str, extra: str = "dev") -> None:
    """CommandError saying exactly what to install when ``package`` cannot be imported.

    Called before a command changes anything, so a missing tool never leaves
    half-done work behind.
    """
    try:
        found = importlib.util.find_spec(package) is not None
    except ImportError:  # a broken install, or one hidden on purpose
        found = False
    if not found:
        raise CommandError(f"{package} is not installed and is needed {purpose}; install it with "
                           f'`pip install -e ".[{extra}]"` (or `pip install {package}`) and run the command again')
