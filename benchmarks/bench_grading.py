"""Autograding throughput: N generated submissions of module 04 graded by `tito nbgrader autograde 04`.

    python benchmarks/bench_grading.py [--submissions 200] [--workers N] [--json PATH]

The submissions mix correct, wrong (one loss off), broken (a syntax error,
a notebook that is not JSON) and hanging ones (a busy loop or a sleep in a
loss, stopped by the per-cell timeout). Reported: wall time, submissions
per second and per second per core, and the CPU seconds the grading used
(the grader's, and what each sandboxed process reports of its own), which
other load on the machine inflates much less than the wall time.
The grades are checked: the benchmark fails if one is wrong.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, write_json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import submissions  # noqa: E402  (the same builders the end-to-end test grades)

MODULE = "04_losses"
CELL_TIMEOUT = 2  # seconds a graded cell's probes may run: what a hanging submission costs
SUBMISSION_TIMEOUT = 10


def _sleeping(release, source):
    """The focal loss sleeps (no CPU): only the wall clock stops it."""
    return submissions._replace_in(submissions.correct(release, source), "focal_loss", "    ### BEGIN SOLUTION\n",
                                   "    ### BEGIN SOLUTION\n    import time\n    time.sleep(1000)\n")


# kind: (builder or None for a file that is not JSON, share of the submissions, expected score)
MIX = {
    "correct": (submissions.correct, 0.50, submissions.TOTAL),
    "wrong_mse": (submissions.partly_wrong, 0.15, submissions.TOTAL - submissions.POINTS["test_mse_loss"]),
    "hard_coded": (submissions.hard_coded, 0.10,
                   submissions.TOTAL - submissions.POINTS["test_triplet_margin_loss"]),
    "syntax_error": (submissions.syntax_error, 0.10, submissions.TOTAL - submissions.POINTS["test_huber_loss"]),
    "not_json": (None, 0.05, 0.0),
    "busy_loop": (submissions.infinite_loop, 0.05, submissions.TOTAL - submissions.POINTS["test_focal_loss"]),
    "sleeping": (_sleeping, 0.05, submissions.TOTAL - submissions.POINTS["test_focal_loss"]),
}


def build_course(course: Path, count: int) -> dict[str, tuple[str, float]]:
    """Generate module 04 into ``course`` and write ``count`` submissions; student -> (kind, expected score)."""
    import nbformat

    result = subprocess.run([sys.executable, str(ROOT / "tito.py"), "nbgrader", "--course", str(course), "generate",
                             "04"], cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stdout + result.stderr)
    release = nbformat.read(course / "release" / MODULE / f"{MODULE}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / MODULE / f"{MODULE}.ipynb", as_version=4)
    built = {kind: nbformat.writes(build(release, source)) if build else '{"cells": [' for kind, (build, _, _)
             in MIX.items()}
    plan, start = {}, 0
    for kind, (_, share, score) in MIX.items():
        for number in range(start, start + round(share * count)):
            plan[f"s{number:04d}"] = (kind, score)
        start += round(share * count)
    for student, (kind, _) in plan.items():
        folder = course / "submitted" / student / MODULE
        folder.mkdir(parents=True)
        (folder / f"{MODULE}.ipynb").write_text(built[kind], encoding="utf-8")
    return plan


def run(count: int = 200, workers: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="tito-bench-") as folder:
        course = Path(folder) / "course"
        plan = build_course(course, count)
        # the reference outputs are computed once per module and cached: warm the cache as a real course would be
        warm = subprocess.run([sys.executable, str(ROOT / "tito.py"), "nbgrader", "--course", str(course),
                               "autograde", "04", "--student", next(iter(plan))], cwd=ROOT, capture_output=True,
                              text=True)
        if warm.returncode:
            raise SystemExit(warm.stdout + warm.stderr)
        load_before = os.getloadavg()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        command = [sys.executable, str(ROOT / "tito.py"), "nbgrader", "--course", str(course), "autograde", "04",
                   "--timeout", str(CELL_TIMEOUT), "--submission-timeout", str(SUBMISSION_TIMEOUT)]
        if workers:
            command += ["--workers", str(workers)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_after = os.getloadavg()
        if result.returncode:
            raise SystemExit(result.stdout + result.stderr)
        reported = json.loads((course / "tito" / f"autograde_{MODULE}.json").read_text())
        sandbox_cpu = sum(o["cpu_seconds"] or 0.0 for o in reported)
        unreported = sum(o["cpu_seconds"] is None for o in reported)
        report = subprocess.run([sys.executable, str(ROOT / "tito.py"), "nbgrader", "--course", str(course),
                                 "report", "04"], cwd=ROOT, capture_output=True, text=True)
        with (course / "grades_04.csv").open() as handle:
            rows = {row["student"]: float(row["score"]) for row in csv.DictReader(handle)}
        if report.returncode:
            raise SystemExit(report.stdout + report.stderr)
    wrong = {s: (kind, rows.get(s), score) for s, (kind, score) in plan.items() if rows.get(s) != score}
    if wrong:
        raise SystemExit(f"{len(wrong)} wrong grades, e.g. {list(wrong.items())[:5]}")
    cores = os.cpu_count() or 1
    parent_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    cpu = parent_cpu + sandbox_cpu
    return {"submissions": count, "workers": workers or cores, "cores": cores, "wall_s": round(wall, 2),
            "per_second": round(count / wall, 2), "per_second_per_core": round(count / wall / cores, 2),
            "cpu_s": round(cpu, 1), "cpu_s_parent": round(parent_cpu, 1), "cpu_s_sandboxes": round(sandbox_cpu, 1),
            "sandboxes_without_cpu_report": unreported, "cpu_s_per_submission": round(cpu / count, 3),
            "cpu_bound_on_idle_cores_s": round(cpu / cores, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "mix": {kind: round(share * count) for kind, (_, share, _) in MIX.items()},
            "cell_timeout_s": CELL_TIMEOUT, "submission_timeout_s": SUBMISSION_TIMEOUT}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="default: the number of cores")
    parser.add_argument("--json", default=str(Path(__file__).with_name("results_grading.json")))
    args = parser.parse_args()
    result = run(args.submissions, args.workers)
    print(f"graded {result['submissions']} submissions of {MODULE} in {result['wall_s']} s with "
          f"{result['workers']} workers on {result['cores']} cores: {result['per_second']} per second, "
          f"{result['per_second_per_core']} per second per core")
    print(f"CPU time {result['cpu_s']} s: grader {result['cpu_s_parent']} s, sandboxes {result['cpu_s_sandboxes']} s "
          f"as they reported it ({result['sandboxes_without_cpu_report']} did not: not JSON, or killed)")
    print(f"that is {result['cpu_s_per_submission']} s per submission ("
          f"at least {result['cpu_bound_on_idle_cores_s']} s on {result['cores']} idle cores); load average "
          f"{result['load_average_before']} before, {result['load_average_after']} after")
    print(f"mix: {result['mix']}; per-cell timeout {CELL_TIMEOUT} s")
    write_json(Path(args.json), {"machine": machine(), "grading": result})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
