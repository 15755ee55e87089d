"""`tito doctor`: is this machine ready for the course? Each check says what to do when it fails."""

from __future__ import annotations

import importlib
from importlib import metadata
import subprocess
import sys
from pathlib import Path
from typing import Callable

from tito_cli import package_env
from tito_cli.manifest import MODULES


def _python() -> str:
    if sys.version_info < (3, 10):
        raise RuntimeError(f"Python {sys.version.split()[0]} is too old; install Python 3.10 or newer")
    return sys.version.split()[0]


def _version(name: str, fix: str) -> Callable[[], str]:
    def check() -> str:
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise RuntimeError(f"{name} is not installed; {fix}") from None
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return getattr(module, "__version__", "installed")

    return check


def _package(root: Path) -> Callable[[], str]:
    def check() -> str:
        code = "import importlib\n" + "".join(f"importlib.import_module({m.target!r})\n" for m in MODULES)
        result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                                env=package_env(root))
        if result.returncode:
            last = result.stderr.strip().splitlines()[-1:] or ["import failed"]
            raise RuntimeError(f"the package does not import ({last[0]}); run `tito export` or "
                               "`tito module complete NN` for the module named")
        return f"{len(MODULES)} modules import"

    return check


def _unfinished(root: Path) -> Callable[[], str]:
    """A package that imports may still hold a task stub (or code whose tests failed): say which module."""

    def check() -> str:
        from tito_cli.student import package_problem

        problems = [(m, package_problem(root, m)) for m in MODULES]
        problems = [(m, p) for m, p in problems if p is not None]
        if problems:
            listed = "; ".join(f"{m.slug}: {p}" for m, p in problems)
            first = problems[0][0]
            raise RuntimeError(f"unfinished modules -- {listed}; finish them in order, starting with "
                               f"`tito module start {first.number}` and `tito module complete {first.number}`")
        return f"all {len(MODULES)} modules finished"

    return check


def _kernel() -> str:
    try:
        from jupyter_client.kernelspec import KernelSpecManager
    except ImportError:
        raise RuntimeError('jupyter_client is missing; pip install -e ".[dev]"') from None
    specs = KernelSpecManager().find_kernel_specs()
    if "python3" not in specs:
        raise RuntimeError("no python3 Jupyter kernel; run `python -m ipykernel install --user`")
    return "python3 kernel found"


def _sandbox() -> str:
    from tito_cli import sandbox

    try:
        return f"bubblewrap works ({sandbox.check()})"
    except RuntimeError as error:
        raise RuntimeError(f"{error} (instructors: `tito nbgrader autograde` needs it)") from None


def _dataset() -> str:
    from tinytorch.datasets import load_digits

    digits = load_digits()
    return f"digits: {len(digits.train_labels)} train, {len(digits.test_labels)} test"


def run(root: Path) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    checks = [
        ("Python >= 3.10", _python),
        ("numpy", _version("numpy", 'pip install -e .')),
        ("rich", _version("rich", 'pip install -e .')),
        ("tinytorch package", _package(root)),
        ("finished modules", _unfinished(root)),
        ("pytest", _version("pytest", 'pip install -e ".[dev]" (needed by `tito module complete`)')),
        ("jupytext", _version("jupytext", 'pip install -e ".[dev]" (needed to open modules as notebooks)')),
        ("nbgrader", _version("nbgrader", 'pip install -e ".[dev]" (needed by `tito nbgrader`)')),
        ("ipykernel", _version("ipykernel", 'pip install -e ".[dev]"')),
        ("Jupyter kernel", _kernel),
        ("matplotlib", _version("matplotlib", 'pip install -e ".[plot]" (needed for figures and --plot)')),
        ("bundled dataset", _dataset),
        ("autograde sandbox", _sandbox),
    ]
    failures = 0
    for name, check in checks:
        try:
            detail = check()
            console.print(f"[green]ok[/green]    {escape(name)}: {escape(str(detail))}")
        except Exception as error:  # every check reports, none stops the others
            failures += 1
            console.print(f"[red]FIX[/red]   {escape(name)}: {escape(str(error))}")
    console.print("everything is ready" if not failures else f"{failures} problem(s) to fix, see FIX above")
    return 0 if not failures else 1
