"""``torch.nn`` for tinytorch: the layers, activations and losses the course modules build.

Each name is re-exported from its module in ``tinytorch.core`` (where the
course teaches it) on first use. ``Parameter`` is the one class defined
here: a ``Tensor`` that requires grad, which a ``Module`` therefore learns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch._lazy import lazy_names
from tinytorch.core.tensor import Tensor

_LAYERS = "tinytorch.core.layers"
_ACTIVATIONS = "tinytorch.core.activations"
_LOSSES = "tinytorch.core.losses"
_TABLE = {
    "Module": _LAYERS, "Linear": _LAYERS, "Sequential": _LAYERS, "Dropout": _LAYERS, "Flatten": _LAYERS,
    "ReLU": _ACTIVATIONS, "Sigmoid": _ACTIVATIONS, "Tanh": _ACTIVATIONS, "GELU": _ACTIVATIONS,
    "Softmax": _ACTIVATIONS,
    "Conv2d": "tinytorch.core.spatial", "MaxPool2d": "tinytorch.core.spatial", "AvgPool2d": "tinytorch.core.spatial",
    "Embedding": "tinytorch.core.embeddings", "MultiheadAttention": "tinytorch.core.attention",
    "LayerNorm": "tinytorch.core.transformer",
    **{name: _LOSSES for name in (
        "MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "LogCoshLoss", "QuantileLoss", "BCELoss",
        "BinaryCrossEntropyLoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss", "KLDivLoss",
        "GaussianNLLLoss", "FocalLoss", "BinaryFocalLoss", "HingeLoss", "MarginRankingLoss", "ContrastiveLoss",
        "TripletMarginLoss", "InfoNCELoss", "DiceLoss", "DPOLoss", "UncertaintyWeightedLoss")},
}
__getattr__ = lazy_names("tinytorch.nn", _TABLE, submodules=("functional", "utils"))


class Parameter(Tensor):
    """A Tensor that a ``Module`` learns: ``requires_grad=True`` unless told otherwise (torch.nn.Parameter)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(np.zeros(0, dtype=np.float32) if data is None else data, requires_grad=requires_grad)


__all__ = sorted([*_TABLE, "Parameter"])
