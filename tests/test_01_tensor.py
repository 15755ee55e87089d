"""Module 01: Tensor construction, operations, graph recording and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.tensor import (AddBackward, GetItemBackward, MatmulBackward, MaxBackward, MulBackward,
                                   NegBackward, PowBackward, SumBackward, Tensor, as_array, where)


# ---- construction -----------------------------------------------------------

@pytest.mark.task_1_1
@pytest.mark.parametrize("data, kind, dtype", [
    ([1, 2, 3], "f", np.float32),
    (2.5, "f", np.float32),
    (np.array([1.0, 2.0]), "f", np.float64),
    (np.array([0, 3, 1]), "i", None),
    (np.array([1.0], dtype=np.float32), "f", np.float32),
])
def test_dtype_rules(data, kind, dtype):
    t = Tensor(data)
    assert t.dtype.kind == kind
    if dtype is not None:
        assert t.dtype == dtype
    assert np.array_equal(t.data, np.asarray(data, dtype=t.dtype))


@pytest.mark.task_1_1
def test_bad_data_names_the_input():
    with pytest.raises(TypeError, match="str"):
        Tensor("abc")
    with pytest.raises(TypeError, match="cannot make a Tensor"):
        as_array([[1, 2], [3]])


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_basic_properties():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and len(t) == 2 and t.size() == (2, 3) and t.numel() == 6
    assert t.T.shape == (3, 2)
    assert Tensor([[3.5]]).item() == 3.5
    assert t.numpy() is t.data
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_repr_names_the_node():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "requires_grad=True" in repr(x)
    assert "dtype=float64" in repr(Tensor(np.array([1.0])))


# ---- forward values ---------------------------------------------------------

def test_arithmetic_values_and_reflected_operators():
    a = np.array([[1.0, -2.0, 3.0]], dtype=np.float32)
    x = Tensor(a)
    cases = {
        "x + 2": (x + 2, a + 2), "2 + x": (2 + x, 2 + a), "x - 1": (x - 1, a - 1), "1 - x": (1 - x, 1 - a),
        "x * 3": (x * 3, a * 3), "3 * x": (3 * x, 3 * a), "x / 4": (x / 4, a / 4), "4 / x": (4 / x, 4 / a),
        "-x": (-x, -a), "x ** 2": (x ** 2, a ** 2), "2 ** x": (2 ** x, 2.0 ** a),
        "np + x": (np.ones(3) + x, np.ones(3) + a), "abs": (x.abs(), np.abs(a)),
        "clip": (x.clip(-1, 1), np.clip(a, -1, 1)), "exp": (x.exp(), np.exp(a)),
    }
    for name, (got, want) in cases.items():
        assert isinstance(got, Tensor), name
        assert np.allclose(got.data, want, rtol=1e-6), name


def test_python_numbers_keep_float32():
    x = Tensor([1.0, 2.0])
    for result in (x * 0.5, 0.5 * x, x + 1, x / 3, 1 - x, x ** 2, x.mean()):
        assert result.dtype == np.float32


def test_reductions_and_shapes():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    assert np.allclose(x.sum().data, a.sum())
    assert np.allclose(x.sum(axis=(0, 2)).data, a.sum(axis=(0, 2)))
    assert x.sum(axis=1, keepdims=True).shape == (2, 1, 4)
    assert np.allclose(x.mean(axis=-1).data, a.mean(axis=-1))
    assert np.allclose(x.amax(dim=1).data, a.max(axis=1))
    assert np.allclose(x.max(axis=1).values.data, a.max(axis=1))
    assert np.allclose(x.min().data, 0.0)
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.transpose(0, 2).shape == (4, 3, 2)
    assert np.allclose(x[1, :, 2].data, a[1, :, 2])
    assert np.allclose(x[np.array([1, 0, 1])].data, a[[1, 0, 1]])
    assert np.array_equal(x.argmax(axis=-1).data, a.argmax(axis=-1))


def test_comparisons_return_boolean_tensors():
    x = Tensor([1.0, 2.0, 3.0])
    assert np.array_equal((x > 1.5).data, [False, True, True])
    assert np.array_equal((x == Tensor([1.0, 0.0, 3.0])).data, [True, False, True])
    assert (x <= 2).data.sum() == 2


# ---- graph recording ----------------------------------------------------------

def test_nodes_are_recorded_only_when_an_input_requires_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    assert isinstance((x + c).grad_fn, AddBackward)
    assert isinstance((x * c).grad_fn, MulBackward)
    assert isinstance((-x).grad_fn, NegBackward)
    assert isinstance((x ** 2).grad_fn, PowBackward)
    assert isinstance((x @ c).grad_fn, MatmulBackward)
    assert isinstance(x.sum().grad_fn, SumBackward)
    assert isinstance(x.max().grad_fn, MaxBackward)
    assert isinstance(x[0].grad_fn, GetItemBackward)
    assert (c * 2).grad_fn is None and not (c * 2).requires_grad
    node = (x * c).grad_fn
    assert node.inputs[0] is x and node.inputs[1] is c
    assert node.needs_input_grad == (True, False)


@pytest.mark.task_1_2
def test_mul_rule_by_hand():
    node = MulBackward()
    node.needs_input_grad = (True, True)
    node.forward(np.array([3.0]), np.array([4.0]))
    da, db = node.backward(np.array([2.0]))
    assert da[0] == 8.0 and db[0] == 6.0


@pytest.mark.task_1_3
def test_matmul_rule_by_hand(rng):
    a, b, g = rng.standard_normal((4, 3)), rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    node = MatmulBackward()
    node.needs_input_grad = (True, True)
    assert np.allclose(node.forward(a, b), a @ b)
    da, db = node.backward(g)
    assert np.allclose(da, g @ b.T) and np.allclose(db, a.T @ g)


@pytest.mark.task_1_4
def test_sum_rule_by_hand():
    node = SumBackward()
    node.forward(np.ones((2, 3, 4)), axis=1)
    (grad,) = node.backward(np.arange(8.0).reshape(2, 4))
    assert grad.shape == (2, 3, 4)
    assert np.allclose(grad[:, 2, :], np.arange(8.0).reshape(2, 4))


def test_gradients_through_every_primitive():
    x = Tensor(np.array([[0.5, -1.5, 2.0]]), requires_grad=True)
    ((x * x).sum() + x.exp().sum() + (x ** 3).sum() + x.abs().sum()).backward()
    a = x.data
    assert np.allclose(x.grad.data, 2 * a + np.exp(a) + 3 * a ** 2 + np.sign(a))


def test_where_routes_gradients():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Tensor([10.0, 20.0, 30.0], requires_grad=True)
    where(np.array([True, False, True]), x, y).sum().backward()
    assert np.array_equal(x.grad.data, [1, 0, 1]) and np.array_equal(y.grad.data, [0, 1, 0])


def test_integer_array_indexing_accumulates_repeats():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 0.0, 1.0])


def test_max_shares_gradient_among_ties():
    x = Tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    assert np.allclose(x.grad.data, [0.0, 0.5, 0.5])


# ---- bad input ------------------------------------------------------------------

def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match="at least 1 dimension"):
        Tensor(1.0) @ Tensor([1.0])


def test_bad_shapes_and_axes():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(IndexError, match="dim 5"):
        x.sum(axis=5)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[7]
    with pytest.raises(TypeError, match=r"exponent for Tensor \*\*: str 'a'"):
        x ** "a"
    with pytest.raises(ValueError, match="clip needs"):
        x.clip()


def test_truth_value_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError):
        bool(Tensor([1.0, 2.0]))
    assert bool(Tensor([1.0]))
