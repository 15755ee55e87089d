"""Simulated submissions of module 02 (activations: relu 2 pts, sigmoid 3, softmax 3), honest and hostile.

Each builder takes the release and source notebooks and a dict of facts the
attacker is assumed to know (absolute paths of the course, another
student's notebook, a port listening on 127.0.0.1) and returns the
notebook a student hands in, with the score it deserves.
"""

from __future__ import annotations

from submissions import _by_id as _cells, correct  # one reference-filled notebook for both suites

POINTS = {"test_relu": 2, "test_sigmoid": 3, "test_softmax": 3}
TOTAL = sum(POINTS.values())
WRONG_SIGMOID = ("np.where(x >= 0, 1.0, e) / (1.0 + e)", "np.where(x >= 0, 1.0, e) / (2.0 + e)")
WRONG_SOFTMAX = ("out = shifted / shifted.sum(axis=axis, keepdims=True)", "out = shifted / shifted.sum()")


def _with(notebook, grade_id, replace=None, append="", prepend_body=""):
    """Change one solution cell: a text replacement, code appended at the end, or code at the top of its function."""
    cell = _cells(notebook)[grade_id]
    if replace:
        assert replace[0] in cell.source, (grade_id, replace[0])
        cell.source = cell.source.replace(*replace)
    if prepend_body:
        marker = "    ### BEGIN SOLUTION\n"
        cell.source = cell.source.replace(marker, marker + prepend_body, 1)
    cell.source += "\n" + append
    return notebook


def _attack(code: str, **facts) -> str:
    """Attack code that keeps going whatever fails, and reports what it managed in its output."""
    lines = "\n".join("    " + line for line in code.format(**facts).strip().splitlines())
    return f"import os, sys, numpy as np\ntry:\n{lines}\nexcept BaseException as _e:\n    print('attack failed:', repr(_e))\n"


HOSTILE = {
    # name: (what it does, how the submission is built, the score it deserves)
    "honest": ("a correct submission", lambda r, s, f: correct(r, s), TOTAL),
    "wrong": ("a wrong sigmoid", lambda r, s, f: _with(correct(r, s), "sigmoid", WRONG_SIGMOID),
              TOTAL - POINTS["test_sigmoid"]),
    "gradebook": ("overwrites every gradebook.db it can find, walking up from its folder and at the course path",
                  lambda r, s, f: _with(correct(r, s), "relu", append=_attack("""
for top in [os.getcwd(), '/', {course!r}]:
    for folder, _, files in os.walk(top):
        if 'gradebook.db' in files:
            open(os.path.join(folder, 'gradebook.db'), 'wb').write(b'gone')
            print('overwrote', folder)
open({course!r} + '/gradebook.db', 'wb').write(b'gone')
""", **f)), TOTAL),
    "thief": ("copies the instructor's source notebook (solutions, hidden tests) to a shared folder",
              lambda r, s, f: _with(correct(r, s), "relu", append=_attack("""
text = open({source!r}).read()
os.makedirs({leak!r}, exist_ok=True)
open({leak!r} + '/stolen.ipynb', 'w').write(text)
""", **f)), TOTAL),
    "vandal": ("rewrites another student's submitted notebook and writes outside the course",
               lambda r, s, f: _with(correct(r, s), "relu", append=_attack("""
open({victim!r}, 'w').write('{{}}')
""", **f) + _attack("open({outside!r}, 'w').write('was here')", **f)), TOTAL),
    "network": ("opens a TCP connection to 127.0.0.1",
                lambda r, s, f: _with(correct(r, s), "relu", append=_attack("""
import socket
socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')
""", **f)), TOTAL),
    "patcher": ("a wrong sigmoid, with np.isclose/np.allclose and np.testing replaced to always pass",
                lambda r, s, f: _with(_with(correct(r, s), "sigmoid", WRONG_SIGMOID), "relu", append=_attack("""
np.isclose = np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = np.testing.assert_array_equal = lambda *a, **k: None
""")), TOTAL - POINTS["test_sigmoid"]),
    "hooker": ("a wrong softmax, with IPython's custom exception handler and sys.excepthook swallowing errors",
               lambda r, s, f: _with(_with(correct(r, s), "softmax", WRONG_SOFTMAX), "relu", append=_attack("""
sys.excepthook = lambda *a: None
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
""")), TOTAL - POINTS["test_softmax"]),
    "quitter": ("calls os._exit(0) when the interpreter exits",
                lambda r, s, f: _with(correct(r, s), "relu", append="import atexit, os\natexit.register(os._exit, 0)\n"),
                TOTAL),
    "crasher": ("calls os._exit(3) in the middle of the sigmoid cell: the process ends there",
                lambda r, s, f: _with(correct(r, s), "sigmoid", append="import os\nos._exit(3)\n"), 0),
    "sleeper": ("sleeps for 1000 s inside ReLU's forward", lambda r, s, f: _with(
        correct(r, s), "relu", prepend_body="        import time\n        time.sleep(1000)\n"),
        TOTAL - POINTS["test_relu"]),
    "hog": ("allocates 6 GB inside the sigmoid", lambda r, s, f: _with(
        correct(r, s), "sigmoid", prepend_body="    _hog = np.ones(6 * 2**30 // 8)\n    _hog[::4096] = 2.0\n"),
        TOTAL - POINTS["test_sigmoid"]),
    "forker": ("forks 1000 times", lambda r, s, f: _with(correct(r, s), "relu", append=_attack("""
for _ in range(1000):
    if os.fork() == 0:
        import time
        time.sleep(1000)
""")), TOTAL),
    "shouter": ("prints 50 MB", lambda r, s, f: _with(correct(r, s), "relu", append="print('x' * 50_000_000)\n"),
                TOTAL),
}
