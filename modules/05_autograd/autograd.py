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
# # Module 05 -- Autograd: the engine that chains the rules
#
# Since module 01 every operation on a tensor that requires grad has
# recorded a node (`AddBackward`, `MatmulBackward`, `SigmoidBackward`,
# `CrossEntropyBackward`, ...), and every node class has carried its local
# rule, `backward(grad_output)`, right beside its `forward`. What is missing
# is the machine that calls those rules in the right order and adds up what
# they return. That machine is this module:
#
# | task | what | graded |
# |------|------|--------|
# | 5.1 | `unbroadcast`: sum a gradient back to an input's shape | 3 pts |
# | 5.2 | `topological_order`: every tensor after all of its inputs, without recursion | 3 pts |
# | 5.3 | `backward`: walk the order in reverse, call the rules, accumulate | 4 pts |
# | 5.4 | `gradcheck`: compare the engine with finite differences | 2 pts |
#
# ## Why the rules were written before the engine
#
# The course teaches losses (04) before autograd (05), and the original
# TinyTorch bridged that gap by *monkeypatching*: importing the autograd
# module replaced `Tensor.__add__` and friends at run time. A reader could
# then not find what `+` does, and the behaviour of a tensor depended on
# what had been imported.
#
# We chose instead:
#
# * **Recording is part of every op from day one.** `Function.apply`
#   (module 01) records a node whenever an input requires a gradient. No
#   switch, no patching: the graph exists because a leaf asked for it.
# * **Each rule lives beside its forward**, in the module that introduces
#   the op: primitives in 01, activations in 02, the fused
#   `CrossEntropyBackward` in 04. One op, one class, one place to look.
# * **The engine lives here.** `Tensor.backward()` imports this module when
#   it is first called, so importing modules 01-04 never needs module 05,
#   and modules 01-04 can test their rules by calling `node.backward(...)`
#   directly on numbers.
#
# So in this module you learn the chain rule as an algorithm: order the
# graph, seed the output gradient with 1, walk backwards.

# %%
#| export
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tinytorch.core.tensor import Tensor, is_grad_enabled, set_grad_enabled

# %% [markdown]
# ## 1. Undoing a broadcast
#
# `x + b` with `x: (32, 10)` and `b: (10,)` uses each `b[j]` 32 times, so
# `dL/db[j]` is the sum of the 32 gradients in column `j`. In general, an
# input of shape `s` broadcast to the output shape receives the output
# gradient summed over
#
# 1. the leading axes the input did not have, and
# 2. every axis where the input had size 1 (kept, with `keepdims=True`).
#
# Worked example: `b` of shape `(3, 1)` broadcast to `(2, 3, 4)`: sum over
# axis 0 (missing), then over axis 2 keeping it (size 1 in `b`).
#
# This happens in one place -- the engine -- so no rule has to think about it.

# %% nbgrader={"grade": false, "grade_id": "unbroadcast", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (shape of a broadcast result) back down to ``shape``."""
    # TODO (task 5.1): sum away the extra leading axes, then the axes where
    # `shape` has size 1 (keepdims=True).
    ### BEGIN SOLUTION
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=0) if extra == 1 else grad.sum(axis=tuple(range(extra)))
    if grad.shape != shape:
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        grad = grad.sum(axis=ones, keepdims=True)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_unbroadcast", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert unbroadcast(np.ones((32, 10)), (10,)).shape == (10,)
assert np.allclose(unbroadcast(np.ones((32, 10)), (10,)), 32.0)
assert np.allclose(unbroadcast(np.ones((2, 3, 4)), (3, 1)), 8.0)
### BEGIN HIDDEN TESTS
assert unbroadcast(np.ones((2, 3, 4)), (3, 1)).shape == (3, 1)
assert unbroadcast(np.ones((5, 1)), (5, 1)).shape == (5, 1)
assert float(unbroadcast(np.arange(6.0).reshape(2, 3), ())) == 15.0
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The order of the walk
#
# A node's backward rule may run only when the gradient of its output is
# complete, i.e. after every consumer of that output has contributed. A
# *topological order* lists every tensor after all of its inputs; walking it
# in reverse satisfies that condition.
#
# Leaves (parameters, inputs) have no inputs of their own, so they can be
# emitted the moment they are found; only the tensors made by operations need
# the two-step push. In a network most tensors in the graph are parameters,
# so this halves the work of the walk.
#
# micrograd builds the order with a recursive function. A chain of 5,000
# operations (an RNN unrolled over a long sequence) then exceeds Python's
# recursion limit. We use an explicit stack instead: each tensor is pushed
# once to be *expanded* (its inputs pushed) and once more to be *emitted*
# after them.
#
# Visiting each tensor once matters for more than depth: the original
# TinyTorch recursed once per *path*, so `h = h + h` repeated n times called
# backward 2^(n+1) - 1 times. Here it is n + 1 nodes, each visited once.

# %% nbgrader={"grade": false, "grade_id": "topological_order", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor that ``root`` depends on (and needs a gradient), inputs before outputs."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    # TODO (task 5.2): pop (tensor, emitted); if emitted, append it to order;
    # otherwise, unless visited, mark it, push (tensor, True), then look at
    # its grad_fn inputs that require grad and are not visited: a leaf
    # (grad_fn None) is marked and appended to order at once, any other
    # input is pushed as (input, False).
    ### BEGIN SOLUTION
    while stack:
        tensor, emit = stack.pop()
        if emit:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.grad_fn is None:
            continue
        for parent in tensor.grad_fn.inputs:
            if not parent.requires_grad:  # a constant (the data batch, the labels): not part of the walk
                continue
            key = id(parent)
            if key in visited:
                continue
            if parent.grad_fn is None:  # a leaf has no inputs: nothing to wait for
                visited.add(key)
                order.append(parent)
            else:
                stack.append((parent, False))
    ### END SOLUTION
    return order


# %% nbgrader={"grade": true, "grade_id": "test_topological_order", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_a = Tensor([1.0], requires_grad=True)
_b = _a * 2
_c = _b + _a
_order = topological_order(_c)
assert len(_order) == 3 and _order[-1] is _c
assert _order.index(_a) < _order.index(_b) < _order.index(_c)
### BEGIN HIDDEN TESTS
_h = Tensor([1.0], requires_grad=True)
for _ in range(5000):
    _h = _h * 1.0
assert len(topological_order(_h)) == 5001
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The backward pass
#
# ```
# grads = {root: seed}                 # dL/dL = 1 for a scalar loss
# for t in reversed(order):
#     g = grads.pop(t)
#     if t is a leaf:  t.grad += g
#     else:            for each input i of t.grad_fn:
#                          grads[i] += unbroadcast(rule_i(g), i.shape)
# ```
#
# Details that matter:
#
# * `backward()` without an argument is only defined for a one-element
#   output (a loss). For anything else you must say which vector to
#   multiply the Jacobian by: `y.backward(gradient)`.
# * Leaf gradients **accumulate** (`+=`) across calls, so several losses or
#   micro-batches can add up before one optimizer step; `zero_grad()`
#   resets them. `.grad` is always a Tensor with the leaf's shape and dtype.
# * Because `+=` writes into `.grad`, a leaf must own its gradient array.
#   Copying every first gradient is safe but costs a full pass over every
#   weight matrix per step. The engine copies only when it cannot prove
#   ownership: the array is a view (`base` is set), read-only (a
#   `broadcast_to` result), of another dtype, the caller's `gradient`, or
#   already stored in another leaf (`a + b` hands the same array to both).
#   A fresh result of a rule (a matmul, a sum) is stored as it is.
# * After the walk each node's `saved` buffers are released, so memory goes
#   back to the level before the forward pass even if a reference to the
#   loss is kept. A second `backward()` through the same graph is then an
#   error unless the first one passed `retain_graph=True`.

# %% nbgrader={"grade": false, "grade_id": "backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _seed(root: Tensor, gradient: Any) -> np.ndarray:
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element output, got shape {root.shape}; "
                "pass gradient= with that shape (e.g. loss.sum().backward() or y.backward(np.ones_like(y.data)))")
        return np.ones_like(root.data)
    seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"backward(gradient=...) needs shape {root.shape} (the output's), got {seed.shape}")
    return seed


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), times ``gradient``, into the ``.grad`` of every leaf."""
    if not root.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad: "
                           "no input of its computation had requires_grad=True")
    seed = _seed(root, gradient)
    grads: dict[int, np.ndarray] = {id(root): seed}
    # ids of arrays someone else may hold (the caller's gradient, an array already stored in a
    # leaf): a leaf gets a copy of those, and the array itself everywhere else.
    shared = {id(seed)} if gradient is not None else set()
    for tensor in reversed(topological_order(root)):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        node = tensor.grad_fn
        # TODO (task 5.3): a leaf (node is None) accumulates into tensor.grad
        # (the first time a Tensor of the array -- copied unless owned, see
        # above -- and += afterwards); otherwise call
        # node.backward(grad) and add each input's unbroadcast gradient into
        # grads. Release node.saved unless retain_graph.
        ### BEGIN SOLUTION
        if node is None:
            if tensor.grad is None:
                dtype = tensor.data.dtype
                owned = grad.base is None and grad.dtype == dtype and grad.flags.writeable and id(grad) not in shared
                tensor.grad = Tensor._wrap(grad if owned else np.array(grad, dtype=dtype))
                shared.add(id(grad))
            else:
                tensor.grad.data += grad
            continue
        if node.saved is None:
            raise RuntimeError(f"backward through {type(node).__name__} a second time: its saved values were "
                               "freed by the first backward(); pass retain_graph=True to the first call")
        for parent, parent_grad in zip(node.inputs, node.backward(grad)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if parent_grad.shape != parent.data.shape:
                parent_grad = unbroadcast(parent_grad, parent.data.shape)
            key = id(parent)
            # out of place: a rule may hand the same array to two inputs
            grads[key] = parent_grad if key not in grads else grads[key] + parent_grad
        if not retain_graph:
            node.saved = None
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
backward((_x * _x).sum())
assert np.allclose(_x.grad.data, [2.0, 4.0, 6.0])
backward((_x * 1.0).sum())  # accumulates
assert np.allclose(_x.grad.data, [3.0, 5.0, 7.0])
### BEGIN HIDDEN TESTS
_w = Tensor(np.ones((3, 2)), requires_grad=True)
_b = Tensor(np.zeros(2), requires_grad=True)
backward((Tensor(np.ones((4, 3))) @ _w + _b).sum())
assert _b.grad.shape == (2,) and np.allclose(_b.grad.data, 4.0)
assert np.allclose(_w.grad.data, 4.0)
_h = Tensor([1.0], requires_grad=True)
_y = _h
for _ in range(30):
    _y = _y + _y  # 2**30 paths, 31 nodes
backward(_y)
assert _h.grad.data[0] == 2.0 ** 30
try:
    backward(Tensor([1.0, 2.0], requires_grad=True) * 2)
except RuntimeError:
    pass
else:
    raise AssertionError("non-scalar backward without gradient must raise")
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Not recording: `no_grad`
#
# Evaluation, optimizer updates and metrics need no graph. Inside
# `with no_grad():` `Function.apply` records nothing, so no activation is kept
# alive. It is a context manager (and a decorator) that restores the previous
# mode on exit, even after an exception.

# %%
#| export
class no_grad:
    """Context manager and decorator: no graph is recorded inside it."""

    def __enter__(self) -> no_grad:
        self._previous = is_grad_enabled()
        set_grad_enabled(False)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        set_grad_enabled(self._previous)

    def __call__(self, function: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return function(*args, **kwargs)

        wrapper.__name__ = getattr(function, "__name__", "wrapper")
        wrapper.__doc__ = getattr(function, "__doc__", None)
        return wrapper


# %% [markdown]
# ## 5. Trust, but verify: `gradcheck`
#
# A central difference approximates a derivative with error O(eps^2):
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}$$
#
# In float32 the rounding error of `f` (about 1e-7 relative) divided by
# `2 eps` swamps the answer, so gradcheck works in float64. For a
# non-scalar `f` we check one vector-Jacobian product, `sum(w * f(x))` with
# a fixed random `w`, which exercises every output at once.
#
# Worked example: `f(x) = x^3` at `x = 2`, `eps = 1e-6`:
# `(8.000012000006 - 7.999988000006) / 2e-6 = 12.000000` and the rule gives
# `3 x^2 = 12`.

# %% nbgrader={"grade": false, "grade_id": "gradcheck", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names the worst element."""


def gradcheck(fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Compare autograd with central differences for every input that requires grad.

    Works on float64 copies of the inputs. Returns True, or raises
    ``GradcheckError`` naming the input, the element, both values.
    """
    leaves = [Tensor(np.array(t.data, dtype=np.float64), requires_grad=t.requires_grad)
              if isinstance(t, Tensor) and t.dtype.kind == "f" else t for t in inputs]
    out = fn(*leaves)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    backward(out, weights)

    def objective() -> float:
        with no_grad():
            return float((fn(*leaves).data * weights).sum())

    for position, leaf in enumerate(leaves):
        if not isinstance(leaf, Tensor) or not leaf.requires_grad:
            continue
        analytic = leaf.grad.data if leaf.grad is not None else np.zeros_like(leaf.data)
        numeric = np.zeros_like(leaf.data)
        # TODO (task 5.4): for every element i of leaf.data, set
        # numeric[i] = (objective at +eps - objective at -eps) / (2 eps),
        # restoring the element afterwards.
        ### BEGIN SOLUTION
        for index in np.ndindex(leaf.shape):
            original = leaf.data[index]
            leaf.data[index] = original + eps
            plus = objective()
            leaf.data[index] = original - eps
            minus = objective()
            leaf.data[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        ### END SOLUTION
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(int(np.argmax(error)), error.shape)
            raise GradcheckError(
                f"gradcheck failed for input {position} at element {tuple(int(i) for i in worst)}: "
                f"autograd {analytic[worst]:.8g} vs finite difference {numeric[worst]:.8g} "
                f"(atol={atol}, rtol={rtol})")
    return True


# %% nbgrader={"grade": true, "grade_id": "test_gradcheck", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert gradcheck(lambda a: (a * a * a).sum(), Tensor(np.array([2.0, -1.0]), requires_grad=True))
assert gradcheck(lambda a, b: a @ b, Tensor(np.ones((2, 3)), requires_grad=True),
                 Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True))
### BEGIN HIDDEN TESTS
from tinytorch.core.tensor import Function


class _WrongSquare(Function):
    def forward(self, a):
        self.saved = a
        return a * a

    def backward(self, grad_output):
        return (grad_output * self.saved,)  # should be 2 * a


try:
    gradcheck(lambda a: _WrongSquare.apply(a), Tensor(np.array([1.0, 3.0]), requires_grad=True))
except GradcheckError as error:
    assert "element" in str(error)
else:
    raise AssertionError("a wrong rule must fail gradcheck")
### END HIDDEN TESTS

# %% [markdown]
# ## Systems view
#
# * The walk is O(nodes + edges) in time. Peak memory is the forward
#   activations plus, at any moment, the gradients of the frontier between
#   visited and unvisited tensors (`grads` drops an entry as soon as it is
#   used).
# * The dictionary is keyed by `id(tensor)`: tensors are alive for the whole
#   walk (the order holds them), so ids cannot be reused mid-walk.
# * Higher-order gradients (gradients of gradients) would need rules written
#   in tensor ops instead of numpy. PyTorch does that; we keep rules in
#   numpy because they are shorter and faster, and no part of this course
#   needs second derivatives.
