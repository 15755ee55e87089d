"""PyTorch scripts run unchanged on tinytorch: only their imports change, and every printed number agrees.

Each script in ``tests/torch_scripts/`` is plain PyTorch code that draws its
random inputs from a numpy generator. It runs twice -- once as written,
once with ``import torch`` replaced by ``import tinytorch as torch`` (and
``torch.nn``/``torch.utils.data`` by tinytorch's) -- and the two outputs
must print the same numbers, line by line.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = sorted((Path(__file__).parent / "torch_scripts").glob("*.py"))
_SWAPS = [(r"^(\s*)import torch$", r"\1import tinytorch as torch"),
          (r"^(\s*)import torch\.", r"\1import tinytorch."),
          (r"^(\s*)from torch([. ])", r"\1from tinytorch\2")]
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|-?\binf\b")


def on_tinytorch(source: str) -> str:
    """The script with its torch imports pointed at tinytorch; nothing else may change."""
    swapped = source
    for pattern, replacement in _SWAPS:
        swapped = re.sub(pattern, replacement, swapped, flags=re.M)
    changed = [old for old, new in zip(source.splitlines(), swapped.splitlines()) if old != new]
    assert changed and all(line.lstrip().startswith(("import torch", "from torch")) for line in changed)
    return swapped


def run(source: str, name: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, name, "exec"), {"__name__": "__main__"})
    return out.getvalue().splitlines()


def numbers(line: str) -> np.ndarray:
    return np.array([float(n) for n in NUMBER.findall(line)])


@pytest.mark.parity
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script_prints_the_same_numbers_on_both(torch, script):
    source = script.read_text(encoding="utf-8")
    theirs = run(source, str(script))
    ours = run(on_tinytorch(source), str(script))
    assert len(ours) == len(theirs), f"{len(ours)} lines printed, torch printed {len(theirs)}"
    count = 0
    for mine, want in zip(ours, theirs):
        assert mine.split()[:1] == want.split()[:1], f"line label differs:\n  tinytorch: {mine}\n  torch:     {want}"
        a, b = numbers(mine), numbers(want)
        assert a.shape == b.shape, f"{a.size} numbers vs torch's {b.size}:\n  tinytorch: {mine}\n  torch:     {want}"
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5, equal_nan=True,
                                   err_msg=f"\n  tinytorch: {mine}\n  torch:     {want}")
        count += a.size
    assert count >= 50  # the script printed numbers, not just labels
