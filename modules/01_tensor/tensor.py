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
from typing import Any, Sequence

import numpy as np

from tinytorch.tensor_api import TensorAPI, along, extreme, maximum

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

    ``dtype``, when given, wins. Objects that are not numbers (None, strings,
    bytes, ragged lists) raise ``TypeError`` naming what came in: numpy would
    otherwise read ``None`` as nan and ``"3.5"`` as 3.5.
    """
    # TODO (task 1.1): let np.asarray infer the dtype first (so that None,
    # strings and bytes are caught: object, 'U' and 'S' dtypes raise
    # TypeError; an object array of numbers is checked with _check_numbers);
    # numpy arrays and numpy scalars keep their dtype, everything else
    # becomes float32; a given dtype wins.
    ### BEGIN SOLUTION
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        # Infer first, convert after: asking numpy for float32 directly
        # would turn None into nan and "3.5" into 3.5.
        array = np.asarray(data)
    except (TypeError, ValueError) as error:  # ragged nested lists
        raise TypeError(f"cannot make a Tensor from {_describe(data)}: {error}") from None
    if array.dtype == object:  # a mix: accepted only if every element is a number
        _check_numbers(data, array)
        from_numpy = False
    elif array.dtype.kind not in "fiub":
        raise TypeError(f"cannot make a Tensor from {_describe(data)} (numpy dtype {array.dtype}); "
                        "expected numbers")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    return array if from_numpy else array.astype(np.float32)
    ### END SOLUTION


def _describe(value: Any) -> str:
    """A short description of what came in, for error messages: ``str '3.5'``, ``None``."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"numpy.ndarray of shape {value.shape}, dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _is_int(value: Any) -> bool:
    """A Python or numpy integer, not a bool (``True`` is an int to Python, never a size or a seed here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    """A real Python or numpy number, not a bool (and not a string that looks like one)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_numbers(data: Any, array: np.ndarray) -> None:
    """An object array is fine only if every element is a real number (a huge Python int, say)."""
    for index, value in np.ndenumerate(array):
        if isinstance(value, (str, bytes)) or not isinstance(value, (int, float, np.number)):
            where = f": element {index} is {_describe(value)}" if array.ndim else ""
            raise TypeError(f"cannot make a Tensor from {_describe(data)}{where}; expected a number, "
                            "a (nested) list of numbers or a numpy array")


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


class _Freed:
    """The marker ``node.saved`` holds once backward() has released the node."""

    def __repr__(self) -> str:
        return "FREED"


FREED = _Freed()  # distinct from () and None, which a rule may save to mean "nothing needed"


class Function:
    """A graph node: one operation's forward rule and its backward rule.

    Subclasses implement ``forward(*arrays, **options) -> array`` and
    ``backward(grad_output) -> tuple`` (one gradient per input, ``None`` for
    an input that needs none). ``saved`` holds what backward needs.

    The contract of a rule (the engine and the tests rely on it):

    * ``forward`` may keep references to its input arrays, never modify them.
    * ``backward`` never writes into ``grad_output``: the same array may be
      the gradient of another node's input, or the caller's (read-only)
      ``gradient``. Compute new arrays (``grad_output * b``), not ``*=``.
    * ``backward`` never returns an array it keeps (``self.saved`` or a
      cached buffer): a leaf may store the returned array as its ``.grad``
      and add into it later. Returning ``grad_output`` itself is allowed.
    * Each gradient has its input's shape, or a shape that broadcasts to it
      (the engine sums the broadcast axes); anything else is an error that
      names the node.

    After backward() the engine drops ``inputs`` and sets ``saved`` to
    ``FREED`` (unless ``retain_graph=True``), so the graph's memory is
    returned while the result is still referenced.
    """

    # Class-level defaults instead of an __init__: a node is created for every
    # operation, and skipping the constructor call is measurably faster.
    inputs: tuple[Tensor, ...] = ()
    saved: Any = ()
    needs_input_grad: tuple[bool, ...] = ()
    versions: tuple[int, ...] = ()  # the inputs' version counters when the node was recorded
    replaced: Tensor | None = None  # an in-place op's node: the tensor as it was before (TensorAPI._inplace)
    sequence_nr: int = -1  # set when the node is recorded

    def forward(self, *arrays: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad_output: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        """Run the forward rule on ``inputs`` and record the node if a gradient is needed."""
        for t in inputs:
            if not isinstance(t, Tensor):
                position = next(i for i, u in enumerate(inputs) if u is t)
                raise TypeError(f"{cls.__name__} got {_describe(t)} as input {position}; "
                                "expected a Tensor (wrap data with Tensor(...))")
        node = cls()
        data = node.forward(*[t.data for t in inputs], **options)
        if type(data) is not np.ndarray:  # numpy reductions return scalars
            data = np.asarray(data)
        if _grad_enabled:
            needs = tuple([t.requires_grad for t in inputs])
            if True in needs:
                node.inputs = inputs
                node.needs_input_grad = needs
                node.versions = tuple([t._version for t in inputs])
                node.sequence_nr = next(_sequence_numbers)
                return Tensor._wrap(data, node)
        return Tensor._wrap(data)

    def check_versions(self) -> None:
        """PyTorch's in-place check, run by the engine before ``backward``.

        An input whose version went up was changed in place. If this node
        saved those very numbers: PyTorch's error. If the change was recorded
        in the graph (``_inplace``), send the gradient to the tensor as
        it was, which that op's node kept in ``replaced``.
        """
        versions = self.versions
        for i, t in enumerate(self.inputs):
            version = versions[i]
            if t._version == version:  # the usual case: nothing changed in place
                continue
            saved = self.saved if isinstance(self.saved, tuple) else (self.saved,)
            if any(item is t.data for item in saved):
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: [{t.dtype} tensor of shape {tuple(t.shape)}], which is input {i} of "
                    f"{type(self).__name__}, is at version {t._version}; expected version {version} instead.")
            past = t
            while past._version != version and past.grad_fn is not None and past.grad_fn.replaced is not None:
                past = past.grad_fn.replaced
            if past is not t:
                self.inputs = self.inputs[:i] + (past,) + self.inputs[i + 1:]

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
# | pow, tensor exponent | a ** b | g * b * a ** (b - 1), g * out * ln a |
# | exp | e ** a | g * out |
# | log | ln a | g / a |
# | matmul | a @ b | g @ b.T, a.T @ g |
# | sum | sum over dims | g broadcast back to a's shape |
#
# Worked example of the product rule: `a = 3, b = 4, out = a * b = 12`. If
# `L = 2 * out`, then `g = dL/d out = 2`, `dL/da = g * b = 8`,
# `dL/db = g * a = 6`.
#
# A tensor exponent gets its own rule (`PowTensorBackward`) rather than
# `exp(b ln a)`: `(-2) ** 3 = -8` and `0 ** 0 = 1`, where `ln a` is nan or
# -inf. True division of integers gives floats, as in PyTorch (`3 / 2 =
# 1.5`): the integer side is converted first, since `2 ** -1` has no
# integer answer.

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


class PowTensorBackward(Function):
    """out = a ** b for a tensor exponent b;  da = g * b * a ** (b - 1), db = g * out * ln(a).

    Its own rule, not exp(b ln a): that would give nan for a negative base
    ((-2) ** 3 = -8) and for 0 ** 0 = 1. As in PyTorch, da is 0 where b = 0
    and db is 0 where a = 0 and b >= 0 (the limit of out * ln a).
    """

    def forward(self, a, b):
        with np.errstate(invalid="ignore", divide="ignore"):  # nan / inf where PyTorch gives them too
            out = a ** b
        self.saved = (a, b, out)
        return out

    def backward(self, grad_output):
        a, b, out = self.saved
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad_b = None
        with np.errstate(invalid="ignore", divide="ignore"):
            if needs_a:
                grad_a = np.where(b == 0, 0, grad_output * b * a ** (b - 1))
            if needs_b:
                grad_b = grad_output * np.where((a == 0) & (b >= 0), 0, out * np.log(a))
        return grad_a, grad_b


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
        return matmul_backward(a, b, grad_output, *self.needs_input_grad)


def matmul_backward(a: np.ndarray, b: np.ndarray, grad_output: np.ndarray, needs_a: bool = True,
                    needs_b: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(dL/da, dL/db) for out = a @ b and g = dL/d(out); ``None`` where not needed.

    Shared by ``MatmulBackward`` and module 03's fused ``LinearBackward``. A
    1-D ``a`` (k,) is a row (1, k), a 1-D ``b`` (k,) a column (k, 1), and
    each gradient comes back in its operand's own shape.
    """
    # 1-D operands: lift to matrices so one formula serves every case.
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g = grad_output
    if b.ndim == 1:
        g = g[..., None]
    if a.ndim == 1:
        g = g[..., None, :]
    rows = b2.ndim == 2 and a2.ndim > 2
    if rows:
        # One matrix b for every row of a (a Linear layer on (B, T, in)):
        # treat the rows as one (B*T, k) matrix, so dL/db is one product.
        a2, g = a2.reshape(-1, a2.shape[-1]), g.reshape(-1, g.shape[-1])
    # TODO (task 1.3): grad_a = g @ b2^T and grad_b = a2^T @ g, using
    # swapaxes(-1, -2) for the transpose; None where not needed.
    ### BEGIN SOLUTION
    grad_a = g @ b2.swapaxes(-1, -2) if needs_a else None
    grad_b = a2.swapaxes(-1, -2) @ g if needs_b else None
    ### END SOLUTION
    if grad_a is not None and a.ndim == 1:  # undo the row lift, summing any batch axes
        grad_a = grad_a.reshape(-1, a.shape[0]).sum(axis=0)
    elif grad_a is not None and rows:
        grad_a = grad_a.reshape(a.shape)
    if grad_b is not None and b.ndim == 1:  # undo the column lift
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
_ga, _gb = matmul_backward(np.arange(3.0), _b, np.ones(4))  # a 1-D row times a matrix
assert _ga.shape == (3,) and _gb.shape == (3, 4) and np.allclose(_gb, np.arange(3.0)[:, None] * np.ones(4))
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
# Reductions take PyTorch's `sum(dim, keepdim)` (numpy's `axis`/`keepdims`
# are aliases); `dim=None` or `()` reduces all, a repeated or non-integer dim
# is an error, and the mean of nothing is NaN. `max(dim)` returns
# `(values, indices)` and its gradient goes to `indices` (a `gather`);
# `amax(dim)` shares it among ties; `max(other)` is elementwise.
#
# `reshape`, `permute`, `gather` and indexing move numbers without changing
# them; their backward moves the gradient back. `transpose(d0, d1)` swaps two
# dims, `permute(dims)` reorders all (PyTorch's meaning). Indexing with an
# integer array may pick an element twice (`x[[0, 0]]`):
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
# ## 6. Primitives PyTorch code relies on
#
# | op (PyTorch name) | forward | backward |
# |----|---------|----------|
# | `gather(dim, index)` | `out[i][j] = a[i][index[i][j]]` (dim 1) | g added back at `index` |
# | `a[index] = v` | `a` with `v` written at `index` | g zeroed there; v gets `g[index]` |
# | `scatter(dim, index, src)` | `a[i][index[i][j]] = src[i][j]`: the row above | the same |
# | `expand(*sizes)` | a broadcast view, no copy | the engine's unbroadcast |
# | `torch.cat(tensors, dim)` | `np.concatenate` | each input gets its slice of g |
# | `to(dtype)` | a copy in another dtype | g converted back |
#
# Example: `gather` of `a = [[1, 2], [3, 4]]` with `index = [[1, 1], [0, 1]]`
# along dim 1 is `[[2, 2], [3, 4]]`; with `g` all ones, `a.grad` is
# `[[0, 2], [1, 1]]` (`a[0][1]` was read twice).
#
# **In place** (`x += y`, `x[0] = 5`, `x.zero_()`), PyTorch's two rules: a
# leaf that requires grad may change only inside `no_grad()` (as an
# optimizer does); and each tensor counts its in-place changes in
# `_version`, a node records its inputs' versions, and `check_versions`
# (run by the engine before each rule) refuses numbers changed after it
# saved them. Inside a graph the changed tensor becomes the output of a
# recorded op and its node keeps the tensor as it was (`replaced`), where the
# nodes recorded before the change send their gradient.

# %%
#| export
class GatherBackward(Function):
    """out[i][j] = a[i][index[i][j]] for dim=1 (torch.gather);  da = g added back at index."""

    def forward(self, a, index=None, dim=0):
        where = along(index, a.shape, dim, "gather")
        self.saved = (a.shape, where)
        return a[where]

    def backward(self, grad_output):
        shape, where = self.saved
        grad = np.zeros(shape, dtype=grad_output.dtype)
        np.add.at(grad, where, grad_output)  # an element picked twice gets both gradients
        return (grad,)


class SetItemBackward(Function):
    """out = a with out[index] = v (``a[index] = v``, computed on a copy);
    da = g with g[index] zeroed, dv = g[index]."""

    def forward(self, a, v, index=None):
        out = a.copy()
        try:
            out[index] = v
        except (IndexError, ValueError) as error:
            raise type(error)(f"cannot set index {index!r} of a tensor of shape {a.shape} to a value of "
                              f"shape {v.shape}: {error}") from None
        self.saved = (index, v.shape)
        return out

    def backward(self, grad_output):
        index, v_shape = self.saved
        needs_a, needs_v = self.needs_input_grad
        grad_a = grad_v = None
        if needs_a:
            grad_a = grad_output.copy()
            grad_a[index] = 0
        if needs_v:
            grad_v = grad_output[index]
            grad_v = grad_v.reshape((1,) * (len(v_shape) - grad_v.ndim) + grad_v.shape)  # v may have extra 1s
        return grad_a, grad_v


class ExpandBackward(Function):
    """out = a broadcast to ``shape`` (a read-only view);  da = g summed back to a's shape by the engine."""

    def forward(self, a, shape=()):
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"expand: cannot broadcast shape {a.shape} to {tuple(shape)}") from None

    def backward(self, grad_output):
        return (grad_output,)  # the engine's unbroadcast is the whole rule


class CatBackward(Function):
    """out = the inputs joined along ``dim`` (torch.cat);  each input gets its slice of g."""

    def forward(self, *arrays, dim=0):
        self.saved = (dim, np.cumsum([a.shape[dim] for a in arrays])[:-1])
        return np.concatenate(arrays, axis=dim)

    def backward(self, grad_output):
        dim, splits = self.saved
        return tuple(np.split(grad_output, splits, axis=dim))


class CastBackward(Function):
    """out = a in another dtype (``to``, ``float``, ``double``);  da = g in a's dtype."""

    def forward(self, a, dtype=None):
        self.saved = a.dtype
        return a.astype(dtype)

    def backward(self, grad_output):
        return (grad_output.astype(self.saved),)


# %% [markdown]
# ## 7. The Tensor class
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
#
# PyTorch's convenience methods (`view`, `unsqueeze`, `float()`,
# `masked_fill`, `x += y`, `zero_()`, ...) are a line or two over these
# primitives, with no rule of their own: `Tensor` inherits them from
# `TensorAPI` (`tinytorch/tensor_api.py`). With `tinytorch/functions.py`
# and `tinytorch.nn`, `.nn.functional`, `.optim`, `.utils.data`, PyTorch
# code runs unchanged after `import tinytorch as torch`.

# %%
#| export
class Tensor(TensorAPI):
    """An n-dimensional array with an optional gradient and the node that produced it.

    ``data`` is a numpy array; ``grad`` is ``None`` or a Tensor of the same
    shape; ``grad_fn`` is the ``Function`` node that produced this tensor
    (``None`` for leaves and constants).
    """

    __slots__ = ("data", "requires_grad", "grad", "grad_fn", "_version", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = as_array(data.data if isinstance(data, Tensor) else data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients; got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._version = 0  # counts in-place changes (Function.check_versions)

    @classmethod
    def _wrap(cls, data: np.ndarray, grad_fn: Function | None = None) -> Tensor:
        """A result tensor around an array we just computed (no conversion, no copy)."""
        out = cls.__new__(cls)
        out.data = data
        out.requires_grad = grad_fn is not None
        out.grad = None
        out.grad_fn = grad_fn
        out._version = 0
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
        """``other`` as a Tensor; a Python number takes this tensor's float dtype (an int, its int dtype)."""
        if isinstance(other, Tensor):
            return other
        kind = self.data.dtype.kind
        if isinstance(other, (int, float)) and (kind == "f" or kind in "iu" and type(other) is int):
            return Tensor._wrap(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    def __add__(self, other: Any) -> Tensor:
        return AddBackward.apply(*_promote(self, self._operand(other)))

    def __radd__(self, other: Any) -> Tensor:
        return AddBackward.apply(*_promote(self._operand(other), self))

    def __neg__(self) -> Tensor:
        return NegBackward.apply(self)

    def __sub__(self, other: Any) -> Tensor:
        return self + (-self._operand(other))

    def __rsub__(self, other: Any) -> Tensor:
        return self._operand(other) + (-self)

    def __mul__(self, other: Any) -> Tensor:
        return MulBackward.apply(*_promote(self, self._operand(other)))

    def __rmul__(self, other: Any) -> Tensor:
        return MulBackward.apply(*_promote(self._operand(other), self))

    def __truediv__(self, other: Any) -> Tensor:
        a, b = _promote(self, self._operand(other), to_float=True)
        return a * b ** -1

    def __rtruediv__(self, other: Any) -> Tensor:
        a, b = _promote(self._operand(other), self, to_float=True)
        return a * b ** -1

    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, (Tensor, np.ndarray)):
            return PowTensorBackward.apply(self, self._operand(exponent))
        if not _is_number(exponent) and not isinstance(exponent, bool):
            raise TypeError(f"unsupported exponent for Tensor **: {_describe(exponent)}; "
                            "expected a number or a Tensor")
        return PowBackward.apply(self, exponent=exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return PowTensorBackward.apply(self._operand(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatmulBackward.apply(*_promote(self, self._operand(other)))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatmulBackward.apply(*_promote(self._operand(other), self))

    # ---- comparisons: no gradient, boolean result -------------------------
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented  # Python then compares identities: x == None is False, as in PyTorch
        return Tensor._wrap(self.data == _raw(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        if other is None or isinstance(other, (str, bytes)):
            return NotImplemented
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
        return extreme(self, dim, keepdim, largest=True)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        """The maximum over ``dim`` (one or several); ties share the gradient."""
        return MaxBackward.apply(self, axis=_normalize_axes(dim, self.ndim), keepdims=keepdim)

    # ---- shapes --------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return ReshapeBackward.apply(self, shape=shape)

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """The dimensions in the order ``dims``: ``out.shape[i] = self.shape[dims[i]]``."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return TransposeBackward.apply(self, axes=dims)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed (the matrix transpose for a 2-D tensor)."""
        return TransposeBackward.apply(self, axes=tuple(reversed(range(self.ndim))))

    def __getitem__(self, index: Any) -> Tensor:
        return GetItemBackward.apply(self, index=_plain_index(index))


def _plain_index(index: Any) -> Any:
    """An index with its Tensors (masks, integer arrays) replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _promote(a: Tensor, b: Tensor, to_float: bool = False) -> tuple[Tensor, Tensor]:
    """PyTorch's promotion: an integer (or bool) side takes the other side's float dtype; with
    ``to_float`` (true division) two integer sides become float32. Integer tensors never require
    grad, so converting one loses no node."""
    if a.data.dtype.kind == "f" and b.data.dtype.kind == "f":  # the usual case
        return a, b
    floats = [t.dtype for t in (a, b) if t.dtype.kind == "f"]
    if not floats and not to_float:
        return a, b
    dtype = floats[0] if floats else np.dtype(np.float32)
    return tuple(t if t.dtype.kind == "f" else Tensor._wrap(t.data.astype(dtype)) for t in (a, b))


def _raw(value: Any) -> np.ndarray:
    """The array behind a Tensor, or ``value`` converted by ``as_array``."""
    return value.data if isinstance(value, Tensor) else as_array(value)


def _dim_args(dim: Any, keepdim: bool, axis: Any, keepdims: bool | None) -> tuple[Any, bool]:
    """PyTorch's ``dim``/``keepdim``, or numpy's ``axis``/``keepdims`` aliases (not both)."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"got both dim={dim!r} and its alias axis={axis!r}; pass one")
        dim = axis
    return dim, bool(keepdim if keepdims is None else keepdims)


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """Elementwise ``x`` where ``condition`` holds, else ``y`` (differentiable in x and y)."""
    condition = _raw(condition).astype(bool)
    x = x if isinstance(x, Tensor) else Tensor(x)
    y = y if isinstance(y, Tensor) else Tensor(y)
    return WhereBackward.apply(x, y, condition=condition)


# %% [markdown]
# ## 8. Putting it together
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
# * Memory: a node keeps what its backward needs (`MulBackward` both
#   operands, `AddBackward` nothing), so a forward pass holds every
#   activation until `backward()` frees it: training needs more memory
#   than inference, which runs under `no_grad()`.
# * Time: a node costs a few microseconds of Python: noise for a
#   (256, 1024) matmul, most of the time of a (2, 2) add. Coarse ops (one
#   node per matmul, one per cross-entropy) keep a numpy framework fast.
