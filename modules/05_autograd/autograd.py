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
# | 5.2 | `accumulate_grad`: add into a leaf's `.grad`, copying only when needed | 3 pts |
# | 5.3 | `backward`: walk the nodes newest first, call the rules, accumulate | 4 pts |
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
#   it is first called, so importing modules 01-04 never needs module 05.
#   Modules 01-04 do call `.backward()` in their examples and tests: that
#   runs this module's engine, prebuilt in the package until you write it
#   here, and their tests check each rule through it (against finite
#   differences and PyTorch).
#
# So in this module you learn the chain rule as an algorithm: seed the
# output gradient with 1, walk the nodes newest first, add up at the leaves.

# %%
#| export
from __future__ import annotations

import heapq
from typing import Any, Callable

import numpy as np

from tinytorch.core.tensor import FREED, Tensor, _describe, _is_number, as_array, is_grad_enabled, set_grad_enabled

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
# complete, i.e. after every consumer of that output has contributed.
#
# micrograd gets such an order by sorting the graph topologically with a
# recursive function; a chain of 5,000 operations (an RNN unrolled over a
# long sequence) then exceeds Python's recursion limit. The original
# TinyTorch recursed once per *path*, so `h = h + h` repeated n times called
# backward 2^(n+1) - 1 times.
#
# We need no sorting at all. Module 01 numbers every node as it is recorded
# (`sequence_nr`), and a node's inputs always exist before the node, so
# **every consumer of a tensor has a larger number than the tensor's own
# node**. Handling the pending tensors largest number first therefore
# finishes all consumers of a tensor before the tensor itself:
#
# ```
#   a (leaf)   w (leaf)
#       \       /
#     b = a * w      node #7
#       |      \
#     c = b + 1  \   node #8
#        \       |
#      d = c * b     node #9   pending: [d]  -> pop d (9): b, c get gradients
#                              pending: [c (8), b (7)] -> pop c: b gets more
#                              pending: [b (7)]        -> pop b: complete now
# ```
#
# A heap (`heapq`) keeps the pending tensors ordered by `-sequence_nr`. A
# tensor enters it once, when it first receives a gradient, and is handled
# once: `n` nodes cost `n` pushes and pops, whatever the number of paths,
# and no recursion. PyTorch's engine orders its ready queue the same way.
#
# Leaves (parameters, inputs) have no rule to run: their gradient is added
# to `.grad` after the walk, when every contribution has arrived.

# %% [markdown]
# ## 3. Accumulating into a leaf
#
# * Leaf gradients **accumulate** (`+=`) across calls, so several losses or
#   micro-batches can add up before one optimizer step; `zero_grad()`
#   resets them. `.grad` is always a Tensor with the leaf's shape and dtype.
# * Because `+=` writes into `.grad`, a leaf must own its gradient array.
#   Copying every first gradient is safe but costs a full pass over every
#   weight matrix per step. We copy only when we cannot prove ownership:
#   the array is a view (`base` is set), read-only (a `broadcast_to`
#   result), of another dtype, or its id is in `shared` -- the caller's
#   `gradient`, or an array already stored in another leaf (`a + b` hands
#   the same array to both). A fresh result of a rule (a matmul, a sum) is
#   stored as it is.

# %% nbgrader={"grade": false, "grade_id": "accumulate_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def accumulate_grad(leaf: Tensor, grad: np.ndarray, shared: set[int]) -> None:
    """leaf.grad += grad. The first time, ``grad`` itself is stored when the engine owns it
    (a copy otherwise), and its id is added to ``shared``."""
    # TODO (task 5.2): if leaf.grad exists, add grad into leaf.grad.data in
    # place. Otherwise store Tensor._wrap(grad) when it is owned (see above)
    # or Tensor._wrap of a copy in the leaf's dtype, and record id(grad) in shared.
    ### BEGIN SOLUTION
    if leaf.grad is not None:
        leaf.grad.data += grad
        return
    dtype = leaf.data.dtype
    owned = grad.base is None and grad.dtype == dtype and grad.flags.writeable and id(grad) not in shared
    leaf.grad = Tensor._wrap(grad if owned else np.array(grad, dtype=dtype))
    shared.add(id(grad))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_accumulate_grad", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_leaf = Tensor(np.zeros(2), requires_grad=True)
_g = np.array([1.0, 2.0])
_shared: set[int] = set()
accumulate_grad(_leaf, _g, _shared)
assert _leaf.grad.data is _g and id(_g) in _shared  # a fresh array: stored as it is
accumulate_grad(_leaf, np.array([1.0, 1.0]), _shared)
assert np.allclose(_leaf.grad.data, [2.0, 3.0])
### BEGIN HIDDEN TESTS
_other = Tensor(np.zeros(2), requires_grad=True)
accumulate_grad(_other, _g, _shared)  # already stored in _leaf: copied
assert _other.grad.data is not _g and np.allclose(_other.grad.data, [2.0, 3.0])
_view = np.ones((2, 2))[0]
_third = Tensor(np.zeros(2), requires_grad=True)
accumulate_grad(_third, _view, set())
assert _third.grad.data is not _view
_f32 = Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
accumulate_grad(_f32, np.ones(2), set())
assert _f32.grad.dtype == np.float32
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The backward pass
#
# ```
# grads   = {root: seed}               # dL/dL = 1 for a scalar loss
# pending = heap [root]                # largest sequence_nr first
# while pending:
#     t = pop(pending);  g = grads.pop(t)
#     for each input i of t.grad_fn:
#         grads[i] += unbroadcast(rule_i(g), i.shape)
#         push i the first time it gets a gradient (a leaf is noted instead)
# for each leaf met on the way:
#     accumulate_grad(leaf, grads[leaf])
# ```
#
# Details that matter:
#
# * `backward()` without an argument is only defined for a one-element
#   output (a loss). For anything else you must say which vector to
#   multiply the Jacobian by: `y.backward(gradient)`.
# * Gradients meeting in `grads` are added **out of place**: a rule may hand
#   the same array to two inputs (`a + b`), and an in-place `+=` would
#   change both.
# * Every rule's answer is checked (`_gradients_of`): one gradient per
#   input, each of its input's shape or a shape that broadcasts to it. A
#   rule that returns a scalar for a (3,) input would otherwise leave a
#   `()`-shaped `.grad`, and an optimizer would then move every element by
#   the same amount. The error names the node.
# * Once a node has run, it is released: `saved` becomes the marker
#   `FREED` and `inputs` becomes `()`. Dropping the inputs matters as much
#   as dropping `saved`: the inputs are the intermediate tensors, and each
#   holds its own node, so a kept reference to the loss would otherwise keep
#   every activation of the forward pass alive. Memory goes back to the
#   level before the forward pass while the loss is still referenced. A
#   second `backward()` through the same graph is then an error (PyTorch's
#   message) unless the first one passed `retain_graph=True`. `FREED` is its
#   own marker: a rule that needs nothing may save `()` or `None`.

# %% nbgrader={"grade": false, "grade_id": "backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _seed(root: Tensor, gradient: Any) -> np.ndarray:
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward() without a gradient needs a one-element output, got shape {root.shape}; "
                "pass gradient= with that shape (e.g. loss.sum().backward() or y.backward(np.ones_like(y.data)))")
        return np.ones_like(root.data)
    if not isinstance(gradient, (Tensor, np.ndarray, list, tuple, int, float, np.number)):
        raise TypeError(f"backward(gradient=...) takes a Tensor, a numpy array or numbers, got {_describe(gradient)}")
    seed = as_array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ValueError(f"backward(gradient=...) needs shape {root.shape} (the output's), got {seed.shape}")
    return seed


def _gradients_of(node: Any, grad_output: np.ndarray) -> list[tuple[Tensor, np.ndarray]]:
    """(input, its gradient) for every input of ``node`` that needs one, from ``node``'s rule.

    Checks that the rule returned one array (or None) per input, each of its
    input's shape or a shape broadcast from it (then summed back); the
    errors name the node."""
    if node.saved is FREED:
        raise RuntimeError(
            f"Trying to backward through the graph a second time ({type(node).__name__} was freed by the first backward()). "
            "Saved intermediate values of the graph are freed when you call .backward(); specify "
            "retain_graph=True if you need to backward through the graph a second time")
    node.check_versions()  # an input changed in place after the node saved it (module 01)
    grads = node.backward(grad_output)
    inputs = node.inputs
    if type(grads) is not tuple or len(grads) != len(inputs):
        if not isinstance(grads, (tuple, list)) or len(grads) != len(inputs):
            got = f"{len(grads)} gradients" if isinstance(grads, (tuple, list)) else _describe(grads)
            raise RuntimeError(f"{type(node).__name__}.backward returned {got}; expected a tuple of {len(inputs)} "
                               "(one per input, None for an input that needs none)")
    checked = []
    for parent, grad in zip(inputs, grads):
        if grad is None or not parent.requires_grad:
            continue
        if type(grad) is not np.ndarray or grad.shape != parent.data.shape:  # rare: check, then sum
            grad = _fit_gradient(node, parent, grad)
        checked.append((parent, grad))
    return checked


def _fit_gradient(node: Any, parent: Tensor, grad: Any) -> np.ndarray:
    """``grad`` summed down to ``parent``'s shape (undoing a broadcast); an error naming the node if it
    is not an array, or not of a shape that the parent's shape broadcasts to."""
    name, shape = type(node).__name__, parent.data.shape
    index = next(i for i, t in enumerate(node.inputs) if t is parent)
    if not isinstance(grad, (np.ndarray, np.generic)):
        raise RuntimeError(f"{name}.backward returned {_describe(grad)} as the gradient of input {index}; "
                           f"expected a numpy array of shape {shape}")
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != m for n, m in zip(shape, grad.shape[extra:])):
        raise RuntimeError(f"{name}.backward returned a gradient of shape {grad.shape} for input {index} "
                           f"of shape {shape}; expected that shape (or one it broadcasts to)")
    return unbroadcast(grad, shape)


def backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf), times ``gradient``, into the ``.grad`` of every leaf."""
    if not root.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad: "
                           "no input of its computation had requires_grad=True")
    seed = _seed(root, gradient)
    grads: dict[int, np.ndarray] = {id(root): seed}
    pending: list[tuple[int, Tensor]] = []  # a heap of (-sequence_nr, tensor): the newest node on top
    leaves: list[Tensor] = []  # in the order they are met
    if root.grad_fn is None:
        leaves.append(root)
    else:
        pending.append((-root.grad_fn.sequence_nr, root))
    # TODO (task 5.3): while pending: pop the newest tensor, pop its
    # gradient, get (input, gradient) pairs from _gradients_of(node, grad)
    # (it runs the rule, checks the shapes and unbroadcasts); add each
    # gradient into grads (out of place); an input met for the first time is pushed (or
    # noted in leaves, if it has no grad_fn). Unless retain_graph, release
    # the node: node.saved = FREED and node.inputs = (). Then
    # accumulate_grad every leaf.
    ### BEGIN SOLUTION
    while pending:
        tensor = heapq.heappop(pending)[1]
        node = tensor.grad_fn
        for parent, parent_grad in _gradients_of(node, grads.pop(id(tensor))):
            key = id(parent)
            if key in grads:
                grads[key] = grads[key] + parent_grad
            else:
                grads[key] = parent_grad
                if parent.grad_fn is None:
                    leaves.append(parent)
                else:
                    heapq.heappush(pending, (-parent.grad_fn.sequence_nr, parent))
        if not retain_graph:
            node.saved, node.inputs = FREED, ()
    shared = {id(seed)} if gradient is not None else set()  # the caller's array is never stored
    for leaf in leaves:
        accumulate_grad(leaf, grads[id(leaf)], shared)
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
_h = Tensor([1.0], requires_grad=True)
_y = _h
for _ in range(5000):
    _y = _y * 1.0  # deeper than Python's recursion limit
backward(_y)
assert _h.grad.data[0] == 1.0
try:
    backward(Tensor([1.0, 2.0], requires_grad=True) * 2)
except RuntimeError:
    pass
else:
    raise AssertionError("non-scalar backward without gradient must raise")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. Not recording: `no_grad`
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
# ## 6. Trust, but verify: `gradcheck`
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
    ``GradcheckError`` naming the input, the element, both values; nan or
    inf on either side (a rule returning nan, a function evaluated outside
    its domain such as log at -1) is a failure, never a pass.
    """
    if not (_is_number(eps) and 0 < eps < np.inf):
        raise ValueError(f"gradcheck: eps must be a positive finite number, got {eps!r}")
    leaves = [Tensor(np.array(t.data, dtype=np.float64), requires_grad=t.requires_grad)
              if isinstance(t, Tensor) and t.dtype.kind == "f" else t for t in inputs]
    if not any(isinstance(t, Tensor) and t.requires_grad for t in leaves):
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check; "
                         "pass at least one Tensor(..., requires_grad=True)")
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {_describe(out)}")
    if not out.requires_grad:
        raise ValueError("gradcheck: fn's result does not depend on any input that requires grad "
                         "(was it computed outside the graph, e.g. with .data or numpy?)")
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
        # nan or inf on either side is a failure (a comparison with nan is False, which would pass)
        error = np.where(np.isfinite(analytic) & np.isfinite(numeric),
                         np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric)), np.inf)
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
# * The walk is O(edges + nodes log nodes) in time (the heap). Peak memory is the forward
#   activations plus, at any moment, the gradients of the frontier between
#   visited and unvisited tensors (`grads` drops an entry as soon as it is
#   used).
# * The dictionary is keyed by `id(tensor)` because `==` on tensors is
#   elementwise. Every tensor of the graph stays alive for the whole walk
#   (the root holds its node, which holds its inputs, and so on), so an id
#   cannot be reused mid-walk.
# * Higher-order gradients (gradients of gradients) would need rules written
#   in tensor ops instead of numpy. PyTorch does that; we keep rules in
#   numpy because they are shorter and faster, and no part of this course
#   needs second derivatives.
