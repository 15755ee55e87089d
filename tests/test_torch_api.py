"""PyTorch's Tensor surface on tinytorch: values and gradients against torch, and every bad-input path."""

from __future__ import annotations

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core.tensor import Tensor

R = np.random.default_rng(11)


def arr(*shape):
    return R.uniform(-2.0, 2.0, shape)


def _as_index(like, index):
    """An int64 index of the same framework as ``like`` (torch.gather wants a torch tensor)."""
    return Tensor(np.array(index)) if isinstance(like, Tensor) else __import__("torch").tensor(index)


SHAPE_OPS = [
    ("transpose_0_1", lambda a: a.transpose(0, 1), arr(3, 4)),
    ("transpose_neg", lambda a: a.transpose(-1, 0), arr(2, 3, 4)),
    ("transpose_same", lambda a: a.transpose(1, 1), arr(2, 3)),
    ("permute_tuple", lambda a: a.permute((1, 2, 0)), arr(2, 3, 4)),
    ("T_3d", lambda a: a.permute(2, 1, 0), arr(2, 3, 4)),
    ("view", lambda a: a.view(4, -1), arr(2, 3, 4)),
    ("view_tuple", lambda a: a.view((6, 4)), arr(2, 3, 4)),
    ("unsqueeze_0", lambda a: a.unsqueeze(0), arr(3, 4)),
    ("unsqueeze_end", lambda a: a.unsqueeze(-1), arr(3, 4)),
    ("unsqueeze_mid", lambda a: a.unsqueeze(1), arr(3, 4)),
    ("squeeze_all", lambda a: a.squeeze(), arr(1, 3, 1, 4)),
    ("squeeze_dim", lambda a: a.squeeze(2), arr(1, 3, 1, 4)),
    ("squeeze_not_one", lambda a: a.squeeze(1), arr(1, 3, 1, 4)),
    ("squeeze_dims", lambda a: a.squeeze((0, 2)), arr(1, 3, 1, 4)),
    ("flatten", lambda a: a.flatten(), arr(2, 3, 4)),
    ("flatten_1", lambda a: a.flatten(1), arr(2, 3, 4)),
    ("flatten_0_1", lambda a: a.flatten(0, 1), arr(2, 3, 4)),
    ("sum_dim", lambda a: a.sum(dim=1), arr(2, 3, 4)),
    ("sum_dims_keepdim", lambda a: a.sum(dim=(0, -1), keepdim=True), arr(2, 3, 4)),
    ("sum_positional", lambda a: a.sum(2, True), arr(2, 3, 4)),
    ("mean_dim", lambda a: a.mean(dim=(1, 2)), arr(2, 3, 4)),
    ("max_all", lambda a: a.max(), arr(3, 4)),
    ("max_dim_values", lambda a: a.max(dim=1).values, arr(3, 4)),
    ("max_dim_keepdim", lambda a: a.max(0, keepdim=True)[0], arr(3, 4)),
    ("min_dim_values", lambda a: a.min(dim=-1).values, arr(2, 3, 4)),
    ("min_all", lambda a: a.min(), arr(3, 4)),
    ("amax_dims", lambda a: a.amax(dim=(0, 2)), arr(2, 3, 4)),
    ("amin_keepdim", lambda a: a.amin(dim=1, keepdim=True), arr(2, 3, 4)),
    ("gather", lambda a: a.gather(1, _as_index(a, [[0, 2, 2], [3, 1, 0]])), arr(2, 4)),
    ("gather_repeats", lambda a: a.gather(0, _as_index(a, [[1, 0, 1], [1, 1, 1]])), arr(2, 3)),
    ("gather_smaller", lambda a: a.gather(0, _as_index(a, [[1], [0]])), arr(3, 4)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, fn, data", SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS])
def test_shape_and_reduction_parity(torch, name, fn, data):
    assert_parity(fn, fn, [data], torch)


@pytest.mark.parity
@pytest.mark.parametrize("method", ["max", "min"])
def test_max_min_dim_return_values_and_indices_like_torch(torch, method):
    data = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 0.0, 7.0, 3.0], [-1.0, -1.0, -1.0, -1.0]])
    ours = getattr(Tensor(data), method)(dim=1)
    theirs = getattr(torch.tensor(data), method)(dim=1)
    assert np.array_equal(ours.indices.data, theirs.indices.numpy())  # ties: the first index, like torch
    assert ours.indices.dtype == np.int64
    np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
    values, indices = ours  # unpacks like torch.return_types.max
    assert values is ours.values and indices is ours.indices


@pytest.mark.parity
@pytest.mark.parametrize("a, b", [([1.0, 2.0, 3.0, np.nan], [1.0, 3.0, 2.0, 0.0]),
                                  ([[0.5, -1.0], [2.0, 2.0]], [0.5, 3.0])], ids=["ties_nan", "broadcast"])
def test_elementwise_max_min_of_two_tensors(torch, a, b):
    a, b = np.array(a), np.array(b)
    for name in ("max", "min"):
        ours = getattr(Tensor(a), name)(Tensor(b))
        theirs = getattr(torch.tensor(a), name)(torch.tensor(b))
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    finite = np.nan_to_num(a)
    assert_parity(lambda x, y: x.max(y), lambda x, y: torch.maximum(x, y), [finite, b], torch)
    assert_parity(lambda x, y: x.min(y), lambda x, y: torch.minimum(x, y), [finite, b], torch)


@pytest.mark.parity
def test_max_over_nan_follows_torchs_gradient(torch):
    data = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, 5.0, 0.0]])
    for ours_fn, torch_fn in [(lambda t: t.max(), lambda t: t.max()),
                              (lambda t: t.amax(dim=1), lambda t: t.amax(dim=1)),
                              (lambda t: t.max(dim=1).values, lambda t: t.max(dim=1).values),
                              (lambda t: t.min(), lambda t: t.min())]:
        ours, theirs = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        out, expected = ours_fn(ours), torch_fn(theirs)
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parity
def test_mean_of_nothing_is_nan_like_torch(torch):
    x = Tensor(np.zeros(0), requires_grad=True)
    m = x.mean()
    assert np.isnan(m.item()) and np.isnan(torch.zeros(0).mean().item())
    m.backward()
    assert x.grad.shape == (0,)
    assert np.isnan(Tensor(np.zeros((0, 3))).mean(dim=0).data).all()


def test_reductions_accept_numpy_aliases_and_size_is_a_method():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    assert np.array_equal(x.sum(axis=1, keepdims=True).data, a.sum(axis=1, keepdims=True))
    assert np.array_equal(x.mean(axis=(0, 2)).data, a.mean(axis=(0, 2)))
    assert np.array_equal(x.max(axis=2).values.data, a.max(axis=2))
    assert np.array_equal(x.argmax(dim=1, keepdim=True).data, a.argmax(axis=1)[:, None, :])
    assert x.argmax().item() == 23 and x.argmin().item() == 0 and x.argmax().dtype == np.int64
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3
    assert Tensor(3.0).sum(0).item() == 3.0 and Tensor(np.ones((2, 3))).sum(dim=()).item() == 6.0


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: x.sum(axis=1.5), TypeError, r"dim must be an int, got 1\.5"),
    (lambda x: x.sum(dim="0"), TypeError, "dim must be an int"),
    (lambda x: x.sum(axis=True), TypeError, "dim must be an int"),
    (lambda x: x.sum(axis=(0, 0)), ValueError, "names the same dimension twice"),
    (lambda x: x.mean(dim=(1, -1)), ValueError, "names the same dimension twice"),
    (lambda x: x.argmax(axis=5), IndexError, r"dim 5 is out of range .*\[-2, 1\]"),
    (lambda x: x.max(dim=2), IndexError, "dim 2 is out of range"),
    (lambda x: x.amax(dim=-3), IndexError, "dim -3 is out of range"),
    (lambda x: x.sum(dim=1, axis=1), TypeError, "both dim=1 and its alias axis=1"),
    (lambda x: x.transpose(0, 2), IndexError, "dim 2 is out of range"),
    (lambda x: x.permute(0), ValueError, r"permute needs all 2 dims"),
    (lambda x: x.permute(0, 0), ValueError, "names the same dimension twice"),
    (lambda x: x.unsqueeze(4), IndexError, r"dim 4 is out of range .*\[-3, 2\]"),
    (lambda x: x.squeeze(2), IndexError, "dim 2 is out of range"),
    (lambda x: x.flatten(1, 0), ValueError, "start_dim 1 comes after end_dim 0"),
    (lambda x: x.view(4, 2), ValueError, r"shape \(2, 3\)"),
    (lambda x: x.size(2), IndexError, "dim 2 is out of range"),
    (lambda x: x.gather(1, np.array([[0.0]])), ValueError, "integer index"),
    (lambda x: x.gather(1, np.array([0, 1])), ValueError, "2 dimensions"),
    (lambda x: x.gather(1, np.array([[3]])), IndexError, r"out of range \[0, 3\)"),
    (lambda x: x.gather(1, np.array([[0], [1], [0]])), ValueError, "larger than the input"),
    (lambda x: Tensor(np.arange(3)).mean(), TypeError, "floating-point tensor.*int64"),
    (lambda x: Tensor(np.zeros((0, 2))).max(dim=0), ValueError, "max over an empty dim"),
    (lambda x: Tensor(np.zeros((0, 2))).argmax(), ValueError, "empty"),
])
def test_bad_dims_are_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(Tensor(np.ones((2, 3))))
