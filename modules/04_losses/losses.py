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
# # Module 04 -- Losses
#
# A loss turns a prediction into one number that says how wrong it is, and
# -- just as important -- into a *gradient* that says which way to move.
# Everything a network learns, it learns through the gradient of its loss.
# So for every loss in this module we ask three questions:
#
# 1. What does the value measure, and what does its gradient push toward?
# 2. Where does the naive formula overflow, underflow or divide by zero,
#    and what is the stable rewrite?
# 3. How are per-element losses combined (mean, sum, weighted mean, masked
#    mean), and what does that do to the scale of the gradient?
#
# Every loss is a class called as `loss_fn(input, target)` with a lowercase
# functional twin (`MSELoss` / `mse_loss`), `reduction='mean'|'sum'|'none'`,
# and PyTorch's semantics wherever PyTorch has the loss.
#
# | task | what | graded |
# |------|------|--------|
# | 4.1 | `mse_loss` and its gradient | 3 pts |
# | 4.2 | `huber_loss` | 3 pts |
# | 4.3 | `BCEWithLogitsBackward`: binary cross-entropy from logits | 4 pts |
# | 4.4 | `CrossEntropyBackward`: stable softmax cross-entropy, fused | 5 pts |
# | 4.5 | `masked_mean` over a padded batch of sequences | 2 pts |
# | 4.6 | `focal_loss` | 3 pts |
# | 4.7 | `info_nce_loss` | 3 pts |
# | 4.8 | `triplet_margin_loss` | 3 pts |
# | 4.9 | `dpo_loss` | 3 pts |
# | 4.10 | `loss_term_shares` | 2 pts |

# %%
#| export
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from tinytorch.core.activations import sigmoid, softmax, stable_sigmoid  # noqa: F401 (softmax: re-exported as a loss helper)
from tinytorch.core.layers import Module
from tinytorch.core.tensor import Function, Tensor, where

# %% [markdown]
# ## 1. Reductions, and checking what comes in
#
# Most losses are computed per element, then combined:
#
# * `'mean'` divides the sum by the number of elements, so the loss (and
#   the gradient of every parameter) does not grow with the batch size;
# * `'sum'` keeps the total -- the gradient of each example is 1, not 1/N;
# * `'none'` returns the per-element losses, for you to weight or mask.
#
# Silent broadcasting is the most common loss bug: `input` of shape `(N, 1)`
# minus `target` of shape `(N,)` is an `(N, N)` matrix, and the "loss" is
# then an average over N^2 wrong pairs. So every loss here checks shapes and
# says which argument is wrong, and what it expected.

# %%
#| export
REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str, allowed: Sequence[str] = REDUCTIONS) -> None:
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{name}: reduction must be one of {choices}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, weight: np.ndarray | None = None, mean_by_weight: bool = True) -> Tensor:
    """Combine per-element losses: 'mean', 'sum' or 'none'. The mean of no element is NaN, as in PyTorch.

    With ``weight`` (one per element) the losses are weighted first, and 'mean' divides by sum(weight)
    (PyTorch's mse_loss and l1_loss) or, with ``mean_by_weight=False``, by the count (its huber_loss).
    """
    if weight is not None:
        loss = loss * weight
        if reduction == "mean" and mean_by_weight:
            return _weighted_reduce(loss, weight, reduction)
    if reduction == "mean":
        if loss.numel() == 0:  # an empty batch: 0 / 0, without Python's ZeroDivisionError
            return loss.sum() + math.nan
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_reduce(loss: Tensor, weight: Any, reduction: str) -> Tensor:
    """Reduce per-row losses already multiplied by their row weights (class weights, 0 for ignored rows).

    'mean' divides by the sum of the weights, as PyTorch does. When that sum is 0 the value is NaN (not
    an error) and the gradient 0, as every row weighs 0.
    """
    if reduction != "mean":
        return _reduce(loss, reduction)
    total = float(np.sum(weight))
    return loss.sum() * (1.0 / total) if total else loss.sum() + math.nan


def _tensor(value: Any, name: str, argument: str) -> Tensor:
    """``value`` as a Tensor; a TypeError naming the argument for things that are not numbers."""
    if isinstance(value, Tensor):
        return value
    if value is None:  # Tensor(None) would be a NaN
        raise TypeError(f"{name}: {argument} must be a Tensor or an array of numbers, got None")
    try:
        return Tensor(value)
    except TypeError as error:
        raise TypeError(f"{name}: {argument} must be a Tensor or an array of numbers ({error})") from None


def _floating(t: Tensor, name: str, argument: str) -> Tensor:
    if t.dtype.kind != "f":
        raise TypeError(f"{name}: {argument} must be floating point, got dtype {t.dtype}")
    return t


def _same_shape(input: Tensor, other: Tensor, name: str, argument: str = "target") -> None:
    if input.shape != other.shape:
        raise ValueError(f"{name}: input shape {input.shape} and {argument} shape {other.shape} must be equal "
                         "(no broadcasting: it would silently compare every pair)")


_RULES = {  # what an option may be: a test, and the words for the error message
    "real": (lambda v: True, "a number"),
    "finite": (math.isfinite, "finite"),
    "positive": (lambda v: 0 < v < math.inf, "positive and finite"),
    "non-negative": (lambda v: 0 <= v < math.inf, "non-negative and finite"),
    "probability": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "open unit": (lambda v: 0 < v < 1, "in (0, 1)"),
}


def _scalar(value: Any, name: str, argument: str, rule: str = "real") -> float:
    """An option such as ``delta`` or ``margin`` as a float; refuses text, None, NaN and what ``rule`` rejects."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: {argument} must be a real number, got {type(value).__name__} {value!r:.40}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name}: {argument} must be a number, got nan")
    valid, expected = _RULES[rule]
    if not valid(number):
        raise ValueError(f"{name}: {argument} must be {expected}, got {number:g}")
    return number


def _dim(dim: Any, axis: Any, default: Any, name: str) -> Any:
    """PyTorch's ``dim`` with numpy's ``axis`` accepted as an alias (not both)."""
    if dim is not None and axis is not None:
        raise TypeError(f"{name}: give dim or its alias axis, not both")
    return default if dim is None and axis is None else dim if dim is not None else axis


def _elementwise_weight(weight: Any, input: Tensor, name: str) -> np.ndarray | None:
    """A weight per element (the input's shape, as PyTorch requires) in the input's dtype; None stays None."""
    if weight is None:
        return None
    try:
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=input.dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: weight must be numbers, got {weight!r:.60}") from None
    if w.shape != input.shape:
        raise ValueError(f"{name}: weight shape {w.shape} must equal the input shape {input.shape}")
    return w


def _pair(input: Any, target: Any, name: str, reduction: str) -> tuple[Tensor, Tensor]:
    """The usual argument checks of an elementwise loss: tensors, floats, same shape, known reduction."""
    _check_reduction(reduction, name)
    input = _floating(_tensor(input, name, "input"), name, "input")
    target = _floating(_tensor(target, name, "target"), name, "target")
    _same_shape(input, target, name)
    return input, target


# %% [markdown]
# ## 2. Regression losses
#
# With residual `r = input - target`:
#
# | loss | value | gradient d/d input | behaviour |
# |------|-------|--------------------|-----------|
# | MSE | r^2 | 2r | big errors dominate; the mean is optimal |
# | L1 | abs(r) | sign(r) | robust to outliers; the median is optimal |
# | Huber(delta) | r^2/2 if abs(r) < delta else delta (abs(r) - delta/2) | r, clipped to +-delta | quadratic near 0, linear far away |
# | SmoothL1(beta) | Huber / beta | r / beta, clipped to +-1 | PyTorch's older name |
# | log-cosh | log cosh r | tanh r | smooth everywhere, like Huber |
# | quantile(tau) | max(tau d, (tau - 1) d), d = target - input | -tau or 1 - tau | predicts the tau-quantile |
#
# Worked example (MSE, mean): `input = [2, 4]`, `target = [1, 1]`:
# residuals `[1, 3]`, loss `(1 + 9) / 2 = 5`, gradient `2 r / N = [1, 3]`.

# %% nbgrader={"grade": false, "grade_id": "mse_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean squared error: reduce(w (input - target)^2); 'mean' divides by sum(w). Shapes must match."""
    input, target = _pair(input, target, "mse_loss", reduction)
    w = _elementwise_weight(weight, input, "mse_loss")
    # TODO (task 4.1): square the residual and reduce it with _reduce(..., reduction, w).
    ### BEGIN SOLUTION
    residual = input - target
    return _reduce(residual * residual, reduction, w)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mse_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_x = Tensor([2.0, 4.0], requires_grad=True)
_loss = mse_loss(_x, Tensor([1.0, 1.0]))
assert np.isclose(_loss.item(), 5.0)
_loss.backward()
assert np.allclose(_x.grad.data, [1.0, 3.0])
### BEGIN HIDDEN TESTS
assert np.isclose(mse_loss(Tensor([2.0, 4.0]), Tensor([1.0, 1.0]), reduction="sum").item(), 10.0)
assert mse_loss(Tensor([2.0, 4.0]), Tensor([1.0, 1.0]), reduction="none").shape == (2,)
try:
    mse_loss(Tensor(np.ones((3, 1))), Tensor(np.ones(3)))
except ValueError as error:
    assert "(3, 1)" in str(error)
else:
    raise AssertionError("shape mismatch must raise")
### END HIDDEN TESTS

# %% [markdown]
# Huber keeps MSE's smooth bowl for small residuals but grows only
# linearly beyond `delta`, so one outlier cannot dominate the gradient:
# its gradient is the residual clipped to `[-delta, delta]`. Worked example
# with `delta = 1`: residuals `[0.5, 3]` give losses `[0.125, 2.5]`.

# %% nbgrader={"grade": false, "grade_id": "huber_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Tensor:
    """0.5 r^2 where |r| < delta, else delta (|r| - delta / 2); r = input - target; 'mean' of w * loss."""
    input, target = _pair(input, target, "huber_loss", reduction)
    delta = _scalar(delta, "huber_loss", "delta", "positive")
    w = _elementwise_weight(weight, input, "huber_loss")
    # TODO (task 4.2): compute both branches, pick with where(|r| < delta, ...) and reduce
    # with _reduce(..., reduction, w, mean_by_weight=False).
    ### BEGIN SOLUTION
    residual = input - target
    size = residual.abs()
    quadratic = 0.5 * residual * residual
    linear = delta * (size - 0.5 * delta)
    return _reduce(where(size.data < delta, quadratic, linear), reduction, w, mean_by_weight=False)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_huber_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_x = Tensor([0.5, 3.0], requires_grad=True)
_loss = huber_loss(_x, Tensor([0.0, 0.0]), reduction="none")
assert np.allclose(_loss.data, [0.125, 2.5])
_loss.sum().backward()
assert np.allclose(_x.grad.data, [0.5, 1.0])  # the outlier's gradient is clipped to delta
### BEGIN HIDDEN TESTS
assert np.allclose(huber_loss(Tensor([3.0]), Tensor([0.0]), delta=2.0, reduction="sum").data, 2.0 * (3.0 - 1.0))
try:
    huber_loss(Tensor([1.0]), Tensor([0.0]), delta=0.0)
except ValueError:
    pass
else:
    raise AssertionError("delta <= 0 must raise")
### END HIDDEN TESTS

# %% [markdown]
# The other regression losses reuse the same pieces. Log-cosh needs care:
# `cosh(r)` overflows float32 at `|r| > 89`. Since
# `log cosh r = |r| + log(1 + e^{-2|r|}) - log 2`, and `e^{-2|r|} <= 1`, the
# rewrite never overflows, and `log1p` keeps it accurate when `e^{-2|r|}` is
# tiny. It gets its own node because the gradient, `tanh r`, is simpler
# than the chain of the rewrite.

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


# %% [markdown]
# A picture of the regression losses (left) and their gradients (right):
# the gradient is what the optimizer sees. MSE's grows without bound; the
# robust losses level off.

# %%
import matplotlib.pyplot as plt

_r = np.linspace(-3, 3, 301)
_zero = np.zeros_like(_r)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for label, fn in [("MSE", mse_loss), ("L1", l1_loss), ("Huber(1)", huber_loss), ("log-cosh", log_cosh_loss),
                  ("quantile(0.8)", lambda a, b, reduction: quantile_loss(a, b, 0.8, reduction))]:
    _t = Tensor(_r, requires_grad=True)
    _v = fn(_t, Tensor(_zero), reduction="none")
    _v.sum().backward()
    axes[0].plot(_r, _v.data, label=label)
    axes[1].plot(_r, _t.grad.data, label=label)
axes[0].set_title("loss(r)")
axes[1].set_title("d loss / d input")
axes[0].set_ylim(0, 4)
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Binary cross-entropy
#
# For a probability `p` of the positive class and a label `y` in [0, 1]:
#
# $$\ell = -[\,y \log p + (1 - y) \log(1 - p)\,]$$
#
# **From probabilities** (`BCELoss`) the logs are clamped at -100, as in
# PyTorch, so `p = 0` with `y = 1` costs 100 instead of infinity; the
# gradient `(p - y) / (p (1 - p))` has its denominator clamped at 1e-12.
#
# **From logits** (`BCEWithLogitsLoss`) is both more accurate and simpler.
# With `p = sigmoid(x)`: `log p = -softplus(-x)` and
# `log(1 - p) = -x - softplus(-x)`, so
#
# $$\ell = (1 - y)\,x + \mathrm{softplus}(-x), \qquad \frac{\partial \ell}{\partial x} = \sigma(x) - y$$
#
# and `softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^{-|z|})` never
# overflows. `pos_weight` multiplies the positive term:
# `l = (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)`.
#
# Worked example: `x = 0, y = 1`: `softplus(0) = log 2 = 0.6931`,
# gradient `sigma(0) - 1 = -0.5`. At `x = -10000, y = 1` the naive formula
# computes `log(sigmoid(-10000)) = log(0) = -inf`; the rewrite gives 10000.

# %%
#| export
class SoftplusBackward(Function):
    """out = log(1 + exp(x)) (numpy's logaddexp, never overflows);  dx = g * sigmoid(x)."""

    def forward(self, x):
        self.saved = x
        return np.logaddexp(0.0, x).astype(x.dtype, copy=False)

    def backward(self, grad_output):
        return (grad_output * stable_sigmoid(self.saved),)


def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)), stable for any x."""
    return SoftplusBackward.apply(x)


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
        return out if weight is None else out * weight

    def backward(self, grad_output):
        p, y, weight, log_p, log_1mp = self.saved
        g = grad_output if weight is None else grad_output * weight
        needs_p, needs_y = self.needs_input_grad
        return (g * (p - y) / np.maximum(p * (1.0 - p), 1e-12) if needs_p else None,
                g * (log_1mp - log_p) if needs_y else None)


# %% nbgrader={"grade": false, "grade_id": "bce_with_logits", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class BCEWithLogitsBackward(Function):
    """out = w [(1 - y) x + (1 + (pw - 1) y) softplus(-x)].

    dx = g w [(1 - y) - (1 + (pw - 1) y) sigmoid(-x)];  dy = g w [-x + (pw - 1) softplus(-x)].
    """

    def forward(self, x: np.ndarray, y: np.ndarray, weight=None, pos_weight=None) -> np.ndarray:
        # TODO (task 4.3): softplus(-x) with np.logaddexp(0, -x); the log
        # weight 1 + (pos_weight - 1) y (just 1 without pos_weight); save what
        # backward needs; return the (weighted) elementwise loss.
        ### BEGIN SOLUTION
        softplus_neg = np.logaddexp(0.0, -x)
        log_weight = 1.0 if pos_weight is None else 1.0 + (pos_weight - 1.0) * y
        self.saved = (x, y, weight, pos_weight, softplus_neg, log_weight)
        out = (1.0 - y) * x + log_weight * softplus_neg
        return out if weight is None else out * weight
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        x, y, weight, pos_weight, softplus_neg, log_weight = self.saved
        g = grad_output if weight is None else grad_output * weight
        needs_x, needs_y = self.needs_input_grad
        # TODO (task 4.3): the two gradients in the docstring (use
        # stable_sigmoid(-x) for sigmoid(-x)); None where not needed.
        ### BEGIN SOLUTION
        grad_x = g * ((1.0 - y) - log_weight * stable_sigmoid(-x)) if needs_x else None
        grad_y = None
        if needs_y:
            grad_y = g * (-x + (0.0 if pos_weight is None else (pos_weight - 1.0) * softplus_neg))
        return grad_x, grad_y
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bce_with_logits", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_x = Tensor(np.array([0.0, -1e4, 1e4], dtype=np.float32), requires_grad=True)
_y = Tensor(np.array([1.0, 1.0, 0.0], dtype=np.float32))
_l = BCEWithLogitsBackward.apply(_x, _y)
assert np.allclose(_l.data, [np.log(2.0), 1e4, 1e4])
_l.sum().backward()
assert np.allclose(_x.grad.data, [-0.5, -1.0, 1.0])
### BEGIN HIDDEN TESTS
_x = Tensor(np.array([0.3, -0.7]), requires_grad=True)
_l = BCEWithLogitsBackward.apply(_x, Tensor(np.array([1.0, 0.0])), pos_weight=np.array(3.0))
_p = 1 / (1 + np.exp(-_x.data))
assert np.allclose(_l.data, [-3 * np.log(_p[0]), -np.log(1 - _p[1])])
_l.sum().backward()
assert np.allclose(_x.grad.data, [3 * (_p[0] - 1), _p[1]])
### END HIDDEN TESTS

# %%
#| export
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


# %% [markdown]
# The two BCE forms side by side, as functions of the logit, for `y = 1`.
# Through probabilities in float32 the loss saturates at the clamp (the
# sigmoid has rounded to exactly 0); from logits it keeps growing linearly
# and its gradient stays -1: the model is told how wrong it is.

# %%
_logits = np.linspace(-120, 20, 281).astype(np.float32)
_ones = np.ones_like(_logits)
with np.errstate(over="ignore"):
    _p = Tensor(1 / (1 + np.exp(-_logits)))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(_logits, binary_cross_entropy(_p, Tensor(_ones), reduction="none").data, label="BCE(sigmoid(x)) in float32")
ax.plot(_logits, binary_cross_entropy_with_logits(Tensor(_logits), Tensor(_ones), reduction="none").data,
        "--", label="BCEWithLogits(x)")
ax.set_xlabel("logit x (label 1)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Softmax cross-entropy, stably and fused
#
# ### The naive way, and why it fails
#
# `softmax(x)_c = e^{x_c} / sum_j e^{x_j}` then `-log softmax(x)_y`. With
# logits `[1000, 0]` in float32, `e^1000 = inf`, `inf / inf = nan`. With
# `[-1000, 0]` and label 0, the probability underflows to 0 and `log 0 = -inf`.
#
# ### The stable way: log-sum-exp
#
# $$\log \mathrm{softmax}(x)_c = x_c - \mathrm{lse}(x), \qquad \mathrm{lse}(x) = m + \log \sum_j e^{x_j - m},\ m = \max_j x_j$$
#
# Every exponent is `<= 0`, the sum is at least 1, and we never take the log
# of a probability. Worked example, `x = [1000, 0]`, label 0:
# `m = 1000`, `lse = 1000 + log(1 + e^{-1000}) = 1000`, loss `= lse - x_0 = 0`.
#
# ### One node for the whole loss
#
# Composed from primitives (max, subtract, exp, sum, log, index, mean) the
# cross-entropy would record seven nodes and keep seven B x C buffers. Its
# gradient, however, is famously simple. With a target *distribution* `t`
# (one-hot for a class index),
#
# $$\ell = -\sum_c t_c \log p_c, \qquad \frac{\partial \ell}{\partial x_c} = p_c \sum_j t_j - t_c$$
#
# which is `softmax - target` when `t` sums to 1. Class weights, label
# smoothing and probability targets all fit this one form by choosing `t`:
#
# * class index `y` with weights `w`: `t = w_y onehot(y)`;
# * label smoothing `eps`: `t = (1 - eps) w_y onehot(y) + (eps / C) w`;
# * probability targets `q`: `t = w * ((1 - eps) q + eps / C)`.
#
# So `CrossEntropyBackward` is one node, stable (it only ever uses
# `x - max`) and lean: the forward computes `e = exp(x - m)` and then the
# softmax `p = e / sum(e)` *in the same buffer*, which is the only B x C
# array it keeps; the backward turns it into the gradient
# `p * (sum(t) * scale) - t * scale` with one more pass. For class-index
# targets `t` is zero except at the target, so `- t * scale` is a
# subtraction at one entry per row.
#
# **Reduction with weights.** PyTorch's `'mean'` for class indices divides
# by the *sum of the weights of the targets that count*, not by N:
# `sum_i l_i / sum_i w_{y_i}` over samples whose target is not
# `ignore_index`. For probability targets `'mean'` divides by the number of
# samples.

# %%
#| export
def _check_class_targets(x: np.ndarray, y: np.ndarray, ignore_index: int, name: str) -> bool:
    """Validate class indices (N, d1, ...) against logits (N, C, d1, ...); IndexError names a bad one.

    Returns whether any target equals ``ignore_index`` (so callers can skip the mask when none does).
    """
    expected = (x.shape[0],) + x.shape[2:]
    if y.shape != expected:
        raise ValueError(f"{name}: target shape {y.shape} does not fit input shape {x.shape}: expected class "
                         f"indices of shape {expected} or class probabilities of shape {x.shape}")
    classes = x.shape[1]
    if not y.size:
        return False
    if y.min() >= 0 and y.max() < classes:  # the quick test first: it almost always passes
        return 0 <= ignore_index < classes and bool((y == ignore_index).any())
    ignored = y == ignore_index
    bad = ~ignored & ((y < 0) | (y >= classes))
    if bad.any():
        raise IndexError(f"{name}: target {int(y[bad][0])} is out of range for {classes} classes "
                         f"(valid: 0..{classes - 1}, or ignore_index={ignore_index})")
    return True  # every target outside 0..C-1 is ignore_index


@functools.lru_cache(maxsize=8)
def _row_numbers(rows: int) -> np.ndarray:
    """0, 1, ..., rows - 1 (read-only): the first index of x[rows, targets]; cached, as batch sizes repeat."""
    numbers = np.arange(rows)
    numbers.flags.writeable = False
    return numbers


def _counted_rows(target: np.ndarray, ignore_index: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(valid, index): 1.0 for rows whose target is not ignore_index and 0.0 for the rest (in ``dtype``:
    bool * float would upcast), and the targets with ignored rows pointed at class 0 so they can index."""
    counted = target != ignore_index
    return counted.astype(dtype), np.where(counted, target, 0)


def _per_row(value: Any) -> Any:
    """A per-row array (B,) as a column (B, 1), so it scales the rows of a (B, C) array; a number stays."""
    return value[:, None] if isinstance(value, np.ndarray) else value


def _class_weight(weight: Any, classes: int, dtype: np.dtype, name: str, argument: str = "weight") -> np.ndarray | None:
    """A per-class weight (C,) as an array in ``dtype``; None stays None."""
    if weight is None:
        return None
    try:
        w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: {argument} must be numbers, one per class, got {weight!r:.60}") from None
    if w.shape != (classes,):
        raise ValueError(f"{name}: {argument} must have one entry per class: expected shape ({classes},), "
                         f"got {w.shape}")
    if np.isnan(w).any():
        raise ValueError(f"{name}: {argument} contains nan")
    return w


# %% nbgrader={"grade": false, "grade_id": "cross_entropy", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CrossEntropyBackward(Function):
    """Fused log-softmax + cross-entropy over logits x: (B, C).

    Per row: loss = -sum_c t_c log softmax(x)_c = sum(t) lse(x) - sum_c t_c x_c.
    Gradient: d loss / dx = softmax(x) * sum(t) - t (times the reduction's scale).
    ``target`` is class indices (B,) or probabilities (B, C).
    """

    def forward(self, x: np.ndarray, target: np.ndarray, weight=None, ignore_index: int | None = None,
                reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
        rows, classes = x.shape
        eps = label_smoothing
        m = x.max(axis=1, keepdims=True)
        # TODO (task 4.4): p = exp(x - m) in one buffer (np.subtract, then
        # np.exp(..., out=p)); sum_e = p.sum(axis=1, keepdims=True);
        # lse = log(sum_e) + m, then p /= sum_e (the softmax, in place).
        # The per-row losses follow below.
        ### BEGIN SOLUTION
        p = np.subtract(x, m)
        np.exp(p, out=p)
        sum_e = p.sum(axis=1, keepdims=True)
        lse = np.log(sum_e)
        lse += m
        p /= sum_e
        ### END SOLUTION
        lse = lse[:, 0]
        if target.dtype.kind in "iu":  # class indices
            # ignore_index is None when no row has it (the wrapper has checked): the usual
            # case, where the mask of counted rows is just the number 1.
            if ignore_index is None:
                valid, index = 1.0, target
            else:
                valid, index = _counted_rows(target, ignore_index, x.dtype)
            w_y = valid if weight is None else weight[index] * valid
            picked = _row_numbers(rows), index
            # loss = (1 - eps) w_y (lse - x_y) + (eps / C) (W lse - sum_c w_c x_c), on valid rows
            loss = lse - x[picked]
            if weight is not None or ignore_index is not None or eps > 0:
                loss *= (1.0 - eps) * w_y
            total = w_y  # sum_c t_c, completed below when smoothing
            if eps > 0:
                w_sum = float(classes) if weight is None else float(weight.sum())
                w_dot_x = x.sum(axis=1) if weight is None else x @ weight
                loss += (eps / classes) * valid * (w_sum * lse - w_dot_x)
                total = (1.0 - eps) * w_y + (eps / classes) * w_sum * valid
            denominator = float(rows) if isinstance(w_y, float) else float(w_y.sum())
            self.saved = ("index", p, picked, w_y, valid, weight, total, eps, reduction, denominator)
        else:  # class probabilities (B, C)
            t = target if eps == 0 else target * (1.0 - eps) + eps / classes
            if weight is not None:
                t = t * weight
            total = t.sum(axis=1)
            loss = total * lse - (t * x).sum(axis=1)
            denominator = rows
            self.saved = ("probability", p, x, lse, t, weight, total, eps, reduction, denominator)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        return loss.sum() / denominator if denominator else loss.sum() * math.nan  # nothing counted: NaN

    def backward(self, grad_output: np.ndarray):
        kind, p = self.saved[:2]
        reduction, denominator = self.saved[-2:]
        # the reduction's scale for each row: g / denominator, g, or g_i. A Python number
        # when reduced, so that the scalar arithmetic below costs no numpy calls.
        if reduction == "none":
            scale = grad_output
        else:
            # (a zero denominator means every row weighs 0: any finite scale then gives a zero gradient)
            scale = float(grad_output) / denominator if reduction == "mean" and denominator else float(grad_output)
        if kind == "index":
            _, _, picked, w_y, valid, weight, total, eps, _, _ = self.saved
            # TODO (task 4.4): grad = p * (total * scale), row by row (use
            # _per_row: total and scale may be numbers or per-row arrays);
            # subtract (1 - eps) * w_y * scale at the target entries
            # grad[picked]; when eps > 0 also subtract (eps / C) * scale *
            # valid (times the class weights, if any) everywhere.
            ### BEGIN SOLUTION
            grad = p * _per_row(total * scale)
            grad[picked] -= (1.0 - eps) * w_y * scale
            if eps > 0:
                smooth = _per_row((eps / p.shape[1]) * scale * valid)
                grad -= smooth if weight is None else smooth * weight
            ### END SOLUTION
            return grad.astype(p.dtype, copy=False), None
        _, _, x, lse, t, weight, total, eps, _, _ = self.saved
        scale = _per_row(np.broadcast_to(scale, total.shape))
        needs_x, needs_target = self.needs_input_grad
        grad_x = p * (total[:, None] * scale) - t * scale if needs_x else None
        grad_target = None
        if needs_target:  # d loss / d q_c = -(1 - eps) w_c log p_c
            log_p = x - lse[:, None]
            grad_target = -(1.0 - eps) * scale * (log_p if weight is None else log_p * weight)
        return grad_x, grad_target


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
_x = Tensor(np.array([[1000.0, 0.0], [0.0, 0.0]], dtype=np.float32), requires_grad=True)
_loss = CrossEntropyBackward.apply(_x, Tensor(np.array([0, 1])))
assert np.isclose(_loss.item(), (0.0 + np.log(2.0)) / 2, atol=1e-6)
_loss.backward()
assert np.allclose(_x.grad.data, [[0.0, 0.0], [0.25, -0.25]], atol=1e-6)  # (softmax - onehot) / N
### BEGIN HIDDEN TESTS
_x = Tensor(np.array([[-1e4, 1e4, 0.0]], dtype=np.float32), requires_grad=True)
_loss = CrossEntropyBackward.apply(_x, Tensor(np.array([0])))
assert np.isfinite(_loss.item()) and np.isclose(_loss.item(), 2e4)
_loss.backward()
assert np.allclose(_x.grad.data, [[-1.0, 1.0, 0.0]])
_x = Tensor(np.array([[0.0, 0.0]]), requires_grad=True)
_loss = CrossEntropyBackward.apply(_x, Tensor(np.array([1])), label_smoothing=0.2)
_loss.backward()
assert np.allclose(_x.grad.data, [[0.5 - 0.1, 0.5 - 0.9]])
### END HIDDEN TESTS

# %% [markdown]
# The node works on a matrix of logits, one row per prediction. Spatial
# inputs `(N, C, d1, ...)` (a class score per pixel, per token) are moved to
# that form by the function below: the class axis goes last and the rest is
# flattened, `(N d1 ..., C)`, with the differentiable `permute` and
# `reshape` of module 01, so their gradients flow back into the original
# layout on their own.

# %%
#| export
def _rows_of_classes(t: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): one row per prediction, classes last."""
    axes = (0,) + tuple(range(2, t.ndim)) + (1,)
    return t.permute(axes).reshape(-1, t.shape[1])


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy with PyTorch's semantics (one fused ``CrossEntropyBackward`` node).

    input: (C,), (N, C) or (N, C, d1, ...) logits. target: class indices of
    shape (), (N,) or (N, d1, ...) (an integer array), or class probabilities
    shaped like input.
    """
    name = "cross_entropy"
    _check_reduction(reduction, name)
    input = _floating(_tensor(input, name, "input"), name, "input")
    target = _tensor(target if not isinstance(target, (list, tuple)) else np.asarray(target), name, "target")
    label_smoothing = _scalar(label_smoothing, name, "label_smoothing", "probability")
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    unbatched = input.ndim == 1
    if unbatched:
        input = input.reshape(1, -1)
        target = target.reshape((1,) + target.shape)
    if target.dtype.kind in "iu":
        if not _check_class_targets(input.data, target.data, ignore_index, name):
            ignore_index = None  # no row to ignore: the node can skip the mask
    elif target.dtype.kind == "f":
        if target.shape != input.shape:
            expected = (input.shape[0],) + input.shape[2:]
            raise TypeError(f"{name}: target has dtype {target.dtype} and shape {target.shape}; class indices must "
                            f"be integers of shape {expected} (e.g. np.array([...]), not Tensor([...]) which "
                            f"is float32), or class probabilities must have the input's shape {input.shape}")
    else:
        raise TypeError(f"{name}: target must be integer class indices or float probabilities, got {target.dtype}")
    w = _class_weight(weight, input.shape[1], input.dtype, name)
    spatial = input.shape[2:]
    if spatial:
        input = _rows_of_classes(input)
        target = target.reshape(-1) if target.dtype.kind in "iu" else _rows_of_classes(target)
    loss = CrossEntropyBackward.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction,
                                      label_smoothing=label_smoothing)
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss.reshape((-1,) + spatial) if spatial else loss
    return loss


# %% [markdown]
# ### The landscape over two logits
#
# For two classes and label 0, the loss depends only on `x0 - x1`:
# `l = softplus(x1 - x0)`. Far on the correct side it is flat (nothing left
# to learn); far on the wrong side it is a plane with slope 1 -- the
# gradient never vanishes, which is why cross-entropy trains classifiers
# better than MSE on probabilities.

# %%
_grid = np.linspace(-6, 6, 121)
_x0, _x1 = np.meshgrid(_grid, _grid)
_pairs = np.stack([_x0.ravel(), _x1.ravel()], axis=1)
_landscape = cross_entropy(Tensor(_pairs), np.zeros(len(_pairs), dtype=np.int64), reduction="none").data
fig, ax = plt.subplots(figsize=(4.5, 4))
_contours = ax.contourf(_x0, _x1, _landscape.reshape(_x0.shape), levels=20)
fig.colorbar(_contours)
ax.set_xlabel("logit of the true class x0")
ax.set_ylabel("logit of the other class x1")
ax.set_title("cross-entropy, label 0")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Temperature and label smoothing
#
# Dividing logits by a temperature `T` before the softmax sharpens (`T < 1`)
# or flattens (`T > 1`) the distribution. Label smoothing mixes the one-hot
# target with the uniform distribution, `(1 - eps) onehot + eps / C`, so the
# optimum is a finite logit gap instead of an infinite one: the model stops
# being pushed toward overconfidence. Left: softmax of `[2, 1, 0.1]` at three
# temperatures; right: the loss as a function of the logit gap with and
# without smoothing -- with smoothing it has a minimum.

# %%
_logits3 = np.array([2.0, 1.0, 0.1])
_gap = np.linspace(-2, 12, 200)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for i, temperature in enumerate([0.5, 1.0, 4.0]):
    axes[0].bar(np.arange(3) + 0.25 * i, softmax(Tensor(_logits3 / temperature)).data, width=0.25,
                label=f"T = {temperature}")
axes[0].set_xticks(range(3))
axes[0].legend()
_two = np.stack([_gap, np.zeros_like(_gap)], axis=1)
for eps in [0.0, 0.1, 0.3]:
    _l = cross_entropy(Tensor(_two), np.zeros(len(_gap), dtype=np.int64), reduction="none", label_smoothing=eps)
    axes[1].plot(_gap, _l.data, label=f"eps = {eps}")
axes[1].set_xlabel("logit gap x0 - x1 (label 0)")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The helpers: `logsumexp`, `log_softmax`, NLL
#
# `logsumexp` and `log_softmax` are the same trick as a standalone op.
# `nll_loss` takes log-probabilities (the output of `log_softmax`) and picks
# the target's entry: `cross_entropy(x, y) == nll_loss(log_softmax(x), y)`
# -- but the fused version is one node instead of two and never builds the
# full log-probability matrix.

# %%
#| export
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


class GatherBackward(Function):
    """out[n, ...] = x[n, index[n, ...], ...] along axis 1;  dx = g placed back at index."""

    def forward(self, x, index=None):
        index = np.expand_dims(index, 1)
        self.saved = (x.shape, index)
        return np.take_along_axis(x, index, axis=1)[:, 0]

    def backward(self, grad_output):
        shape, index = self.saved
        grad = np.zeros(shape, dtype=grad_output.dtype)
        np.put_along_axis(grad, index, np.expand_dims(grad_output, 1), axis=1)
        return (grad,)


def _check_axis(x: Tensor, axis: Any, name: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an integer, got {axis!r:.40}")
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise IndexError(f"{name}: dim {axis} is out of range for a tensor with {x.ndim} dimensions")


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
    """-w_y * input[n, y] over log-probabilities (N, C, ...); 'mean' divides by the sum of counted weights."""
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
    loss = _weighted_reduce(-GatherBackward.apply(input, index=safe) * w_y, w_y, reduction)
    return loss.reshape(target.shape[1:]) if unbatched and reduction == "none" else loss


# %% [markdown]
# ## 5. Masked and weighted means
#
# A batch of sentences of different lengths is padded to the longest one.
# The per-token loss at a padding position is meaningless; averaging it in
# makes short sentences count less and the loss depend on how much padding
# the batch happened to have. The correct mean divides by the number of
# *valid* tokens:
#
# $$\text{masked mean} = \frac{\sum_i m_i\, \ell_i}{\sum_i m_i}$$
#
# Worked example: losses `[[1, 2, 9], [4, 9, 9]]` with lengths 2 and 1 (mask
# `[[1, 1, 0], [1, 0, 0]]`) give `(1 + 2 + 4) / 3 = 2.333`, not the padded
# mean 5.67 and not the mean of per-sentence means 2.75.
#
# The same reasoning is behind `ignore_index` and weighted cross-entropy
# dividing by the sum of the counted weights.

# %% nbgrader={"grade": false, "grade_id": "masked_mean", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def masked_mean(values: Tensor, mask: Any) -> Tensor:
    """sum(values * mask) / sum(mask): the mean over the valid (mask true or 1) elements only."""
    values = _floating(_tensor(values, "masked_mean", "values"), "masked_mean", "values")
    mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if mask.shape != values.shape:
        raise ValueError(f"masked_mean: values shape {values.shape} and mask shape {mask.shape} must be equal")
    # TODO (task 4.5): convert the mask to values' dtype, refuse an empty
    # mask (ValueError), and return the masked mean.
    ### BEGIN SOLUTION
    weights = mask.astype(values.dtype)
    count = weights.sum()
    if count == 0:
        raise ValueError("masked_mean: the mask selects no element; the mean of nothing is undefined")
    return (values * weights).sum() * (1.0 / count)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_masked_mean", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_v = Tensor([[1.0, 2.0, 9.0], [4.0, 9.0, 9.0]], requires_grad=True)
_m = np.array([[1, 1, 0], [1, 0, 0]])
_mm = masked_mean(_v, _m)
assert np.isclose(_mm.item(), 7.0 / 3.0)
_mm.backward()
assert np.allclose(_v.grad.data, _m / 3.0)
### BEGIN HIDDEN TESTS
try:
    masked_mean(_v, np.zeros((2, 3)))
except ValueError:
    pass
else:
    raise AssertionError("empty mask must raise")
assert np.isclose(masked_mean(Tensor([1.0, 3.0]), np.array([True, True])).item(), 2.0)
### END HIDDEN TESTS

# %% [markdown]
# ### Reduction scale and gradient accumulation
#
# With `'mean'` the gradient of each example is scaled by 1/N. If a batch
# of 256 does not fit in memory, you can run 4 micro-batches of 64 and let
# `.grad` accumulate -- but each micro-batch mean is 4 times larger per
# example than the full-batch mean would be. Divide each micro-batch loss by
# the number of micro-batches (or use `'sum'` and divide once by 256), and
# the accumulated gradient equals the full-batch gradient exactly:

# %%
_rng = np.random.default_rng(0)
_w = Tensor(_rng.standard_normal(3), requires_grad=True)
_X, _Y = _rng.standard_normal((8, 3)), _rng.standard_normal(8)
mse_loss(Tensor(_X) @ _w, Tensor(_Y)).backward()
_full = _w.grad.data.copy()
_w.zero_grad()
for _chunk in range(4):
    _rows = slice(2 * _chunk, 2 * _chunk + 2)
    (mse_loss(Tensor(_X[_rows]) @ _w, Tensor(_Y[_rows])) * (1.0 / 4)).backward()
print("full batch:", _full, "\naccumulated:", _w.grad.data)
assert np.allclose(_full, _w.grad.data)

# %% [markdown]
# ## 6. Other probabilistic losses: KL divergence and Gaussian NLL
#
# `kl_div(input, target)` follows PyTorch: `input` holds *log*-probabilities
# and the pointwise loss is `target (log target - input)` (0 where
# `target = 0`), or `exp(target) (target - input)` with `log_target=True`.
# Its `'mean'` averages over *every element*; the mathematically correct KL
# per sample is `'batchmean'` (sum / N).
#
# `gaussian_nll_loss(input, target, var)` is the negative log-likelihood of
# `target` under `N(input, var)`: `0.5 (log var + (input - target)^2 / var)`
# (+ `0.5 log 2 pi` with `full=True`); `var` is clamped at `eps` for
# stability without blocking its gradient, as in PyTorch.

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


# %% [markdown]
# ## 7. Focal loss: down-weighting the easy examples
#
# In detection, 99% of candidate boxes are easy background. Their small
# cross-entropies add up and drown the few hard examples. Focal loss
# multiplies each example's cross-entropy by `(1 - p_t)^gamma`, where `p_t`
# is the probability given to the true class:
#
# $$\mathrm{FL} = -\alpha_t\,(1 - p_t)^\gamma \log p_t$$
#
# With `gamma = 0` and no `alpha` it *is* cross-entropy. Worked example:
# `p_t = 0.9` (easy): CE = 0.105, with `gamma = 2` it is
# `0.01 * 0.105 = 0.00105`, 100 times smaller; `p_t = 0.1` (hard): CE = 2.30,
# focal 1.87, barely changed. `log p_t` comes from `log_softmax`, so it is
# stable at any logit.
#
# The binary form (`binary_focal_loss`, torchvision's
# `sigmoid_focal_loss`) does the same on top of BCE-with-logits, with
# `alpha_t = alpha` for positives and `1 - alpha` for negatives.

# %%
#| export
def _focal_alpha(alpha: Any, name: str) -> Any:
    """Focal loss's alpha: None, a non-negative number (a float), or one weight per class (a 1-D array)."""
    if alpha is None or np.ndim(alpha.data if isinstance(alpha, Tensor) else alpha) == 0:
        return alpha if alpha is None else _scalar(alpha, name, "alpha", "non-negative")
    shape = np.shape(alpha.data if isinstance(alpha, Tensor) else alpha)
    if len(shape) != 1:
        raise ValueError(f"{name}: alpha must be a number or one weight per class, shape (C,), got shape {shape}")
    return alpha


# %% nbgrader={"grade": false, "grade_id": "focal_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def focal_loss(input: Tensor, target: Any, gamma: float = 2.0, alpha: Any = None, reduction: str = "mean",
               ignore_index: int = -100) -> Tensor:
    """Multi-class focal loss -alpha_t (1 - p_t)^gamma log p_t over logits (N, C); equals CE at gamma=0.

    alpha: None, a number, or one weight per class (C,). Rows whose target is
    ``ignore_index`` count for nothing; 'mean' divides by the number of the others.
    """
    name = "focal_loss"
    _check_reduction(reduction, name)
    gamma = _scalar(gamma, name, "gamma", "non-negative")
    input = _floating(_tensor(input, name, "input"), name, "input")
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must be integer class indices, got dtype {target.dtype}")
    if input.ndim != 2:
        raise ValueError(f"{name}: input must be logits of shape (N, C), got {input.shape}")
    classes = input.shape[1]
    _check_class_targets(input.data, target, ignore_index, name)
    valid, index = _counted_rows(target, ignore_index, input.dtype)  # ignored rows point at class 0, weigh 0
    alpha = _focal_alpha(alpha, name)
    alpha = np.full(classes, alpha) if isinstance(alpha, float) else _class_weight(alpha, classes, input.dtype, name,
                                                                                    "alpha")
    # TODO (task 4.6): log p_t = GatherBackward.apply(log_softmax(input, dim=1),
    # index=index); multiply -log p_t by (1 - p_t) ** gamma (skip the factor
    # when gamma == 0) and, when alpha is given, by alpha[index]; call the
    # per-row result `loss`.
    ### BEGIN SOLUTION
    log_pt = GatherBackward.apply(log_softmax(input, dim=1), index=index)
    loss = -log_pt
    if gamma > 0:
        loss = loss * (1.0 - log_pt.exp()) ** gamma
    if alpha is not None:
        loss = loss * alpha[index]
    ### END SOLUTION
    return _weighted_reduce(loss * valid, valid, reduction)


# %% nbgrader={"grade": true, "grade_id": "test_focal_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_logits = Tensor(np.array([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]]))
_labels = np.array([0, 2])
assert np.isclose(focal_loss(_logits, _labels, gamma=0.0).item(), cross_entropy(_logits, _labels).item())
_p = softmax(_logits).data[[0, 1], _labels]
assert np.allclose(focal_loss(_logits, _labels, gamma=2.0, reduction="none").data, -(1 - _p) ** 2 * np.log(_p))
### BEGIN HIDDEN TESTS
_big = Tensor(np.array([[1e4, -1e4]], dtype=np.float32), requires_grad=True)
_fl = focal_loss(_big, np.array([1]))
_fl.backward()
assert np.isfinite(_fl.item()) and np.all(np.isfinite(_big.grad.data))
assert np.allclose(focal_loss(_logits, _labels, gamma=1.0, alpha=[0.5, 1.0, 2.0], reduction="none").data,
                   np.array([0.5, 2.0]) * -(1 - _p) * np.log(_p))
### END HIDDEN TESTS

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


# %% [markdown]
# A picture of focal loss for several `gamma`, as a function of `p_t`:

# %%
_pt = np.linspace(0.01, 1.0, 200)
_two_logits = np.stack([np.log(_pt), np.log1p(-_pt + 1e-12)], axis=1)
fig, ax = plt.subplots(figsize=(6, 3.5))
for gamma in [0, 0.5, 1, 2, 5]:
    ax.plot(_pt, focal_loss(Tensor(_two_logits), np.zeros(len(_pt), dtype=np.int64), gamma=gamma,
                            reduction="none").data, label=f"gamma = {gamma}")
ax.set_xlabel("probability of the true class p_t")
ax.set_ylim(0, 5)
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Distances and similarities
#
# The margin and contrastive losses below compare embeddings by a distance
# or a similarity. They use PyTorch's four helpers, with PyTorch's meaning:
#
# * `norm`: `||x||_p = (sum_i |x_i|^p)^(1/p)` along `dim`. Its gradient is
#   `sign(x) |x|^(p-1) / ||x||^(p-1)` (`x / ||x||` for p = 2), undefined at
#   `x = 0`, where we return 0 as PyTorch does;
# * `normalize(x, p, dim, eps) = x / max(||x||_p, eps)`: unit rows, and a
#   zero row stays a (finite) zero row thanks to `eps`;
# * `cosine_similarity(x1, x2, dim, eps)`: the dot product of the two
#   normalised vectors, each norm clamped at `eps`;
# * `pairwise_distance(x1, x2, p, eps) = ||x1 - x2 + eps||_p` along the last
#   dimension (the `eps` keeps the gradient defined for identical vectors);
# * `one_hot(labels, num_classes)`: integer class indices as 0/1 rows.
#
# Worked example: `x = [3, 4]` has `||x||_2 = 5`, `normalize(x) = [0.6, 0.8]`;
# `cosine_similarity([3, 4], [4, 3]) = (12 + 12) / 25 = 0.96`.

# %%
#| export
class NormBackward(Function):
    """out = (sum |x|^p)^(1/p) along ``dim``;  dx = g sign(x) |x|^(p-1) / out^(p-1), 0 where out = 0."""

    def forward(self, x, p=2.0, dim=-1, keepdim=False):
        size = np.abs(x)
        out = np.sqrt((x * x).sum(axis=dim, keepdims=True)) if p == 2 else (size ** p).sum(
            axis=dim, keepdims=True) ** (1.0 / p)
        self.saved = (x, out, p, dim, keepdim)
        return out if keepdim else np.squeeze(out, axis=dim)

    def backward(self, grad_output):
        x, out, p, dim, keepdim = self.saved
        g = grad_output if keepdim else np.expand_dims(grad_output, dim)
        safe = np.where(out == 0, 1.0, out)  # the subgradient 0 at x = 0, without dividing by 0
        if p == 2:
            local = x / safe
        else:
            size = np.abs(x)
            local = np.sign(x) * np.where(size == 0, 0.0, size ** (p - 1.0) if p != 1 else 1.0) / safe ** (p - 1.0)
        return (g * np.where(out == 0, 0.0, local),)


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


_normalize = normalize  # for functions whose `normalize` argument is a flag (info_nce_loss)


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


# %% [markdown]
# ## 9. Margins: hinge, ranking, contrastive, triplet
#
# Margin losses care about *order*, not calibrated probabilities: they are
# zero once the right answer wins by at least a margin, and push linearly
# otherwise.
#
# * **Hinge** (SVM): `max(0, margin - y s)` for labels `y` in {-1, +1}.
# * **Margin ranking**: `max(0, -y (x1 - x2) + margin)`: x1 should rank
#   above x2 when `y = 1`.
# * **Contrastive** (Hadsell, Chopra, LeCun 2006): with Euclidean distance
#   `d` between two embeddings, similar pairs (`y = 0`) pay `d^2 / 2`,
#   dissimilar pairs (`y = 1`) pay `max(0, m - d)^2 / 2`.
# * **Triplet** (FaceNet): `max(0, d(a, p) - d(a, n) + margin)`: the anchor
#   must be closer to the positive than to the negative by a margin.
#   PyTorch's distance adds `eps` to the difference,
#   `d(x, y) = ||x - y + eps||_p`; `swap=True` uses the smaller of
#   `d(a, n)` and `d(p, n)` (the harder negative).
#
# Worked triplet example: `a = [0, 0]`, `p = [3, 4]` (d = 5), `n = [6, 8]`
# (d = 10), margin 1: `max(0, 5 - 10 + 1) = 0`; with `n = [0, 4]` (d = 4):
# `5 - 4 + 1 = 2`.

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


def _embeddings(x1: Any, x2: Any, name: str, first: str = "x1", second: str = "x2") -> tuple[Tensor, Tensor]:
    x1 = _floating(_tensor(x1, name, first), name, first)
    x2 = _floating(_tensor(x2, name, second), name, second)
    if x1.ndim not in (1, 2) or x1.shape != x2.shape:
        raise ValueError(f"{name}: {first} and {second} must be embeddings of the same shape (N, D) or (D,), "
                         f"got {x1.shape} and {x2.shape}")
    return x1, x2


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


# %% nbgrader={"grade": false, "grade_id": "triplet_margin_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin), d = ||x - y + eps||_p; swap uses min(d(a, n), d(p, n))."""
    name = "triplet_margin_loss"
    _check_reduction(reduction, name)
    anchor, positive = _embeddings(anchor, positive, name, "anchor", "positive")
    anchor, negative = _embeddings(anchor, negative, name, "anchor", "negative")
    margin = _scalar(margin, name, "margin")
    p = _scalar(p, name, "p", "positive")
    eps = _scalar(eps, name, "eps", "non-negative")
    # TODO (task 4.8): the two distances with pairwise_distance; with swap,
    # replace d(a, n) by d(p, n) where that is smaller (use where); then the
    # hinge clip(min=0) and reduce.
    ### BEGIN SOLUTION
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = where(d_swap.data < d_neg.data, d_swap, d_neg)
    return _reduce((d_pos - d_neg + margin).clip(min=0.0), reduction)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_triplet_margin_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_a = Tensor([[0.0, 0.0], [0.0, 0.0]])
_pp = Tensor([[3.0, 4.0], [3.0, 4.0]])
_n = Tensor([[6.0, 8.0], [0.0, 4.0]])
assert np.allclose(triplet_margin_loss(_a, _pp, _n, eps=0.0, reduction="none").data, [0.0, 2.0])
### BEGIN HIDDEN TESTS
assert np.allclose(triplet_margin_loss(_a, _pp, _n, p=1.0, eps=0.0, reduction="none").data, [0.0, 7 - 4 + 1])
_swapped = triplet_margin_loss(Tensor([[0.0, 0.0]]), Tensor([[1.0, 0.0]]), Tensor([[1.5, 0.0]]), eps=0.0, swap=True)
assert np.isclose(_swapped.item(), 1.0 - 0.5 + 1.0)
### END HIDDEN TESTS

# %% [markdown]
# ## 9. Contrastive learning: InfoNCE
#
# Given N pairs of embeddings (two views of the same image, or a caption and
# its image), InfoNCE (CPC, SimCLR, CLIP) treats each query's own key as the
# right answer among all N keys: a classification whose logits are the
# similarities,
#
# $$\ell = \mathrm{CE}\!\left(\frac{Q K^\top}{\tau},\ [0, 1, \dots, N-1]\right)$$
#
# With `normalize=True` the rows of Q and K are scaled to unit length first
# (cosine similarity, `q / max(||q||, 1e-12)`), so `tau` alone sets how peaked
# the softmax is. A low temperature (0.07 in CLIP) focuses the gradient on
# the hardest negatives. Reusing `cross_entropy` gives the stable fused
# gradient for free.

# %% nbgrader={"grade": false, "grade_id": "info_nce_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def info_nce_loss(queries: Tensor, keys: Tensor, temperature: float = 0.1, normalize: bool = True,
                  reduction: str = "mean") -> Tensor:
    """Cross-entropy of (queries @ keys.T) / temperature with the positives on the diagonal."""
    name = "info_nce_loss"
    _check_reduction(reduction, name)
    queries, keys = _embeddings(queries, keys, name, "queries", "keys")
    if queries.ndim != 2:
        raise ValueError(f"{name}: queries and keys must be (N, D), got {queries.shape}")
    temperature = _scalar(temperature, name, "temperature", "positive")
    # TODO (task 4.7): normalise the rows when asked (_normalize(x, dim=1)), build the
    # (N, N) logits, and call cross_entropy with targets np.arange(N).
    ### BEGIN SOLUTION
    if normalize:
        queries, keys = _normalize(queries, dim=1), _normalize(keys, dim=1)
    logits = (queries @ keys.T) * (1.0 / temperature)
    return cross_entropy(logits, np.arange(queries.shape[0]), reduction=reduction)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_info_nce_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_q = Tensor(np.eye(3))
assert np.isclose(info_nce_loss(_q, _q, temperature=1.0).item(), -np.log(np.e / (np.e + 2)))
_qs = Tensor(np.eye(3) * 5.0)
assert np.isclose(info_nce_loss(_qs, _qs, temperature=1.0).item(), info_nce_loss(_q, _q, temperature=1.0).item())
### BEGIN HIDDEN TESTS
assert np.isclose(info_nce_loss(_qs, _qs, temperature=1.0, normalize=False).item(),
                  -np.log(np.exp(25) / (np.exp(25) + 2)))
_k = Tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
info_nce_loss(_q, _k).backward()
assert _k.grad.shape == (3, 3) and np.all(np.isfinite(_k.grad.data))
### END HIDDEN TESTS

# %% [markdown]
# ## 10. Overlap: Dice loss
#
# For segmentation with a tiny foreground, per-pixel losses are dominated by
# the background. Dice measures overlap directly:
# `1 - (2 sum(p t) + s) / (sum p + sum t + s)`, with `p = sigmoid(logits)`
# (or probabilities with `from_logits=False`) and a smoothing term `s` that
# keeps empty masks defined. We compute it per sample (sums over all axes
# but the first) and then reduce over the batch.

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


# %% [markdown]
# ## 11. Preferences: DPO
#
# Direct Preference Optimization (Rafailov et al., 2023) fine-tunes a
# language model from pairs "answer w was preferred to answer l". With the
# log-probabilities of both answers under the policy (`pw`, `pl`) and under
# a frozen reference model (`rw`, `rl`):
#
# $$\ell = -\log \sigma\big(\beta\,[(pw - rw) - (pl - rl)]\big) = \mathrm{softplus}(-\beta z)$$
#
# The loss falls as the policy raises the chosen answer's likelihood
# relative to the reference more than the rejected one's. `-log sigmoid` is
# written as `softplus(-z)` so that a large margin of either sign never
# overflows. Worked example: all four log-probs equal gives `z = 0` and
# `l = log 2 = 0.693`.

# %% nbgrader={"grade": false, "grade_id": "dpo_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def dpo_loss(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor,
             beta: float = 0.1, reduction: str = "mean") -> Tensor:
    """-log sigmoid(beta ((pw - rw) - (pl - rl))) over log-probabilities of shape (N,)."""
    name = "dpo_loss"
    _check_reduction(reduction, name)
    args = {"policy_chosen": policy_chosen, "policy_rejected": policy_rejected, "ref_chosen": ref_chosen,
            "ref_rejected": ref_rejected}
    beta = _scalar(beta, name, "beta", "finite")
    pw, pl, rw, rl = (_floating(_tensor(v, name, k), name, k) for k, v in args.items())
    for argument, t in zip(list(args)[1:], (pl, rw, rl)):
        _same_shape(pw, t, name, argument)
    # TODO (task 4.9): z = beta * ((pw - rw) - (pl - rl)); loss = softplus(-z); reduce.
    ### BEGIN SOLUTION
    z = ((pw - rw) - (pl - rl)) * beta
    return _reduce(softplus(-z), reduction)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dpo_loss", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_zero = Tensor([0.0, 0.0])
assert np.isclose(dpo_loss(_zero, _zero, _zero, _zero).item(), np.log(2.0))
_pw = Tensor([-1.0, -2.0], requires_grad=True)
_l = dpo_loss(_pw, Tensor([-3.0, -1.0]), Tensor([-2.0, -2.0]), Tensor([-2.0, -2.0]), beta=0.5)
_z = 0.5 * np.array([-1.0 + 3.0, -2.0 + 1.0])
assert np.isclose(_l.item(), np.mean(np.log1p(np.exp(-_z))))
### BEGIN HIDDEN TESTS
_l.backward()
assert np.allclose(_pw.grad.data, -0.5 * (1 / (1 + np.exp(_z))) / 2)
_huge = dpo_loss(Tensor(np.array([-1e4], dtype=np.float32)), Tensor(np.array([0.0], dtype=np.float32)),
                 Tensor(np.array([0.0], dtype=np.float32)), Tensor(np.array([0.0], dtype=np.float32)), beta=1.0)
assert np.isclose(_huge.item(), 1e4)
### END HIDDEN TESTS

# %% [markdown]
# ## 12. Several loss terms
#
# A model with two heads (say classification and box regression) minimises
# `L = w1 L1 + w2 L2`. How much each term actually steers the parameters
# depends on its *weighted contribution*, not on `w` alone: a term with a
# large weight but a tiny value does little. A first diagnostic is each
# term's share of the total, `w_i L_i / sum_j w_j L_j`.
#
# Worked example: `L = [2.0, 0.01]`, `w = [1, 10]`: contributions
# `[2.0, 0.1]`, shares `[0.952, 0.048]` -- the second term is nearly
# ignored despite its tenfold weight.
#
# Hand-tuning weights is tedious. Kendall, Gal and Cipolla (2018) learn
# them: `L = sum_i exp(-s_i) L_i + s_i`, where `s_i` is a learnable log
# variance. A term that stays large pushes its `s_i` up (less weight), and
# the `+ s_i` stops every weight from collapsing to 0. The optimum for a
# fixed `L_i` is `s_i = log L_i`.

# %% nbgrader={"grade": false, "grade_id": "loss_term_shares", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def loss_term_shares(losses: Sequence[Any], weights: Sequence[float] | None = None) -> np.ndarray:
    """Each term's share of the weighted total: w_i L_i / sum_j w_j L_j (numbers, no gradient)."""
    values = np.array([float(l.item()) if isinstance(l, Tensor) else float(l) for l in losses])
    w = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != values.shape:
        raise ValueError(f"loss_term_shares: got {len(values)} losses but {w.size} weights")
    # TODO (task 4.10): the contributions w * values and their shares; refuse
    # a total of zero with a ValueError.
    ### BEGIN SOLUTION
    contributions = w * values
    total = contributions.sum()
    if total == 0:
        raise ValueError("loss_term_shares: the weighted total is 0, shares are undefined")
    return contributions / total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_loss_term_shares", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert np.allclose(loss_term_shares([2.0, 0.01], [1.0, 10.0]), [2.0 / 2.1, 0.1 / 2.1])
assert np.allclose(loss_term_shares([Tensor(1.0), Tensor(3.0)]), [0.25, 0.75])
### BEGIN HIDDEN TESTS
try:
    loss_term_shares([1.0, 2.0], [1.0])
except ValueError:
    pass
else:
    raise AssertionError("mismatched weights must raise")
### END HIDDEN TESTS

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


# %% [markdown]
# ## 13. The loss classes
#
# Each class stores its options and calls its functional twin, as
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


# %% [markdown]
# ## 14. The learned weights at work
#
# Two regression tasks whose losses differ by a factor of 100. Gradient
# descent on the log variances moves each `s_i` toward `log L_i`, which
# rescales both terms to about 1:

# %%
_weighting = UncertaintyWeightedLoss(2)
_fixed = [Tensor(np.float32(5.0)), Tensor(np.float32(0.05))]
for _ in range(300):
    _weighting.log_vars.grad = None
    _weighting(_fixed).backward()
    _weighting.log_vars.data -= 0.05 * _weighting.log_vars.grad.data
print("log variances:", _weighting.log_vars.data, " log L:", np.log([5.0, 0.05]))
print("shares after weighting:",
      loss_term_shares([5.0, 0.05], np.exp(-_weighting.log_vars.data)))
assert np.allclose(_weighting.log_vars.data, np.log([5.0, 0.05]), atol=0.05)

# %% [markdown]
# ## Systems view
#
# | loss | extra memory per element kept for backward | notes |
# |------|---------------------------------------------|-------|
# | MSE (composed) | residual | 3 nodes |
# | BCE with logits | x, y, softplus(-x) | 1 node + reduction |
# | cross-entropy (fused) | one B x C buffer: `exp(x - max)`, turned into the softmax in place | 1 node, reduction included |
#
# For a language-model head, B x C is (tokens x vocabulary): 1024 x 50257
# float32 is 206 MB per buffer. An unfused cross-entropy keeps several such
# buffers alive at once; the fused node keeps one, and its backward writes
# the gradient into one new buffer. `benchmarks/bench_cross_entropy.py`
# measures time and peak memory against a hand-written numpy version and
# PyTorch.
