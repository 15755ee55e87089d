"""Module 11: Embedding (lookup, scatter-add backward, padding_idx) and positional encodings, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.autograd import gradcheck
from tinytorch.core.embeddings import (Embedding, EmbeddingBackward, LearnedPositionalEncoding,
                                       SinusoidalPositionalEncoding, sinusoidal_table)
from tinytorch.core.tensor import Tensor

IDS = {
    "flat": np.array([3, 1, 4, 1, 5, 9, 2, 6]),
    "repeated": np.array([[2, 2, 2], [0, 2, 7]]),  # row 2 four times
    "3d": np.random.default_rng(0).integers(0, 10, size=(2, 3, 4)),
    "scalar": np.array(7),
}


def _torch_embedding(torch, weight: np.ndarray, ids: np.ndarray, padding_idx):
    layer = torch.nn.Embedding(*weight.shape, padding_idx=padding_idx, dtype=torch.float64 if weight.dtype ==
                               np.float64 else torch.float32)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
    return layer, layer(torch.tensor(ids))


@pytest.mark.parity
@pytest.mark.task_11_1
@pytest.mark.parametrize("ids", sorted(IDS))
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_matches_torch(torch, ids, padding_idx, dtype):
    ours = Embedding(10, 5, padding_idx=padding_idx, seed=1, dtype=dtype)
    theirs, expected = _torch_embedding(torch, ours.weight.data.copy(), IDS[ids], padding_idx)
    out = ours(Tensor(IDS[ids]))
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-6)
    upstream = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    upstream.setflags(write=False)  # a rule must never write into grad_output
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.copy()))
    assert ours.weight.grad.shape == (10, 5) and ours.weight.grad.dtype == dtype
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.task_11_1
def test_padding_row_starts_at_zero_and_never_learns():
    layer = Embedding(6, 3, padding_idx=-2, seed=0)
    assert layer.padding_idx == 4 and np.all(layer.weight.data[4] == 0) and np.any(layer.weight.data[3] != 0)
    layer(np.array([[4, 4, 1]])).sum().backward()
    assert np.all(layer.weight.grad.data[4] == 0) and np.all(layer.weight.grad.data[1] == 1)


@pytest.mark.task_11_1
def test_repeated_ids_accumulate_and_gradcheck():
    ids = np.array([[1, 1, 3], [3, 3, 0]])
    assert gradcheck(lambda w: EmbeddingBackward.apply(w, ids=ids, padding_idx=None) ** 2,
                     Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True))
    assert gradcheck(lambda w: EmbeddingBackward.apply(w, ids=ids, padding_idx=2).sum(axis=1) ** 2,
                     Tensor(np.random.default_rng(1).standard_normal((4, 3)), requires_grad=True))
    layer = Embedding(4, 2, seed=0)
    layer(ids).sum().backward()
    assert np.array_equal(layer.weight.grad.data[:, 0], [1, 2, 0, 3])


def test_embedding_bad_input_names_the_problem():
    layer = Embedding(10, 4, seed=0)
    with pytest.raises(IndexError, match=r"token id 10 at position \(1, 0\) is outside \[0, 10\)"):
        layer(np.array([[1, 2], [10, 3]]))
    with pytest.raises(IndexError, match=r"token id -1 .* outside \[0, 10\)"):
        layer(np.array([-1]))
    with pytest.raises(TypeError, match="integer token ids, got dtype float32"):
        layer(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="got dtype bool"):
        layer(np.array([True]))
    with pytest.raises(ValueError, match="padding_idx must be in"):
        Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match="positive sizes"):
        Embedding(0, 2)
    assert layer([]).shape == (0, 4) and layer([3, 4]).shape == (2, 4)


def test_embedding_init_is_seeded_standard_normal():
    a, b = Embedding(1000, 64, seed=3), Embedding(1000, 64, seed=3)
    assert np.array_equal(a.weight.data, b.weight.data) and a.weight.dtype == np.float32
    assert abs(a.weight.data.std() - 1.0) < 0.02 and abs(a.weight.data.mean()) < 0.02
    assert len(a.parameters()) == 1 and repr(Embedding(5, 2, padding_idx=0)) == "Embedding(5, 2, padding_idx=0)"


@pytest.mark.task_11_2
def test_sinusoidal_table_formula():
    table = sinusoidal_table(100, 16)
    t, i = np.arange(100)[:, None], np.arange(8)[None, :]
    angle = t / 10000 ** (2 * i / 16)
    np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-6)
    assert sinusoidal_table(4, 7).shape == (4, 7)
    np.testing.assert_allclose(sinusoidal_table(4, 7)[:, 6], np.sin(np.arange(4) / 10000 ** (6 / 7)), atol=1e-6)
    with pytest.raises(ValueError, match="positive sizes"):
        sinusoidal_table(0, 4)


def test_positional_layers_add_to_batches_with_an_offset():
    x = Tensor(np.zeros((2, 5, 8), dtype=np.float32), requires_grad=True)
    fixed = SinusoidalPositionalEncoding(16, 8)
    np.testing.assert_allclose(fixed(x).data, np.broadcast_to(sinusoidal_table(16, 8)[:5], (2, 5, 8)))
    np.testing.assert_allclose(fixed(x, start=3).data[0], sinusoidal_table(16, 8)[3:8])
    assert fixed.parameters() == [] and fixed(x).dtype == np.float32
    learned = LearnedPositionalEncoding(16, 8, seed=0)
    y = learned(x, start=2)
    np.testing.assert_allclose(y.data[1], learned.weight.data[2:7])
    (y * Tensor(np.arange(2.0 * 5 * 8, dtype=np.float32).reshape(2, 5, 8))).sum().backward()
    grad = learned.weight.grad.data
    assert np.all(grad[:2] == 0) and np.all(grad[7:] == 0)
    np.testing.assert_allclose(grad[2:7], np.arange(80.0).reshape(2, 5, 8).sum(axis=0))
    np.testing.assert_allclose(x.grad.data, np.arange(80.0).reshape(2, 5, 8))
    for layer in (fixed, learned):
        with pytest.raises(ValueError, match=r"positions 14\.\.18 are outside \[0, 16\)"):
            layer(x, start=14)
        with pytest.raises(ValueError, match=r"expects input \(\.\.\., T, 8\), got shape \(2, 5, 4\)"):
            layer(Tensor(np.zeros((2, 5, 4))))
    assert LearnedPositionalEncoding(4, 2, seed=5).weight.shape == (4, 2)
    assert np.array_equal(LearnedPositionalEncoding(4, 2, seed=5).weight.data,
                          LearnedPositionalEncoding(4, 2, seed=5).weight.data)


@pytest.mark.parity
def test_embedding_plus_positions_trains_like_torch(torch):
    """A lookup, learned positions and a sum: one gradient step agrees with PyTorch."""
    tokens, positions = Embedding(12, 6, padding_idx=0, seed=4), LearnedPositionalEncoding(5, 6, seed=5)
    ids = np.array([[3, 4, 4, 0, 0], [7, 3, 11, 2, 0]])
    t_tokens = torch.nn.Embedding(12, 6, padding_idx=0)
    t_positions = torch.nn.Parameter(torch.tensor(positions.weight.data.copy()))
    with torch.no_grad():
        t_tokens.weight.copy_(torch.tensor(tokens.weight.data))
    ours = positions(tokens(ids)) ** 2
    theirs = (t_tokens(torch.tensor(ids)) + t_positions[None, :5]) ** 2
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(tokens.weight.grad.data, t_tokens.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(positions.weight.grad.data, t_positions.grad.numpy(), rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(ids=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5), elements=st.integers(0, 6)),
       padding_idx=st.one_of(st.none(), st.integers(0, 6)))
def test_embedding_gradient_is_a_per_row_sum_property(ids, padding_idx):
    layer = Embedding(7, 3, padding_idx=padding_idx, seed=0, dtype=np.float64)
    out = layer(ids)
    assert out.shape == ids.shape + (3,)
    upstream = np.random.default_rng(ids.size).standard_normal(out.shape)
    out.backward(upstream)
    expected = np.zeros((7, 3))
    for index in np.ndindex(ids.shape):  # the definition, one position at a time
        expected[ids[index]] += upstream[index]
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(layer.weight.grad.data, expected, atol=1e-12)
