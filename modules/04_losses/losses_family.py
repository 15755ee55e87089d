# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 04 -- Losses, part 2: the wider family
#
# Part 1 (`losses.py`) built the core losses and holds the exercises. This
# notebook has none: it adds the rest of PyTorch's losses and helpers, and
# the family beyond them, each with its formula, a worked number and, where
# it helps, a figure. Its `#| export` cells are appended to the same
# package module, `tinytorch.core.losses`; part 3 (`losses_practice.py`)
# then shows the losses at work and how to choose one.
#
# It runs on the exported package: export the module first (`tito export
# 04`). As in part 1, `.backward()` runs module 05's prebuilt engine.
#
# 1. More regression losses: L1, SmoothL1, log-cosh, quantiles, outliers
# 2. BCE's functional forms; log-softmax, logsumexp and NLL
# 3. Distances and similarities
# 4. KL divergence and distillation; Gaussian NLL
# 5. Margins: hinge, ranking, contrastive; binary focal
# 6. Overlap (Dice) and learned loss weights
# 7. The loss classes

# %%
import time
import tracemalloc

import matplotlib.pyplot as plt

# part 1's code as exported, private helpers included (the export cells below come after it)
from tinytorch.core.losses import *  # noqa: F403
from tinytorch.core.losses import (REDUCTIONS, _check_axis, _check_class_targets, _check_reduction, _class_weight,
                                   _counted_rows, _elementwise_weight, _embeddings, _floating, _focal_alpha, _pair,
                                   _reduce, _row_numbers, _rows_of_classes, _same_shape, _scalar, _tensor,
                                   _weighted_reduce)

# %% [markdown]
# ## 1. More regression losses
#
# L1's gradient is `sign(r)` (0 at 0, as in PyTorch). SmoothL1 is Huber
# divided by `beta`. Log-cosh, `log cosh r`, is smooth everywhere like
# Huber; `cosh` overflows float32 at `|r| > 89`, but
# `log cosh r = |r| + log1p(e^{-2|r|}) - log 2` never does, and its own node
# returns the simple gradient `tanh r`. The quantile (pinball) loss
# `max(tau d, (tau - 1) d)`, `d = target - input`, is minimised by the
# tau-quantile of the targets.

# %%
#| export
def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", weight: Any = None) -> Tensor:
    """reduce(w |input - target|), 'mean' divides by sum(w); the subgradient at 0 is 0."""
    input, target = _pair(input, target, "l1_loss", reduction)
    return _reduce((input - target).abs(), reduction, _elementwise_weight(weight, input, "l1_loss"))


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 r^2 / beta where |r| < beta, else |r| - beta / 2 (PyTorch's SmoothL1Loss)."""
    beta = _scalar(beta, "smooth_l1_loss", "beta", "non-negative")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) * (1.0 / beta)


class LogCoshBackward(Function):
    """out = log(cosh(r)) = |r| + log1p(exp(-2|r|)) - log 2;  dr = g * tanh(r)."""

    def forward(self, r):
        self.saved = r
        size = np.abs(r)
        return size + np.log1p(np.exp(-2.0 * size)) - math.log(2.0)

    def backward(self, grad_output):
        return (grad_output * np.tanh(self.saved),)


def log_cosh_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """reduce(log(cosh(input - target))), computed without overflow."""
    input, target = _pair(input, target, "log_cosh_loss", reduction)
    return _reduce(LogCoshBackward.apply(input - target), reduction)


def quantile_loss(input: Tensor, target: Tensor, tau: float = 0.5, reduction: str = "mean") -> Tensor:
    """Pinball loss max(tau d, (tau - 1) d), d = target - input; minimised by the tau-quantile."""
    tau = _scalar(tau, "quantile_loss", "tau", "open unit")
    input, target = _pair(input, target, "quantile_loss", reduction)
    d = target - input
    return _reduce(where(d.data >= 0, d * tau, d * (tau - 1.0)), reduction)

# %%
_r = np.linspace(-3, 3, 301)
_zero = np.zeros_like(_r)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for label, fn in [("MSE", mse_loss), ("L1", l1_loss), ("Huber(1)", huber_loss), ("log-cosh", log_cosh_loss),
                  ("quantile(0.8)", lambda a, b, reduction: quantile_loss(a, b, 0.8, reduction))]:
    _t = Tensor(_r, requires_grad=True)
    _v = fn(_t, Tensor(_zero), reduction="none")
    _v.sum().backward()
    axes[0].plot(_r, _v.data, label=label)
    axes[1].plot(_r, _t.grad.data, label=label)
axes[0].set_title("Regression losses")
axes[1].set_title("Their gradients: what the optimizer sees")
for ax, ylabel in zip(axes, ["loss (squared target units)", "d loss / d input (per unit)"]):
    ax.set_xlabel("residual r = input - target (target units)")
    ax.set_ylabel(ylabel)
axes[0].set_ylim(0, 4)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# **Outliers.** Twenty measurements near 10 and three at 40: the constant
# that minimises each loss, found by gradient descent through our own
# losses, is the mean under MSE, the median under L1, and in between under
# Huber -- which ignores the outliers' size beyond `delta`.

# %%
_rng = np.random.default_rng(2)
_data = Tensor(np.concatenate([_rng.normal(10.0, 1.0, 20), [40.0, 40.0, 40.0]]))


def _best_constant(loss_fn, steps: int = 400, lr: float = 0.5) -> float:
    c = Tensor(np.array([0.0]), requires_grad=True)
    for _ in range(steps):
        c.grad = None
        loss_fn(c * np.ones(_data.shape), _data).backward()
        c.data -= lr * c.grad.data
    return float(c.data[0])


print(f"mean {_data.data.mean():.3f}, median {np.median(_data.data):.3f}")
for name, fn in [("MSE", mse_loss), ("L1", l1_loss), ("Huber(1)", huber_loss)]:
    print(f"best constant under {name:9s}: {_best_constant(fn, lr=0.5 if name == 'MSE' else 2.0):.3f}")

# %% [markdown]
# **Quantiles.** For `tau = 0.1, 0.5, 0.9` the pinball loss tilts the V of
# L1: under-predicting costs `tau` per unit, over-predicting `1 - tau`.
# Fitted as constants to the 20 clean measurements by subgradient descent,
# they land on the empirical quantiles (with 20 points any value between
# two neighbours minimises, so they differ from numpy's interpolation by a
# little).

# %%
_d = np.linspace(-2, 2, 201)
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for tau in [0.1, 0.5, 0.9]:
    _loss = quantile_loss(Tensor(np.zeros_like(_d)), Tensor(_d), tau, reduction="none").data
    ax.plot(_d, _loss, label=f"tau = {tau}")
ax.set_title("Quantile (pinball) loss")
ax.set_xlabel("d = target - prediction (target units)")
ax.set_ylabel("loss (target units)")
ax.legend()
plt.tight_layout()
plt.show()
_clean = Tensor(_data.data[:20])
for tau in [0.1, 0.5, 0.9]:
    c = Tensor(np.array([10.0]), requires_grad=True)
    for _ in range(600):
        c.grad = None
        quantile_loss(c * np.ones(20), _clean, tau).backward()
        c.data -= 0.05 * c.grad.data
    print(f"tau {tau}: fitted {c.data[0]:.3f}, np.quantile {np.quantile(_clean.data, tau):.3f}")

# %% [markdown]
# ## 2. BCE's functional forms; log-softmax, logsumexp and NLL
#
# `binary_cross_entropy_with_logits` wraps part 1's node with `weight` and
# `pos_weight`. `binary_cross_entropy` takes probabilities, refuses values
# outside [0, 1], and clamps its logs at -100 as PyTorch does, so `p = 0`
# with `y = 1` costs 100, not infinity. The figure shows why logits are
# better: through a float32 probability the loss saturates at the clamp;
# from the logit it keeps growing with slope 1.

# %%
#| export
def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for any x."""
    return -softplus(-x)


class BinaryCrossEntropyBackward(Function):
    """out = -w [y log p + (1 - y) log(1 - p)], logs clamped at -100 (PyTorch's BCELoss).

    dp = g w (p - y) / max(p (1 - p), 1e-12);  dy = g w (log(1 - p) - log p), logs clamped.
    """

    def forward(self, p, y, weight=None):
        with np.errstate(divide="ignore"):  # log(0) = -inf is expected: it is clamped next
            log_p = np.maximum(np.log(p), -100.0)
            log_1mp = np.maximum(np.log1p(-p), -100.0)
        self.saved = (p, y, weight, log_p, log_1mp)
        out = -(y * log_p + (1.0 - y) * log_1mp)
        return out * weight if weight is not None else out

    def backward(self, grad_output):
        p, y, weight, log_p, log_1mp = self.saved
        g = grad_output if weight is None else grad_output * weight
        needs_p, needs_y = self.needs_input_grad
        return (g * (p - y) / np.maximum(p * (1.0 - p), 1e-12) if needs_p else None,
                g * (log_1mp - log_p) if needs_y else None)


def _optional_constant(value: Any, like: Tensor, name: str, argument: str) -> np.ndarray | None:
    """A weight-like argument as an array in ``like``'s dtype, broadcastable to ``like``."""
    if value is None:
        return None
    array = np.asarray(value.data if isinstance(value, Tensor) else value, dtype=like.dtype)
    try:
        np.broadcast_shapes(array.shape, like.shape)
    except ValueError:
        raise ValueError(f"{name}: {argument} of shape {array.shape} does not broadcast to the input shape "
                         f"{like.shape}") from None
    return array


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Any = None, reduction: str = "mean") -> Tensor:
    """BCE on probabilities in [0, 1] (logs clamped at -100, as in PyTorch)."""
    input, target = _pair(input, target, "binary_cross_entropy", reduction)
    low, high = (float(input.data.min()), float(input.data.max())) if input.numel() else (0.0, 0.0)
    if not (0.0 <= low and high <= 1.0):  # also catches NaN
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got values from {low:g} "
                         f"to {high:g}; for raw scores use binary_cross_entropy_with_logits")
    low, high = (float(target.data.min()), float(target.data.max())) if target.numel() else (0.0, 0.0)
    if not (0.0 <= low and high <= 1.0):
        raise ValueError(f"binary_cross_entropy: target must be in [0, 1], got values from {low:g} to {high:g}")
    w = _optional_constant(weight, input, "binary_cross_entropy", "weight")
    return _reduce(BinaryCrossEntropyBackward.apply(input, target, weight=w), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """BCE on logits: (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x), stable for any x."""
    input, target = _pair(input, target, "binary_cross_entropy_with_logits", reduction)
    w = _optional_constant(weight, input, "binary_cross_entropy_with_logits", "weight")
    pw = _optional_constant(pos_weight, input, "binary_cross_entropy_with_logits", "pos_weight")
    return _reduce(BCEWithLogitsBackward.apply(input, target, weight=w, pos_weight=pw), reduction)

# %%
_logits = np.linspace(-120, 20, 281).astype(np.float32)
_ones = np.ones_like(_logits)
with np.errstate(over="ignore"):
    _p = Tensor(1 / (1 + np.exp(-_logits)))
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(_logits, binary_cross_entropy(_p, Tensor(_ones), reduction="none").data, label="BCE(sigmoid(x)), float32")
ax.plot(_logits, binary_cross_entropy_with_logits(Tensor(_logits), Tensor(_ones), reduction="none").data, "--",
        label="BCE with logits")
ax.set_title("BCE for label 1: through probabilities vs from logits")
ax.set_xlabel("logit x (unitless)")
ax.set_ylabel("loss (nats)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# `logsumexp` and `log_softmax` are part 1's stable trick as standalone
# ops, with PyTorch's `dim` (numpy's `axis` is an alias). `nll_loss` picks
# the target's log-probability: `nll_loss(log_softmax(x, dim=1), y)` equals
# `cross_entropy(x, y)`, in two nodes and one more B x C buffer.

# %%
#| export
def _dim(dim: Any, axis: Any, default: Any, name: str) -> Any:
    """PyTorch's ``dim`` with numpy's ``axis`` accepted as an alias (not both)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: give dim or its alias axis, not both")
    return default if dim is None and axis is None else dim if dim is not None else axis


class LogSumExpBackward(Function):
    """out = m + log(sum exp(x - m)) along axis;  dx = g * softmax(x)."""

    def forward(self, x, axis=-1, keepdims=False):
        m = x.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)  # an all -inf row stays -inf instead of nan
        out = m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))
        self.saved = (x, out, axis, keepdims)
        return out if keepdims else np.squeeze(out, axis=axis)

    def backward(self, grad_output):
        x, out, axis, keepdims = self.saved
        if not keepdims:
            grad_output = np.expand_dims(grad_output, axis)
        return (grad_output * np.exp(x - out),)


class LogSoftmaxBackward(Function):
    """out = x - logsumexp(x) along axis;  dx = g - softmax(x) * sum(g)."""

    def forward(self, x, axis=-1):
        m = x.max(axis=axis, keepdims=True)
        shifted = x - m
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.saved = (out, axis)
        return out

    def backward(self, grad_output):
        out, axis = self.saved
        return (grad_output - np.exp(out) * grad_output.sum(axis=axis, keepdims=True),)


def logsumexp(input: Tensor, dim: int | None = None, keepdim: bool | None = None, *, axis: int | None = None,
              keepdims: bool | None = None) -> Tensor:
    """log(sum(exp(input))) along ``dim`` (default: the last), stable for any input; ``axis``/``keepdims`` alias."""
    dim = _dim(dim, axis, -1, "logsumexp")
    keepdim = bool(_dim(keepdim, keepdims, False, "logsumexp"))
    input = _floating(_tensor(input, "logsumexp", "input"), "logsumexp", "input")
    _check_axis(input, dim, "logsumexp")
    return LogSumExpBackward.apply(input, axis=dim, keepdims=keepdim)


def log_softmax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """input - logsumexp(input) along ``dim`` (default: the last): log-probabilities, stable for any input."""
    dim = _dim(dim, axis, -1, "log_softmax")
    input = _floating(_tensor(input, "log_softmax", "input"), "log_softmax", "input")
    _check_axis(input, dim, "log_softmax")
    return LogSoftmaxBackward.apply(input, axis=dim)


def nll_loss(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """-w_y input[n, y] over log-probabilities (C,), (N, C) or (N, C, d1, ...); 'mean' divides by sum(w_y)."""
    name = "nll_loss"
    _check_reduction(reduction, name)
    input = _floating(_tensor(input, name, "input"), name, "input")
    target = _tensor(np.asarray(target) if isinstance(target, (list, tuple)) else target, name, "target")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must be integer class indices, got dtype {target.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{name}: input must be log-probabilities of shape (C,), (N, C) or (N, C, d1, ...), "
                         "got a 0-d tensor")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.reshape(1, -1), target.reshape((1,) + target.shape)
    _check_class_targets(input.data, target.data, ignore_index, name)
    valid, safe = _counted_rows(target.data, ignore_index, input.dtype)
    w = _class_weight(weight, input.shape[1], input.dtype, name)
    w_y = valid if w is None else w[safe] * valid
    rows = _rows_of_classes(input) if input.ndim > 2 else input
    picked = rows[_row_numbers(rows.shape[0]), safe.reshape(-1)].reshape(safe.shape)  # input[n, y_n, ...]
    loss = _weighted_reduce(-picked * w_y, w_y, reduction)
    return loss.reshape(target.shape[1:]) if unbatched and reduction == "none" else loss

# %%
_x = Tensor(np.random.default_rng(3).standard_normal((4, 6)))
_y = np.array([0, 5, 2, 2])
assert np.isclose(nll_loss(log_softmax(_x, dim=1), _y).item(), cross_entropy(_x, _y).item())
print("logsumexp([1000, 0]) =", logsumexp(Tensor([1000.0, 0.0])).item())

# %% [markdown]
# ## 3. Distances and similarities
#
# PyTorch's helpers with PyTorch's meaning: `norm`, `normalize`,
# `pairwise_distance` (part 1 explained their rules), `cosine_similarity`
# (the dot product of the two vectors normalised, each norm clamped at
# `eps`; broadcast first, as PyTorch does) and `one_hot` (int64 rows).
# Worked example: `cosine_similarity([3, 4], [4, 3]) = 24 / 25 = 0.96`.

# %%
#| export
def norm(input: Tensor, p: float = 2.0, dim: int = -1, keepdim: bool = False) -> Tensor:
    """||input||_p along ``dim`` (p > 0); the gradient at a zero vector is 0."""
    input = _floating(_tensor(input, "norm", "input"), "norm", "input")
    p = _scalar(p, "norm", "p", "positive")
    _check_axis(input, dim, "norm")
    return NormBackward.apply(input, p=p, dim=dim, keepdim=keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p, eps) along ``dim`` (PyTorch's F.normalize): finite for a zero vector."""
    eps = _scalar(eps, "normalize", "eps", "non-negative")
    return input / norm(input, p, dim, keepdim=True).clip(min=eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension (PyTorch's F.pairwise_distance)."""
    x1 = _floating(_tensor(x1, "pairwise_distance", "x1"), "pairwise_distance", "x1")
    x2 = _floating(_tensor(x2, "pairwise_distance", "x2"), "pairwise_distance", "x2")
    eps = _scalar(eps, "pairwise_distance", "eps", "non-negative")
    try:
        np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: x1 shape {x1.shape} and x2 shape {x2.shape} do not broadcast") from None
    return norm(x1 - x2 + eps, p, -1, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim``; x1 and x2 broadcast."""
    x1 = _floating(_tensor(x1, "cosine_similarity", "x1"), "cosine_similarity", "x1")
    x2 = _floating(_tensor(x2, "cosine_similarity", "x2"), "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: x1 shape {x1.shape} and x2 shape {x2.shape} do not broadcast") from None
    # broadcast first, as PyTorch does: a (1, D) x2 against (N, D) along dim 0 is N copies, not one vector
    x1, x2 = (x if x.shape == shape else x + np.zeros(shape, dtype=x.dtype) for x in (x1, x2))
    return (normalize(x1, 2.0, dim, eps) * normalize(x2, 2.0, dim, eps)).sum(axis=dim)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices (*) as an int64 tensor (*, num_classes) of 0s with a 1 at each index; -1 means max + 1."""
    labels = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: tensor must hold integer class indices, got dtype {labels.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"one_hot: num_classes must be an integer, got {num_classes!r:.40}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {int(labels.min())}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(labels.max()) + 1
    if num_classes < 0 or (labels.size and labels.max() >= num_classes):
        raise ValueError(f"one_hot: class index {int(labels.max()) if labels.size else 0} is out of range for "
                         f"num_classes={num_classes}")
    return Tensor((labels[..., None] == np.arange(num_classes)).astype(np.int64))

# %%
print("cosine_similarity:", cosine_similarity(Tensor([[3.0, 4.0]]), Tensor([[4.0, 3.0]])).data)
print("one_hot([0, 2], 3):\n", one_hot(np.array([0, 2]), 3).data)

# %% [markdown]
# ## 4. KL divergence and distillation
#
# `kl_div(input, target)` follows PyTorch: `input` holds *log*-probabilities
# and the pointwise loss is `target (log target - input)` (0 where
# `target = 0`), or `exp(target) (target - input)` with `log_target=True`.
# Its `'mean'` averages over every element; the KL per sample is
# `'batchmean'` (sum / N). Targets must be non-negative probabilities.
#
# **Distillation** (Hinton et al., 2015) trains a student to match a
# teacher's softened distribution: with temperature `T`,
# `loss = T^2 KL(softmax(t / T) || softmax(s / T))` per sample. Section 2
# showed that dividing logits by `T` divides the gradient by `T`, and the
# softened probabilities differ by about `1/T` again: `T^2` restores the
# gradient's scale, so `T` can change without retuning the learning rate.
#
# Worked example: teacher logits `[3, 1, 0]`, student `[1, 1, 1]`, `T = 2`:
# the teacher's soft targets are `softmax([1.5, 0.5, 0]) = [0.629, 0.231,
# 0.140]`, the student's are uniform, KL = 0.193 nats, and the loss
# `T^2 KL = 0.771`.

# %%
#| export
class KLDivBackward(Function):
    """out = t (log t - x) (0 where t = 0), or exp(t) (t - x) for log targets.

    dx = -t (or -exp(t));  dt = log t + 1 - x (or exp(t) (t - x + 1)).
    """

    def forward(self, x, t, log_target=False):
        self.saved = (x, t, log_target)
        if log_target:
            return np.exp(t) * (t - x)
        positive = t > 0
        return np.where(positive, t * np.log(np.where(positive, t, 1.0)), 0.0) - t * x

    def backward(self, grad_output):
        x, t, log_target = self.saved
        needs_x, needs_t = self.needs_input_grad
        if log_target:
            e = np.exp(t)
            return (-grad_output * e if needs_x else None, grad_output * e * (t - x + 1.0) if needs_t else None)
        positive = t > 0
        grad_t = np.where(positive, np.log(np.where(positive, t, 1.0)) + 1.0, 0.0) - x
        return (-grad_output * t if needs_x else None, grad_output * grad_t if needs_t else None)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise, PyTorch's kl_div; 'batchmean' divides the sum by N."""
    name = "kl_div"
    _check_reduction(reduction, name, REDUCTIONS + ("batchmean",))
    input, target = _pair(input, target, name, "mean")
    if not log_target and target.numel() and not float(target.data.min()) >= 0.0:  # also catches NaN
        raise ValueError(f"{name}: target must be probabilities (non-negative), got a minimum of "
                         f"{float(target.data.min()):g}; for log-probabilities pass log_target=True")
    pointwise = KLDivBackward.apply(input, target, log_target=log_target)
    if reduction == "batchmean":
        batch = input.shape[0] if input.ndim else 1
        return pointwise.sum() * (1.0 / batch if batch else math.nan)
    return _reduce(pointwise, reduction)

# %%
_teacher, _student, T = np.array([[3.0, 1.0, 0.0]]), np.array([[1.0, 1.0, 1.0]]), 2.0
_soft = softmax(Tensor(_teacher / T), dim=1)
_kl = kl_div(log_softmax(Tensor(_student / T), dim=1), _soft, reduction="batchmean")
print("soft targets:", _soft.data.round(3), f" KL = {_kl.item():.3f}, T^2 KL = {T * T * _kl.item():.3f}")

# %% [markdown]
# A small demo: a fixed linear "teacher" over 4 features and 3 classes, and
# a student (its own weights, from zero) trained only on the teacher's soft
# targets at `T = 3` for 150 gradient steps.

# %%
_rng = np.random.default_rng(4)
_X = Tensor(_rng.standard_normal((64, 4)))
_teacher_logits = _X.data @ _rng.standard_normal((4, 3)) * 2
_targets = softmax(Tensor(_teacher_logits / 3.0), dim=1)
_W = Tensor(np.zeros((4, 3)), requires_grad=True)
for step in range(151):
    _W.grad = None
    _loss = 9.0 * kl_div(log_softmax((_X @ _W) * (1 / 3.0), dim=1), _targets, reduction="batchmean")
    _loss.backward()
    _W.data -= 0.5 * _W.grad.data
    if step % 50 == 0:
        agree = np.mean((_X.data @ _W.data).argmax(1) == _teacher_logits.argmax(1))
        print(f"step {step:3d}: T^2 KL = {_loss.item():.4f}, student agrees with the teacher on {agree:.0%}")

# %% [markdown]
# **Gaussian NLL** (`gaussian_nll_loss(input, target, var)`) also learns
# the variance: `0.5 (log var + (input - target)^2 / var)` (+ `0.5 log 2 pi`
# with `full=True`), `var` clamped at `eps` without blocking its gradient.
# `var` may have the input's shape, or one broadcast dimension of size 1,
# or one dimension less (one variance per sample), as in PyTorch. The
# trade-off: a large residual is cheaper with a large variance, but the
# `log var` term charges for it; for a residual `r` the best variance is
# `r^2`. For `r = 2`:

# %%
#| export
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi if full); var clamped at eps."""
    name = "gaussian_nll_loss"
    input, target = _pair(input, target, name, reduction)
    eps = _scalar(eps, name, "eps", "non-negative")
    var = _floating(_tensor(var, name, "var"), name, "var")
    if var.shape != input.shape:
        mismatched = [(i, v) for i, v in zip(input.shape, var.shape) if i != v]
        if var.shape == input.shape[:-1]:
            var = var.reshape(var.shape + (1,))  # one variance per sample
        elif not (var.ndim == input.ndim and len(mismatched) == 1 and mismatched[0][1] == 1):
            raise ValueError(f"{name}: var shape {var.shape} must equal the input shape {input.shape}, or differ "
                             f"from it in one dimension of size 1 (e.g. {input.shape[:-1] + (1,)}), or be "
                             f"{input.shape[:-1]}")
    if (var.data < 0).any():
        raise ValueError(f"{name}: var has negative entries (minimum {float(var.data.min()):g})")
    # Clamp the value, not the gradient: var + (clamped - var) as a constant.
    var = var + Tensor._wrap(np.maximum(var.data, eps) - var.data)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)

# %%
for v in [0.25, 1.0, 4.0, 16.0]:
    _l = gaussian_nll_loss(Tensor([2.0]), Tensor([0.0]), Tensor([v])).item()
    print(f"var {v:5.2f}: 0.5 log var = {0.5 * np.log(v):6.3f}, 0.5 r^2 / var = {2.0 / v:5.3f}, loss = {_l:.3f}")

# %% [markdown]
# ## 5. Margins, ranking and contrast
#
# Margin losses care about *order*, not calibrated probabilities: zero once
# the right answer wins by a margin, linear otherwise.
#
# * **Hinge** (SVM): `max(0, margin - y s)`, labels `y` in {-1, +1}.
#   Against the logistic loss `softplus(-y s)` (BCE from logits), it is
#   exactly zero past the margin, so easy examples stop contributing.
# * **Margin ranking**: `max(0, -y (x1 - x2) + margin)`; `y = 1` wants `x1`
#   above `x2`, `y = 0` costs `max(0, margin)` (PyTorch accepts it).
#   Worked example, margin 0.1: `x1 = 0.8, x2 = 0.5, y = 1`: 0; `x1 = 0.2,
#   x2 = 0.6, y = 1`: `0.4 + 0.1 = 0.5`.
# * **Contrastive** (Hadsell, Chopra, LeCun 2006): with Euclidean distance
#   `d`, similar pairs (`y = 0`) pay `d^2 / 2`, dissimilar ones (`y = 1`)
#   `max(0, m - d)^2 / 2`. A *hard* negative (close, but different) pays
#   the most: margin 1, a negative at `d = 0.3` costs `0.245`, at `d = 1.5`
#   nothing.

# %%
#| export
def _labels_in(values: np.ndarray, allowed: tuple[float, ...], name: str, argument: str) -> None:
    bad = ~np.isin(values, allowed)
    if bad.any():
        raise ValueError(f"{name}: {argument} must contain only {allowed}, got {float(values[bad][0]):g}")


def hinge_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """max(0, margin - y s) with labels y in {-1, +1} and scores s."""
    input, target = _pair(input, target, "hinge_loss", reduction)
    margin = _scalar(margin, "hinge_loss", "margin")
    _labels_in(target.data, (-1.0, 1.0), "hinge_loss", "target")
    return _reduce((margin - target * input).clip(min=0.0), reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) with y in {-1, 0, +1} (PyTorch's MarginRankingLoss; y = 0 costs max(0, margin))."""
    name = "margin_ranking_loss"
    input1, input2 = _pair(input1, input2, name, reduction)
    margin = _scalar(margin, name, "margin")
    target = _tensor(target, name, "target")
    _same_shape(input1, target, name)
    _labels_in(target.data, (-1.0, 0.0, 1.0), name, "target")
    return _reduce((-target * (input1 - input2) + margin).clip(min=0.0), reduction)


def contrastive_loss(x1: Tensor, x2: Tensor, target: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """y = 0 (similar): d^2 / 2;  y = 1 (dissimilar): max(0, margin - d)^2 / 2;  d = ||x1 - x2||_2."""
    name = "contrastive_loss"
    _check_reduction(reduction, name)
    margin = _scalar(margin, name, "margin")
    x1, x2 = _embeddings(x1, x2, name)
    y = np.asarray(target.data if isinstance(target, Tensor) else target, dtype=x1.dtype)
    if y.shape != x1.shape[:-1]:
        raise ValueError(f"{name}: target must have shape {x1.shape[:-1]} (one label per pair), got {y.shape}")
    _labels_in(y, (0.0, 1.0), name, "target")
    squared = ((x1 - x2) ** 2).sum(axis=-1)
    # sqrt has an infinite slope at 0; identical pairs only use d^2 anyway
    distance = (squared + 1e-12).sqrt()
    gap = (margin - distance).clip(min=0.0)
    return _reduce(0.5 * ((1.0 - y) * squared + y * gap * gap), reduction)

# %%
_m = np.linspace(-3, 3, 241)
fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(_m, hinge_loss(Tensor(_m), Tensor(np.ones_like(_m)), reduction="none").data, label="hinge max(0, 1 - m)")
ax.plot(_m, binary_cross_entropy_with_logits(Tensor(_m), Tensor(np.ones_like(_m)), reduction="none").data,
        label="logistic softplus(-m)")
ax.plot(_m, (_m <= 0).astype(float), ":", label="zero-one")
ax.set_title("Hinge against logistic loss")
ax.set_xlabel("margin m = y * score (unitless)")
ax.set_ylabel("loss")
ax.legend()
plt.tight_layout()
plt.show()
print("margin ranking:", margin_ranking_loss(Tensor([0.8, 0.2, 0.3]), Tensor([0.5, 0.6, 0.3]), Tensor([1.0, 1.0, 0.0]),
                                             margin=0.1, reduction="none").data)
_anchor = Tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
_others = Tensor([[0.3, 0.0], [0.3, 0.0], [1.5, 0.0]])
print("contrastive (similar d=0.3, hard negative d=0.3, easy negative d=1.5):",
      contrastive_loss(_anchor, _others, np.array([0, 1, 1]), margin=1.0, reduction="none").data.round(4))

# %% [markdown]
# **Binary focal loss** (`binary_focal_loss`, torchvision's
# `sigmoid_focal_loss`) is part 1's focal idea on top of BCE from logits,
# with `alpha_t = alpha` for positives and `1 - alpha` for negatives. The
# figure shows the multi-class focal loss against `p_t`: the larger
# `gamma`, the less the easy examples (right) count.

# %%
#| export
def binary_focal_loss(input: Tensor, target: Tensor, alpha: float = 0.25, gamma: float = 2.0,
                      reduction: str = "mean") -> Tensor:
    """torchvision's sigmoid_focal_loss: alpha_t (1 - p_t)^gamma BCEWithLogits(input, target); alpha < 0 disables alpha."""
    name = "binary_focal_loss"
    input, target = _pair(input, target, name, reduction)
    gamma = _scalar(gamma, name, "gamma", "non-negative")
    alpha = _scalar(alpha, name, "alpha", "finite")
    ce = BCEWithLogitsBackward.apply(input, target)
    loss = ce
    if gamma > 0:
        p = sigmoid(input)
        p_t = p * target + (1.0 - p) * (1.0 - target)
        loss = loss * (1.0 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (target * alpha + (1.0 - target) * (1.0 - alpha))
    return _reduce(loss, reduction)

# %%
_pt = np.linspace(0.01, 1.0, 200)
_two_logits = np.stack([np.log(_pt), np.log1p(-_pt + 1e-12)], axis=1)
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for gamma in [0, 0.5, 1, 2, 5]:
    ax.plot(_pt, focal_loss(Tensor(_two_logits), np.zeros(len(_pt), dtype=np.int64), gamma=gamma,
                            reduction="none").data, label=f"gamma = {gamma}")
ax.set_title("Focal loss against the probability of the true class")
ax.set_xlabel("probability of the true class p_t")
ax.set_ylabel("loss (nats)")
ax.set_ylim(0, 5)
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Overlap, and learned loss weights
#
# **Dice** measures overlap directly, which suits segmentation with a
# tiny foreground: `1 - (2 sum(p t) + s) / (sum p + sum t + s)`, with
# `p = sigmoid(logits)` (or probabilities, `from_logits=False`) and a
# smoothing `s` that keeps empty masks defined, per sample. Next to IoU
# (`|A and B| / |A or B|`): for hard masks `Dice = 2 IoU / (1 + IoU)`, so
# Dice is always the larger. Worked example: prediction 4 pixels, target 4
# pixels, 2 shared: Dice = `2 * 2 / 8 = 0.5`, IoU = `2 / 6 = 0.333`.

# %%
#| export
def dice_loss(input: Tensor, target: Tensor, smooth: float = 1.0, from_logits: bool = True,
              reduction: str = "mean") -> Tensor:
    """1 - (2 sum(p t) + smooth) / (sum p + sum t + smooth) per sample (N, ...)."""
    name = "dice_loss"
    input, target = _pair(input, target, name, reduction)
    smooth = _scalar(smooth, name, "smooth", "non-negative")
    if input.ndim < 1:
        raise ValueError(f"{name}: input must have a batch axis, got a 0-d tensor")
    p = sigmoid(input) if from_logits else input
    axes = tuple(range(1, input.ndim))
    if axes:
        intersection, total = (p * target).sum(axis=axes), p.sum(axis=axes) + target.sum(axis=axes)
    else:  # a single sample given as a vector
        intersection, total = (p * target).sum(), p.sum() + target.sum()
    return _reduce(1.0 - (2.0 * intersection + smooth) / (total + smooth), reduction)

# %%
_pred = np.array([[1, 1, 1, 1, 0, 0, 0, 0]], dtype=float)
_true = np.array([[0, 0, 1, 1, 1, 1, 0, 0]], dtype=float)
_dice = 1 - dice_loss(Tensor(_pred), Tensor(_true), smooth=0.0, from_logits=False).item()
_iou = (_pred * _true).sum() / np.maximum(_pred, _true).sum()
print(f"Dice = {_dice:.3f}, IoU = {_iou:.3f}, 2 IoU / (1 + IoU) = {2 * _iou / (1 + _iou):.3f}")

# %% [markdown]
# **Learned weights.** Part 1's `loss_term_shares` diagnoses; Kendall, Gal
# and Cipolla (2018) learn the weights: `L = sum_i exp(-s_i) L_i + s_i`,
# `s_i` a learnable log variance. A term that stays large pushes its `s_i`
# up (less weight), and `+ s_i` stops every weight from collapsing to 0;
# for a fixed `L_i` the optimum is `s_i = log L_i`. Below, two losses 100
# times apart end up with equal shares.

# %%
#| export
class UncertaintyWeightedLoss(Module):
    """sum_i exp(-s_i) L_i + s_i with learnable log variances s (num_tasks,), starting at 0."""

    def __init__(self, num_tasks: int) -> None:
        if isinstance(num_tasks, bool) or not isinstance(num_tasks, (int, np.integer)):
            raise TypeError(f"UncertaintyWeightedLoss: num_tasks must be an integer, got {num_tasks!r:.40}")
        if num_tasks < 1:
            raise ValueError(f"UncertaintyWeightedLoss: num_tasks must be at least 1, got {num_tasks}")
        self.num_tasks = num_tasks
        self.log_vars = Tensor(np.zeros(num_tasks, dtype=np.float32), requires_grad=True)

    def forward(self, losses: Sequence[Tensor]) -> Tensor:
        if len(losses) != self.num_tasks:
            raise ValueError(f"UncertaintyWeightedLoss: expected {self.num_tasks} losses, got {len(losses)}")
        total = None
        for i, loss in enumerate(losses):
            if not isinstance(loss, Tensor) or loss.numel() != 1:
                raise ValueError(f"UncertaintyWeightedLoss: loss {i} must be a scalar Tensor, got "
                                 f"{getattr(loss, 'shape', type(loss).__name__)}")
            s = self.log_vars[i]
            term = (-s).exp() * loss.reshape(()) + s
            total = term if total is None else total + term
        return total

# %%
_weighting = UncertaintyWeightedLoss(2)
_fixed = [Tensor(np.float32(5.0)), Tensor(np.float32(0.05))]
for _ in range(300):
    _weighting.log_vars.grad = None
    _weighting(_fixed).backward()
    _weighting.log_vars.data -= 0.05 * _weighting.log_vars.grad.data
print("log variances:", _weighting.log_vars.data, " log L:", np.log([5.0, 0.05]))
print("shares after weighting:", loss_term_shares([5.0, 0.05], np.exp(-_weighting.log_vars.data)))
assert np.allclose(_weighting.log_vars.data, np.log([5.0, 0.05]), atol=0.05)

# %% [markdown]
# ## 7. The loss classes
#
# Each class stores its options (checked when it is built, so
# `HuberLoss(delta="a")` fails at once) and calls its functional twin, as
# `torch.nn` does. They are `Module`s, so a loss with parameters
# (`UncertaintyWeightedLoss`) trains like any layer.

# %%
#| export
class _Loss(Module):
    """Base of the loss classes: checks ``reduction`` once, at construction."""

    allowed = REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        _check_reduction(reduction, type(self).__name__, self.allowed)
        self.reduction = reduction

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not isinstance(v, (Tensor, np.ndarray)))
        return f"{type(self).__name__}({options})"


class MSELoss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = _scalar(delta, "HuberLoss", "delta", "positive")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = _scalar(beta, "SmoothL1Loss", "beta", "non-negative")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class LogCoshLoss(_Loss):
    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return log_cosh_loss(input, target, self.reduction)


class QuantileLoss(_Loss):
    def __init__(self, tau: float = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.tau = _scalar(tau, "QuantileLoss", "tau", "open unit")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return quantile_loss(input, target, self.tau, self.reduction)


class BinaryCrossEntropyLoss(_Loss):
    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy(input, target, self.weight, self.reduction)


BCELoss = BinaryCrossEntropyLoss


class BCEWithLogitsLoss(_Loss):
    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class CrossEntropyLoss(_Loss):
    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        label_smoothing = _scalar(label_smoothing, "CrossEntropyLoss", "label_smoothing", "probability")
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    allowed = REDUCTIONS + ("batchmean",)

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)


class GaussianNLLLoss(_Loss):
    def __init__(self, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, _scalar(eps, "GaussianNLLLoss", "eps", "non-negative")

    def forward(self, input: Tensor, target: Tensor, var: Any) -> Tensor:
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class FocalLoss(_Loss):
    def __init__(self, gamma: float = 2.0, alpha: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.gamma = _scalar(gamma, "FocalLoss", "gamma", "non-negative")
        self.alpha = _focal_alpha(alpha, "FocalLoss")

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return focal_loss(input, target, self.gamma, self.alpha, self.reduction)


class BinaryFocalLoss(_Loss):
    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.alpha = _scalar(alpha, "BinaryFocalLoss", "alpha", "finite")
        self.gamma = _scalar(gamma, "BinaryFocalLoss", "gamma", "non-negative")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_focal_loss(input, target, self.alpha, self.gamma, self.reduction)


class HingeLoss(_Loss):
    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _scalar(margin, type(self).__name__, "margin")

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return hinge_loss(input, target, self.margin, self.reduction)


class MarginRankingLoss(_Loss):
    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _scalar(margin, type(self).__name__, "margin")

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class ContrastiveLoss(_Loss):
    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _scalar(margin, type(self).__name__, "margin")

    def forward(self, x1: Tensor, x2: Tensor, target: Any) -> Tensor:
        return contrastive_loss(x1, x2, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _scalar(margin, "TripletMarginLoss", "margin")
        self.p = _scalar(p, "TripletMarginLoss", "p", "positive")
        self.eps = _scalar(eps, "TripletMarginLoss", "eps", "non-negative")
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                   self.reduction)


class CosineSimilarity(Module):
    """cosine_similarity(x1, x2, dim, eps) as a module (PyTorch's nn.CosineSimilarity)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        self.dim, self.eps = dim, _scalar(eps, "CosineSimilarity", "eps", "non-negative")

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """pairwise_distance(x1, x2, p, eps, keepdim) as a module (PyTorch's nn.PairwiseDistance)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        self.p = _scalar(p, "PairwiseDistance", "p", "positive")
        self.eps, self.keepdim = _scalar(eps, "PairwiseDistance", "eps", "non-negative"), keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.p, self.eps, self.keepdim)


class InfoNCELoss(_Loss):
    def __init__(self, temperature: float = 0.1, normalize: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.temperature = _scalar(temperature, "InfoNCELoss", "temperature", "positive")
        self.normalize = normalize

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        return info_nce_loss(queries, keys, self.temperature, self.normalize, self.reduction)


class DiceLoss(_Loss):
    def __init__(self, smooth: float = 1.0, from_logits: bool = True, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.smooth, self.from_logits = _scalar(smooth, "DiceLoss", "smooth", "non-negative"), from_logits

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return dice_loss(input, target, self.smooth, self.from_logits, self.reduction)


class DPOLoss(_Loss):
    def __init__(self, beta: float = 0.1, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.beta = _scalar(beta, "DPOLoss", "beta", "finite")

    def forward(self, policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor,
                ref_rejected: Tensor) -> Tensor:
        return dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, self.beta, self.reduction)

