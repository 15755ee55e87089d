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
# # Module 01 -- Tensor
#
# A tensor is an n-dimensional array of numbers plus a memory of where it
# came from. The numbers live in a numpy array, `t.data`. The memory is a
# graph node, `t.grad_fn`: for every operation on a tensor that requires a
# gradient, we record *which* operation produced the result and *which*
# tensors went in. Module 05 walks that record backwards to compute
# gradients; this module builds the record.
#
# You will build:
#
# | task | what | graded |
# |------|------|--------|
# | 1.1 | `as_array`: the dtype rules for turning Python data into arrays | 2 pts |
# | 1.2 | `MulBackward`: forward `a * b`, backward the product rule | 3 pts |
# | 1.3 | `MatmulBackward`: forward `a @ b`, backward two matrix products | 3 pts |
# | 1.4 | `SumBackward`: forward `sum(axis)`, backward spreads the gradient | 3 pts |
#
# Run a task's tests in the package with `pytest -m task_1_2`.

# %%
#| export
from __future__ import annotations

import itertools
from typing import Any, NamedTuple, Sequence

import numpy as np

# %% [markdown]
# ## 1. From Python data to arrays
#
# Deep learning runs in 32-bit floats: half the memory of float64 and twice
# the arithmetic per cycle. So a Python list or number becomes `float32`.
# Two exceptions keep their dtype:
#
# * a **float64 numpy array** stays float64, so that `gradcheck` (module 05)
#   can compare against finite differences at full precision;
# * an **integer numpy array** stays integer: class labels are indices, not
#   quantities.
#
# | input | dtype |
# |-------|-------|
# | `[1, 2, 3]` | float32 |
# | `2.5` | float32 |
# | `np.array([1.0, 2.0])` (float64) | float64 |
# | `np.array([0, 3, 1])` (int64) | int64 |

# %% nbgrader={"grade": false, "grade_id": "as_array", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to a numpy array following the dtype rules above.

    ``dtype``, when given, wins. Objects that are
    not numbers (strings, ragged lists) raise ``TypeError`` naming what came in.
    """
    # TODO (task 1.1): numpy arrays and numpy scalars keep their dtype,
    # everything else becomes float32; then reject non-numeric results.
    ### BEGIN SOLUTION
    if dtype is not None:
        array = np.asarray(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data, dtype=np.float32)
        except (TypeError, ValueError) as error:
            raise TypeError(f"cannot make a Tensor from {type(data).__name__} {data!r:.60}: {error}") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a Tensor from an array of dtype {array.dtype}; expected numbers")
    return array
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_as_array", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert as_array([1, 2, 3]).dtype == np.float32
assert as_array(2.5).dtype == np.float32 and as_array(2.5).shape == ()
assert as_array(np.array([1.0, 2.0])).dtype == np.float64
assert as_array(np.array([0, 3, 1])).dtype.kind == "i"
assert as_array([1, 2], dtype=np.float64).dtype == np.float64
### BEGIN HIDDEN TESTS
try:
    as_array(["a", "b"])
except TypeError:
    pass
else:
    raise AssertionError("strings must raise TypeError")
assert as_array(np.float64(3.0)).dtype == np.float64
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Recording operations: `Function`
#
# Every operation is a small class with two methods side by side:
#
# * `forward(*arrays)` computes the result on plain numpy arrays and keeps in
#   `self.saved` exactly what the backward rule will need;
# * `backward(grad_output)` receives dL/d(output) and returns dL/d(input),
#   one array per input (or `None` for an input that needs no gradient).
#
# `Function.apply(*tensors)` runs `forward`, wraps the result in a `Tensor`
# and -- only if some input requires a gradient -- stores the node in
# `result.grad_fn`. Nothing else is ever needed to "turn autograd on": the
# graph exists because an input asked for gradients.
#
# ```
#   x (leaf, requires_grad)    w (leaf, requires_grad)
#            \                   /
#             MatmulBackward  (saved: x, w)
#                     |
#                 y = x @ w      y.grad_fn is the MatmulBackward node
# ```
#
# A backward rule returns gradients with the shape of the *output*
# when the op broadcast its inputs; undoing the broadcast (summing over the
# broadcast axes) is done once, by the engine in module 05, not by each rule.
#
# Every recorded node also gets a `sequence_nr`: 0 for the first node ever
# recorded, then 1, 2, ... A node's inputs always exist before the node, so
# their numbers are smaller. Module 05's engine relies on that to order the
# backward pass without sorting the graph (PyTorch numbers its nodes the
# same way).
#
# Gradient mode: inside `no_grad()` (module 05) no node is recorded. The
# switch it flips lives here because `apply` is where recording happens.

# %%
#| export
_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad()`` block."""
    return _grad_enabled


def set_grad_enabled(mode: bool) -> None:
    """Turn graph recording on or off (``no_grad`` in module 05 uses this)."""
    global _grad_enabled
    _grad_enabled = bool(mode)


_sequence_numbers = itertools.count()  # 0, 1, 2, ...: the order in which nodes are recorded


class Function:
    """A graph node: one operation's forward rule and its backward rule.

    Subclasses implement ``forward(*arrays, **options) -> array`` and
    ``backward(grad_output) -> tuple`` (one gradient per input, ``None`` for
    an input that needs none). ``saved`` holds what backward needs; the engine
    sets it to ``None`` after use so the buffers are freed.
    """

    # Class-level defaults instead of an __init__: a node is created for every
    # operation, and skipping the constructor call is measurably faster.
    inputs: tuple[Tensor, ...] = ()
    saved: Any = ()
    needs_input_grad: tuple[bool, ...] = ()
    sequence_nr: int = -1  # set when the node is recorded

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_output: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        """Run the forward rule on ``inputs`` and record the node if a gradient is needed."""
        node = cls()
        data = node.forward(*[t.data for t in inputs], **options)
        if type(data) is not np.ndarray:  # numpy reductions return scalars
            data = np.asarray(data)
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in inputs])
            if True in needs:
                node.inputs = inputs
                node.needs_input_grad = needs
                node.sequence_nr = next(_sequence_numbers)
                return Tensor._wrap(data, node)
        return Tensor._wrap(data)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


# %% [markdown]
# ## 3. The primitive operations
#
# Few primitives carry gradient rules; everything else is built from them:
# `a - b` is `a + (-b)`, `a / b` is `a * b**-1`, `mean` is `sum / n`,
# `sqrt` is `** 0.5`. Fewer rules, fewer places for a bug.
#
# | op | forward | backward (given g = dL/d out) |
# |----|---------|-------------------------------|
# | add | a + b | g, g |
# | mul | a * b | g * b, g * a |
# | neg | -a | -g |
# | pow | a ** p | g * p * a ** (p - 1) |
# | exp | e ** a | g * out |
# | log | ln a | g / a |
# | matmul | a @ b | g @ b.T, a.T @ g |
# | sum | sum over dims | g broadcast back to a's shape |
#
# Worked example of the product rule: `a = 3, b = 4, out = a * b = 12`. If
# `L = 2 * out`, then `g = dL/d out = 2`, `dL/da = g * b = 8`,
# `dL/db = g * a = 6`.

# %%
#| export
class AddBackward(Function):
    """out = a + b;  da = g, db = g (the engine sums over broadcast axes)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def backward(self, grad_output):
        return grad_output, grad_output


class NegBackward(Function):
    """out = -a;  da = -g."""

    def forward(self, a):
        return -a

    def backward(self, grad_output):
        return (-grad_output,)


# %% nbgrader={"grade": false, "grade_id": "mul_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MulBackward(Function):
    """out = a * b (elementwise, broadcasting);  da = g * b, db = g * a."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # TODO (task 1.2): save what backward needs, return the product.
        ### BEGIN SOLUTION
        self.saved = (a, b)
        return a * b
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        # TODO (task 1.2): return (dL/da, dL/db); skip an input whose
        # self.needs_input_grad entry is False by returning None for it.
        ### BEGIN SOLUTION
        a, b = self.saved
        needs_a, needs_b = self.needs_input_grad
        return (grad_output * b if needs_a else None,
                grad_output * a if needs_b else None)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mul_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_node = MulBackward()
_node.needs_input_grad = (True, True)
assert _node.forward(np.array(3.0), np.array(4.0)) == 12.0
_da, _db = _node.backward(np.array(2.0))
assert _da == 8.0 and _db == 6.0, (_da, _db)
### BEGIN HIDDEN TESTS
_node = MulBackward()
_node.needs_input_grad = (True, False)
_node.forward(np.ones((2, 3)), np.arange(3.0))
_da, _db = _node.backward(np.full((2, 3), 2.0))
assert _db is None and np.allclose(_da, [[0, 2, 4], [0, 2, 4]])
### END HIDDEN TESTS

# %%
#| export
class PowBackward(Function):
    """out = a ** p for a number p;  da = g * p * a ** (p - 1)."""

    def forward(self, a, exponent: float):
        self.saved = (a, exponent)
        return a ** exponent

    def backward(self, grad_output):
        a, exponent = self.saved
        return (grad_output * exponent * a ** (exponent - 1),)


class ExpBackward(Function):
    """out = exp(a);  da = g * out (the output is saved, not recomputed)."""

    def forward(self, a):
        out = np.exp(a)
        self.saved = out
        return out

    def backward(self, grad_output):
        return (grad_output * self.saved,)


class LogBackward(Function):
    """out = ln(a);  da = g / a."""

    def forward(self, a):
        self.saved = a
        return np.log(a)

    def backward(self, grad_output):
        return (grad_output / self.saved,)


class AbsBackward(Function):
    """out = |a|;  da = g * sign(a) (0 at a = 0, as in PyTorch)."""

    def forward(self, a):
        self.saved = a
        return np.abs(a)

    def backward(self, grad_output):
        return (grad_output * np.sign(self.saved),)


class ClipBackward(Function):
    """out = min(max(a, low), high);  da = g where low <= a <= high, else 0."""

    def forward(self, a, low=None, high=None):
        self.saved = (a, low, high)
        return np.clip(a, low, high)

    def backward(self, grad_output):
        a, low, high = self.saved
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        return (grad_output * inside,)


class WhereBackward(Function):
    """out = condition ? a : b;  da = g where condition, db = g elsewhere."""

    def forward(self, a, b, condition=None):
        self.saved = condition
        return np.where(condition, a, b)

    def backward(self, grad_output):
        condition = self.saved
        needs_a, needs_b = self.needs_input_grad
        return (np.where(condition, grad_output, 0) if needs_a else None,
                np.where(condition, 0, grad_output) if needs_b else None)


# %% [markdown]
# ## 4. Matrix multiplication
#
# For `out = a @ b` with `a: (n, k)` and `b: (k, m)`, each output element is
# `out[i, j] = sum_k a[i, k] b[k, j]`. Differentiating:
#
# * `dL/da = g @ b.T` -- shape `(n, m) @ (m, k) = (n, k)`, the shape of `a`;
# * `dL/db = a.T @ g` -- shape `(k, n) @ (n, m) = (k, m)`, the shape of `b`.
#
# A shape check is the quickest way to remember which side the transpose
# goes on. Batched inputs `(..., n, k) @ (..., k, m)` use `swapaxes(-1, -2)`
# for the transpose; a 1-D operand is treated as a row (left) or a column
# (right) vector, as numpy does.
#
# Cost: forward `2nkm` flops, backward twice that. Skipping the gradient of
# an input that does not need one (the data batch `x` of the first layer)
# saves a third of the work of that layer.

# %% nbgrader={"grade": false, "grade_id": "matmul_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class MatmulBackward(Function):
    """out = a @ b;  da = g @ b^T, db = a^T @ g (1-D operands as numpy treats them)."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs operands with at least 1 dimension, got shapes {a.shape} and {b.shape}")
        inner_a = a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} "
                             f"(inner dimensions {inner_a} and {inner_b} differ)")
        # TODO (task 1.3): save the operands and return a @ b.
        ### BEGIN SOLUTION
        self.saved = (a, b)
        return a @ b
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        a, b = self.saved
        needs_a, needs_b = self.needs_input_grad
        # 1-D operands: lift to matrices so one formula serves every case.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad_output
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        # TODO (task 1.3): grad_a = g @ b2^T and grad_b = a2^T @ g, using
        # swapaxes(-1, -2) for the transpose; None where not needed.
        ### BEGIN SOLUTION
        grad_a = g @ b2.swapaxes(-1, -2) if needs_a else None
        grad_b = a2.swapaxes(-1, -2) @ g if needs_b else None
        ### END SOLUTION
        if grad_a is not None and a.ndim == 1:
            grad_a = grad_a.reshape(-1, a.shape[0]).sum(axis=0)
        if grad_b is not None and b.ndim == 1:
            grad_b = grad_b.reshape(-1, b.shape[0]).sum(axis=0)
        return grad_a, grad_b


# %% nbgrader={"grade": true, "grade_id": "test_matmul_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_a = np.arange(6.0).reshape(2, 3)
_b = np.arange(12.0).reshape(3, 4)
_node = MatmulBackward()
_node.needs_input_grad = (True, True)
assert np.allclose(_node.forward(_a, _b), _a @ _b)
_ga, _gb = _node.backward(np.ones((2, 4)))
assert _ga.shape == (2, 3) and _gb.shape == (3, 4)
assert np.allclose(_ga, np.ones((2, 4)) @ _b.T) and np.allclose(_gb, _a.T @ np.ones((2, 4)))
### BEGIN HIDDEN TESTS
_node = MatmulBackward()
_node.needs_input_grad = (False, True)
_node.forward(_a, _b)
_ga, _gb = _node.backward(np.ones((2, 4)))
assert _ga is None and _gb.shape == (3, 4)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Reductions and shape operations
#
# `sum(axis)` collapses axes; its backward puts the gradient back on every
# element that was summed: `dL/da[i, j] = g[i]` for a sum over `j`. With
# `keepdims=False` the summed axes are gone from `g`, so we first re-insert
# them (`np.expand_dims`) and then broadcast to `a`'s shape.
#
# `max(axis)` sends the gradient to the element(s) that were the maximum;
# ties share it equally (PyTorch's `amax` rule), so the gradient still sums
# to `g`.
#
# Reductions take PyTorch's arguments, `sum(dim, keepdim)`; numpy's names
# `axis`/`keepdims` are accepted as aliases (PyTorch accepts them too).
# `dim=None` or `()` reduces everything; a repeated or non-integer dim is an
# error. `max(dim)` returns the pair `(values, indices)`, and its gradient
# goes to the one element at `indices` (it is a `gather`, below); `amax(dim)`
# is the plain reduction with the shared-ties rule; `max(other)` is the
# elementwise maximum. The mean of no elements is NaN, as in PyTorch.
#
# `reshape`, `permute`, `gather` and indexing move numbers without changing
# them: their backward moves the gradient back the same way. `permute(dims)`
# reorders all dimensions; `transpose(d0, d1)` swaps two (both PyTorch's
# meaning: `transpose(0, 1)` of a matrix is its transpose); `view`,
# `unsqueeze`, `squeeze` and `flatten` are reshapes. Indexing or gathering
# with an integer array may pick one element twice (`x[[0, 0]]`):
# `np.add.at` adds both contributions instead of keeping only the last.

# %% nbgrader={"grade": false, "grade_id": "sum_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _one_dim(dim: Any, ndim: int) -> int:
    """One dimension as a non-negative int (a 0-d tensor accepts 0 and -1, as in PyTorch).

    TypeError for a dim that is not an int, IndexError for one out of range.
    """
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {dim!r} ({type(dim).__name__})")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"dim {dim} is out of range for a tensor with {ndim} dimensions "
                         f"(expected a value in [{-n}, {n - 1}])")
    return int(dim) % n


def _normalize_axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """The reduced axes as non-negative ints. ``None`` or ``()`` means all of them (PyTorch's rule).

    TypeError for a non-integer axis, IndexError for one out of range,
    ValueError for one named twice. A 0-d tensor has no axes to reduce: ().
    """
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = tuple(_one_dim(ax, ndim) for ax in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"dim {axis!r} names the same dimension twice (tensor with {ndim} dimensions)")
    if ndim == 0 or not out:
        return tuple(range(ndim))
    return out


class SumBackward(Function):
    """out = a.sum(axis, keepdims);  da = g broadcast back to a.shape."""

    def forward(self, a: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
        axes = _normalize_axes(axis, a.ndim)
        self.saved = (a.shape, axes, keepdims)
        return a.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad_output: np.ndarray):
        shape, axes, keepdims = self.saved
        # TODO (task 1.4): re-insert the reduced axes when keepdims is False,
        # then broadcast to `shape` (np.broadcast_to gives a read-only view).
        ### BEGIN SOLUTION
        if not keepdims:
            grad_output = np.expand_dims(grad_output, axes)
        return (np.broadcast_to(grad_output, shape),)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sum_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_node = SumBackward()
assert np.allclose(_node.forward(np.ones((2, 3)), axis=1), [3.0, 3.0])
(_ga,) = _node.backward(np.array([1.0, 2.0]))
assert _ga.shape == (2, 3) and np.allclose(_ga, [[1, 1, 1], [2, 2, 2]])
### BEGIN HIDDEN TESTS
_node = SumBackward()
_node.forward(np.ones((2, 3, 4)), axis=(0, 2), keepdims=True)
(_ga,) = _node.backward(np.full((1, 3, 1), 5.0))
assert _ga.shape == (2, 3, 4) and np.allclose(_ga, 5.0)
_node = SumBackward()
_node.forward(np.ones((2, 3)))
(_ga,) = _node.backward(np.array(1.5))
assert _ga.shape == (2, 3) and np.allclose(_ga, 1.5)
### END HIDDEN TESTS

# %%
#| export
class MaxBackward(Function):
    """out = a.max(axis, keepdims);  da = g on the maxima, shared equally among ties.

    Over the whole tensor (``axis=None``, PyTorch's ``max()``) NaN is the
    maximum and the NaN elements share the gradient; over given axes
    (PyTorch's ``amax``) a row holding NaN gets a NaN gradient, as in PyTorch.
    """

    def forward(self, a, axis=None, keepdims=False):
        axes = _normalize_axes(axis, a.ndim)
        if a.size == 0:
            raise ValueError(f"max of an empty tensor of shape {a.shape}")
        out = a.max(axis=axes, keepdims=True)
        self.saved = (a, out, axes, keepdims, axis is None)
        return out if keepdims else np.squeeze(out, axis=axes)

    def backward(self, grad_output):
        a, out, axes, keepdims, whole = self.saved
        if not keepdims:
            grad_output = np.expand_dims(grad_output, axes)
        is_max = a == out
        if whole and np.isnan(out).any():
            is_max = np.isnan(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # a NaN row of amax: NaN, as in PyTorch
            return (is_max * (grad_output / is_max.sum(axis=axes, keepdims=True)),)


class ReshapeBackward(Function):
    """out = a.reshape(shape);  da = g.reshape(a.shape)."""

    def forward(self, a, shape=()):
        self.saved = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {tuple(shape)}") from None

    def backward(self, grad_output):
        return (grad_output.reshape(self.saved),)


class TransposeBackward(Function):
    """out = a.permute(dims);  da = g.permute(inverse permutation)."""

    def forward(self, a, axes=()):
        axes = _normalize_axes(axes, a.ndim)
        if len(axes) != a.ndim:
            raise ValueError(f"permute needs all {a.ndim} dims of shape {a.shape} in some order, got {axes}")
        self.saved = axes
        return a.transpose(axes)

    def backward(self, grad_output):
        return (grad_output.transpose(np.argsort(self.saved)),)


class GatherBackward(Function):
    """out[i][j] = a[i][index[i][j]] along ``dim`` (torch.gather);  da = g added back at index."""

    def forward(self, a, index=None, dim=0):
        if index.ndim != a.ndim or index.dtype.kind not in "iu":
            raise ValueError(f"gather needs an integer index with {a.ndim} dimensions like the input, "
                             f"got dtype {index.dtype} and shape {index.shape}")
        if index.size and not (0 <= index.min() and index.max() < a.shape[dim]):
            raise IndexError(f"gather index out of range [0, {a.shape[dim]}) along dim {dim}: "
                             f"min {index.min()}, max {index.max()}")
        if any(n > m for d, (n, m) in enumerate(zip(index.shape, a.shape)) if d != dim):
            raise ValueError(f"gather index of shape {index.shape} is larger than the input {a.shape} "
                             f"outside dim {dim}")
        self.saved = (a.shape, index, dim)
        # PyTorch reads only the first index.shape[d] entries of the other dims
        a = a[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))]
        return np.take_along_axis(a, index, axis=dim)

    def backward(self, grad_output):
        shape, index, dim = self.saved
        grad = np.zeros(shape, dtype=grad_output.dtype)
        where = list(np.indices(index.shape, sparse=True))
        where[dim] = index
        np.add.at(grad, tuple(where), grad_output)  # an index named twice gets both gradients
        return (grad,)


def _has_array_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class GetItemBackward(Function):
    """out = a[index];  da = zeros with g added at index (repeats add up)."""

    def forward(self, a, index=None):
        self.saved = (a.shape, a.dtype, index)
        try:
            return a[index]
        except IndexError as error:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {a.shape}: {error}") from None

    def backward(self, grad_output):
        shape, dtype, index = self.saved
        grad = np.zeros(shape, dtype=grad_output.dtype)
        if _has_array_index(index):
            np.add.at(grad, index, grad_output)
        else:  # basic indexing never repeats an element
            grad[index] = grad_output
        return (grad,)


# %% [markdown]
# ## 6. The Tensor class
#
# `Tensor` is a thin front: each operator calls the node class that
# implements it, so the answer to "what does `+` do?" is one jump away
# (`AddBackward`). Numbers on either side are fine: `2 * x` calls
# `x.__rmul__(2)`, and a numpy array on the left defers to the tensor because
# `__array_ufunc__ = None`.
#
# A Python number keeps the tensor's dtype (`x_float32 * 0.5` stays
# float32); numpy arrays are wrapped as constants with their own dtype, as in
# PyTorch.

# %%
#| export
class Tensor:
    """An n-dimensional array with an optional gradient and the node that produced it.

    ``data`` is a numpy array; ``grad`` is ``None`` or a Tensor of the same
    shape; ``grad_fn`` is the ``Function`` node that produced this tensor
    (``None`` for leaves and constants).
    """

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = as_array(data.data if isinstance(data, Tensor) else data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients; got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None

    @classmethod
    def _wrap(cls, data: np.ndarray, grad_fn: Function | None = None) -> Tensor:
        """A result tensor around an array we just computed (no conversion, no copy)."""
        out = cls.__new__(cls)
        out.data = data
        out.requires_grad = grad_fn is not None
        out.grad = None
        out.grad_fn = grad_fn
        return out

    # ---- what a tensor is ------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (PyTorch's ``size()`` is a method), or the length of one dim."""
        if dim is None:
            return self.data.shape
        if self.data.ndim == 0:
            raise IndexError(f"size({dim}) of a 0-d tensor: it has no dimensions")
        return self.data.shape[_one_dim(dim, self.data.ndim)]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        """The number of dimensions (same as ``ndim``)."""
        return self.data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float | int:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="Tensor(")
        extra = ""
        if self.grad_fn is not None:
            extra = f", grad_fn=<{type(self.grad_fn).__name__}>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        if self.data.dtype != np.float32:
            extra = f", dtype={self.data.dtype}" + extra
        return f"Tensor({body}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    __hash__ = object.__hash__

    # ---- gradients ---------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (module 05's engine)."""
        # Imported here, not at the top: importing module 01 must not need
        # module 05, and calling backward is the first time we do.
        from tinytorch.core.autograd import backward

        backward(self, gradient, retain_graph=retain_graph)

    def zero_grad(self) -> None:
        self.grad = None

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._wrap(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients; got dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    # ---- arithmetic ----------------------------------------------------
    def _operand(self, other: Any) -> Tensor:
        """``other`` as a Tensor; a Python number takes this tensor's float dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and self.data.dtype.kind == "f":
            return Tensor._wrap(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    def __add__(self, other: Any) -> Tensor:
        return AddBackward.apply(self, self._operand(other))

    def __radd__(self, other: Any) -> Tensor:
        return AddBackward.apply(self._operand(other), self)

    def __neg__(self) -> Tensor:
        return NegBackward.apply(self)

    def __sub__(self, other: Any) -> Tensor:
        return self + (-self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return self._operand(other) + (-self)

    def __mul__(self, other: Any) -> Tensor:
        return MulBackward.apply(self, self._operand(other))

    def __rmul__(self, other: Any) -> Tensor:
        return MulBackward.apply(self._operand(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return self * self._operand(other) ** -1

    def __rtruediv__(self, other: Any) -> Tensor:
        return self._operand(other) * self ** -1

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, Tensor) or not np.isscalar(exponent):
            raise TypeError(f"Tensor ** takes a number exponent, got {type(exponent).__name__}")
        return PowBackward.apply(self, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        # base ** x = exp(x * ln(base)): no new rule needed.
        return (self * float(np.log(base))).exp()

    def __matmul__(self, other: Any) -> Tensor:
        return MatmulBackward.apply(self, self._operand(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatmulBackward.apply(self._operand(other), self)

    # ---- comparisons: no gradient, boolean result -------------------------
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._wrap(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor._wrap(self.data != _raw(other))

    def __lt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data < _raw(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data > _raw(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor._wrap(self.data >= _raw(other))

    # ---- elementwise functions ---------------------------------------------
    def exp(self) -> Tensor:
        return ExpBackward.apply(self)

    def log(self) -> Tensor:
        return LogBackward.apply(self)

    def sqrt(self) -> Tensor:
        return self ** 0.5

    def abs(self) -> Tensor:
        return AbsBackward.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        if min is None and max is None:
            raise ValueError("clip needs at least one of min and max")
        return ClipBackward.apply(self, low=min, high=max)

    # ---- reductions: PyTorch's dim/keepdim; numpy's axis/keepdims are aliases ----
    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
            axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        return SumBackward.apply(self, axis=dim, keepdims=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False, *,
             axis: int | Sequence[int] | None = None, keepdims: bool | None = None) -> Tensor:
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        if self.dtype.kind != "f":
            raise TypeError(f"mean() needs a floating-point tensor, got dtype {self.dtype}; call .float() first")
        axes = _normalize_axes(dim, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        # the mean of no numbers is NaN (PyTorch), not a ZeroDivisionError
        return self.sum(axes, keepdim) * (1.0 / count if count else float("nan"))

    def max(self, dim: Any = None, keepdim: bool = False, *,
            axis: int | None = None, keepdims: bool | None = None) -> Any:
        """``max()``: the largest element; ``max(dim)``: ``(values, indices)`` along dim;
        ``max(other)``: the elementwise maximum (torch.maximum). ``amax`` reduces several dims."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return MaxBackward.apply(self)
        return _extreme(self, dim, keepdim, largest=True)

    def min(self, dim: Any = None, keepdim: bool = False, *,
            axis: int | None = None, keepdims: bool | None = None) -> Any:
        """Like ``max``, for the smallest elements."""
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return -((-self).max())
        return _extreme(self, dim, keepdim, largest=False)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """The maximum over ``dim`` (one or several); ties share the gradient."""
        return MaxBackward.apply(self, axis=_normalize_axes(dim, self.ndim), keepdims=keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return -((-self).amax(dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        """Index (int64) of the largest element along ``dim``, or in the flattened tensor without one."""
        return _arg_extreme(self, *_dim_args(dim, keepdim, axis, None), largest=True)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
        return _arg_extreme(self, *_dim_args(dim, keepdim, axis, None), largest=False)

    # ---- shapes --------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return ReshapeBackward.apply(self, shape=shape)

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """PyTorch's name for a reshape that shares memory (numpy shares it whenever it can)."""
        return self.reshape(*shape)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new dimension of size 1 at ``dim`` (a reshape)."""
        d = _one_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        """Drop dimensions of size 1 (all of them, or those in ``dim`` that have size 1)."""
        dims = _normalize_axes(dim, self.ndim)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dims ``start_dim..end_dim`` (inclusive) into one (a reshape)."""
        start, end = _one_dim(start_dim, self.ndim), _one_dim(end_dim, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions (``permute`` reorders all of them)."""
        order = list(range(max(self.ndim, 1)))
        a, b = _one_dim(dim0, self.ndim), _one_dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return TransposeBackward.apply(self, axes=tuple(order[:self.ndim]))

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """The dimensions in the order ``dims``: ``out.shape[i] = self.shape[dims[i]]``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return TransposeBackward.apply(self, axes=dims)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the matrix transpose for a 2-D tensor)."""
        return TransposeBackward.apply(self, axes=tuple(reversed(range(self.ndim))))

    def gather(self, dim: int, index: Any) -> Tensor:
        """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (torch.gather); differentiable in self."""
        return GatherBackward.apply(self, index=_raw(index), dim=_one_dim(dim, self.ndim))

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return GetItemBackward.apply(self, index=index)


def _raw(value: Any) -> np.ndarray:
    """The array behind a Tensor, or ``value`` converted by ``as_array``."""
    return value.data if isinstance(value, Tensor) else as_array(value)


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as PyTorch's ``torch.return_types.max`` does."""

    values: Tensor
    indices: Tensor


def _dim_args(dim: Any, keepdim: bool, axis: Any, keepdims: bool | None) -> tuple[Any, bool]:
    """PyTorch's ``dim``/``keepdim``, or numpy's ``axis``/``keepdims`` aliases (not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"got both dim={dim!r} and its alias axis={axis!r}; pass one")
        dim = axis
    return dim, bool(keepdim if keepdims is None else keepdims)


def _arg_extreme(t: Tensor, dim: int | None, keepdim: bool, largest: bool) -> Tensor:
    """argmax/argmin: the first NaN, else the first of tied extremes (PyTorch's choice); int64."""
    data = t.data.reshape(-1) if dim is None else t.data
    d = 0 if dim is None else _one_dim(dim, t.ndim)
    if data.ndim == 0:
        return Tensor._wrap(np.zeros((), dtype=np.int64))
    if data.shape[d] == 0:
        raise ValueError(f"{'argmax' if largest else 'argmin'} over an empty dim (shape {t.shape}, dim {dim})")
    index = (data.argmax if largest else data.argmin)(axis=d, keepdims=keepdim and dim is not None)
    return Tensor._wrap(np.asarray(index, dtype=np.int64))


def _extreme(t: Tensor, dim: Any, keepdim: bool, largest: bool) -> ValuesIndices:
    """(values, indices) of the max (or min) along one dim; the gradient goes to the index (gather)."""
    index = _arg_extreme(t, dim, True, largest)
    d = _one_dim(dim, t.ndim)
    values = t.gather(d, index) if t.ndim else t.reshape(())
    if not keepdim and t.ndim:
        values, index = values.squeeze(d), index.squeeze(d)
    return ValuesIndices(values, index)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum; a tie splits the gradient in half and NaN wins, as in torch.maximum."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return Tensor._wrap(np.maximum(a.data, b.data))
    return where(a > b, a, where(a < b, b, (a + b) * 0.5))


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum (see ``maximum``)."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    return -maximum(-a, -b)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise ``x`` where ``condition`` holds, else ``y`` (differentiable in x and y)."""
    condition = _raw(condition).astype(bool)
    x = x if isinstance(x, Tensor) else Tensor(x)
    y = y if isinstance(y, Tensor) else Tensor(y)
    return WhereBackward.apply(x, y, condition=condition)


# %% [markdown]
# ## 7. Putting it together
#
# Every operation on a tensor that requires grad records its node. Look at
# the graph of a tiny expression:

# %%
x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
w = Tensor([[0.5], [-1.0]], requires_grad=True)
y = (x @ w + 1.0).sum()
print(y)
print("y.grad_fn           :", y.grad_fn)
print("its input's grad_fn :", y.grad_fn.inputs[0].grad_fn)

# %% nbgrader={"grade": true, "grade_id": "test_tensor_ops", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
assert isinstance((_x * 2).grad_fn, MulBackward)
assert isinstance((2 * _x).grad_fn, MulBackward)
assert isinstance((_x @ _x).grad_fn, MatmulBackward)
assert isinstance(_x.sum().grad_fn, SumBackward)
assert (_x * 2).dtype == np.float32
assert Tensor([1.0, 2.0]).grad_fn is None  # no input requires grad: no node
assert np.allclose(((_x - 1) / 2).data, [0.0, 0.5, 1.0])

# %% [markdown]
# ## Systems view
#
# * Memory: a node keeps references to what its backward needs
#   (`MulBackward` keeps both operands; `AddBackward` keeps nothing). The
#   graph of a forward pass therefore holds every activation until
#   `backward()` frees it -- this is why training uses more memory than
#   inference, and why `no_grad()` exists.
# * Time: building a node costs a few microseconds of Python. For a
#   (256, 1024) matmul that is noise; for a (2, 2) add it is most of the
#   time. Keeping ops coarse (one node per matmul, one for a whole
#   cross-entropy) is how a numpy framework stays fast.
