"""Module 02: activation values, gradients, stability and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinytorch.core.activations import (GELU, ReLU, ReLUBackward, Sigmoid, SigmoidBackward, Softmax,
                                        SoftmaxBackward, Tanh, gelu, relu, sigmoid, softmax, stable_sigmoid, tanh)
from tinytorch.core.autograd import gradcheck
from tinytorch.core.tensor import Tensor


@pytest.mark.task_2_1
def test_relu_values_and_gradient():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    y = relu(x)
    assert isinstance(y.grad_fn, ReLUBackward)
    assert np.array_equal(y.data, [0.0, 0.0, 3.0])
    y.sum().backward()
    assert np.array_equal(x.grad.data, [0.0, 0.0, 1.0])


@pytest.mark.task_2_2
def test_sigmoid_is_stable_and_exact_in_float32():
    x = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = stable_sigmoid(x)
    assert s.dtype == np.float32 and np.all(np.isfinite(s))
    with np.errstate(over="ignore"):  # the naive reference overflows; that is the point
        reference = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert np.allclose(s, reference, atol=1e-7)
    assert isinstance(sigmoid(Tensor(x, requires_grad=True)).grad_fn, SigmoidBackward)


@pytest.mark.task_2_3
def test_softmax_rows_sum_to_one_even_for_huge_logits():
    x = Tensor(np.array([[1e4, -1e4, 0.0], [1.0, 2.0, 3.0]], dtype=np.float32), requires_grad=True)
    s = softmax(x, axis=-1)
    assert isinstance(s.grad_fn, SoftmaxBackward)
    assert np.all(np.isfinite(s.data)) and np.allclose(s.data.sum(axis=-1), 1.0)
    (s * Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


@pytest.mark.parametrize("fn", [relu, sigmoid, tanh, gelu, lambda t: gelu(t, "tanh"),
                                lambda t: softmax(t, axis=0), lambda t: softmax(t, axis=1)])
def test_activation_gradcheck(fn, rng):
    x = Tensor(rng.standard_normal((3, 4)) * 2 + 0.01, requires_grad=True)
    assert gradcheck(fn, x)


def test_classes_match_functions_and_have_no_parameters(rng):
    x = Tensor(rng.standard_normal((2, 5)).astype(np.float32))
    for cls, fn in [(ReLU, relu), (Sigmoid, sigmoid), (Tanh, tanh), (GELU, gelu), (Softmax, softmax)]:
        layer = cls()
        assert np.allclose(layer(x).data, fn(x).data)
        assert layer.parameters() == []


def test_bad_activation_arguments():
    with pytest.raises(ValueError, match="approximate"):
        GELU("fast")
    with pytest.raises(IndexError, match="dim 3"):
        softmax(Tensor(np.ones((2, 2))), axis=3)
