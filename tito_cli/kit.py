"""`tito kit FOLDER`: the course as a class receives it, with no solution in it.

The kit holds the released modules (every solution replaced by a stub that
names its task, hidden tests removed), the package generated from them (so
it imports, and each unfinished function raises "task N.M: ..."), the
visible tests of each module, the milestones, the data, and tito itself.
Students ``pip install -e .`` it and, module by module, ``tito module start
NN`` / ``tito module complete NN``: complete exports their code into the
kit's package, and a milestone runs once the modules it needs have passed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tito_cli import CommandError
from tito_cli.export import atomic_write, check_writable, companion_texts, render
from tito_cli.manifest import MODULES
from tito_cli.scaffold import has_solutions
from tito_cli.student import release_text

COPIED = ("pyproject.toml", "tito.py", "tito_cli", "tinytorch", "datasets", "milestones")
SHARED_TESTS = ("conftest.py", "parity.py")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.ipynb", ".ipynb_checkpoints", "*.egg-info")

README = """# TinyTorch -- your course kit

You build a small PyTorch, one module at a time. Set up once (Python 3.10 or
newer):

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install -e ".[dev]"
```

Then, for each module NN in order (`tito module status` shows them all):

```bash
tito module start NN      # your copy: work/NN_name/name.py and name.ipynb
# ... fill in the TODOs; each names its task, and `pytest -m task_N_M` runs that task's tests ...
tito module complete NN   # exports your code into tinytorch/, runs the module's tests, says what failed and why
```

`modules/` holds the course text as released; your work lives in `work/`.
When the modules a milestone needs are complete, `tito milestone run NN`
trains a model with your own framework (`tito milestone list`).
`tito doctor` checks the machine.
"""

GITIGNORE = """__pycache__/
*.egg-info/
.venv*/
.pytest_cache/
.hypothesis/
build/
dist/
.ipynb_checkpoints/
*.png
"""


def _copy_module_folder(root: Path, dest: Path, module_folder: Path) -> None:
    """A module's folder as released: every percent source stripped of its solutions, the rest as is."""
    for path in sorted(module_folder.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or IGNORED(str(path.parent), [path.name]):
            continue
        out = dest / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            out.write_text(release_text(path.read_text(encoding="utf-8"), relative.as_posix()), encoding="utf-8")
        else:
            shutil.copy2(path, out)


def write_kit(root: Path, dest: Path) -> list[str]:
    """Write the kit into ``dest`` (new or empty); returns the released module slugs."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise CommandError(f"{dest} exists and is not empty; give a new folder")
    if dest.resolve().is_relative_to(root.resolve()):
        raise CommandError(f"{dest} is inside the course checkout; give a folder outside it")
    sources = {m: (root / m.source) for m in MODULES}
    missing = [m.source.as_posix() for m, path in sources.items() if not path.exists()]
    if missing:
        raise CommandError(f"module sources missing: {', '.join(missing)}")
    if not any(has_solutions(path.read_text(encoding="utf-8")) for path in sources.values()):
        raise CommandError("these modules hold no solutions: this is already a kit (run `tito kit` in the course "
                           "source)")
    try:
        released = {m: release_text(path.read_text(encoding="utf-8"), m.source.as_posix())
                    for m, path in sources.items()}
        generated = {m: render(m, text, companions=companion_texts(root, m)) for m, text in released.items()}
    except ValueError as error:  # an unbalanced solution delimiter; ExportError is one too
        raise CommandError(f"cannot release the modules: {error}") from None
    dest.mkdir(parents=True, exist_ok=True)
    check_writable(dest, [dest / "README.md"])
    for name in COPIED:
        if (root / name).is_dir():
            shutil.copytree(root / name, dest / name, ignore=IGNORED)
        else:
            shutil.copy2(root / name, dest / name)
    for module in MODULES:
        _copy_module_folder(root, dest, (root / module.source).parent)
        atomic_write(dest / module.target_path, generated[module])  # the package without the solutions
        if (root / module.tests).exists():
            (dest / module.tests).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / module.tests, dest / module.tests)
    for name in SHARED_TESTS:
        shutil.copy2(root / "tests" / name, dest / "tests" / name)
    atomic_write(dest / "README.md", README)
    atomic_write(dest / ".gitignore", GITIGNORE + ".tito/\n")  # work/ is the students' to commit
    return [m.slug for m in MODULES]


def _git_init(dest: Path) -> bool:
    """Make the kit a repository with one commit, when git is installed; True if it did."""
    if shutil.which("git") is None:
        return False
    commands = (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.name=TinyTorch", "-c", "user.email=tinytorch@localhost", "commit", "-q",
                 "-m", "TinyTorch course kit"])
    for command in commands:
        if subprocess.run(command, cwd=dest, capture_output=True).returncode != 0:
            return False
    return True


def run(root: Path, dest: Path) -> int:
    slugs = write_kit(root, dest)
    repository = _git_init(dest)
    print(f"wrote the course kit to {dest}{' (a git repository with one commit)' if repository else ''}: "
          f"{len(slugs)} modules released without solutions, the package without the exercise solutions, "
          "the visible tests, the milestones and the data")
    print(f"students: cd {dest} && pip install -e \".[dev]\" && tito module start {MODULES[0].number}")
    return 0
