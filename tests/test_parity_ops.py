"""Every Tensor op and activation against PyTorch: values and gradients, float64, broadcasting, reuse."""

from __future__ import annotations

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core import activations as A
from tinytorch.core.tensor import where

pytestmark = pytest.mark.parity

R = np.random.default_rng(7)


def arr(*shape, low=-2.0, high=2.0):
    return R.uniform(low, high, shape)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
}
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((4,), (2, 3, 4)), ((3, 1), (1, 5)), ((), (3,))]


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_broadcast(torch, op, shapes):
    assert_parity(BINARY[op], BINARY[op], [pos(*shapes[0]), pos(*shapes[1])], torch)


@pytest.mark.parametrize("name, tt, th, data", [
    ("radd", lambda a: 2 + a, lambda a: 2 + a, arr(3, 2)),
    ("rsub", lambda a: 1 - a, lambda a: 1 - a, arr(3, 2)),
    ("rmul", lambda a: 3 * a, lambda a: 3 * a, arr(3, 2)),
    ("rdiv", lambda a: 2 / a, lambda a: 2 / a, pos(3, 2)),
    ("neg", lambda a: -a, lambda a: -a, arr(3, 2)),
    ("pow2", lambda a: a ** 2, lambda a: a ** 2, arr(3, 2)),
    ("pow_frac", lambda a: a ** 1.5, lambda a: a ** 1.5, pos(3, 2)),
    ("pow_neg", lambda a: a ** -2, lambda a: a ** -2, pos(3, 2)),
    ("rpow", lambda a: 2 ** a, lambda a: 2 ** a, arr(3, 2)),
    ("exp", lambda a: a.exp(), lambda a: a.exp(), arr(3, 2)),
    ("log", lambda a: a.log(), lambda a: a.log(), pos(3, 2)),
    ("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), pos(3, 2)),
    ("abs", lambda a: a.abs(), lambda a: a.abs(), arr(3, 2)),
    ("clip", lambda a: a.clip(-1, 0.5), lambda a: a.clamp(-1, 0.5), arr(4, 5)),
    ("clip_min", lambda a: a.clip(min=0.0), lambda a: a.clamp(min=0.0), arr(4, 5)),
    ("sum", lambda a: a.sum(), lambda a: a.sum(), arr(3, 4)),
    ("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), arr(3, 4, 2)),
    ("sum_axes_keep", lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum(dim=(0, 2), keepdim=True), arr(3, 4, 2)),
    ("mean", lambda a: a.mean(), lambda a: a.mean(), arr(3, 4)),
    ("mean_axis", lambda a: a.mean(axis=-1, keepdims=True), lambda a: a.mean(dim=-1, keepdim=True), arr(3, 4)),
    ("max", lambda a: a.max(), lambda a: a.max(), arr(3, 4)),
    ("amax_axis", lambda a: a.amax(1), lambda a: a.amax(dim=1), arr(3, 4)),
    ("amax_axis_keep", lambda a: a.amax(dim=0, keepdim=True), lambda a: a.amax(dim=0, keepdim=True), arr(3, 4)),
    ("amin_axis", lambda a: a.amin(dim=1), lambda a: a.amin(dim=1), arr(3, 4)),
    ("reshape", lambda a: a.reshape(4, 6), lambda a: a.reshape(4, 6), arr(2, 3, 4)),
    ("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), arr(2, 3, 4)),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), arr(2, 3, 4)),
    ("T", lambda a: a.T, lambda a: a.T, arr(3, 4)),
    ("slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], arr(4, 5)),
    ("int_index", lambda a: a[1], lambda a: a[1], arr(4, 5)),
    ("array_index_repeats", lambda a: a[np.array([0, 2, 0, 3])], lambda a: a[[0, 2, 0, 3]], arr(4, 5)),
    ("pair_index", lambda a: a[np.arange(4), np.array([1, 0, 4, 1])],
     lambda a: a[np.arange(4), np.array([1, 0, 4, 1])], arr(4, 5)),
    ("relu", A.relu, lambda a: a.relu(), arr(4, 5)),
    ("sigmoid", A.sigmoid, lambda a: a.sigmoid(), arr(4, 5, low=-30, high=30)),
    ("tanh", A.tanh, lambda a: a.tanh(), arr(4, 5)),
    ("gelu", A.gelu, lambda a: __import__("torch").nn.functional.gelu(a), arr(4, 5, low=-4, high=4)),
    ("gelu_tanh", lambda a: A.gelu(a, "tanh"), lambda a: __import__("torch").nn.functional.gelu(a, approximate="tanh"),
     arr(4, 5, low=-4, high=4)),
    ("softmax", lambda a: A.softmax(a, axis=-1), lambda a: a.softmax(dim=-1), arr(4, 5, low=-20, high=20)),
    ("softmax_axis0", lambda a: A.softmax(a, axis=0), lambda a: a.softmax(dim=0), arr(4, 5)),
])
def test_unary(torch, name, tt, th, data):
    assert_parity(tt, th, [data], torch)


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 5)),
                                    ((3, 4), (4,)), ((4,), (4,)), ((2, 1, 3, 4), (5, 4, 2))], ids=str)
def test_matmul(torch, sa, sb):
    assert_parity(lambda a, b: a @ b, lambda a, b: a @ b, [arr(*sa), arr(*sb)], torch)


def test_where(torch):
    cond = R.random((3, 4)) > 0.5
    assert_parity(lambda a, b: where(cond, a, b), lambda a, b: torch.where(torch.tensor(cond), a, b),
                  [arr(3, 4), arr(4)], torch)


def test_reused_nodes_and_diamonds(torch):
    def f(x, w):
        h = x @ w
        g = h * h + h          # h used three times
        k = (g - h).exp() / (1 + g.abs())
        return (k + k * 2).sum(axis=0) - h.mean()
    assert_parity(f, f, [arr(3, 4) / 2, arr(4, 2) / 2], torch)


def test_mlp_step(torch):
    def f(x, w1, b1, w2, b2):
        return A.relu(x @ w1 + b1) @ w2 + b2

    def g(x, w1, b1, w2, b2):
        return (x @ w1 + b1).relu() @ w2 + b2

    assert_parity(f, g, [arr(8, 5), arr(5, 6), arr(6), arr(6, 3), arr(3)], torch)


def test_float32_ops_stay_float32(torch):
    a, b = arr(3, 4).astype(np.float32), arr(4, 2).astype(np.float32)
    assert_parity(lambda x, y: A.sigmoid(x @ y * 0.5 + 1).mean(axis=0),
                  lambda x, y: (x @ y * 0.5 + 1).sigmoid().mean(dim=0), [a, b], torch, rtol=1e-5, atol=1e-6)
