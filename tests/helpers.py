"""Helpers for the tests that run tito in a subprocess, on the project or on a private copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FOLDERS = ("modules", "tinytorch", "tito_cli", "tests", "datasets", "milestones")
PROJECT_FILES = ("pyproject.toml", "tito.py", "README.md")


def copy_project(dest: Path) -> Path:
    """A private copy of the project in ``dest``, which a test may change freely (no caches, notebooks or .tito)."""
    for name in PROJECT_FOLDERS:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.ipynb", ".tito"))
    for name in PROJECT_FILES:
        shutil.copy(ROOT / name, dest / name)
    return dest


def run_tito(root: Path, *args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """``python tito.py *args`` in ``root``, output captured as text."""
    return subprocess.run([sys.executable, str(root / "tito.py"), *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout, env=env)
