"""Module 09: output sizes, window views, the convolution and pooling nodes, Conv2d, and their bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.autograd import gradcheck
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.spatial import (AvgPool2d, Conv2d, ConvolutionBackward, Flatten, MaxPool2d, MaxPool2DBackward,
                                    avg_pool2d, col2im, conv2d, conv_output_size, im2col, max_pool2d, window_view)
from tinytorch.core.tensor import Tensor


def direct_conv(x, w, b, stride, padding, dilation):
    """The seven-loop definition (over output pixels and taps; numpy does the channel sums)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, c, kh, kw = w.shape
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    y[:, :, i, j] += xp[:, :, i * sh + p * dh, j * sw + q * dw] @ w[:, :, p, q].T
    return y + (0 if b is None else b[:, None, None])


@pytest.mark.task_9_1
@pytest.mark.parametrize("size, kernel, stride, padding, dilation, expected", [
    (32, 5, 2, 1, 1, 15), (8, 3, 1, 1, 1, 8), (7, 3, 2, 0, 1, 3), (9, 3, 1, 0, 2, 5), (5, 5, 1, 0, 1, 1),
    (6, 2, 2, 0, 1, 3), (1, 1, 1, 0, 1, 1), (10, 4, 3, 2, 2, 3),
])
def test_conv_output_size(size, kernel, stride, padding, dilation, expected):
    assert conv_output_size(size, kernel, stride, padding, dilation) == expected


@pytest.mark.task_9_2
def test_window_view_reads_every_window_without_copying():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7))
    win = window_view(x, (3, 2), (2, 1), (2, 3))
    assert win.shape == (2, 3, 4, 3, 2, 3) and np.shares_memory(win, x) and not win.flags.writeable
    for n, i, j, p, q, c in [(0, 0, 0, 0, 0, 0), (1, 2, 3, 2, 1, 2), (1, 1, 2, 1, 0, 1)]:
        assert win[n, i, j, p, q, c] == x[n, c, 2 * i + 2 * p, j + 3 * q]
    channels_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert np.array_equal(window_view(channels_last, (3, 2), (2, 1), (2, 3)), win)  # any memory layout


def test_im2col_and_col2im_are_adjoint():
    # <im2col(x), c> == <x, col2im(c)> for every x and c: col2im is the transpose of the linear map im2col
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 5))
    kernel, stride, padding, dilation = (3, 2), (2, 1), (1, 2), (1, 2)
    cols = im2col(x, kernel, stride, padding, dilation)
    oh, ow = conv_output_size(6, 3, 2, 1, 1), conv_output_size(5, 2, 1, 2, 2)
    assert cols.shape == (2 * oh * ow, 3 * 2 * 3)
    c = rng.standard_normal(cols.shape)
    taps = c.reshape(2, oh, ow, 3 * 2, 3).transpose(3, 0, 1, 2, 4)  # rows (n, i, j), columns (tap, channel)
    back = col2im(taps, x.shape, kernel, stride, padding, dilation)
    assert back.shape == x.shape
    assert np.isclose((cols * c).sum(), (x * back).sum())


@pytest.mark.task_9_3
@pytest.mark.parametrize("stride, padding, dilation", [((1, 1), (0, 0), (1, 1)), ((2, 1), (1, 2), (1, 1)),
                                                       ((1, 2), (2, 0), (2, 1))])
def test_convolution_forward_matches_the_definition(stride, padding, dilation):
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 7, 8)), rng.standard_normal((4, 2, 3, 2)), rng.standard_normal(4)
    y = ConvolutionBackward().forward(x, w, b, stride, padding, dilation)
    np.testing.assert_allclose(y, direct_conv(x, w, b, stride, padding, dilation), atol=1e-12)
    y32 = ConvolutionBackward().forward(x.astype(np.float32), w.astype(np.float32), None, stride, padding, dilation)
    assert y32.dtype == np.float32


@pytest.mark.task_9_4
def test_convolution_backward_by_gradcheck_and_shapes():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((2, 3, 6, 7)), requires_grad=True)
    w = Tensor(rng.standard_normal((2, 3, 3, 2)), requires_grad=True)
    b = Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=(1, 0), dilation=(1, 2)), x, w, b)
    assert gradcheck(lambda x, w: conv2d(x, w, padding=2), x, w)
    node = ConvolutionBackward()
    node.forward(x.data, w.data, b.data, (1, 1), (1, 1), (1, 1))
    node.needs_input_grad = (True, True, True)
    upstream = rng.standard_normal((2, 2, 6, 8))
    upstream.setflags(write=False)  # a rule must never write into grad_output
    grads = node.backward(upstream)
    assert [g.shape for g in grads] == [x.shape, w.shape, b.shape]
    node.needs_input_grad = (False, True, False)
    dx, dw, db = node.backward(upstream)
    assert dx is None and db is None and np.allclose(dw, grads[1])


@pytest.mark.task_9_5
def test_max_pool_values_ties_and_overlap():
    x = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 2.0, 0.0, -1.0]]]], dtype=np.float32)
    node = MaxPool2DBackward()
    assert np.array_equal(node.forward(x), [[[[3.0, 0.0]]]])
    (dx,) = node.backward(np.array([[[[5.0, 7.0]]]], dtype=np.float32))
    assert np.array_equal(dx, [[[[0, 5, 7, 0], [0, 0, 0, 0]]]]) and dx.dtype == np.float32
    t = Tensor(np.random.default_rng(4).standard_normal((2, 3, 7, 6)), requires_grad=True)
    assert gradcheck(lambda t: max_pool2d(t, (3, 2), stride=(2, 1), padding=(1, 1)), t)
    zeros = Tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)  # every window a tie
    max_pool2d(zeros, 2).sum().backward()
    assert np.array_equal(zeros.grad.data[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])


def test_avg_pool_values_and_gradient():
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    y = avg_pool2d(x, 2)
    assert np.array_equal(y.data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    y.sum().backward()
    assert np.allclose(x.grad.data, 0.25)
    assert gradcheck(lambda t: avg_pool2d(t, 3, stride=2, padding=1), x)


def test_conv2d_init_is_pytorchs_bound_and_seeded():
    layer = Conv2d(4, 8, (3, 5), rng=0)
    bound = 1 / np.sqrt(4 * 3 * 5)
    assert layer.weight.shape == (8, 4, 3, 5) and layer.bias.shape == (8,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    assert bound * 0.9 < np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert np.array_equal(Conv2d(4, 8, 3, rng=7).weight.data, Conv2d(4, 8, 3, rng=7).weight.data)
    assert not np.array_equal(Conv2d(4, 8, 3, rng=7).weight.data, Conv2d(4, 8, 3, rng=8).weight.data)
    generator = np.random.default_rng(5)
    first, second = Conv2d(1, 2, 3, rng=generator), Conv2d(1, 2, 3, rng=generator)
    assert not np.array_equal(first.weight.data, second.weight.data)  # one generator, consumed in turn
    assert Conv2d(2, 3, 1, bias=False, rng=0).bias is None
    assert [name for name, _ in Conv2d(1, 2, 3, rng=0).named_parameters()] == ["weight", "bias"]


def test_lenet_stack_trains_one_step_and_keeps_float32():
    from tinytorch.core.activations import ReLU
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam

    rng = np.random.default_rng(6)
    model = Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Conv2d(4, 8, 3, padding=1, rng=rng),
                       ReLU(), AvgPool2d(2), Flatten(), Linear(32, 10, rng=rng))
    x, y = Tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32)), Tensor(rng.integers(0, 10, 16))
    optimizer = Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = CrossEntropyLoss()(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 and p.grad.shape == p.shape
               for p in model.parameters())


def test_bad_input_names_the_shapes():
    x = Tensor(np.ones((2, 3, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"input of shape \(2, 3, 8, 8\) has 3 channels, but weight of shape "
                                         r"\(4, 1, 3, 3\) expects 1"):
        Conv2d(1, 4, 3, rng=0)(x)
    with pytest.raises(ValueError, match=r"kernel \(5, 5\).*larger than the padded input: input shape "
                                         r"\(2, 3, 4, 4\), padding \(0, 0\) gives 4 pixels"):
        Conv2d(3, 4, 5, rng=0)(Tensor(np.ones((2, 3, 4, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"dilation \(3, 3\), spanning 7 pixels"):
        Conv2d(3, 4, 3, padding=1, dilation=3, rng=0)(Tensor(np.ones((2, 3, 4, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"expects a 4-D input \(N, C, H, W\), got shape \(3, 8, 8\)"):
        Conv2d(3, 4, 3, rng=0)(Tensor(np.ones((3, 8, 8), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"4-D input .* got shape \(8, 8\)"):
        max_pool2d(Tensor(np.ones((8, 8))), 2)
    with pytest.raises(ValueError, match=r"4-D weight \(O, C, KH, KW\), got shape \(4, 3, 3\)"):
        conv2d(x, Tensor(np.ones((4, 3, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        conv2d(x, Tensor(np.ones((4, 3, 3, 3), dtype=np.float32)), Tensor(np.ones(5, dtype=np.float32)))
    with pytest.raises(TypeError, match="bias dtype float64 differs from the input's float32"):
        conv2d(x, Tensor(np.ones((4, 3, 3, 3), dtype=np.float32)), Tensor(np.ones(4)))
    with pytest.raises(TypeError, match="input dtype float32 and weight dtype float64 differ"):
        conv2d(x, Tensor(np.ones((4, 3, 3, 3))))
    with pytest.raises(TypeError, match="expects a Tensor input, got ndarray"):
        conv2d(np.ones((2, 3, 8, 8)), Tensor(np.ones((4, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"stride must be an int >= 1 or a pair of them, got 0"):
        Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match=r"padding must be an int >= 0 or a pair of them, got \(1, 2, 3\)"):
        Conv2d(3, 4, 3, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="positive channel counts"):
        Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel \(3, 3\)"):
        MaxPool2d(3, padding=2)(x)
    with pytest.raises(ValueError, match=r"kernel \(9, 9\) is larger than the padded input: input shape \(2, 3, 8, 8\)"):
        avg_pool2d(x, 9)


def test_modules_repr_and_no_parameters_in_pools():
    assert "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)" in repr(Conv2d(1, 2, 3, padding=1, rng=0))
    assert MaxPool2d(2).parameters() == [] and AvgPool2d(2).parameters() == []
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=None, padding=0)"
