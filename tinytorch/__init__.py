"""TinyTorch: a small autograd tensor framework on numpy, built one module at a time.

``import tinytorch as torch`` gives PyTorch's top-level names: ``Tensor``,
``tensor``, ``zeros``, ``randn``, ``cat``, ``no_grad``, ``manual_seed``, the
dtypes, ... (``tinytorch/functions.py``), and the namespaces ``tinytorch.nn``,
``tinytorch.nn.functional``, ``tinytorch.optim`` and ``tinytorch.utils.data``,
which re-export what the course modules build in ``tinytorch.core``.

Importing the package loads nothing heavy: the names are looked up on first
use, so ``import tinytorch`` is fast and works with only the modules you
have completed so far. It does one thing to the process: on glibc it keeps
freed array memory for reuse instead of returning it to the kernel after
every training step (``tinytorch/allocator.py`` says why and how to opt out).
"""

from __future__ import annotations

import importlib
from typing import Any

from tinytorch.allocator import keep_freed_memory

__version__ = "0.1.0"

keep_freed_memory()

# name -> the package module that defines it (a module's own file is the place to read it)
_LAZY = {
    "Tensor": "tinytorch.core.tensor",
    "is_grad_enabled": "tinytorch.core.tensor",
    "set_grad_enabled": "tinytorch.core.tensor",
    "no_grad": "tinytorch.core.autograd",
    "gradcheck": "tinytorch.core.autograd",
}
_SUBMODULES = ("nn", "optim", "utils", "random", "functions")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"tinytorch.{name}")
    if not name.startswith("__"):
        functions = importlib.import_module("tinytorch.functions")
        if name in functions.__all__:
            return getattr(functions, name)
    raise AttributeError(f"module 'tinytorch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = sorted(_LAZY)
