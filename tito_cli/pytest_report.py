"""The pytest plugin tito loads (``-p tito_cli.pytest_report``) when it runs a module's tests.

Two things pytest alone does not give tito:

* a time box per test: ``--tito-timeout S`` raises ``TimeoutError`` in a test
  still running after S seconds (an alarm signal interrupts a Python loop),
  and ends the process 10 s later if the test is stuck inside C code;
* a report tito can read even when the test process dies: one JSON line
  when a test starts and one when it ends (``--tito-report PATH``), with its
  task markers, outcome, the failing statement and pytest's message.

Nothing here changes what a test checks.
"""

from __future__ import annotations

import faulthandler
import json
import re
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

_FUNCTION_REPR = re.compile(r"<(?:function|built-in function) ([\w.]+) at 0x[0-9a-f]+>")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tito")
    group.addoption("--tito-report", default=None, help="write one JSON line per test event to this file")
    group.addoption("--tito-timeout", type=float, default=0, help="seconds a test may run (0: no limit)")


class _Report:
    """Registered as a plugin when ``--tito-report`` is given; keeps each running test's result."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.results: dict[str, dict] = {}

    def write(self, event: dict) -> None:
        with self.path.open("a", encoding="utf-8") as handle:  # line by line: survives a killed process
            handle.write(json.dumps(event) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        tasks = sorted(m.name for m in item.iter_markers() if m.name.startswith("task_"))
        self.results[item.nodeid] = {"nodeid": item.nodeid, "name": item.name, "tasks": tasks, "outcome": "passed"}
        self.write({"event": "start", "nodeid": item.nodeid, "name": item.name, "tasks": tasks})
        yield
        self.write({"event": "result", **self.results.pop(item.nodeid)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.get(report.nodeid)
        if result is None or report.passed or result["outcome"] != "passed":
            return  # keep the first problem (a teardown error after a failure adds nothing)
        if report.skipped:
            result["outcome"] = "skipped"
        else:
            result["outcome"] = "failed" if report.when == "call" else "error"
        result.update(_failure(report))


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("tito_report", None)
    if path:
        config.pluginmanager.register(_Report(path), "tito-report")


@contextmanager
def _time_box(item: pytest.Item) -> Iterator[None]:
    """Raise TimeoutError in the block after ``--tito-timeout`` seconds; end the process 10 s later."""
    seconds = item.config.getoption("tito_timeout", 0) or 0
    if seconds <= 0:
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"the test ran longer than {seconds:g} s (an endless loop?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds + 10, exit=True)  # a loop inside numpy never sees the alarm
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _time_box(item):  # fixtures too: a fixture can loop as well as a test
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _time_box(item):
        yield


def _failure(report: pytest.TestReport) -> dict:
    """The test's failing statement and pytest's explanation, with function reprs shortened to their names."""
    longrepr = report.longrepr
    statement, message = "", str(longrepr)
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        message = crash.message
    test_file = report.location[0] if report.location else ""
    entries = getattr(getattr(longrepr, "reprtraceback", None), "reprentries", None) or []
    for entry in reversed(entries):  # the last line of the test itself: the check that failed
        location = getattr(entry, "reprfileloc", None)
        if location is None or not str(location.path).replace("\\", "/").endswith(test_file):
            continue
        lines = getattr(entry, "lines", [])
        marked = [line[1:].strip() for line in lines if line.startswith(">")]
        code = [line.strip() for line in lines
                if line.strip(" ^~") and not line.startswith("E ")]  # not the caret lines under a call
        statement = (marked or code or [""])[-1]
        break
    if isinstance(longrepr, tuple):  # a skip: (file, line, reason)
        message = str(longrepr[2])
    return {"statement": statement, "message": _FUNCTION_REPR.sub(r"\1", message)}
