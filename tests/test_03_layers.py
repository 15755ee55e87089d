"""Module 03: Module parameters and state, Linear, Sequential, Dropout."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Flatten, Linear, Module, Sequential, dropout, linear
from tinytorch.core.tensor import Tensor


@pytest.mark.task_3_1
def test_parameters_are_found_once_in_order():
    shared = Linear(3, 3, rng=0)
    model = Sequential(Linear(4, 3, rng=1), ReLU(), shared, shared)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert len(model.parameters()) == 4


@pytest.mark.task_3_2
def test_linear_forward_backward_and_init():
    layer = Linear(64, 32, rng=0)
    assert layer.weight.shape == (64, 32) and layer.bias.shape == (32,)
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(64)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    x = Tensor(np.random.default_rng(1).standard_normal((8, 64)).astype(np.float32))
    y = layer(x)
    assert np.allclose(y.data, x.data @ layer.weight.data + layer.bias.data, atol=1e-5)
    y.sum().backward()
    assert np.allclose(layer.bias.grad.data, 8.0)
    assert np.allclose(layer.weight.grad.data, x.data.sum(axis=0)[:, None] * np.ones((1, 32)), atol=1e-4)


def test_linear_is_seeded_and_checks_its_input():
    assert np.array_equal(Linear(3, 2, rng=5).weight.data, Linear(3, 2, rng=5).weight.data)
    assert not np.array_equal(Linear(3, 2, rng=5).weight.data, Linear(3, 2, rng=6).weight.data)
    with pytest.raises(ValueError, match=r"expects input \(\.\.\., 3\), got shape \(2, 4\)"):
        Linear(3, 2, rng=0)(Tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match="positive sizes"):
        Linear(0, 2)


@pytest.mark.task_3_3
def test_dropout_train_and_eval():
    drop = Dropout(0.25, rng=0)
    x = Tensor(np.ones((200, 50), dtype=np.float32), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.02
    assert np.allclose(y.data[kept], 1 / 0.75)
    y.sum().backward()
    assert np.allclose(x.grad.data, y.data)  # gradient flows through survivors only, same scale
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="p must be in"):
        Dropout(1.5)


def test_train_eval_reaches_nested_modules():
    model = Sequential(Linear(2, 2, rng=0), Sequential(Dropout(0.5, rng=0)))
    model.eval()
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_round_trip_and_mismatch():
    a, b = Sequential(Linear(3, 4, rng=0), Linear(4, 2, rng=1)), Sequential(Linear(3, 4, rng=2), Linear(4, 2, rng=3))
    b.load_state_dict(a.state_dict())
    for p, q in zip(a.parameters(), b.parameters()):
        assert np.array_equal(p.data, q.data) and p is not q
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        Sequential(Linear(4, 4), Linear(4, 2)).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match=r"missing keys \['layers.0.bias'"):
        b.load_state_dict({})


def test_flatten_and_module_without_forward():
    assert Flatten()(Tensor(np.ones((5, 8, 8)))).shape == (5, 64)
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        Module()(Tensor([1.0]))


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_functional_linear_matches_torch(torch, shape, with_bias):
    from parity import assert_parity
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape), rng.standard_normal((4, 3))] + ([rng.standard_normal(4)] if with_bias else [])
    assert_parity(lambda *t: linear(*t), lambda *t: torch.nn.functional.linear(*t), arrays, torch)


def test_functional_linear_equals_the_layer_and_checks_shapes():
    layer = Linear(3, 2, rng=0)
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose(linear(x, layer.weight.T, layer.bias).data, layer(x).data, rtol=1e-6)
    with pytest.raises(ValueError, match=r"got input \(2, 3\) and weight \(3, 2\)"):
        linear(x, layer.weight, layer.bias)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\), got \(3,\)"):
        linear(x, Tensor(np.ones((2, 3))), Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="weight must be a Tensor, got"):
        linear(x, np.ones((2, 3)))


def test_functional_dropout_follows_training_and_the_seed():
    import tinytorch
    x = Tensor(np.full(10000, 2.0, dtype=np.float32), requires_grad=True)
    assert dropout(x, 0.5, training=False) is x and dropout(x, 0.0) is x
    tinytorch.manual_seed(3)
    first = dropout(x, 0.25)
    tinytorch.manual_seed(3)
    np.testing.assert_array_equal(first.data, dropout(x, 0.25).data)
    assert set(np.unique(first.data)) <= {0.0, np.float32(2.0 / 0.75)}
    assert abs(first.data.mean() - 2.0) < 0.1
    first.sum().backward()
    np.testing.assert_allclose(x.grad.data, first.data / 2.0)  # the gradient is the mask, scaled
    with pytest.raises(ValueError, match="inplace=True is not supported"):
        dropout(x, 0.5, inplace=True)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        dropout(x, 1.5)
