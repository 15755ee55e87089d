"""``torch.nn.utils`` for tinytorch: gradient clipping, from module 07 (``tinytorch.core.training``).

``clip_grad_norm_`` returns the norm before clipping as a Python float
(PyTorch returns a 0-d tensor; both format and compare the same).
"""

from __future__ import annotations

from tinytorch._lazy import lazy_names

_TABLE = {"clip_grad_norm_": "tinytorch.core.training:clip_grad_norm"}
__getattr__ = lazy_names("tinytorch.nn.utils", _TABLE)
__all__ = sorted(_TABLE)
