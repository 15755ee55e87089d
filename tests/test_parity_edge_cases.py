"""Inputs PyTorch accepts and we once got wrong: values and gradients against torch.

Linear on (in,), (N, in) and (B, T, in) with and without bias; a tensor
exponent ((-2) ** x, 0 ** 0, a ** b); true division of integers; exact GELU.
"""

from __future__ import annotations

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core import activations as A
from tinytorch.core.layers import Linear, LinearBackward
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import MatmulBackward, PowTensorBackward, Tensor, matmul_backward

pytestmark = pytest.mark.parity

R = np.random.default_rng(12)


def _linear_pair(torch, in_features, out_features, bias, dtype):
    ours = Linear(in_features, out_features, bias=bias, rng=0, dtype=dtype)
    theirs = torch.nn.Linear(in_features, out_features, bias=bias, dtype=getattr(torch, np.dtype(dtype).name))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data.T.copy()))
        if bias:
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    return ours, theirs


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("out_features", [3, 4])
def test_linear_matches_torch_on_every_input_rank(torch, shape, bias, out_features):
    ours, theirs = _linear_pair(torch, 3, out_features, bias, np.float64)
    x = R.standard_normal(shape)
    assert_parity(ours, theirs, [x], torch)  # value and the gradient of x
    # the parameters' gradients, through the same read-only upstream gradient
    y, expected = ours(Tensor(x)), theirs(torch.tensor(x))
    upstream = R.standard_normal(y.shape)
    upstream.setflags(write=False)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert isinstance(y.grad_fn, LinearBackward)
    assert ours.weight.grad.shape == (3, out_features)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy().T, rtol=1e-10)
    if bias:
        np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-10)


def test_sgd_step_after_a_single_example_matches_torch(torch):
    # the case: a 1-D input once left weight.grad of shape () and moved every weight alike
    ours, theirs = _linear_pair(torch, 3, 3, True, np.float32)
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    (ours(Tensor(x)) * Tensor(x)).sum().backward()
    (theirs(torch.tensor(x)) * torch.tensor(x)).sum().backward()
    SGD(ours.parameters(), lr=0.1).step()
    torch.optim.SGD(theirs.parameters(), lr=0.1).step()
    assert ours.weight.grad.shape == (3, 3)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy().T, rtol=1e-6)
    np.testing.assert_allclose(ours.bias.data, theirs.bias.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("shapes", [((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((2, 5, 3), (3, 4)),
                                    ((3,), (2, 3, 4)), ((2, 5, 3), (3,)), ((2, 2, 3), (2, 3, 4))], ids=str)
def test_matmul_shares_the_linear_gradient_rule(torch, shapes):
    a, b = R.standard_normal(shapes[0]), R.standard_normal(shapes[1])
    assert_parity(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], torch)
    # MatmulBackward and LinearBackward return the same arrays for the same operands
    g = R.standard_normal(np.matmul(a, b).shape)
    node = MatmulBackward()
    node.saved, node.needs_input_grad = (a, b), (True, True)
    for ours, direct in zip(node.backward(g), matmul_backward(a, b, g)):
        np.testing.assert_array_equal(ours, direct)


@pytest.mark.parametrize("name, tt, th, data", [
    ("negative_base", lambda e: (-2.0) ** e, lambda e: (-2.0) ** e, [[2.0, 3.0]]),
    ("zero_base_zero_exponent", lambda e: 0.0 ** e, lambda e: 0.0 ** e, [[0.0, 1.0, 2.0]]),
    ("positive_base", lambda e: 2.0 ** e, lambda e: 2.0 ** e, [R.uniform(-2, 2, (3, 2))]),
    ("array_base", lambda e: np.array([1.5, 0.5]) ** e, lambda e: torch_tensor_pow(e), [R.uniform(-2, 2, 2)]),
])
def test_number_to_a_tensor_power(torch, name, tt, th, data):
    assert_parity(tt, th, [np.asarray(d, dtype=np.float64) for d in data], torch)


def torch_tensor_pow(e):
    import torch

    return torch.tensor([1.5, 0.5], dtype=torch.float64) ** e


def test_tensor_to_a_tensor_power_including_zero_and_negative_bases(torch):
    base = np.array([0.0, 2.0, -2.0, 0.0, 3.0, 0.5])
    exponent = np.array([0.0, 0.5, 2.0, 2.0, -1.0, 3.0])
    out = Tensor(base) ** Tensor(exponent)
    assert isinstance((Tensor(base, requires_grad=True) ** Tensor(exponent)).grad_fn, PowTensorBackward)
    np.testing.assert_allclose(out.data, (torch.tensor(base) ** torch.tensor(exponent)).numpy())
    # gradients: nan where torch has nan (the exponent's gradient at a negative base)
    a, b = Tensor(base, requires_grad=True), Tensor(exponent, requires_grad=True)
    ta, tb = torch.tensor(base, requires_grad=True), torch.tensor(exponent, requires_grad=True)
    (a ** b).sum().backward()
    (ta ** tb).sum().backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-12)  # assert_allclose: nan == nan
    assert_parity(lambda x, y: x ** y, lambda x, y: x ** y, [R.uniform(0.5, 2, (3, 4)), R.uniform(-2, 2, (4,))],
                  torch)


@pytest.mark.parametrize("name, tt, th", [
    ("int_by_int", lambda a, b: a / b, lambda a, b: a / b),
    ("number_by_int", lambda a, b: 1 / b, lambda a, b: 1 / b),
    ("int_by_number", lambda a, b: a / 2, lambda a, b: a / 2),
])
def test_true_division_of_integers_gives_floats(torch, name, tt, th):
    a, b = np.array([3, -7, 0, 9]), np.array([2, 2, 5, -4])
    ours, theirs = tt(Tensor(a), Tensor(b)), th(torch.tensor(a), torch.tensor(b))
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-7)


def test_int_divided_by_float_takes_the_float_dtype_with_gradient(torch):
    assert_parity(lambda a, b: a / b, lambda a, b: a / b, [np.array([3, 4, 5]), R.uniform(0.5, 2, 3)], torch,
                  grad=[False, True])


GELU_X = np.concatenate([np.linspace(-12, 12, 2001), [0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0]])


def test_exact_gelu_matches_torch_in_float64(torch):
    assert_parity(A.gelu, torch.nn.functional.gelu, [GELU_X], torch, rtol=1e-12, atol=1e-15)


def test_exact_gelu_in_float32_is_float64_gelu_rounded(torch):
    # torch's vectorised float32 kernel computes 1 + erf(x / sqrt 2) and loses up to 7e-4 relative
    # in the left tail (x near -4); ours uses erfc there, so we compare with torch in float64
    x = GELU_X.astype(np.float32)
    assert_parity(A.gelu, torch.nn.functional.gelu, [x], torch, rtol=1e-3, atol=1e-7)
    t = torch.tensor(x.astype(np.float64), requires_grad=True)
    torch.nn.functional.gelu(t).sum().backward()
    ours = Tensor(x, requires_grad=True)
    y = A.gelu(ours)
    y.sum().backward()
    assert y.dtype == np.float32 and ours.grad.dtype == np.float32
    np.testing.assert_allclose(y.data, torch.nn.functional.gelu(t).detach().numpy(), rtol=2e-6, atol=1e-12)
    np.testing.assert_allclose(ours.grad.data, t.grad.numpy(), rtol=2e-6, atol=1e-7)


def test_erf_and_erfc_are_accurate_to_float64_rounding(torch):
    x = np.concatenate([np.linspace(-8, 8, 40001), np.logspace(-300, 0.5, 200), [np.inf, -np.inf]])
    np.testing.assert_allclose(A.erf(x), torch.special.erf(torch.tensor(x)).numpy(), rtol=0, atol=3e-16)
    assert np.isnan(A.erf(np.array([np.nan]))[0])
    assert A.erf(np.ones(3, dtype=np.float32)).dtype == np.float32
    # erfc keeps its tail: relative accuracy where 1 - erf would round to 0
    tail = np.linspace(-3, 6, 901)
    exact = torch.special.erfc(torch.tensor(tail)).numpy()
    np.testing.assert_allclose(A.erfc(tail), exact, rtol=5e-9, atol=0)
    near = tail < 4
    np.testing.assert_allclose(A.erfc(tail[near].astype(np.float32)), exact[near], rtol=2e-6, atol=0)
