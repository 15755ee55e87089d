# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 09 -- Convolutions
#
# An MLP sees an 8x8 digit as 64 unrelated numbers: move the stroke one
# pixel to the right and every input changes. A convolution looks at the
# image through a small window and uses the *same* weights at every
# position, so a stroke detector found in one corner works in all of them.
# LeCun's networks read zip codes this way in 1989; milestone 04 replays
# them on our digits.
#
# | task | what | graded |
# |------|------|--------|
# | 9.1 | `conv_output_size`: how big the output is | 2 pts |
# | 9.2 | `window_view`: every window of the input as a strided view | 3 pts |
# | 9.3 | `ConvolutionBackward.forward`: im2col and one matrix product | 3 pts |
# | 9.4 | `ConvolutionBackward.backward`: the three gradients, col2im | 4 pts |
# | 9.5 | `MaxPool2DBackward`: the maximum of each window, and its switch | 4 pts |
#
# Everything here works on a batch of images `(N, C, H, W)`: N images, C
# channels (1 for grey digits, 3 for colour), H rows, W columns -- PyTorch's
# order.

# %%
#| export
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.core.layers import Flatten, Module, _generator
from tinytorch.core.tensor import Function, Tensor

# %% [markdown]
# ## 1. What a filter sees
#
# A filter (kernel) is a small array of weights `w[c, p, q]` of shape
# `(C, KH, KW)`. Laid on the image at position `(i, j)` it sees the window
# `x[c, i + p, j + q]` and answers with one number, the dot product of window
# and weights plus a bias:
#
# $$y[o, i, j] = b[o] + \sum_{c}\sum_{p=0}^{KH-1}\sum_{q=0}^{KW-1} w[o, c, p, q]\; x[c,\ i s + p d,\ j s + q d]$$
#
# `O` filters give `O` output channels ("feature maps"). Three knobs move
# the window: the **stride** `s` (how far it jumps), the **padding** `P`
# (zeros added around the border, so edge pixels are seen as often as the
# centre) and the **dilation** `d` (gaps between the taps, a wider view for
# the same weights). Deep-learning "convolution" does not flip the kernel;
# mathematicians call it cross-correlation.
#
# **Weight sharing.** The same `w[o]` is used at every `(i, j)`: a
# `Conv2d(16, 32, 3)` has `32 * 16 * 3 * 3 + 32 = 4,640` parameters for any
# image size; a `Linear` from 16x4x4 to 32x4x4 would need 131,584.
#
# **Output size.** Along one axis the padded input has `n + 2P` positions
# and a dilated kernel spans `d (k - 1) + 1` of them; the window fits at
# every `s`-th start:
#
# $$n_{out} = \left\lfloor \frac{n + 2P - d(k - 1) - 1}{s} \right\rfloor + 1$$
#
# Worked number: a 32-pixel row, kernel 5, stride 2, padding 1, dilation 1:
# `floor((32 + 2 - 4 - 1) / 2) + 1 = floor(29 / 2) + 1 = 15`.
# With `k = 3, P = 1, s = 1` the size is kept: `n + 2 - 2 - 1 + 1 = n`.

# %% nbgrader={"grade": false, "grade_id": "conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Positions along one axis: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1."""
    # TODO (task 9.1): the formula above, with integer (floor) division.
    ### BEGIN SOLUTION
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert conv_output_size(32, 5, stride=2, padding=1) == 15
assert conv_output_size(8, 3, padding=1) == 8
### BEGIN HIDDEN TESTS
assert conv_output_size(7, 3, stride=2) == 3
assert conv_output_size(9, 3, dilation=2) == 5
assert conv_output_size(5, 5) == 1
assert conv_output_size(6, 2, stride=2) == 3
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Receptive fields
#
# One output pixel of a layer depends on a `k x k` window of its input; an
# output pixel of the *next* layer depends on a window of windows. Walking
# up the stack, the receptive field `r` grows by `(k - 1) * J`, where the
# jump `J` (the distance in input pixels between neighbouring positions of
# the current layer) is multiplied by every stride:
#
# $$r \leftarrow r + (k - 1)\, d\, J, \qquad J \leftarrow J\, s, \qquad r_0 = 1,\ J_0 = 1$$
#
# For milestone 04's network, conv 3x3 -> max-pool 2 -> conv 3x3 -> max-pool 2:
# r = 1, 3, 4, 8, 10 with jumps 1, 1, 2, 2, 4. Each of the last layer's
# 2x2 positions sees a 10x10 window -- more than the whole 8x8 digit
# (the padding makes up the rest).

# %%
def receptive_fields(layers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(receptive field, jump) after each (kernel, stride) layer."""
    r, jump, out = 1, 1, []
    for kernel, stride in layers:
        r += (kernel - 1) * jump
        jump *= stride
        out.append((r, jump))
    return out


print(receptive_fields([(3, 1), (2, 2), (3, 1), (2, 2)]))

# %% [markdown]
# ## 3. im2col: a convolution is one matrix product
#
# A direct implementation loops over `N * O * OH * OW` outputs and does a
# `C * KH * KW` dot product for each: seven nested loops, hopeless in Python.
# **im2col** (image to columns) rearranges the input instead: each window
# becomes one row of a matrix `cols` of shape `(N * OH * OW, KH * KW * C)`,
# and the filters become a matrix `W` of shape `(KH * KW * C, O)`. Then
#
# $$Y = \mathrm{cols}\; W + b \qquad (N \cdot OH \cdot OW,\ O)$$
#
# is exactly the formula of section 1, and it is `Linear` (module 03)
# applied to every window at once. One BLAS call does all the arithmetic.
#
# The figure shows a 4x4 image and a 3x3 kernel (stride 1, no padding):
# four windows, four rows of nine entries each.

# %%
import matplotlib.pyplot as plt  # noqa: E402

_image = np.arange(1, 17).reshape(4, 4)
_rows = np.array([_image[i:i + 3, j:j + 3].ravel() for i in range(2) for j in range(2)])
_colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1, 2.2]})
left.imshow(np.zeros((4, 4)), cmap="Greys")
for (i, j), v in np.ndenumerate(_image):
    left.text(j, i, str(v), ha="center", va="center")
for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
    d = 0.06 * (k + 1)
    left.add_patch(plt.Rectangle((j - 0.5 + d, i - 0.5 + d), 3 - 2 * d, 3 - 2 * d, fill=False, lw=2,
                                 edgecolor=_colours[k], label=f"window (i={i}, j={j}) -> row {k}"))
left.set(title="input x (4x4) and its 3x3 windows", xlabel="column (pixel)", ylabel="row (pixel)",
         xticks=range(4), yticks=range(4))
right.imshow(np.zeros(_rows.shape), cmap="Greys", aspect="auto")
for (k, t), v in np.ndenumerate(_rows):
    right.text(t, k, str(v), ha="center", va="center", color=_colours[k])
right.set(title="cols: one row per window (output pixel)", xlabel="tap (p, q), column 3 p + q",
          ylabel="row k = output pixel (i, j)", xticks=range(9), yticks=range(4))
fig.legend(loc="lower center", ncol=4, fontsize=8)
plt.tight_layout(rect=(0, 0.1, 1, 1))
plt.show()

# %% [markdown]
# ### The windows as a view
#
# Copying windows one by one is a Python loop. numpy can instead *describe*
# all windows at once without copying: an array is a pointer plus, per
# axis, a **stride** (bytes to the next index); `x.strides` of a
# `(N, C, H, W)` array says how far apart two images, channels, rows and
# columns are. The window array
#
# $$\mathrm{win}[n, i, j, p, q, c] = x_{pad}[n,\ c,\ i s + p d,\ j s + q d]$$
#
# of shape `(N, OH, OW, KH, KW, C)` is the same memory read with strides
# `(S_n, s S_h, s S_w, d S_h, d S_w, S_c)`: one step of `i` jumps `s` rows,
# one step of `p` jumps `d` rows. `as_strided` builds that view; then
# `win.reshape(N * OH * OW, KH * KW * C)` copies it -- the im2col buffer --
# in one C loop. The channel axis is *last* in a row: with channels-last
# activations (section 7) the `KW * C` entries of a window row are
# neighbours in memory, so the copy moves long contiguous runs.
#
# `as_strided` trusts you: wrong strides read memory outside the array, so
# the view is read-only and its shape comes from `conv_output_size`.

# %% nbgrader={"grade": false, "grade_id": "window_view", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def window_view(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int]) -> np.ndarray:
    """Every window of an (already padded) batch ``x`` (N, C, H, W), as a read-only view.

    Returns shape (N, OH, OW, KH, KW, C) with win[n, i, j, p, q, c] = x[n, c, i*sh + p*dh, j*sw + q*dw].
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    oh, ow = conv_output_size(h, kh, sh, 0, dh), conv_output_size(w, kw, sw, 0, dw)
    step_n, step_c, step_h, step_w = x.strides
    # TODO (task 9.2): the shape and the strides (in bytes) of the window
    # array; return as_strided(x, shape, strides, writeable=False).
    ### BEGIN SOLUTION
    shape = (n, oh, ow, kh, kw, c)
    strides = (step_n, sh * step_h, sw * step_w, dh * step_h, dw * step_w, step_c)
    return as_strided(x, shape, strides, writeable=False)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_window_view", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_x = np.arange(16.0).reshape(1, 1, 4, 4)
_win = window_view(_x, (3, 3), (1, 1), (1, 1))
assert _win.shape == (1, 2, 2, 3, 3, 1)
assert np.array_equal(_win[0, 1, 0, :, :, 0], _x[0, 0, 1:4, 0:3])
### BEGIN HIDDEN TESTS
_x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
_win = window_view(_x, (2, 3), (2, 1), (1, 2))
assert _win.shape == (2, 3, 2, 2, 3, 3)
assert _win[1, 2, 1, 1, 2, 0] == _x[1, 0, 2 * 2 + 1, 1 + 2 * 2]
assert not _win.flags.writeable
### END HIDDEN TESTS

# %% [markdown]
# `im2col` pads (section 7 says why into a channels-last buffer) and copies
# the view into the `(N * OH * OW, KH * KW * C)` buffer. Given code.

# %%
#| export
def _pairs(name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints >= minimum, as a pair; ValueError naming the argument otherwise."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    """x (N, C, H, W) surrounded by ``value``; the new buffer is stored channels-last (see section 7)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    shape = (n, h + 2 * ph, w + 2 * pw, c)
    out = (np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)).transpose(0, 3, 1, 2)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
           dilation: tuple[int, int]) -> np.ndarray:
    """The windows of x (N, C, H, W) as rows: (N * OH * OW, KH * KW * C), entries ordered (p, q, c)."""
    windows = window_view(_pad(x, padding), kernel, stride, dilation)
    n, oh, ow, kh, kw, c = windows.shape
    if c > 1:
        return windows.reshape(n * oh * ow, kh * kw * c)  # the one copy: the im2col buffer
    # One channel: runs of KW floats are too short for numpy's copy loop; tap by tap moves runs of OW.
    cols = np.empty((n, oh, ow, kh * kw), dtype=x.dtype)
    for k in range(kh * kw):
        cols[..., k] = windows[:, :, :, k // kw, k % kw, 0]
    return cols.reshape(n * oh * ow, kh * kw)


# %% [markdown]
# ## 4. The convolution node
#
# With `cols = im2col(x)` and the weight `w (O, C, KH, KW)` rearranged to
# `W = w.transpose(2, 3, 1, 0).reshape(KH * KW * C, O)` (row `(p, q, c)`
# holds the filters' weight for that tap, the same order as a window row):
#
# $$Y_{rows} = \mathrm{cols}\; W + b, \qquad y = Y_{rows}\text{.reshape}(N, OH, OW, O)\text{.transpose}(0, 3, 1, 2)$$
#
# The rows of `cols` are ordered `(n, i, j)`, so the product is
# `(N, OH, OW, O)`; the final `transpose` is a free view to PyTorch's
# `(N, O, OH, OW)`. Everything is one graph node, `ConvolutionBackward`,
# like the fused `LinearBackward` of module 03.
#
# ### The backward rule, and col2im as the adjoint of im2col
#
# Seen through im2col, a convolution *is* a linear layer, so module 03's
# rule applies to `cols` and `W`. With `G` the output gradient in rows,
# `G = g.transpose(0, 2, 3, 1).reshape(N * OH * OW, O)`:
#
# $$\frac{\partial L}{\partial b} = \sum_{rows} G, \qquad \frac{\partial L}{\partial W} = \mathrm{cols}^\top G, \qquad \frac{\partial L}{\partial\,\mathrm{cols}} = G\, W^\top$$
#
# `dL/dW` is reshaped back to `(KH, KW, C, O)` and transposed to the
# weight's `(O, C, KH, KW)`. What remains is to get from `dL/dcols` to
# `dL/dx`. im2col is a linear map `A: x -> cols` (it only copies), so by the
# chain rule `dL/dx = A^T dL/dcols`: the **adjoint** (transpose) of
# im2col. Where im2col copies `x[c, i s + p d, j s + q d]` into row `(i, j)`,
# column `(p, q, c)`, its adjoint adds that entry back to the same place --
# and a pixel that appeared in several windows collects the sum of all its
# copies' gradients. That adjoint is **col2im**.
#
# Organised by kernel position: tap `(p, q)` of every window reads the
# slice `x_pad[:, :, p d : p d + s(OH-1) + 1 : s, q d : ... : s]`, so the
# convolution is a sum over taps, `Y = sum_{p,q} slice_{pq}(x) W_{pq}` with
# `W_{pq}` the `(C, O)` block of `W`. Its gradient for one tap is
# `G W_{pq}^T`, and col2im adds each of the `KH * KW` slice gradients into
# a zero array at the slice it came from, then cuts the padding off. A
# loop over kernel positions (9 for a 3x3 kernel), never over pixels; an
# `np.add.at` scatter would do the same one element at a time, far slower.
#
# Worked check of the adjoint: a 1x3 input `[a, b, c]`, kernel 2, stride 1.
# im2col gives rows `[a, b]`, `[b, c]`. If `dL/dcols = [[1, 2], [3, 4]]`,
# col2im gives `[1, 2 + 3, 4] = [1, 5, 4]`: `b` sat in both windows.

# %%
#| export
def col2im(slice_grads: np.ndarray, x_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """The adjoint of im2col: add each tap's slice gradient back where the slice was read.

    ``slice_grads`` is (KH * KW, N, OH, OW, C): for tap k = p * KW + q, the gradient of
    x_pad[:, :, p*dh : ... : sh, q*dw : ... : sw] (channels last). Returns dL/dx (N, C, H, W).
    """
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh, ow = slice_grads.shape[2:4]
    grad = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=slice_grads.dtype)  # channels-last, like the slices
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
            columns = slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)
            grad[:, rows, columns] += slice_grads[p * kw + q]
    return grad[:, ph:ph + h, pw:pw + w].transpose(0, 3, 1, 2)


# %% [markdown]
# Your two tasks: the forward product (9.3) and the three gradients (9.4).
# The weight arrangement `W` is given; for the input gradient, compute the
# slice gradients of all taps with one batched product,
# `np.matmul(G, W_taps)` with `W_taps = W.reshape(KH*KW, C, O).transpose(0, 2, 1)`,
# shape `(KH*KW, O, C)`, which gives `(KH*KW, N*OH*OW, C)`; reshape it to
# `(KH*KW, N, OH, OW, C)` for `col2im`.

# %% nbgrader={"grade": false, "grade_id": "convolution", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class ConvolutionBackward(Function):
    """y = conv2d(x, w, b) through im2col: Y = cols @ W + b;  dW = cols^T G, db = sum G, dx = col2im(G W^T).

    x (N, C, H, W), w (O, C, KH, KW), b (O,) or absent; y (N, O, OH, OW).
    """

    def forward(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: tuple[int, int] = (1, 1),
                padding: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1)) -> np.ndarray:
        n = x.shape[0]
        o, c, kh, kw = w.shape
        weight = w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)  # W: row (p, q, c), one column per filter
        oh = conv_output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
        ow = conv_output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
        # TODO (task 9.3): cols = im2col(...); rows = cols @ weight, plus b
        # when given; save what backward needs in self.saved (cols, weight,
        # x.shape, the options); return rows as (N, O, OH, OW) via reshape
        # and transpose.
        ### BEGIN SOLUTION
        cols = im2col(x, (kh, kw), stride, padding, dilation)
        rows = cols @ weight
        if b is not None:
            rows += b  # in place: the product is ours
        self.saved = (cols, weight, x.shape, w.shape, stride, padding, dilation)
        return rows.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        cols, weight, x_shape, w_shape, stride, padding, dilation = self.saved
        o, c, kh, kw = w_shape
        needs_x, needs_w = self.needs_input_grad[:2]
        needs_b = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]
        rows = grad_output.transpose(0, 2, 3, 1).reshape(-1, o)  # G: (N * OH * OW, O)
        n, oh, ow = x_shape[0], grad_output.shape[2], grad_output.shape[3]
        # TODO (task 9.4): grad_b = sum of G over rows; grad_w = cols^T G
        # reshaped to (KH, KW, C, O) and transposed to (O, C, KH, KW);
        # grad_x = col2im of the per-tap slice gradients (see above).
        # None for an input that needs no gradient.
        ### BEGIN SOLUTION
        grad_x = grad_w = grad_b = None
        if needs_x:
            taps = weight.reshape(kh * kw, c, o).transpose(0, 2, 1)
            slices = np.matmul(rows, taps).reshape(kh * kw, n, oh, ow, c)
            grad_x = col2im(slices, x_shape, (kh, kw), stride, padding, dilation)
        if needs_w:
            grad_w = (cols.T @ rows).reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
        if needs_b:
            # the sum over rows, as a product: on a tall, thin G, BLAS is far faster than rows.sum(axis=0)
            grad_b = np.ones(len(rows), dtype=rows.dtype) @ rows
        ### END SOLUTION
        return (grad_x, grad_w, grad_b)[:len(self.needs_input_grad)]


# %% nbgrader={"grade": true, "grade_id": "test_convolution", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_x = np.arange(16.0).reshape(1, 1, 4, 4)
_w = np.zeros((2, 1, 3, 3))
_w[0, 0, 1, 1] = 1.0  # picks the centre of each window
_w[1] = 1.0  # sums each window
_node = ConvolutionBackward()
_y = _node.forward(_x, _w, np.array([0.0, 0.5]))
assert _y.shape == (1, 2, 2, 2)
assert np.array_equal(_y[0, 0], [[5, 6], [9, 10]]) and np.array_equal(_y[0, 1], [[45.5, 54.5], [81.5, 90.5]])
### BEGIN HIDDEN TESTS
_y = ConvolutionBackward().forward(np.ones((2, 3, 5, 5), dtype=np.float32), np.ones((4, 3, 2, 2), dtype=np.float32),
                                   None, stride=(2, 2), padding=(1, 1), dilation=(1, 1))
assert _y.shape == (2, 4, 3, 3) and _y.dtype == np.float32
assert _y[0, 0, 0, 0] == 3.0 and _y[0, 0, 1, 1] == 12.0
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_convolution_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_node = ConvolutionBackward()
_node.forward(np.array([[[[1.0, 2.0, 3.0]]]]), np.array([[[[1.0, 1.0]]]]), np.zeros(1))
_node.needs_input_grad = (True, True, True)
_dx, _dw, _db = _node.backward(np.array([[[[1.0, 2.0]]]]))
assert np.array_equal(_dx, [[[[1.0, 3.0, 2.0]]]])  # the middle pixel sat in both windows
assert np.array_equal(_dw, [[[[5.0, 8.0]]]]) and np.array_equal(_db, [3.0])
### BEGIN HIDDEN TESTS
from tinytorch.core.autograd import gradcheck

_rng = np.random.default_rng(3)
_xs = Tensor(_rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
_ws = Tensor(_rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
assert gradcheck(lambda x, w: ConvolutionBackward.apply(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2)), _xs, _ws)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. `conv2d` and `Conv2d`
#
# The functional form checks its arguments and names the shapes when they
# do not fit: a 4-D input, as many input channels as the weight expects,
# and a (dilated) kernel no larger than the padded input.
#
# `Conv2d` stores `weight (O, C, KH, KW)` and `bias (O,)` -- PyTorch's
# layout, so state dicts and intuition transfer -- and initialises both as
# PyTorch does: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with
# `fan_in = C * KH * KW` (PyTorch's `kaiming_uniform_(a=sqrt(5))` works out
# to exactly this bound). Randomness comes from `rng`, a seed or a
# `np.random.Generator`, as in `Linear`.

# %%
#| export
def _check_input(name: str, x: Any) -> np.ndarray:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a Tensor input, got {type(x).__name__}")
    if x.data.ndim != 4:
        raise ValueError(f"{name} expects a 4-D input (N, C, H, W), got shape {x.shape}")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{name} expects a floating-point input, got dtype {x.data.dtype}")
    return x.data


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0, dilation: int | tuple[int, int] = 1) -> Tensor:
    """2-D convolution (cross-correlation), PyTorch's ``F.conv2d``: input (N, C, H, W), weight (O, C, KH, KW),
    bias (O,) -> (N, O, OH, OW), one ``ConvolutionBackward`` node."""
    x = _check_input("conv2d", input)
    stride, padding = _pairs("stride", stride, 1), _pairs("padding", padding, 0)
    dilation = _pairs("dilation", dilation, 1)
    if weight.data.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D weight (O, C, KH, KW), got shape {weight.shape}")
    o, c, kh, kw = weight.shape
    if x.shape[1] != c:
        raise ValueError(f"conv2d: input of shape {input.shape} has {x.shape[1]} channels, but weight of shape "
                         f"{weight.shape} expects {c}")
    if weight.data.dtype != x.dtype:
        raise TypeError(f"conv2d: input dtype {x.dtype} and weight dtype {weight.data.dtype} differ")
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"conv2d: bias must have shape ({o},) for weight of shape {weight.shape}, got {bias.shape}")
    if bias is not None and bias.data.dtype != x.dtype:
        raise TypeError(f"conv2d: bias dtype {bias.data.dtype} differs from the input's {x.dtype}")
    for axis, k, p, d in ((2, kh, padding[0], dilation[0]), (3, kw, padding[1], dilation[1])):
        if d * (k - 1) + 1 > x.shape[axis] + 2 * p:
            raise ValueError(f"conv2d: kernel {(kh, kw)} (dilation {dilation}, spanning {d * (k - 1) + 1} pixels) is "
                             f"larger than the padded input: input shape {input.shape}, padding {padding} gives "
                             f"{x.shape[axis] + 2 * p} pixels along axis {axis}")
    inputs = (input, weight) if bias is None else (input, weight, bias)
    return ConvolutionBackward.apply(*inputs, stride=stride, padding=padding, dilation=dilation)


class Conv2d(Module):
    """y = conv2d(x, weight, bias): weight (out_channels, in_channels, KH, KW), bias (out_channels,)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, bias: bool = True,
                 rng: np.random.Generator | int | None = None, dtype: Any = np.float32) -> None:
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"Conv2d needs positive channel counts, got in_channels={in_channels}, "
                             f"out_channels={out_channels}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pairs("kernel_size", kernel_size, 1)
        self.stride, self.padding = _pairs("stride", stride, 1), _pairs("padding", padding, 0)
        self.dilation = _pairs("dilation", dilation, 1)
        generator = _generator(rng)
        bound = 1.0 / np.sqrt(in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (out_channels, in_channels, *self.kernel_size)
        self.weight = Tensor(generator.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)
        self.bias = (Tensor(generator.uniform(-bound, bound, out_channels).astype(dtype), requires_grad=True)
                     if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
                f"bias={self.bias is not None})")


# %% [markdown]
# ## 6. Pooling
#
# A pooling layer summarises each window of each channel by one number and
# has no weights. **Max pooling** keeps the strongest response: a feature
# found anywhere in a 2x2 block survives, and the map shrinks 4x, so the
# next convolution sees a wider area (section 2). **Average pooling** keeps
# the mean.
#
# Both use col2im's strided tap slices: the maximum over windows is a
# running `np.maximum` over the `KH * KW` slices
# `x[:, :, p : p + s(OH-1) + 1 : s, q : ... : s]`.
#
# **The backward rule of max.** `y = max(x_1, ..., x_K)` depends only on
# the winner: `dy/dx_k = 1` for the arg-max, 0 for the rest. The pool is a
# switch that routes each output gradient to one input. When several
# entries tie for the maximum (common after a ReLU: a window of zeros),
# PyTorch routes the whole gradient to the *first* of them in row-major
# order (it scans `p`, then `q`, and keeps the first strictly larger
# value). We do the same: walk the taps in that order, and a tap gets
# the gradient where it equals the maximum and no earlier tap has taken it.
# Where windows overlap (stride < kernel), one input can win several
# windows, so the contributions are added.
#
# Padding (at most half the kernel, as in PyTorch) adds `-inf` around the
# image, which never wins.
#
# Worked example: the window `[[1, 3], [3, 2]]` has maximum 3 at taps 1
# and 2; with output gradient 5 the input gradient is `[[0, 5], [0, 0]]`.

# %% nbgrader={"grade": false, "grade_id": "max_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _tap_slices(kernel: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int]):
    """For each tap (p, q) in row-major order, the index of the slice of x_pad it reads in every window."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    for p in range(kh):
        for q in range(kw):
            yield (slice(None), slice(None), slice(p, p + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw))


class MaxPool2DBackward(Function):
    """y[n, c, i, j] = max over the window;  dx = g routed to the first maximum of each window (row-major)."""

    def forward(self, x: np.ndarray, kernel: tuple[int, int] = (2, 2), stride: tuple[int, int] = (2, 2),
                padding: tuple[int, int] = (0, 0)) -> np.ndarray:
        x_pad = _pad(x, padding, -np.inf)
        out_hw = (conv_output_size(x.shape[2], kernel[0], stride[0], padding[0]),
                  conv_output_size(x.shape[3], kernel[1], stride[1], padding[1]))
        # TODO (task 9.5): out = the running np.maximum over the tap slices
        # (start from a copy of the first, order="K" keeps the memory layout);
        # save x_pad, out and what backward needs; return out.
        ### BEGIN SOLUTION
        out = None
        for index in _tap_slices(kernel, stride, out_hw):
            if out is None:
                out = x_pad[index].copy(order="K")
            else:
                np.maximum(out, x_pad[index], out=out)
        self.saved = (x_pad, out, kernel, stride, padding, x.shape)
        return out
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        x_pad, out, kernel, stride, (ph, pw), (n, c, h, w) = self.saved
        overlap = stride[0] < kernel[0] or stride[1] < kernel[1]
        # Speed (given): windows that tile x_pad write every entry of grad, so no zeros are needed; and
        # grad_output gets x_pad's memory layout, so the loop streams through both.
        tiled = not overlap and x_pad.shape[2:] == (out.shape[2] * kernel[0], out.shape[3] * kernel[1])
        grad = np.empty_like(x_pad) if tiled else np.zeros_like(x_pad)  # *_like keeps x_pad's memory layout
        if grad_output.strides != out.strides:
            aligned = np.empty_like(out)
            aligned[...] = grad_output
            grad_output = aligned
        free = None  # where no earlier tap has taken the gradient yet
        # TODO (task 9.5): for each tap slice in order, the windows it wins:
        # equal to out and still free; then mark them taken. Write
        # grad_output * wins into grad at that slice (np.multiply(..., out=)),
        # or add it where windows overlap.
        ### BEGIN SOLUTION
        for index in _tap_slices(kernel, stride, out.shape[2:]):
            wins = x_pad[index] == out
            if free is None:
                free = ~wins
            else:
                wins &= free
                free &= ~wins
            if overlap:
                grad[index] += grad_output * wins
            else:
                np.multiply(grad_output, wins, out=grad[index])
        ### END SOLUTION
        return (grad[:, :, ph:ph + h, pw:pw + w],)


# %% nbgrader={"grade": true, "grade_id": "test_max_pool", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_node = MaxPool2DBackward()
_x = np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 2.0, 0.0, -1.0]]]])
assert np.array_equal(_node.forward(_x), [[[[3.0, 0.0]]]])
_dx, = _node.backward(np.array([[[[5.0, 7.0]]]]))
assert np.array_equal(_dx, [[[[0.0, 5.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])  # ties: the first maximum wins
### BEGIN HIDDEN TESTS
_node = MaxPool2DBackward()
_x = np.array([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]])
assert np.array_equal(_node.forward(_x, (2, 2), (1, 1), (0, 0)), [[[[9.0, 9.0], [9.0, 9.0]]]])
_dx, = _node.backward(np.ones((1, 1, 2, 2)))
assert _dx[0, 0, 1, 1] == 4.0 and _dx.sum() == 4.0  # one input won all four overlapping windows
_node = MaxPool2DBackward()
_y = _node.forward(-np.ones((1, 1, 3, 3), dtype=np.float32), (3, 3), (2, 2), (1, 1))
assert _y.shape == (1, 1, 2, 2) and _y.dtype == np.float32 and np.all(_y == -1.0)
_dx, = _node.backward(np.ones((1, 1, 2, 2), dtype=np.float32))
assert _dx.shape == (1, 1, 3, 3) and np.array_equal(_dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])  # first of each tie
### END HIDDEN TESTS

# %% [markdown]
# Average pooling is the same walk with a sum, divided by the window size
# (padding zeros count, PyTorch's default `count_include_pad=True`); its
# backward gives every tap `g / (KH * KW)`. Given code, with the functional
# forms and the layer classes. `Flatten` (from module 03) turns the last
# feature maps into rows for a `Linear` classifier.

# %%
#| export
class AvgPool2DBackward(Function):
    """y = mean of each window (padding counts as 0);  dx = g / (KH * KW) added to every tap of the window."""

    def forward(self, x: np.ndarray, kernel: tuple[int, int] = (2, 2), stride: tuple[int, int] = (2, 2),
                padding: tuple[int, int] = (0, 0)) -> np.ndarray:
        x_pad = _pad(x, padding)
        out_hw = (conv_output_size(x.shape[2], kernel[0], stride[0], padding[0]),
                  conv_output_size(x.shape[3], kernel[1], stride[1], padding[1]))
        out = None
        for index in _tap_slices(kernel, stride, out_hw):
            out = x_pad[index].copy(order="K") if out is None else np.add(out, x_pad[index], out=out)
        out *= x.dtype.type(1.0 / (kernel[0] * kernel[1]))
        self.saved = (x_pad.shape, x_pad.dtype, kernel, stride, padding, x.shape)
        return out

    def backward(self, grad_output: np.ndarray):
        pad_shape, dtype, kernel, stride, (ph, pw), (n, c, h, w) = self.saved
        share = grad_output * dtype.type(1.0 / (kernel[0] * kernel[1]))
        grad = np.zeros(pad_shape, dtype=dtype)
        for index in _tap_slices(kernel, stride, grad_output.shape[2:]):
            grad[index] += share
        return (grad[:, :, ph:ph + h, pw:pw + w],)


def _pool(name: str, node: type[Function], input: Tensor, kernel_size: Any, stride: Any, padding: Any) -> Tensor:
    x = _check_input(name, input)
    kernel = _pairs("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pairs("stride", stride, 1)
    padding = _pairs("padding", padding, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel {kernel}")
    if kernel[0] > x.shape[2] + 2 * padding[0] or kernel[1] > x.shape[3] + 2 * padding[1]:
        raise ValueError(f"{name}: kernel {kernel} is larger than the padded input: input shape {input.shape}, "
                         f"padding {padding}")
    return node.apply(input, kernel=kernel, stride=stride, padding=padding)


def max_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0) -> Tensor:
    """Maximum of each window (stride defaults to the kernel), PyTorch's ``F.max_pool2d``."""
    return _pool("max_pool2d", MaxPool2DBackward, input, kernel_size, stride, padding)


def avg_pool2d(input: Tensor, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
               padding: int | tuple[int, int] = 0) -> Tensor:
    """Mean of each window (stride defaults to the kernel; padding counts), PyTorch's ``F.avg_pool2d``."""
    return _pool("avg_pool2d", AvgPool2DBackward, input, kernel_size, stride, padding)


class _Pool2d(Module):
    """A pooling function as a layer (no parameters)."""

    pool = staticmethod(max_pool2d)

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(x, self.kernel_size, self.stride, self.padding)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"


class MaxPool2d(_Pool2d):
    pool = staticmethod(max_pool2d)


class AvgPool2d(_Pool2d):
    pool = staticmethod(avg_pool2d)


# %% [markdown]
# ## 7. Systems view: memory, FLOPs, layout
#
# **FLOPs.** Each output value is a `C * KH * KW` dot product: a forward
# pass costs `2 N OH OW O C KH KW` flops (one multiply and one add per
# tap), the backward pass twice that (`dW` and `dx` are products of the
# same size).
#
# **The im2col buffer.** Each input pixel is copied into up to `KH * KW`
# rows, so `cols` holds `N * OH * OW * KH * KW * C` floats, about `KH * KW`
# times the input (9x for 3x3 at stride 1). It is the layer's only large
# temporary, kept for the backward pass (`dW` needs it). A direct loop
# needs no buffer, but in Python it is millions of interpreted steps (in C,
# PyTorch's oneDNN kernels do it). im2col trades `KH * KW` times the memory
# for one large BLAS call.
#
# **Layout.** The product `cols @ W` comes out as `(N, OH, OW, O)`: the
# channels are the fastest axis ("channels-last", PyTorch's
# `torch.channels_last`). We keep it that way and hand on a transposed
# *view* with the logical shape `(N, O, OH, OW)`. ReLU and pooling keep
# the layout (numpy elementwise operations follow the input's memory
# order), the next im2col then copies runs of `KW * C` contiguous floats,
# and col2im adds runs of `OW * C`. Padding buffers are allocated
# channels-last for the same reason.

# %%
def conv_costs(n: int, c: int, h: int, w: int, o: int, k: int, padding: int) -> dict[str, float]:
    """FLOPs and bytes (float32) of one Conv2d(c, o, k, padding) on a (n, c, h, w) batch."""
    oh, ow = conv_output_size(h, k, 1, padding), conv_output_size(w, k, 1, padding)
    return {"forward MFLOP": 2 * n * oh * ow * o * c * k * k / 1e6, "input KB": 4 * n * c * h * w / 1e3,
            "im2col KB": 4 * n * oh * ow * k * k * c / 1e3, "output KB": 4 * n * o * oh * ow / 1e3}


for _label, _shape in [("milestone 04 conv1, batch 32", (32, 1, 8, 8, 16, 3, 1)),
                       ("milestone 04 conv2, batch 32", (32, 16, 4, 4, 32, 3, 1)),
                       ("CIFAR-sized conv, batch 64", (64, 3, 32, 32, 16, 3, 1)),
                       ("CIFAR-sized conv2, batch 64", (64, 16, 16, 16, 32, 3, 1))]:
    print(f"{_label:30s}", "  ".join(f"{k} {v:8.1f}" for k, v in conv_costs(*_shape).items()))

# %% [markdown]
# ## 8. Check it with gradcheck
#
# `gradcheck` (module 05) compares the gradients with finite differences in
# float64: stride, padding, dilation and a non-square kernel at once.
# Milestone 04 then trains a LeNet-style network with these layers.

# %%
from tinytorch.core.autograd import gradcheck  # noqa: E402

_rng = np.random.default_rng(0)
_x = Tensor(_rng.standard_normal((2, 3, 7, 6)), requires_grad=True)
_w = Tensor(_rng.standard_normal((4, 3, 3, 2)), requires_grad=True)
_b = Tensor(_rng.standard_normal(4), requires_grad=True)
assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)), _x, _w, _b)
assert gradcheck(lambda x: max_pool2d(x, 3, stride=2, padding=1), _x)
assert gradcheck(lambda x: avg_pool2d(x, 2, stride=1), _x)
