"""Name tables for the PyTorch-shaped namespaces: a name is imported from its course module on first use.

So ``import tinytorch.nn as nn`` works with only the modules built so far;
``nn.Conv2d`` imports module 09 when it is first used, and says so clearly if
that module is not there yet.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_names(package: str, table: dict[str, str], submodules: tuple[str, ...] = ()) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``table[name]`` is ``"pkg.module"`` or ``"pkg.module:attribute"``;
    a name in ``submodules`` is the subpackage ``package.name``."""

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        path, _, attribute = table[name].partition(":")
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as error:
            if error.name != path:
                raise
            raise AttributeError(f"{package}.{name} comes from {path}, which is not built yet") from None
        try:
            return getattr(module, attribute or name)
        except AttributeError:
            raise AttributeError(f"{package}.{name}: {path} has no {attribute or name!r} yet") from None

    return __getattr__
