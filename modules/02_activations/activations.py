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
# # Module 02 -- Activations
#
# A stack of linear maps is still one linear map: `W2 (W1 x) = (W2 W1) x`.
# An elementwise nonlinearity between them is what lets a network bend its
# decision boundary. This module builds the five you will meet most:
#
# | task | what | graded |
# |------|------|--------|
# | 2.1 | `ReLUBackward`: max(0, x) and its gradient | 2 pts |
# | 2.2 | `SigmoidBackward`: a sigmoid that never overflows | 3 pts |
# | 2.3 | `SoftmaxBackward`: stable softmax and its Jacobian-vector product | 3 pts |
#
# `Tanh` and `GELU` are given; read them as worked examples.
#
# Each activation is a node class (forward and backward side by side, as in
# module 01), a lowercase function (`relu(x)`), and a small callable class
# (`ReLU()`) so it can sit in a `Sequential`.

# %%
#| export
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.tensor import Function, Tensor, _one_dim

# %% [markdown]
# ## 1. ReLU
#
# $$\mathrm{relu}(x) = \max(0, x), \qquad \frac{d\,\mathrm{relu}}{dx} = \begin{cases}1 & x > 0\\ 0 & x \le 0\end{cases}$$
#
# The derivative at exactly 0 is undefined; we use 0, as PyTorch does.
# Worked example: `relu([-2, 0, 3]) = [0, 0, 3]`, gradient for `g = 1`:
# `[0, 0, 1]`.

# %% nbgrader={"grade": false, "grade_id": "relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class ReLUBackward(Function):
    """out = max(0, x);  dx = g * (out > 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # TODO (task 2.1): compute out = max(0, x) (np.maximum), save it, return it.
        ### BEGIN SOLUTION
        out = np.maximum(x, 0)
        self.saved = out
        return out
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        # TODO (task 2.1): the gradient passes where the output is positive
        # (out > 0 exactly where x > 0).
        ### BEGIN SOLUTION
        return (grad_output * (self.saved > 0),)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_node = ReLUBackward()
assert np.allclose(_node.forward(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
assert np.allclose(_node.backward(np.ones(3))[0], [0.0, 0.0, 1.0])
### BEGIN HIDDEN TESTS
_node = ReLUBackward()
_out = _node.forward(np.array([[-1.0, 2.0]], dtype=np.float32))
assert _out.dtype == np.float32 and _out.shape == (1, 2)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Sigmoid, without overflow
#
# $$\sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,(1 - \sigma(x))$$
#
# Naively, `x = -1000` computes `exp(1000)` = inf in float32 (and a
# warning). The fix: only ever exponentiate a non-positive number. With
# `e = exp(-|x|)`, which lies in (0, 1]:
#
# * for `x >= 0`: sigma = 1 / (1 + e)
# * for `x <  0`: sigma = e / (1 + e)
#
# Both are the same formula rewritten, and neither can overflow.

# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + exp(-x)), computed from exp(-|x|) so it never overflows."""
    # TODO (task 2.2): implement the two-branch formula above with np.where.
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)
    ### END SOLUTION


class SigmoidBackward(Function):
    """out = sigma(x);  dx = g * out * (1 - out)."""

    def forward(self, x):
        out = stable_sigmoid(x)
        self.saved = out
        return out

    def backward(self, grad_output):
        out = self.saved
        return (grad_output * out * (1.0 - out),)


# %% nbgrader={"grade": true, "grade_id": "test_sigmoid", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("error")  # an overflow warning fails the test
    _s = stable_sigmoid(np.array([-1e4, -1.0, 0.0, 1.0, 1e4], dtype=np.float32))
assert np.allclose(_s, [0.0, 0.26894142, 0.5, 0.73105858, 1.0])
### BEGIN HIDDEN TESTS
assert _s.dtype == np.float32
_s64 = stable_sigmoid(np.array([-30.0]))
assert abs(_s64[0] / 9.357622968840175e-14 - 1) < 1e-12  # no cancellation for negative x
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Tanh and GELU (given)
#
# `tanh` is a rescaled sigmoid, `tanh(x) = 2 sigma(2x) - 1`, with
# `tanh'(x) = 1 - tanh(x)^2`; numpy's `np.tanh` is already stable.
#
# GELU weights the input by how likely a standard normal is to be below it:
# `gelu(x) = x Phi(x)`, with derivative `Phi(x) + x phi(x)` (Phi the normal
# CDF, phi its density). The `'tanh'` variant replaces Phi with
# `0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`, as GPT-2 did; both match
# PyTorch's `F.gelu(x, approximate=...)`.
#
# The exact form needs `Phi(x) = 0.5 (1 + erf(x / sqrt(2)))`, and numpy has
# no `erf`. Calling `math.erf` once per element costs a Python call each
# (hundreds of times a ReLU). `erf` below stays in numpy: it tabulates the
# Taylor series of erf about the points 0, 0.125, ..., 6.125 -- every derivative
# of erf is a Hermite polynomial times `exp(-x^2)`, so the coefficients are
# exact -- and sums the series about the nearest point. Worked number:
# erf(0.3) from the center 0.25 with d = 0.05: 0.276326 + 1.060014 d
# - 0.265004 d^2 + ... = 0.328627, as `math.erf(0.3)`.

# %%
#| export
class TanhBackward(Function):
    """out = tanh(x);  dx = g * (1 - out^2)."""

    def forward(self, x):
        out = np.tanh(x)
        self.saved = out
        return out

    def backward(self, grad_output):
        out = self.saved
        return (grad_output * (1.0 - out * out),)


def _erf_taylor_table(step: float, last: float, terms: int) -> tuple[np.ndarray, np.ndarray]:
    """Taylor coefficients of erf about the centers 0, step, ..., last: table[n, j] = erf^(n)(c_j) / n!.

    erf'(x) = (2/sqrt(pi)) exp(-x^2), and the n-th derivative of exp(-x^2)
    is (-1)^n H_n(x) exp(-x^2) with the Hermite polynomials H_0 = 1, H_1 = 2x,
    H_{n+1} = 2x H_n - 2n H_{n-1}; so every coefficient is exact arithmetic.
    """
    centers = np.arange(0.0, last + step / 2, step)
    table = np.zeros((terms, centers.size))
    for j, c in enumerate(centers):
        scale = 2.0 / math.sqrt(math.pi) * math.exp(-c * c)
        table[0, j] = math.erf(c)
        h_previous, h, factorial = 0.0, 1.0, 1.0  # H_{n-2}, H_{n-1}, n!
        for n in range(1, terms):
            factorial *= n
            table[n, j] = scale * (-1) ** (n - 1) * h / factorial
            h_previous, h = h, 2 * c * h - 2 * (n - 1) * h_previous
    return centers, table


# Centers every 0.125 up to 6.125. Within 1/16 of a center 12 terms of the
# series give erf to 1e-16 (float64) and 6 terms to float32 precision. erfc
# = 1 - erf has the same coefficients but the first, negated; tabulating it
# separately keeps its tiny tail values (erfc(5) = 1.5e-12) accurate -- to
# 4e-11 of their size in float64, 1e-6 in float32 below 4 (7 terms) --
# instead of rounding 1 - erf(5) to nothing. One more center, 6.25, stands
# for everything beyond 6.1875, where erf is 1 and erfc below 1e-18: its
# series is the constant 1 (erf) or 0 (erfc), so no separate pass handles
# large inputs.
_ERF_STEP = 0.125
_ERF_CENTERS, _ERF_TABLE64 = _erf_taylor_table(_ERF_STEP, 6.25, 12)
_ERF_TABLE64[:, -1] = 0.0
_ERF_TABLE64[0, -1] = 1.0
_ERFC_TABLE64 = -_ERF_TABLE64
_ERFC_TABLE64[0] = [math.erfc(c) for c in _ERF_CENTERS[:-1]] + [0.0]
_TABLES = {np.dtype(np.float64): (_ERF_TABLE64, _ERFC_TABLE64),
           np.dtype(np.float32): (_ERF_TABLE64[:6].astype(np.float32), _ERFC_TABLE64[:7].astype(np.float32))}


def _taylor_sum(x: np.ndarray, erfc: bool) -> np.ndarray:
    """erf(|x|) (or erfc(|x|)) from the Taylor series about the nearest tabulated center."""
    table = _TABLES.get(x.dtype, _TABLES[np.dtype(np.float64)])[erfc]
    t = np.abs(x)
    np.minimum(t, _ERF_CENTERS[-1], out=t)  # inf becomes finite (the last center is constant); nan stays nan
    nearest = np.fmin(t * (1 / _ERF_STEP), _ERF_CENTERS.size - 1)  # fmin: nan picks the last center quietly
    index = np.rint(nearest, out=nearest).astype(np.intp)
    d = t
    d -= _ERF_CENTERS.astype(t.dtype).take(index)  # distance to the center, at most 1/16
    out = table[-1].take(index)
    for row in table[-2::-1]:
        out *= d
        out += row.take(index)
    return out


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in x's float dtype: 2/sqrt(pi) * integral_0^x exp(-t^2) dt.

    Vectorised (numpy has no erf, and calling math.erf per element is ~100
    times slower). erf is odd, so only |x| is tabulated.
    """
    return np.copysign(_taylor_sum(x, erfc=False), x)


def erfc(x: np.ndarray) -> np.ndarray:
    """1 - erf(x), elementwise, accurate also where it is tiny (x > 3)."""
    tail = _taylor_sum(x, erfc=True)
    return np.where(x < 0, 2 - tail, tail)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELUBackward(Function):
    """out = x * Phi(x) (or its tanh approximation);  dx = g * (Phi(x) + x * Phi'(x)).

    Saves x and Phi(x); the derivative is formed in ``backward``, as PyTorch does.
    """

    def forward(self, x, approximate: str = "none"):
        if x.dtype.kind != "f":
            raise TypeError(f"gelu needs a floating-point tensor, got dtype {x.dtype}")
        if approximate == "tanh":
            # 0.5 (1 + tanh(z)) = sigmoid(2z) = 1 / (1 + exp(-2z)), z = sqrt(2/pi) (x + 0.044715 x^3):
            # exp costs half of tanh, and one buffer holds every step. exp overflows to inf
            # below x = -10 (float32), where 1 / inf = 0 is the right limit: the warning is silenced.
            cdf = x * x
            cdf *= -2 * 0.044715 * _SQRT_2_OVER_PI
            cdf -= 2 * _SQRT_2_OVER_PI
            cdf *= x  # -2z
            with np.errstate(over="ignore"):
                np.exp(cdf, out=cdf)
            cdf += 1.0
            np.reciprocal(cdf, out=cdf)
        elif approximate == "none":
            cdf = 0.5 * erfc(x * (-1 / math.sqrt(2.0)))  # = 0.5 (1 + erf(x / sqrt 2)), exact in the left tail
        else:
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.saved = (x, cdf, approximate)
        return x * cdf

    def backward(self, grad_output):
        x, cdf, approximate = self.saved
        slope = x * x  # one buffer, every step in place
        if approximate == "tanh":
            # d(cdf)/dx = 2 cdf (1 - cdf) dz/dx with dz/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2),
            # so Phi + x Phi' = cdf * (1 + 2 x dz/dx (1 - cdf)).
            slope *= 6 * 0.044715 * _SQRT_2_OVER_PI
            slope += 2 * _SQRT_2_OVER_PI
            slope *= x
            slope *= 1.0 - cdf
            slope += 1.0
            slope *= cdf
        else:
            # Phi + x phi with phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
            slope *= -0.5
            np.exp(slope, out=slope)
            slope *= x
            slope *= 1 / math.sqrt(2.0 * math.pi)
            slope += cdf
        slope *= grad_output
        return (slope,)


# %% [markdown]
# ## 4. Softmax
#
# $$\mathrm{softmax}(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}} = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \quad m = \max_j x_j$$
#
# Subtracting the maximum changes nothing mathematically (it cancels) and
# everything numerically: the largest exponent becomes `e^0 = 1`, so nothing
# overflows and the sum is at least 1. Worked example: `x = [1000, 1001]`
# naively gives `inf / inf = nan`; shifted, `[e^-1, e^0] / (e^-1 + 1) =
# [0.2689, 0.7311]`.
#
# Backward: the Jacobian is `J = diag(s) - s s^T`. We never build it (C x C
# per row); its product with `g` is
#
# $$J^T g = s \odot (g - \langle g, s\rangle)$$

# %% nbgrader={"grade": false, "grade_id": "softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class SoftmaxBackward(Function):
    """out = softmax(x, axis);  dx = out * (g - sum(g * out, axis))."""

    def forward(self, x: np.ndarray, axis: int = -1) -> np.ndarray:
        # TODO (task 2.3): subtract the max along axis, exponentiate,
        # normalise; save the output and the axis.
        ### BEGIN SOLUTION
        shifted = np.exp(x - x.max(axis=axis, keepdims=True))
        out = shifted / shifted.sum(axis=axis, keepdims=True)
        self.saved = (out, axis)
        return out
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        # TODO (task 2.3): the Jacobian-vector product above.
        ### BEGIN SOLUTION
        out, axis = self.saved
        return (out * (grad_output - (grad_output * out).sum(axis=axis, keepdims=True)),)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_node = SoftmaxBackward()
_s = _node.forward(np.array([[1000.0, 1001.0]]))
assert np.allclose(_s, [[0.26894142, 0.73105858]])
(_g,) = _node.backward(np.array([[1.0, 1.0]]))
assert np.allclose(_g, 0.0)  # softmax sums to 1: a uniform push changes nothing
### BEGIN HIDDEN TESTS
_node = SoftmaxBackward()
_s = _node.forward(np.array([[0.0, 1.0, 2.0]]), axis=-1)
(_g,) = _node.backward(np.array([[1.0, 0.0, 0.0]]))
_expected = _s[0, 0] * (np.eye(3)[0] - _s[0])
assert np.allclose(_g[0], _expected)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Functions and layer-style classes
#
# The lowercase functions are what losses and layers call; the classes are
# what you put in a `Sequential`.

# %%
#| export
def relu(x: Tensor) -> Tensor:
    """max(0, x), elementwise."""
    return ReLUBackward.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), elementwise, stable for any x."""
    return SigmoidBackward.apply(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent, elementwise."""
    return TanhBackward.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x); ``approximate='tanh'`` for the tanh form."""
    return GELUBackward.apply(x, approximate=approximate)


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (numpy's ``axis`` is an alias), computed after subtracting the max."""
    dim = dim if axis is None else axis
    return SoftmaxBackward.apply(x, axis=_one_dim(dim, x.ndim))


class Activation:
    """Base of the callable activation classes: no parameters, call = forward."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def parameters(self) -> list[Tensor]:
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(Activation):
    def forward(self, x: Tensor) -> Tensor:
        return relu(x)


class Sigmoid(Activation):
    def forward(self, x: Tensor) -> Tensor:
        return sigmoid(x)


class Tanh(Activation):
    def forward(self, x: Tensor) -> Tensor:
        return tanh(x)


class GELU(Activation):
    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return gelu(x, self.approximate)


class Softmax(Activation):
    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return softmax(x, dim=self.dim)


# %% [markdown]
# ## A picture
#
# The four elementwise activations and their derivatives on [-4, 4]:

# %%
import matplotlib.pyplot as plt

_xs = np.linspace(-4, 4, 201)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for name, fn in [("relu", relu), ("sigmoid", sigmoid), ("tanh", tanh), ("gelu", gelu)]:
    _t = Tensor(_xs, requires_grad=True)
    _y = fn(_t)
    _y.backward(np.ones_like(_xs))
    axes[0].plot(_xs, _y.data, label=name)
    axes[1].plot(_xs, _t.grad.data, label=name)
axes[0].set_title("activation")
axes[1].set_title("derivative")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Systems view
#
# Each activation saves one array the size of its input. ReLU, sigmoid and
# tanh save their *output*: the derivative is cheapest in terms of it, and
# in a network the output is kept alive anyway, because the next layer saves
# it as its input. Saving ReLU's output therefore costs no memory at all,
# where a separate mask `x > 0` would be one more buffer per layer -- and
# `np.maximum(x, 0)` is one pass over `x`, where `x * (x > 0)` is two.
