"""`tito milestone list | run NN`: the historical milestones, gated on the modules they need.

A milestone runs only on finished modules: each module it needs must import
with its key names, hold no task stub, and -- where the student built it --
have passed its tests at the last ``tito module complete`` (see
``student.package_problem`` for the rule and why the course source passes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tito_cli import CommandError, package_env
from tito_cli.manifest import MILESTONES, Module, find_milestone, find_module
from tito_cli.student import package_problem


def missing_names(modules: list[Module], root: Path) -> dict[str, list[str]]:
    """For each module, the key names the package in ``root`` lacks (all of them if it fails to import)."""
    # A fresh interpreter: the answer must describe the files on disk, not what this process imported earlier.
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for number, target, names in {[(m.number, m.target, list(m.exports)) for m in modules]!r}:\n"
        "    try:\n"
        "        mod = importlib.import_module(target)\n"
        "        out[number] = [n for n in names if not hasattr(mod, n)]\n"
        "    except Exception:\n"
        "        out[number] = names\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                            env=package_env(root))
    if result.returncode != 0:
        return {m.number: list(m.exports) for m in modules}
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace, root: Path) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if args.action == "list":
        table = Table(title="Milestones")
        for column in ("NN", "year", "milestone", "needs modules", "what it shows"):
            table.add_column(column)
        for m in MILESTONES:
            table.add_row(m.number, str(m.year), escape(m.name), " ".join(m.needs), escape(m.summary))
        console.print(table)
        return 0

    if args.milestone is None:
        choices = "; ".join(f"{m.number} ({m.name}, {m.year})" for m in MILESTONES)
        raise CommandError(f"which milestone? `tito milestone run NN` with NN one of: {choices} "
                           "(`tito milestone list` shows what each needs)")
    milestone = find_milestone(args.milestone)
    needed = [find_module(number) for number in milestone.needs]
    for module in needed:
        problem = package_problem(root, module)
        if problem is not None:
            raise CommandError(f"milestone {milestone.number} ({milestone.name}) needs module {module.slug}, but "
                               f"{problem}; finish it with `tito module complete {module.number}`")
    report = missing_names(needed, root)
    for module in needed:
        missing = report[module.number]
        if missing:
            raise CommandError(f"milestone {milestone.number} ({milestone.name}) needs module {module.slug}, but "
                               f"{module.target} lacks {', '.join(missing)}; complete it with "
                               f"`tito module complete {module.number}`")
    console.print(f"[bold]Milestone {milestone.number} ({milestone.year}): {escape(milestone.summary)}[/bold]")
    extra = [a for a in (args.extra or []) if a != "--"]
    result = subprocess.run([sys.executable, str(root / milestone.script), *extra], cwd=root, env=package_env(root))
    return result.returncode
