"""Module 05: the engine (order, accumulation, broadcasting, no_grad, gradcheck) and property tests."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.autograd import GradcheckError, accumulate_grad, gradcheck, no_grad, unbroadcast
from tinytorch.core.tensor import Function, Tensor


@pytest.mark.task_5_1
@pytest.mark.parametrize("grad_shape, shape", [((4, 3), (3,)), ((4, 3), (1, 3)), ((2, 3, 4), (3, 1)),
                                               ((2, 3), ()), ((5,), (5,)), ((2, 1, 4), (1, 1, 4))])
def test_unbroadcast_matches_sum_over_broadcast_axes(grad_shape, shape):
    grad = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape)
    got = unbroadcast(grad, shape)
    assert got.shape == shape
    assert np.isclose(got.sum(), grad.sum())
    # each input element receives the sum over the copies made of it
    probe = np.random.default_rng(0).standard_normal(shape)
    assert np.isclose((got * probe).sum(), (grad * np.broadcast_to(probe, grad_shape)).sum())


@pytest.mark.task_5_2
def test_accumulate_grad_stores_owned_arrays_and_copies_the_rest():
    leaf = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    fresh = np.ones(3, dtype=np.float32)
    shared: set[int] = set()
    accumulate_grad(leaf, fresh, shared)
    assert leaf.grad.data is fresh and id(fresh) in shared
    accumulate_grad(leaf, np.full(3, 2.0, dtype=np.float32), shared)
    assert leaf.grad.data is fresh and np.allclose(fresh, 3.0)  # added in place
    for grad in [np.ones((2, 3), dtype=np.float32)[0],          # a view
                 np.ones(3),                                    # another dtype
                 np.broadcast_to(np.float32(1.0), (3,)),        # read-only
                 fresh]:                                        # stored in another leaf
        other = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
        accumulate_grad(other, grad, shared)
        assert other.grad.data is not grad and other.grad.dtype == np.float32
        assert np.array_equal(other.grad.data, np.asarray(grad, dtype=np.float32))


@pytest.mark.task_5_3
def test_nodes_run_after_all_their_consumers():
    order = []

    class Recording(Function):
        def forward(self, a, b):
            self.saved = ()
            return a * b

        def backward(self, grad_output):
            order.append(self)
            return grad_output, grad_output

    a = Tensor([1.0], requires_grad=True)
    b = Recording.apply(a, a)
    c = Recording.apply(b, Tensor([1.0]))
    d = Recording.apply(c, b)
    d.backward()
    assert order == [d.grad_fn, c.grad_fn, b.grad_fn]  # b waits for both of its consumers
    assert d.grad_fn.sequence_nr > c.grad_fn.sequence_nr > b.grad_fn.sequence_nr
    assert a.grad.data[0] == 4.0  # d -> b directly, and d -> c -> b: 2 paths, each to both inputs of b


@pytest.mark.task_5_3
def test_deep_chain_does_not_hit_the_recursion_limit():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    assert np.isclose(x.grad.data[0], 1.0001 ** 5000, rtol=1e-4)


@pytest.mark.task_5_3
def test_reused_node_is_visited_once_per_node_not_per_path():
    calls = []

    class CountingAdd(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad_output):
            calls.append(1)
            return grad_output, grad_output

    x = Tensor([1.0], requires_grad=True)
    h = x
    for _ in range(40):
        h = CountingAdd.apply(h, h)
    h.backward()
    assert len(calls) == 40
    assert x.grad.data[0] == 2.0 ** 40


@pytest.mark.task_5_3
def test_gradients_accumulate_and_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert np.allclose(x.grad.data, [3 + 2, 3 + 4])
    assert isinstance(x.grad, Tensor) and x.grad.dtype == np.float32
    x.zero_grad()
    assert x.grad is None


@pytest.mark.task_5_3
def test_broadcast_gradient_is_reduced_to_the_leaf_shape():
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.zeros(4), requires_grad=True)
    s = Tensor(np.ones((3, 1)), requires_grad=True)
    (Tensor(np.ones((5, 3))) @ w * s.T.reshape(1, 3).sum() + b).sum().backward()
    assert b.grad.shape == (4,) and np.allclose(b.grad.data, 5.0)
    assert s.grad.shape == (3, 1) and w.grad.shape == (3, 4)


def test_non_scalar_backward_needs_a_gradient():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"needs shape \(2,\).*\(3,\)"):
        y.backward(np.ones(3))
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2).backward(np.array([1.0, 10.0]))
    assert np.allclose(x.grad.data, [2.0, 20.0])


def test_backward_on_constant_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_second_backward_needs_retain_graph():
    x = Tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.data[0] == 8.0
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_no_grad_records_nothing_and_restores_mode():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert (x * 2).grad_fn is not None

    @no_grad()
    def evaluate(t):
        return t * 3

    assert evaluate(x).grad_fn is None
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert (x * 2).requires_grad


def test_detach_cuts_the_graph_and_shares_memory():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert d.grad_fn is None and not d.requires_grad
    y = x.detach()
    y.data[0] = 5.0
    assert x.data[0] == 5.0


def test_graph_is_freed_after_backward():
    x = Tensor(np.ones((4, 4)), requires_grad=True)
    y = (x * 2).exp()
    node = weakref.ref(y.grad_fn)
    loss = y.sum()
    loss.backward()
    del y, loss
    gc.collect()
    assert node() is None


@pytest.mark.task_5_4
def test_gradcheck_passes_good_rules_and_names_the_bad_element():
    assert gradcheck(lambda a, b: (a * b + a ** 2).sum(axis=0), Tensor(np.ones((2, 3)), requires_grad=True),
                     Tensor(np.arange(3.0), requires_grad=True))

    class WrongExp(Function):
        def forward(self, a):
            return np.exp(a)

        def backward(self, grad_output):
            return (grad_output,)

    with pytest.raises(GradcheckError, match=r"input 0 at element \(1,\)"):
        gradcheck(lambda a: WrongExp.apply(a), Tensor(np.array([0.0, 2.0]), requires_grad=True))


# ---- property tests: every op against finite differences, random shapes and broadcasts ----

_shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


def _broadcastable_pair(draw_shape):
    """Drop leading axes and set some to 1: a shape that broadcasts against draw_shape."""
    return st.tuples(st.integers(0, len(draw_shape)), st.lists(st.booleans(), min_size=len(draw_shape),
                                                                 max_size=len(draw_shape))).map(
        lambda t: tuple(1 if ones else n for n, ones in zip(draw_shape, t[1]))[t[0]:])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_binary_ops_gradcheck_with_broadcasting(data):
    shape = data.draw(_shapes)
    other = data.draw(_broadcastable_pair(shape))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    a = Tensor(rng.uniform(0.5, 2.0, shape), requires_grad=True)
    b = Tensor(rng.uniform(0.5, 2.0, other), requires_grad=True)
    op = data.draw(st.sampled_from(["add", "sub", "mul", "div", "rsub_pow"]))
    fns = {
        "add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y, "rsub_pow": lambda x, y: (1 - x) * y ** 2,
    }
    assert gradcheck(fns[op], a, b)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_unary_and_reduction_ops_gradcheck(data):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = Tensor(rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape), requires_grad=True)
    axis = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    keepdims = data.draw(st.booleans())
    fns = [
        lambda t: t.exp(), lambda t: t.abs().log(), lambda t: t.abs().sqrt(), lambda t: t ** 3,
        lambda t: t.sum(axis=axis, keepdims=keepdims), lambda t: t.mean(axis=axis, keepdims=keepdims),
        lambda t: t.amax(axis, keepdims), lambda t: t.reshape(-1), lambda t: t.T,
        lambda t: t[..., ::2], lambda t: t.clip(-1.0, 1.0), lambda t: -t,
    ]
    fn = data.draw(st.sampled_from(fns))
    assert gradcheck(fn, x)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), batch=st.integers(0, 2),
       seed=st.integers(0, 2 ** 16))
def test_matmul_gradcheck_random_shapes(n, k, m, batch, seed):
    rng = np.random.default_rng(seed)
    lead = (2,) * batch
    a = Tensor(rng.standard_normal(lead + (n, k)), requires_grad=True)
    b = Tensor(rng.standard_normal((k, m)), requires_grad=True)
    v = Tensor(rng.standard_normal(k), requires_grad=True)
    assert gradcheck(lambda x, y: x @ y, a, b)
    assert gradcheck(lambda x, y: x @ y, a, v)
    assert gradcheck(lambda x, y: y @ x, b, v)


def test_leaf_gradients_never_alias_each_other_or_the_callers_array():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # AddBackward hands the same array to both leaves
    a.grad.data += 10.0
    assert np.array_equal(b.grad.data, [1.0, 1.0])
    upstream = np.array([1.0, 1.0], dtype=np.float32)
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.backward(upstream)  # the root is the leaf: its gradient is the caller's array
    x.grad.data += 1.0
    assert np.array_equal(upstream, [1.0, 1.0])
    s = Tensor(np.ones((2, 3)), requires_grad=True)
    s.sum().backward()  # SumBackward returns a read-only broadcast view
    s.grad.data += 1.0
    assert np.array_equal(s.grad.data, np.full((2, 3), 2.0))


def test_fresh_rule_results_are_stored_without_a_copy():
    from tinytorch.core.layers import Linear

    layer = Linear(4, 3, rng=0)
    captured = {}
    original = type(layer(Tensor(np.ones((2, 4), dtype=np.float32))).grad_fn).backward

    def spy(self, grad_output):
        result = original(self, grad_output)
        captured["weight"] = result[1]
        return result

    node = layer(Tensor(np.ones((2, 4), dtype=np.float32))).sum()
    node.grad_fn.inputs[0].grad_fn.backward = spy.__get__(node.grad_fn.inputs[0].grad_fn)
    node.backward()
    assert layer.weight.grad.data is captured["weight"]
