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
# # Module 04 -- Losses, part 1: the core, and the ten exercises
#
# A loss turns a prediction into one number that says how wrong it is, and
# into a *gradient* that says which way to move. For each loss: what the
# value measures and where its gradient pushes; where the naive formula
# overflows, and the stable rewrite; how per-element losses are combined,
# and what that does to the gradient's scale. Names, signatures and
# semantics are PyTorch's.
#
# **Three notebooks**, all exported to `tinytorch.core.losses`. This one:
# the core path (reductions, regression, binary cross-entropy from logits,
# softmax cross-entropy, masked means) and the ten graded tasks in reading
# order. No exercise in the others: `losses_family.py` (part 2) adds the
# wider family and the loss classes; `losses_practice.py` (part 3) shows
# the losses at work in numbers and figures, `choose_loss`, costs.
#
# **An honest dependency.** `.backward()` runs module 05's engine (the graph
# walk), which you write in module 05; until then the package's prebuilt
# engine runs here. This module teaches the *rules*: each `Function` holds a
# forward and its backward, and the tests check every rule against finite
# differences (`gradcheck`) and PyTorch.
#
# | task | what | points |
# |------|------|--------|
# | 4.1 | `mse_loss` | 3 |
# | 4.2 | `huber_loss` | 3 |
# | 4.3 | `BCEWithLogitsBackward`: BCE from logits | 4 |
# | 4.4 | `CrossEntropyBackward`: softmax minus target, scaled | 5 |
# | 4.5 | `masked_mean` over a padded batch | 2 |
# | 4.6 | `focal_loss` | 3 |
# | 4.7 | `triplet_margin_loss` | 3 |
# | 4.8 | `info_nce_loss` | 3 |
# | 4.9 | `dpo_loss` | 3 |
# | 4.10 | `loss_term_shares` | 2 |

# %%
#| export
from __future__ import annotations

import functools
import math
from types import SimpleNamespace
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
# * `'mean'` divides the sum by the number of elements, so the gradient does
#   not grow with the batch (an empty batch's mean is NaN, as in PyTorch);
# * `'sum'` keeps the total: each example's gradient is 1, not 1/N;
# * `'none'` returns the per-element losses, to weight or mask.
#
# A *weighted* mean divides by the sum of the weights: losses `[1, 3]` with
# weights `[1, 3]` give `(1 + 9) / 4 = 2.5`. Silent broadcasting is the
# commonest loss bug (`(N, 1) - (N,)` is an `(N, N)` matrix), so every loss
# checks shapes, types and options, and names the argument at fault.

# %%
#| export
REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str, allowed: Sequence[str] = REDUCTIONS) -> None:
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"{name}: reduction must be one of {choices}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, weight: np.ndarray | None = None, mean_by_weight: bool = True) -> Tensor:
    """'mean', 'sum' or 'none' of per-element losses (the mean of nothing is NaN, as in PyTorch).

    ``weight`` (one per element) multiplies first; 'mean' then divides by sum(weight), as PyTorch's
    mse_loss and l1_loss do, or by the count with ``mean_by_weight=False`` (its huber_loss).
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
    """Reduce losses already multiplied by their row weights (0 for ignored rows); 'mean' divides by the
    weights' sum, as PyTorch does, and is NaN with a zero gradient when that sum is 0."""
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


_RULES = {  # what an option may be: a test, and its words for the error
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
# ## 2. Regression: MSE and Huber
#
# With residual `r = input - target`:
#
# | loss | value | gradient d/d input | behaviour |
# |------|-------|--------------------|-----------|
# | MSE | r^2 | 2r | big errors dominate; best constant: the mean |
# | L1 | abs(r) | sign(r) | robust; best constant: the median |
# | Huber(delta) | r^2/2 if abs(r) < delta, else delta (abs(r) - delta/2) | r clipped to +-delta | between the two |
#
# (L1, SmoothL1, log-cosh and the quantile loss are in part 2.)
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
_x = Tensor([2.0, 4.0, -1.0], requires_grad=True)
_loss = mse_loss(_x, Tensor([1.0, 1.0, 1.0]), reduction="sum")
assert np.isclose(_loss.item(), 1.0 + 9.0 + 4.0)
_loss.backward()
assert np.allclose(_x.grad.data, [2.0, 6.0, -4.0])  # 2r, not divided by N
assert np.allclose(mse_loss(Tensor([2.0, 4.0]), Tensor([1.0, 1.0]), reduction="none").data, [1.0, 9.0])
assert np.isclose(mse_loss(Tensor([2.0, 4.0]), Tensor([1.0, 1.0]), weight=[1.0, 3.0]).item(), 28.0 / 4.0)
### END HIDDEN TESTS

# %% [markdown]
# Huber grows only linearly past `delta`, so one outlier cannot dominate:
# its gradient is the residual clipped to `[-delta, delta]`. With
# `delta = 1`, residuals `[0.5, 3]` give losses `[0.125, 2.5]` and gradients
# `[0.5, 1]`. Compute both branches and pick per element with `where`,
# which sends each element's gradient to the branch it took.

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
_x = Tensor([3.0, -5.0, 1.5, -0.5], requires_grad=True)
_loss = huber_loss(_x, Tensor([0.0, 0.0, 0.0, 0.0]), delta=2.0, reduction="sum")
assert np.isclose(_loss.item(), 2.0 * (3.0 - 1.0) + 2.0 * (5.0 - 1.0) + 0.5 * 1.5 ** 2 + 0.5 * 0.25)
_loss.backward()
assert np.allclose(_x.grad.data, [2.0, -2.0, 1.5, -0.5])
assert np.isclose(huber_loss(Tensor([3.0, 0.0]), Tensor([0.0, 0.0])).item(), 2.5 / 2)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Binary cross-entropy, from logits
#
# For a probability `p` of the positive class and a label `y` in [0, 1]:
#
# $$\ell = -[\,y \log p + (1 - y) \log(1 - p)\,]$$
#
# A model outputs a *logit* `x`, `p = sigmoid(x)`. Through `p`, float32
# loses everything once `x < -88` (`p` rounds to 0, `log 0 = -inf`). From
# the logit it is exact: `log p = -softplus(-x)`, `log(1 - p) = -x - softplus(-x)`,
#
# $$\ell = (1 - y)\,x + \mathrm{softplus}(-x), \qquad \frac{\partial \ell}{\partial x} = \sigma(x) - y$$
#
# where `softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^{-|z|})` never
# overflows: prediction minus label, no division, no log. `pos_weight`
# scales the positive term: `(1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)`.
# Worked example: `x = 0, y = 1`: loss `log 2 = 0.6931`, gradient `-0.5`;
# at `x = -10000, y = 1`, loss 10000 and gradient -1. The functional forms
# are in part 2.

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

# %% [markdown]
# ## 4. Softmax cross-entropy, stable and fused
#
# Naively, `-log softmax(x)_y` with logits `[1000, 0]` gives
# `inf / inf = nan`, and `[-1000, 0]` with label 0 gives `log 0 = -inf`.
# The stable form never takes the log of a probability:
#
# $$\log \mathrm{softmax}(x)_c = x_c - \mathrm{lse}(x), \qquad \mathrm{lse}(x) = m + \log \sum_j e^{x_j - m},\ m = \max_j x_j$$
#
# Every exponent is `<= 0`, the sum at least 1. For `x = [1000, 0]`,
# label 0: `lse = 1000`, loss `lse - x_0 = 0`.
#
# ### The rule (task 4.4)
#
# With a target *distribution* `t` (one-hot for a class index):
#
# $$\ell = -\sum_c t_c \log p_c = \Big(\sum_c t_c\Big)\,\mathrm{lse}(x) - \sum_c t_c x_c, \qquad \frac{\partial \ell}{\partial x_c} = p_c \sum_j t_j - t_c$$
#
# -- **softmax minus target** when `t` sums to 1. The reduction multiplies
# it by a *scale*: `g / N` for the mean, `g` for the sum, `g_i` per row
# for `'none'`. Worked example: `x = [0, 0]`, label 1, one row, mean:
# `p = [0.5, 0.5]`, gradient `[0.5, 0.5] - [0, 1] = [0.5, -0.5]`. Each row
# of the gradient sums to zero (`sum_c p_c - 1 = 0`): raising every logit
# by the same amount changes nothing.
#
# ### The bookkeeping (provided)
#
# PyTorch's options all fit that one rule by choosing `t`:
#
# * class index `y` with weights `w`: `t = w_y onehot(y)`;
# * label smoothing `eps`: `t = (1 - eps) w_y onehot(y) + (eps / C) w`;
# * `ignore_index`: `t = 0` on an ignored row;
# * probability targets `q`: `t = w ((1 - eps) q + eps / C)`.
#
# `'mean'` for class indices divides by `sum_i w_{y_i}` over the counted
# rows, not by N. The forward keeps one B x C buffer: `exp(x - m)`, divided
# in place by its row sums, is the softmax `p` kept for backward. For class
# indices the backward never builds `t`: it scales `p` by `sum(t)`, then
# subtracts at one entry per row (`grad[rows, targets]`) and, with
# smoothing, a constant per class. Composed from primitives, the loss would
# record seven nodes and keep seven B x C buffers.

# %%
#| export
def _check_class_targets(x: np.ndarray, y: np.ndarray, ignore_index: int, name: str) -> bool:
    """Check class indices (N, d1, ...) against logits (N, C, d1, ...); True if any equals ignore_index."""
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
    """(valid, index): 1.0 on counted rows, 0.0 on ignored ones (in ``dtype``), and the targets with the
    ignored rows pointed at class 0 so they can index."""
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

    Per row, for a target distribution t: loss = sum(t) lse(x) - sum_c t_c x_c.
    Gradient: d loss / dx = (softmax(x) sum(t) - t) * scale, scale set by the reduction.
    ``target`` is class indices (B,) or probabilities (B, C).
    """

    def forward(self, x: np.ndarray, target: np.ndarray, weight=None, ignore_index: int | None = None,
                reduction: str = "mean", label_smoothing: float = 0.0) -> np.ndarray:
        rows, classes = x.shape
        eps = label_smoothing
        m = x.max(axis=1, keepdims=True)
        p = np.subtract(x, m)  # the one B x C buffer: exp(x - m), then the softmax, in place
        np.exp(p, out=p)
        sum_e = p.sum(axis=1, keepdims=True)
        lse = (np.log(sum_e) + m)[:, 0]
        p /= sum_e
        s = SimpleNamespace(p=p, eps=eps, weight=weight, reduction=reduction)  # what backward reads
        if target.dtype.kind in "iu":  # class indices
            # ignore_index is None when no row has it (the wrapper has checked): then the mask
            # of counted rows is just the number 1.
            if ignore_index is None:
                valid, index = 1.0, target
            else:
                valid, index = _counted_rows(target, ignore_index, x.dtype)
            w_y = valid if weight is None else weight[index] * valid
            picked = _row_numbers(rows), index
            # loss = (1 - eps) w_y (lse - x_y) + (eps / C) (sum(w) lse - sum_c w_c x_c), on counted rows
            loss = lse - x[picked]
            if weight is not None or ignore_index is not None or eps > 0:
                loss *= (1.0 - eps) * w_y
            total = w_y  # sum_c t_c, completed below when smoothing
            if eps > 0:
                w_sum = float(classes) if weight is None else float(weight.sum())
                w_dot_x = x.sum(axis=1) if weight is None else x @ weight
                loss += (eps / classes) * valid * (w_sum * lse - w_dot_x)
                total = (1.0 - eps) * w_y + (eps / classes) * w_sum * valid
            s.kind, s.picked, s.w_y, s.valid, s.total = "index", picked, w_y, valid, total
            s.denominator = float(rows) if isinstance(w_y, float) else float(w_y.sum())
        else:  # class probabilities (B, C)
            t = target if eps == 0 else target * (1.0 - eps) + eps / classes
            if weight is not None:
                t = t * weight
            total = t.sum(axis=1)
            loss = total * lse - (t * x).sum(axis=1)
            s.kind, s.x, s.lse, s.t, s.total, s.denominator = "probability", x, lse, t, total, rows
        self.saved = s
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        return loss.sum() / s.denominator if s.denominator else loss.sum() * math.nan  # nothing counted: NaN

    def backward(self, grad_output: np.ndarray):
        s = self.saved
        # The reduction's scale: g / denominator, g, or g_i per row. A Python number when
        # reduced, so the scalar arithmetic below costs no numpy calls. (A zero denominator
        # means every row weighs 0: any finite scale then gives a zero gradient.)
        if s.reduction == "none":
            scale = grad_output
        elif s.reduction == "mean" and s.denominator:
            scale = float(grad_output) / s.denominator
        else:
            scale = float(grad_output)
        if s.kind == "index":
            p, picked, w_y, total, eps = s.p, s.picked, s.w_y, s.total, s.eps
            # TODO (task 4.4): the rule (p sum(t) - t) * scale. Here sum(t) is `total`
            # (a number or one per row: use _per_row), and the one-hot part of t is
            # (1 - eps) w_y at each row's target, the entries grad[picked].
            ### BEGIN SOLUTION
            grad = p * _per_row(total * scale)
            grad[picked] -= (1.0 - eps) * w_y * scale
            ### END SOLUTION
            if eps > 0:  # provided: smoothing's part of t, (eps / C) w_c on every class
                smooth = _per_row((eps / p.shape[1]) * scale * s.valid)
                grad -= smooth if s.weight is None else smooth * s.weight
            return grad.astype(p.dtype, copy=False), None
        p, t, total, weight = s.p, s.t, s.total, s.weight
        scale = _per_row(np.broadcast_to(scale, total.shape))
        needs_x, needs_target = self.needs_input_grad
        grad_x = None
        if needs_x:
            # TODO (task 4.4): the same rule with the whole target t (B, C) at hand.
            ### BEGIN SOLUTION
            grad_x = p * (total[:, None] * scale) - t * scale
            ### END SOLUTION
        grad_target = None
        if needs_target:  # d loss / d q_c = -(1 - eps) w_c log p_c
            log_p = s.x - s.lse[:, None]
            grad_target = -(1.0 - s.eps) * scale * (log_p if weight is None else log_p * weight)
        return grad_x, grad_target


# %% nbgrader={"grade": true, "grade_id": "test_cross_entropy", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
_x = Tensor(np.array([[1000.0, 0.0], [0.0, 0.0]], dtype=np.float32), requires_grad=True)
_loss = CrossEntropyBackward.apply(_x, Tensor(np.array([0, 1])))
assert np.isclose(_loss.item(), (0.0 + np.log(2.0)) / 2, atol=1e-6)
_loss.backward()
assert np.allclose(_x.grad.data, [[0.0, 0.0], [0.25, -0.25]], atol=1e-6)  # (softmax - onehot) / N
assert np.allclose(_x.grad.data.sum(axis=1), 0.0)  # each row sums to zero
### BEGIN HIDDEN TESTS
_x = Tensor(np.array([[-1e4, 1e4, 0.0]], dtype=np.float32), requires_grad=True)
_loss = CrossEntropyBackward.apply(_x, Tensor(np.array([0])))
assert np.isfinite(_loss.item()) and np.isclose(_loss.item(), 2e4)
_loss.backward()
assert np.allclose(_x.grad.data, [[-1.0, 1.0, 0.0]])
_x = Tensor(np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]]), requires_grad=True)  # weights, ignore, sum
CrossEntropyBackward.apply(_x, Tensor(np.array([1, 0, 1])), weight=np.array([2.0, 3.0]), ignore_index=0,
                           reduction="sum").backward()
_p = np.exp(_x.data) / np.exp(_x.data).sum(axis=1, keepdims=True)
assert np.allclose(_x.grad.data, [3 * (_p[0] - [0, 1]), [0, 0], 3 * (_p[2] - [0, 1])])
_x = Tensor(np.zeros((1, 2)), requires_grad=True)  # probability targets
CrossEntropyBackward.apply(_x, Tensor(np.array([[0.25, 0.75]]))).backward()
assert np.allclose(_x.grad.data, [[0.25, -0.25]])
### END HIDDEN TESTS

# %% [markdown]
# Spatial inputs `(N, C, d1, ...)` (a class score per pixel or token) become
# rows `(N d1 ..., C)` with the differentiable `permute` and `reshape`.

# %%
#| export
def _rows_of_classes(t: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): one row per prediction, classes last."""
    axes = (0,) + tuple(range(2, t.ndim)) + (1,)
    return t.permute(axes).reshape(-1, t.shape[1])


def cross_entropy(input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, PyTorch's semantics, one fused node. input: logits (C,), (N, C) or (N, C, d1, ...);
    target: integer class indices (), (N,) or (N, d1, ...), or probabilities shaped like input."""
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
            raise TypeError(f"{name}: target of dtype {target.dtype} and shape {target.shape} is neither class "
                            f"indices (integers, shape {expected}) nor probabilities (shape {input.shape})")
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
# Part 2 has the same trick as standalone ops (`log_softmax`, `logsumexp`)
# and `nll_loss` (`cross_entropy(x, y) == nll_loss(log_softmax(x, dim=1), y)`,
# in two nodes instead of one); part 3 the classic bug in numbers: a
# softmax *before* a cross-entropy that expects logits.

# %% [markdown]
# ## 5. Masked means
#
# Sentences of different lengths are padded to the longest one. Averaging
# in the padding positions makes the loss depend on how much padding a
# batch happened to have. The correct mean divides by the number of
# *valid* elements:
#
# $$\text{masked mean} = \frac{\sum_i m_i\, \ell_i}{\sum_i m_i}$$
#
# Worked example: losses `[[1, 2, 9], [4, 9, 9]]` with lengths 2 and 1 (mask
# `[[1, 1, 0], [1, 0, 0]]`) give `(1 + 2 + 4) / 3 = 2.333`, not the padded
# mean 5.67 and not the mean of per-sentence means 2.75. `ignore_index` in
# the cross-entropy is the same idea (part 3 shows it on a padded batch).

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
# ## 6. Focal loss: down-weighting the easy examples
#
# In detection, most candidate boxes are easy background whose small
# cross-entropies add up and drown the few hard examples. Focal loss
# multiplies each cross-entropy by `(1 - p_t)^gamma`, `p_t` being the
# probability of the true class:
#
# $$\mathrm{FL} = -\alpha_t\,(1 - p_t)^\gamma \log p_t$$
#
# With `gamma = 0` and no `alpha` it *is* cross-entropy, whose node gives
# `log p_t = -cross_entropy(x, y, reduction='none')`, stable at any logit.
# Worked example: `p_t = 0.9` (easy): CE 0.105, focal (`gamma = 2`) 0.00105,
# 100 times smaller; `p_t = 0.1` (hard): CE 2.30, focal 1.87. `alpha` is a
# number or one weight per class; `ignore_index` rows count for nothing.

# %%
#| export
def _focal_alpha(alpha: Any, name: str, classes: int | None = None, dtype: Any = np.float64) -> Any:
    """None, or one weight per class (C,) from a number or an array (only checked without ``classes``)."""
    if alpha is None:
        return None
    if np.ndim(alpha.data if isinstance(alpha, Tensor) else alpha) == 0:
        alpha = _scalar(alpha, name, "alpha", "non-negative")
        return alpha if classes is None else np.full(classes, alpha, dtype=dtype)
    shape = np.shape(alpha.data if isinstance(alpha, Tensor) else alpha)
    if len(shape) != 1:
        raise ValueError(f"{name}: alpha must be a number or one weight per class, shape (C,), got shape {shape}")
    return alpha if classes is None else _class_weight(alpha, classes, dtype, name, "alpha")

# %% nbgrader={"grade": false, "grade_id": "focal_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def focal_loss(input: Tensor, target: Any, gamma: float = 2.0, alpha: Any = None, reduction: str = "mean",
               ignore_index: int = -100) -> Tensor:
    """-alpha_t (1 - p_t)^gamma log p_t over logits (N, C); 'mean' over the rows not ignored."""
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
    valid, index = _counted_rows(target, ignore_index, input.dtype)
    alpha = _focal_alpha(alpha, name, classes, input.dtype)
    # TODO (task 4.6): log p_t = -cross_entropy(input, index, reduction="none");
    # multiply -log p_t by (1 - p_t) ** gamma (skip the factor when gamma == 0)
    # and, when alpha is given, by alpha[index]; call the per-row result `loss`.
    ### BEGIN SOLUTION
    log_pt = -cross_entropy(input, index, reduction="none")
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

# %% [markdown]
# ## 7. Distances, and the triplet loss
#
# The p-norm `||x||_p = (sum_i |x_i|^p)^(1/p)` has gradient
# `sign(x) |x|^(p-1) / ||x||^(p-1)`, which we set to 0 at `x = 0`, as PyTorch
# does. The distance is `||x1 - x2 + eps||_p` (PyTorch's `pairwise_distance`:
# the `eps` keeps equal vectors differentiable); unit rows are
# `x / max(||x||, eps)` (its `normalize`), finite on a zero row. The public
# forms are in part 2.
#
# The **triplet loss** (FaceNet) wants the anchor closer to the positive
# than to the negative by a margin:
#
# $$\ell = \max\big(0,\ d(a, p) - d(a, n) + \text{margin}\big)$$
#
# We follow PyTorch's `TripletMarginLoss`: `d` is the plain Euclidean
# distance, not its square (which some texts and the original exercise
# use); `swap=True` uses `d(p, n)` when it is smaller. Worked example:
# `a = [0, 0]`, `p = [3, 4]` (d = 5), `n = [6, 8]` (d = 10), margin 1:
# `max(0, 5 - 10 + 1) = 0`; with `n = [0, 4]` (d = 4): `5 - 4 + 1 = 2`.

# %%
#| export
def _check_axis(x: Tensor, axis: Any, name: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: dim must be an integer, got {axis!r:.40}")
    if not -max(x.ndim, 1) <= axis < max(x.ndim, 1):
        raise IndexError(f"{name}: dim {axis} is out of range for a tensor with {x.ndim} dimensions")


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


def _distance(x: Tensor, y: Tensor, p: float, eps: float) -> Tensor:
    """||x - y + eps||_p along the last dimension (PyTorch's pairwise_distance; part 2 has the public one)."""
    return NormBackward.apply(x - y + eps, p=p, dim=-1, keepdim=False)


def _unit_rows(x: Tensor, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_2, eps) row by row (PyTorch's F.normalize): a zero row stays finite."""
    return x / NormBackward.apply(x, p=2.0, dim=-1, keepdim=True).clip(min=eps)


def _embeddings(x1: Any, x2: Any, name: str, first: str = "x1", second: str = "x2") -> tuple[Tensor, Tensor]:
    x1 = _floating(_tensor(x1, name, first), name, first)
    x2 = _floating(_tensor(x2, name, second), name, second)
    if x1.ndim not in (1, 2) or x1.shape != x2.shape:
        raise ValueError(f"{name}: {first} and {second} must be embeddings of the same shape (N, D) or (D,), "
                         f"got {x1.shape} and {x2.shape}")
    return x1, x2

# %% nbgrader={"grade": false, "grade_id": "triplet_margin_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin), d = ||x - y + eps||_p, not squared (PyTorch's); (N, D) or (D,)."""
    name = "triplet_margin_loss"
    _check_reduction(reduction, name)
    anchor, positive = _embeddings(anchor, positive, name, "anchor", "positive")
    anchor, negative = _embeddings(anchor, negative, name, "anchor", "negative")
    margin = _scalar(margin, name, "margin")
    p = _scalar(p, name, "p", "positive")
    eps = _scalar(eps, name, "eps", "non-negative")
    # TODO (task 4.7): the two distances with _distance; with swap,
    # replace d(a, n) by d(p, n) where that is smaller (use where); then the
    # hinge clip(min=0) and reduce.
    ### BEGIN SOLUTION
    d_pos = _distance(anchor, positive, p, eps)
    d_neg = _distance(anchor, negative, p, eps)
    if swap:
        d_swap = _distance(positive, negative, p, eps)
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
# ## 8. Contrastive learning: InfoNCE
#
# Given N pairs of embeddings (two views of an image, a caption and its
# image), InfoNCE (CPC, SimCLR, CLIP) treats each query's own key as the
# right answer among N keys, with the similarities as logits:
#
# $$\ell = \mathrm{CE}\!\left(\frac{Q K^\top}{\tau},\ [0, 1, \dots, N-1]\right)$$
#
# With `normalize=True` the rows are made unit length first (cosine
# similarity; a zero row stays finite), so `tau` alone sets how peaked the
# softmax is; a low one (0.07 in CLIP) focuses on the hardest negatives.
# Worked example: Q = K = the 3 x 3 identity, `tau = 1`: each row's logits
# are a rotation of `[1, 0, 0]`, loss `-log(e / (e + 2)) = 0.551`.

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
    # TODO (task 4.8): normalise the rows when asked (_unit_rows), build the
    # (N, N) logits, and call cross_entropy with targets np.arange(N).
    ### BEGIN SOLUTION
    if normalize:
        queries, keys = _unit_rows(queries), _unit_rows(keys)
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
# ## 9. Preferences: DPO
#
# Direct Preference Optimization (Rafailov et al., 2023) fine-tunes a
# language model from pairs "answer w was preferred to l", given their
# log-probabilities under the policy (`pw`, `pl`) and a frozen reference
# (`rw`, `rl`):
#
# $$\ell = -\log \sigma\big(\beta\,[(pw - rw) - (pl - rl)]\big) = \mathrm{softplus}(-\beta z)$$
#
# It falls as the policy raises the chosen answer, relative to the
# reference, more than the rejected one; `softplus(-z)` never overflows.
# Worked example: all four log-probs equal gives `z = 0` and
# `l = log 2 = 0.693`; with `beta = 0.5`, `pw - rw = 1` and `pl - rl = -1`,
# `z = 1` and `l = softplus(-1) = 0.313`.

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
# ## 10. Several loss terms
#
# A model with two heads minimises `L = w1 L1 + w2 L2`. How much a term
# steers the parameters depends on its *contribution* `w_i L_i`, not on `w`
# alone. A first diagnostic is each term's share, `w_i L_i / sum_j w_j L_j`;
# a total of 0 has no shares, and a `ValueError` says so.
#
# Worked example: `L = [2.0, 0.01]`, `w = [1, 10]`: contributions
# `[2.0, 0.1]`, shares `[0.952, 0.048]` -- the second term is nearly
# ignored despite its tenfold weight. Part 2 learns the weights instead
# (uncertainty weighting).

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
assert np.allclose(loss_term_shares([1.0, 2.0, 5.0], [2.0, 0.5, 0.2]), [0.5, 0.25, 0.25])
try:
    loss_term_shares([1.0, 2.0], [0.0, 0.0])
except ValueError:
    pass
else:
    raise AssertionError("a weighted total of 0 must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## Where next
#
# Parts 2 and 3. `tito module complete 04` exports all three notebooks and
# runs the tests; `pytest tests/test_04_losses.py -m task_4_4`
# runs one task's.
