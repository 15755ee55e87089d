"""TinyTorch: a small autograd tensor framework on numpy, built one module at a time.

Importing the package loads nothing heavy: the names below are looked up on
first use, so ``import tinytorch`` is fast and works with only the modules
you have completed so far.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the package module that defines it (a module's own file is the place to read it)
_LAZY = {
    "Tensor": "tinytorch.core.tensor",
    "no_grad": "tinytorch.core.autograd",
    "gradcheck": "tinytorch.core.autograd",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tinytorch' has no attribute {name!r}")


__all__ = sorted(_LAZY)
