"""tito: the TinyTorch command line.

    tito export [NN ... | --all] [--check]
    tito module status | start NN | complete NN [--from py|ipynb] | test NN
    tito kit FOLDER
    tito nbgrader generate NN|--all | autograde NN | report NN
    tito milestone list | run NN
    tito doctor

Each command lives in a small module of ``tito_cli``; this file only parses
arguments. Importing it has no side effects.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tito_cli import CommandError


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``modules/`` and ``pyproject.toml``: the current folder or a parent, else tito's own."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "modules").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    own = Path(__file__).resolve().parent
    if (own / "modules").is_dir():
        return own
    raise CommandError("no TinyTorch project here: run tito inside a checkout (a folder with modules/ and pyproject.toml)")


def _modules(numbers: list[str], all_: bool):
    from tito_cli.manifest import MODULES, find_module

    if all_ or not numbers:
        return MODULES
    return tuple(find_module(n) for n in numbers)


def cmd_export(args: argparse.Namespace) -> int:
    from tito_cli.export import ExportError, drifted, export

    root = project_root()
    modules = _modules(args.modules, args.all)
    try:
        if args.check:
            stale = drifted(root, modules)
            if stale:
                from tito_cli.student import exported_by_student

                names = ", ".join(p.relative_to(root).as_posix() for p in stale)
                print(f"out of date with the modules: {names}")
                for module in exported_by_student(root, modules):
                    print(f"{module.target_path.as_posix()} holds your work on module {module.number} (from "
                          f"`tito module complete {module.number}`): `tito export {module.number}` puts the course's "
                          "version back; do not commit your work into the course's package")
                print("after a change to modules/, run `tito export` and commit the result")
                return 1
            print(f"generated package matches the modules ({len(modules)} checked)")
            return 0
        changed = export(root, modules)
    except ExportError as error:
        raise CommandError(f"{error} (nothing was written)") from None
    for path in changed:
        print(f"wrote {path.relative_to(root).as_posix()}")
    print(f"exported {len(modules)} module(s), {len(changed)} file(s) changed")
    return 0


def cmd_module(args: argparse.Namespace) -> int:
    from tito_cli import student

    return student.run(args, project_root())


def cmd_nbgrader(args: argparse.Namespace) -> int:
    from tito_cli import grading

    return grading.run(args, project_root())


def cmd_milestone(args: argparse.Namespace) -> int:
    from tito_cli import milestones

    return milestones.run(args, project_root())


def cmd_kit(args: argparse.Namespace) -> int:
    from tito_cli import kit

    return kit.run(project_root(), Path(args.folder))


def cmd_doctor(args: argparse.Namespace) -> int:
    from tito_cli import doctor

    return doctor.run(project_root())


def build_parser() -> argparse.ArgumentParser:
    from tito_cli.student import TEST_TIMEOUT

    parser = argparse.ArgumentParser(
        prog="tito", description="TinyTorch course tool: export modules, test them, grade them, run milestones.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("export", help="generate tinytorch/ from the module sources",
                       description="Write the package files from the '#| export' cells of the module sources.")
    p.add_argument("modules", nargs="*", metavar="NN", help="module numbers (default: all)")
    p.add_argument("--all", action="store_true", help="every module (the default)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the package differs from the modules")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("module", help="work on a module as a student: status, start, complete, test",
                       description="The student loop: start a module, fill in the TODOs, complete it.")
    msub = p.add_subparsers(dest="action", metavar="ACTION")
    msub.required = True
    msub.add_parser("status", help="a table of every module: exported, tests, milestone it unlocks")
    q = msub.add_parser("start", help="write your copy of module NN to work/NN_name/ (solutions become TODO stubs)")
    q.add_argument("module", metavar="NN")
    q.add_argument("--force", action="store_true", help="replace your edited copy (a backup is kept)")
    q = msub.add_parser("complete", help="export your copy of module NN into the package and run its tests")
    q.add_argument("module", metavar="NN")
    q.add_argument("--from", dest="source", choices=("py", "ipynb"), default=None,
                   help="which of your files to export when the .py and the notebook differ")
    q.add_argument("--timeout", type=float, default=TEST_TIMEOUT,
                   help=f"seconds each test may run (default: {TEST_TIMEOUT:g})")
    q = msub.add_parser("test", help="run module NN's tests against the package")
    q.add_argument("module", metavar="NN")
    q.add_argument("--timeout", type=float, default=TEST_TIMEOUT,
                   help=f"seconds each test may run (default: {TEST_TIMEOUT:g})")
    p.set_defaults(func=cmd_module)

    p = sub.add_parser("kit", help="write a solution-free copy of the course for a class (the student kit)",
                       description="Write FOLDER: the released modules, the package without the exercise solutions, "
                                   "the visible tests, the milestones and the data; students `pip install -e .` it.")
    p.add_argument("folder", help="a new or empty folder")
    p.set_defaults(func=cmd_kit)

    p = sub.add_parser("nbgrader", help="instructor: generate releases, autograde submissions, report grades",
                       description="Drive nbgrader on a course folder (default: course/).")
    p.add_argument("--course", default="course", help="the nbgrader course folder (default: course)")
    gsub = p.add_subparsers(dest="action", metavar="ACTION")
    gsub.required = True
    q = gsub.add_parser("generate", help="build the student release of module NN (or --all)")
    q.add_argument("module", nargs="?", metavar="NN")
    q.add_argument("--all", action="store_true")
    q = gsub.add_parser("autograde", help="grade every submission of module NN, each in a sandbox")
    from tito_cli.grading import add_autograde_arguments

    add_autograde_arguments(q)
    q = gsub.add_parser("report", help="a table of each student's score for module NN, and a CSV")
    q.add_argument("module", metavar="NN")
    q.add_argument("--csv", default=None, help="where to write the CSV (default: COURSE/grades_NN.csv)")
    p.set_defaults(func=cmd_nbgrader)

    p = sub.add_parser("milestone", help="list or run the historical milestones",
                       description="Milestones train real models with your framework.")
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    ssub.required = True
    ssub.add_parser("list", help="the milestones and the modules each needs")
    q = ssub.add_parser("run", help="run milestone NN")
    q.add_argument("milestone", metavar="NN", nargs="?", default=None)
    q.add_argument("extra", nargs=argparse.REMAINDER, help="arguments passed to the script (e.g. --plot curves.png)")
    p.set_defaults(func=cmd_milestone)

    p = sub.add_parser("doctor", help="check this machine: Python, packages, kernel, dataset")
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as error:
        print(f"tito: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
