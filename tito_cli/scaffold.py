"""The student scaffold of a module source: what nbgrader's release does, on the percent text.

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub
  that names the task (``raise NotImplementedError("task 4.3: ...")``), at
  the indentation of the BEGIN line;
* ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks are removed.
"""

from __future__ import annotations

import re

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
TASK_PATTERN = re.compile(r"\(task (\d+\.\d+)\)")
STUB_MESSAGE = "replace this line with your solution (see the TODO above)"


def stub_line(indent: str, task: str | None) -> str:
    label = f"task {task}: " if task else ""
    return f'{indent}raise NotImplementedError("{label}{STUB_MESSAGE}")'


def scaffold(text: str, filename: str = "<module>") -> str:
    """The student version of a module source; ValueError names an unbalanced delimiter."""
    out: list[str] = []
    task: str | None = None
    inside: str | None = None  # the delimiter we are inside, and the line it opened on
    opened_at = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        found = TASK_PATTERN.search(line)
        if found and inside is None:
            task = found.group(1)
        if stripped in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            if inside is not None:
                raise ValueError(f"{filename}:{number}: {stripped} inside the block opened at line {opened_at}")
            inside, opened_at = stripped, number
            if stripped == BEGIN_SOLUTION:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}# YOUR CODE HERE")
                out.append(stub_line(indent, task))
            continue
        if stripped in (END_SOLUTION, END_HIDDEN):
            expected = BEGIN_SOLUTION if stripped == END_SOLUTION else BEGIN_HIDDEN
            if inside != expected:
                raise ValueError(f"{filename}:{number}: {stripped} without {expected}")
            inside = None
            continue
        if inside is None:
            out.append(line)
    if inside is not None:
        raise ValueError(f"{filename}:{opened_at}: {inside} is never closed")
    return "\n".join(out) + "\n"


def has_solutions(text: str) -> bool:
    return BEGIN_SOLUTION in text or BEGIN_HIDDEN in text
