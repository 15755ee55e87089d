"""``torch.nn.functional`` for tinytorch: the functional forms the course modules build.

Each name is re-exported from its module in ``tinytorch.core`` on first use
(activations from module 02, ``linear``/``dropout`` from 03, softmaxes,
distances and every functional loss from 04, convolution and pooling from
09, attention from 12, ``layer_norm`` from 13).
"""

from __future__ import annotations

from tinytorch._lazy import lazy_names

_ACTIVATIONS = "tinytorch.core.activations"
_LOSSES = "tinytorch.core.losses"
_TABLE = {
    **{name: _ACTIVATIONS for name in ("relu", "sigmoid", "tanh", "gelu", "softmax")},
    "linear": "tinytorch.core.layers", "dropout": "tinytorch.core.layers",
    "logsigmoid": f"{_LOSSES}:log_sigmoid",
    **{name: _LOSSES for name in (
        "log_softmax", "logsumexp", "softplus", "normalize", "cosine_similarity", "pairwise_distance", "one_hot",
        "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "gaussian_nll_loss",
        "margin_ranking_loss", "triplet_margin_loss", "log_cosh_loss", "quantile_loss", "focal_loss",
        "binary_focal_loss", "hinge_loss", "contrastive_loss", "info_nce_loss", "dice_loss", "dpo_loss")},
    **{name: "tinytorch.core.spatial" for name in ("conv2d", "max_pool2d", "avg_pool2d")},
    "scaled_dot_product_attention": "tinytorch.core.attention",
    "layer_norm": "tinytorch.core.transformer",
}
__getattr__ = lazy_names("tinytorch.nn.functional", _TABLE)
__all__ = sorted(_TABLE)
