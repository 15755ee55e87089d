"""Probes: a graded cell's hidden test, as inputs and observed outputs the grader compares outside the sandbox.

A module's probes live next to its source, in ``modules/NN_name/probes.py``::

    import numpy as np
    from tito_cli.probing import raised

    def mse_sum(nb):
        # nb is the student's module: the code cells of their notebook, run in the sandbox
        loss = nb.mse_loss(nb.Tensor([2.0, 4.0]), nb.Tensor([1.0, 1.0]), reduction="sum")
        return {"value": loss, "bad_shape": raised(nb.mse_loss, nb.Tensor(np.ones((3, 1))), nb.Tensor(np.ones(3)))}

    PROBES = {"test_mse_loss": [mse_sum, ...]}     # graded cell (grade_id) -> its probes
    TOLERANCE = {"test_cross_entropy": (1e-5, 1e-6), "mse_sum": (0, 0)}  # optional: (rtol, atol) of a
                                                  # graded cell or of one probe; default (1e-5, 1e-8)

A probe returns a dict of plain values: arrays, Tensors (their ``.data``),
numbers, strings, booleans, ``None``. It does not assert: it reports what it
saw (values, gradients, ``raised(...)``'s exception name, ``str(dtype)``).
The grader runs every probe twice, on the reference solution and on the
submission, and a graded cell earns its points when every output of every
probe matches the reference within the cell's tolerance. Expected values
never enter the submission's process, so replacing ``np.allclose`` or an
exception hook there changes nothing. Write probes whose outputs include
computed numbers (not only booleans or exception names, which a forger
could guess), and cover every hidden and visible assert of the cell.

The probes file is readable inside the sandbox: its inputs are not
secret, the reference outputs are.

This file is also the program that runs inside the sandbox (``main``): it
sets its resource limits before any submitted code runs, executes the
notebook's solution and ``#| export`` cells (what `tito export` would put
in the package) one by one as the package module NN itself (a cell that
raises is reported and the next one runs), then runs each graded cell's
probes under a per-cell time limit and sends the outputs to the grader as
``.npz`` frames (no pickle) on a pipe. It needs only the standard library
and numpy.
"""

from __future__ import annotations

import __future__
import io
import json
import os
import signal
import struct
import sys
import traceback
import types
from typing import Any, Callable

import numpy as np

NONE = "<None>"  # how a probe output of None travels (npz holds no objects)


def raised(call: Callable, *args: Any, **kwargs: Any) -> str:
    """The name of the exception ``call(*args, **kwargs)`` raises, or ``"no exception"``."""
    try:
        call(*args, **kwargs)
    except Exception as error:  # the probe reports which exception, the grader decides if it is right
        return type(error).__name__
    return "no exception"


def as_array(value: Any) -> np.ndarray:
    """A probe output as a plain numpy array (a Tensor gives its ``.data``); objects are refused."""
    if value is None:
        return np.array(NONE)
    data = getattr(value, "data", None)
    if isinstance(data, np.ndarray) and not isinstance(value, np.ndarray):
        value = data
    array = np.array(value)
    if array.dtype.kind not in "biufcU":
        raise TypeError(f"probe output of type {type(value).__name__} is not a plain array")
    return array


def load_probes(path: str) -> tuple[dict, dict]:
    """(PROBES, TOLERANCE) of a probes file, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_tito_probes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.PROBES), dict(getattr(module, "TOLERANCE", {}))


# ---- inside the sandbox ------------------------------------------------------------

class CellTimeout(BaseException):
    """Raised by the per-cell alarm; a BaseException so that `except Exception` in a cell does not catch it."""


def _on_alarm(signum, frame):
    raise CellTimeout()


_results_fd = -1  # the pipe to the grader, named on the command line


def _send(header: dict, payload: bytes = b"") -> None:
    blob = json.dumps(header).encode()
    data = struct.pack(">II", len(blob), len(payload)) + blob + payload
    while data:
        data = data[os.write(_results_fd, data):]


def _describe(error: BaseException) -> str:
    if isinstance(error, CellTimeout):
        return "timed out"
    if isinstance(error, MemoryError):
        return "MemoryError (memory limit)"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def _set_limits(limits: dict) -> None:
    import resource

    for name, value in limits.items():
        kind = getattr(resource, name)
        soft = hard = int(value)
        if name == "RLIMIT_CPU":
            hard = soft + 2  # SIGXCPU at the soft limit names the cause; SIGKILL two seconds later
        resource.setrlimit(kind, (soft, hard))


def _uncomment_magics(source: str) -> str:
    """IPython magics and shell lines (``%timeit``, ``!pip``) are not Python: run them as comments."""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def run_cells(cells: list[dict], cell_timeout: float, target: str) -> types.ModuleType:
    """Execute the notebook's code cells in order, as the package module ``target``; report each failure, go on."""
    module = types.ModuleType(target)
    module.__file__ = "submission.py"
    sys.modules[target] = module  # the rest of the package imports the student's module NN
    flags = __future__.annotations.compiler_flag  # as in the exported package file, which starts with it
    for cell in cells:
        _send({"event": "cell", "name": cell["name"]})
        try:
            code = compile(_uncomment_magics(cell["source"]), f"<cell {cell['name']}>", "exec", flags, True)
            signal.setitimer(signal.ITIMER_REAL, cell_timeout)
            try:
                exec(code, module.__dict__)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # SystemExit, KeyboardInterrupt and timeouts included: the next cell runs
            _send({"event": "cell_error", "name": cell["name"], "error": _describe(error),
                   "traceback": traceback.format_exc(limit=-4)[-2000:]})
    return module


def run_probes(module: types.ModuleType, probes: dict, cell_timeout: float) -> None:
    """Run each graded cell's probes under one alarm; send one npz frame per graded cell."""
    for grade_id, functions in probes.items():
        _send({"event": "probing", "name": grade_id})
        arrays, errors = {}, {}
        signal.setitimer(signal.ITIMER_REAL, cell_timeout)
        try:
            for probe in functions:
                try:
                    outputs = probe(module)
                    for key, value in dict(outputs).items():
                        arrays[f"{probe.__name__}/{key}"] = as_array(value)
                except CellTimeout:
                    raise
                except BaseException as error:  # the probe failed on this submission: its outputs are missing
                    errors[probe.__name__] = _describe(error)
        except CellTimeout:
            errors["*"] = "timed out"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        _send({"event": "result", "name": grade_id, "errors": errors}, buffer.getvalue())


def main(argv: list[str]) -> None:
    """``probing.py KIT PLAN FD``: KIT holds the package, this file and probes.py; PLAN is the grader's JSON;
    FD the pipe the results go to."""
    global _results_fd
    kit, plan_path, _results_fd = argv[1], argv[2], int(argv[3])
    with open(plan_path, encoding="utf-8") as handle:
        plan = json.load(handle)
    _set_limits(plan["limits"])
    sys.path.insert(0, kit)
    signal.signal(signal.SIGALRM, _on_alarm)
    probes, _ = load_probes(os.path.join(kit, "probes.py"))
    module = run_cells(plan["cells"], plan["cell_timeout"], plan["target"])
    run_probes(module, {g: probes[g] for g in plan["graded"] if g in probes}, plan["cell_timeout"])
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    _send({"event": "done", "cpu_seconds": usage.ru_utime + usage.ru_stime})


if __name__ == "__main__":
    main(sys.argv)
