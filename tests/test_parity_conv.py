"""Convolution and pooling against PyTorch: values and the gradients of input, weight and bias over a grid."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity import assert_parity
from tinytorch.core.spatial import Conv2d, avg_pool2d, conv2d, max_pool2d
from tinytorch.core.tensor import Tensor

pytestmark = pytest.mark.parity

# (N, C, H, W), (O, KH, KW), stride, padding, dilation
CONV_GRID = [
    ((2, 3, 8, 8), (4, 3, 3), 1, 1, 1),
    ((1, 1, 5, 5), (1, 1, 1), 1, 0, 1),  # batch 1, 1x1 kernel
    ((1, 2, 5, 5), (3, 5, 5), 1, 0, 1),  # kernel as large as the input
    ((3, 2, 7, 9), (5, 2, 4), (2, 1), (1, 2), 1),  # non-square kernel, stride and padding
    ((2, 3, 11, 6), (2, 3, 2), 2, 0, (2, 1)),
    ((1, 4, 9, 9), (6, 3, 3), 3, 2, 2),
    ((2, 1, 13, 7), (3, 5, 1), (1, 3), (2, 0), (2, 1)),
    ((3, 5, 6, 6), (7, 2, 2), 2, 0, 1),
    ((1, 3, 10, 4), (2, 4, 3), (3, 2), (0, 1), (1, 1)),
    ((2, 2, 7, 7), (4, 3, 5), 1, (1, 2), (3, 1)),
    ((5, 1, 8, 8), (16, 3, 3), 1, 1, 1),  # milestone 04's first layer
    ((4, 16, 4, 4), (32, 3, 3), 1, 1, 1),  # and its second
]


def _conv_case(shape, kernel, dtype, seed=0):
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    o, kh, kw = kernel
    return (rng.standard_normal(shape).astype(dtype), rng.standard_normal((o, c, kh, kw)).astype(dtype),
            rng.standard_normal(o).astype(dtype))


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", CONV_GRID, ids=str)
def test_conv2d_float64(torch, shape, kernel, stride, padding, dilation, bias):
    x, w, b = _conv_case(shape, kernel, np.float64)
    arrays = [x, w, b] if bias else [x, w]
    assert_parity(lambda *t: conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  arrays, torch, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", CONV_GRID[::2], ids=str)
def test_conv2d_float32(torch, shape, kernel, stride, padding, dilation):
    x, w, b = _conv_case(shape, kernel, np.float32, seed=1)
    assert_parity(lambda *t: conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  [x, w, b], torch, rtol=1e-4, atol=1e-4)


def test_conv2d_input_without_grad_and_channels_last_input(torch):
    x, w, b = _conv_case((2, 3, 6, 6), (4, 3, 3), np.float64)
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert_parity(lambda x, w, b: conv2d(x, w, b, padding=1), lambda x, w, b: torch.nn.functional.conv2d(x, w, b, padding=1),
                  [channels_last, w, b], torch, grad=[False, True, True], rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       kh=st.integers(1, 5), kw=st.integers(1, 5), stride=st.integers(1, 3), padding=st.integers(0, 2),
       dilation=st.integers(1, 2), seed=st.integers(0, 2 ** 16))
def test_conv2d_random_shapes(n, c, o, h, w, kh, kw, stride, padding, dilation, seed):
    from conftest import torch_or_skip

    torch = torch_or_skip()
    if dilation * (kh - 1) + 1 > h + 2 * padding or dilation * (kw - 1) + 1 > w + 2 * padding:
        with pytest.raises(ValueError, match="larger than the padded input"):
            conv2d(Tensor(np.ones((n, c, h, w))), Tensor(np.ones((o, c, kh, kw))), padding=padding, dilation=dilation)
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw)), rng.standard_normal(o)]
    assert_parity(lambda *t: conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding, dilation=dilation),
                  arrays, torch, rtol=1e-9, atol=1e-9)


def test_conv2d_layer_matches_torch_layer_with_copied_weights(torch):
    ours = Conv2d(3, 5, (3, 2), stride=2, padding=1, rng=0)
    theirs = torch.nn.Conv2d(3, 5, (3, 2), stride=2, padding=1)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.data))
        theirs.bias.copy_(torch.from_numpy(ours.bias.data))
    x = np.random.default_rng(2).standard_normal((2, 3, 9, 8)).astype(np.float32)
    np.testing.assert_allclose(ours(Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
    # the same initial distribution: PyTorch's bound for this fan-in
    bound = 1 / np.sqrt(3 * 3 * 2)
    assert abs(np.abs(theirs.weight.detach().numpy()).max() - bound) < 0.2 * bound
    assert np.abs(ours.weight.data).max() <= bound


# (N, C, H, W), kernel, stride, padding
POOL_GRID = [
    ((2, 3, 8, 8), 2, None, 0),
    ((1, 1, 7, 7), 3, 2, 1),
    ((2, 2, 9, 6), (3, 2), (2, 1), (1, 1)),
    ((3, 1, 5, 5), 2, 1, 0),  # overlapping windows
    ((1, 2, 6, 9), (2, 4), (1, 3), (1, 2)),
    ((2, 4, 4, 4), 4, None, 2),
    ((1, 1, 1, 1), 1, None, 0),
]


@pytest.mark.parametrize("integers", [False, True], ids=["reals", "ties"])
@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_GRID, ids=str)
def test_max_pool2d(torch, shape, kernel, stride, padding, integers):
    rng = np.random.default_rng(3)
    x = rng.integers(-2, 3, shape).astype(np.float64) if integers else rng.standard_normal(shape)
    assert_parity(lambda t: max_pool2d(t, kernel, stride, padding),
                  lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding), [x], torch,
                  rtol=1e-12, atol=1e-12)  # a misrouted gradient would be off by O(1)


def test_max_pool2d_all_ties_float32(torch):
    x = np.zeros((2, 3, 6, 6), dtype=np.float32)
    assert_parity(lambda t: max_pool2d(t, 3, 1, 1), lambda t: torch.nn.functional.max_pool2d(t, 3, 1, 1), [x], torch,
                  rtol=1e-5, atol=1e-6)  # overlapping windows: float32 sums in another order


@pytest.mark.parametrize("shape, kernel, stride, padding", POOL_GRID, ids=str)
def test_avg_pool2d(torch, shape, kernel, stride, padding):
    x = np.random.default_rng(4).standard_normal(shape)
    assert_parity(lambda t: avg_pool2d(t, kernel, stride, padding),
                  lambda t: torch.nn.functional.avg_pool2d(t, kernel, stride, padding), [x], torch,
                  rtol=1e-12, atol=1e-12)
