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


def hide_packages(folder: Path, *names: str) -> dict:
    """An environment in which ``names`` cannot be imported, as on a machine where they were never installed.

    A ``sitecustomize`` on PYTHONPATH puts a finder first on ``sys.meta_path``
    that refuses those top-level packages.
    """
    import os

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        "import sys\n"
        f"_HIDDEN = {set(names)!r}\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in _HIDDEN:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Hide())\n", encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH", "")]))
    return env
