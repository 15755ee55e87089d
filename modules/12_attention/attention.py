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
# # Module 12 -- Attention
#
# An embedding (module 11) gives every token a vector of its own. To
# understand "it" in "the cat sat because it was tired", a model must mix
# in information from *other* tokens, and which ones matters depends on the
# sentence. **Attention** lets every position compute, from the data, how
# much to take from every other position. This module builds scaled
# dot-product attention with PyTorch's semantics, its masks, its fused
# backward pass, and multi-head attention with PyTorch's parameters.
#
# | task | what | graded |
# |------|------|--------|
# | 12.1 | `masked_softmax`: a stable softmax in which a fully masked row is 0, not NaN | 3 pts |
# | 12.2 | `attention_forward`: scores, mask, softmax, weighted sum | 3 pts |
# | 12.3 | `attention_backward`: the gradients of q, k and v through the softmax | 4 pts |

# %%
#| export
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.core.autograd import unbroadcast
from tinytorch.core.layers import Linear, Module, _generator
from tinytorch.core.tensor import Function, Tensor

# %% [markdown]
# ## 1. The formula, with numbers
#
# Each position has a **query** `q` (what it is looking for), a **key** `k`
# (what it offers to be found by) and a **value** `v` (what it passes on).
# With `L` queries and `S` keys/values stacked as rows,
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{E}}\right) V,
# \qquad Q: (L, E),\ K: (S, E),\ V: (S, E_v) \ \to\ (L, E_v)$$
#
# Row `i` of the softmax, `P[i]`, is a probability distribution over the
# `S` keys: how much query `i` takes from each value. The output row `i`
# is the weighted average `sum_j P[i, j] V[j]`.
#
# Worked number: one query `q = [1, 0]`, two keys `k1 = [1, 0]`,
# `k2 = [0, 1]`, values `v1 = [1, 2]`, `v2 = [3, 4]`, `E = 2`. Scores:
# `q.k1 / sqrt 2 = 0.7071`, `q.k2 / sqrt 2 = 0`. Softmax:
# `e^0.7071 / (e^0.7071 + e^0) = 2.0281 / 3.0281 = 0.6698` and `0.3302`.
# Output: `0.6698 [1, 2] + 0.3302 [3, 4] = [1.6604, 2.6604]` -- mostly
# `v1`, because `q` matches `k1`.
#
# **Why divide by sqrt(E).** If the coordinates of `q` and `k` are
# independent with mean 0 and variance 1, `q . k` is a sum of `E` such
# products: variance `E`. At `E = 64` the scores have a standard deviation
# of 8, the softmax puts almost all weight on one key, and its gradient
# (which is `P (1 - P)`-shaped) nearly vanishes. Dividing by `sqrt(E)`
# brings the standard deviation back to 1 whatever the width. The cell
# below measures it.

# %%
_rng = np.random.default_rng(0)
print(" E   std(q.k)  std(q.k/sqrt E)  mean top weight (unscaled -> scaled), 16 keys")
for _e in (4, 64, 512):
    _q, _k = _rng.standard_normal((2000, _e)), _rng.standard_normal((16, _e))
    _s = _q @ _k.T
    _top = [np.mean(np.max(np.exp(x - x.max(1, keepdims=True)) / np.exp(x - x.max(1, keepdims=True)).sum(1,
            keepdims=True), axis=1)) for x in (_s, _s / np.sqrt(_e))]
    print(f"{_e:4d} {_s.std():8.2f} {(_s / np.sqrt(_e)).std():12.2f}       {_top[0]:.2f} -> {_top[1]:.2f}")

# %% [markdown]
# ## 2. Masks, and a softmax that survives them
#
# Often a query must not see some keys:
#
# * **causal** (language models): position `i` may only look at positions
#   `j <= i`, or it could read the token it is asked to predict;
# * **padding**: pad tokens of a short sequence are not data.
#
# PyTorch's `scaled_dot_product_attention` takes either a **boolean** mask,
# where `True` means "takes part", or a **float** mask that is *added* to
# the scores. A boolean mask is the same as a float mask with `0` where
# `True` and `-inf` where `False`: `exp(-inf) = 0`, so a masked key gets
# weight exactly 0. `is_causal=True` builds the causal mask `j <= i` itself
# (aligned at the top left, like PyTorch: query `i` sees keys `0..i`).
#
# **A fully masked row.** If a query may see no key at all (a row of
# `-inf`), the usual stable softmax computes `max = -inf` and
# `exp(-inf - (-inf)) = exp(NaN)`: NaN, which then spreads through the
# whole network at the next step. We define that row's weights as all
# zeros, so its output is the zero vector and it passes no gradient. That
# is what PyTorch 2.13's `scaled_dot_product_attention` returns too.
# (`nn.MultiheadAttention` in PyTorch returns NaN there when it also
# returns weights; ours returns zeros in every case.)
#
# The softmax itself is the stable one of module 04: subtract the row
# maximum before `exp`, so the largest exponent is `exp(0) = 1` and
# nothing overflows even at scores of `1e4`.

# %% nbgrader={"grade": false, "grade_id": "masked_softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def masked_softmax(scores: np.ndarray) -> np.ndarray:
    """softmax over the last axis, where -inf entries get weight 0 and a row of only -inf is all zeros (not NaN)."""
    # TODO (task 12.1): subtract the row maximum (treat a row maximum of
    # -inf as 0), exponentiate, divide by the row sum (treat a sum of 0 as 1).
    ### BEGIN SOLUTION
    top = scores.max(axis=-1, keepdims=True)
    top[top == -np.inf] = 0.0  # a fully masked row: exp(-inf - 0) = 0 everywhere
    weights = scores - top
    np.exp(weights, out=weights)  # in place: one buffer for the whole softmax
    # the row sums as a product with a column of ones: faster than .sum on rows this short
    total = weights @ np.ones((weights.shape[-1], 1), dtype=weights.dtype)
    total[total == 0] = 1.0
    weights /= total
    return weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_masked_softmax", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_p = masked_softmax(np.array([[0.7071, 0.0], [-np.inf, -np.inf], [0.0, -np.inf]], dtype=np.float32))
assert np.allclose(_p, [[0.6698, 0.3302], [0, 0], [1, 0]], atol=1e-4) and not np.isnan(_p).any()
### BEGIN HIDDEN TESTS
assert np.allclose(masked_softmax(np.array([1e4, 0.0, -1e4], dtype=np.float32)), [1, 0, 0])
assert masked_softmax(np.zeros((2, 3, 4), dtype=np.float32)).dtype == np.float32
assert np.allclose(masked_softmax(np.zeros((2, 3, 4))), 0.25)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Forward and backward as one node
#
# Built from tensor operations, attention would record a transpose, a
# matmul, a scale, a mask, four nodes for the softmax and a second
# matmul -- and keep every intermediate alive for the backward pass. We
# compute it as **one graph node** whose backward rule is written out by
# hand, like `CrossEntropyBackward` in module 04. The forward saves only
# `Q, K, V` and the weights `P`.
#
# With `Z = Q K^T * s` (`s` the scale), `P = softmax(Z + mask)`,
# `O = P V` and upstream gradient `G = dL/dO`:
#
# $$dV = P^\top G, \qquad dP = G V^\top, \qquad dZ_{ij} = P_{ij}\Big(dP_{ij} - \sum_{j'} P_{ij'}\, dP_{ij'}\Big),$$
# $$dQ = s\, dZ\, K, \qquad dK = s\, dZ^\top Q.$$
#
# The middle one is the softmax backward: the Jacobian of a softmax row is
# `diag(p) - p p^T`, and multiplying it by `dP` gives the formula without
# ever building the `S x S` Jacobian. A masked entry has `P = 0`, so its
# `dZ` is 0 too: no gradient flows to a key the query could not see.
#
# With dropout on the weights (`dropout_p > 0`), the forward multiplies
# `P` by a random mask `M` of `0` and `1/(1 - p)`, `O = (P * M) V`; the
# backward uses `P * M` for `dV` and `dP = (G V^T) * M`.
#
# Every matrix product here is batched over the leading dimensions
# `(...)`, e.g. `(batch, heads)`. `swapaxes(-1, -2)` is the transpose of
# the last two.

# %% nbgrader={"grade": false, "grade_id": "attention_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _t(a: np.ndarray) -> np.ndarray:
    """The transpose of the last two dimensions (a view)."""
    return np.swapaxes(a, -1, -2)


def attention_forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray | None,
                      scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(O, P): P = masked_softmax(q k^T * scale + bias) (..., L, S), O = P v (..., L, Ev).

    ``bias`` is None or an additive mask (0 / -inf / any float) that
    broadcasts to (..., L, S).
    """
    # TODO (task 12.2): the scores q @ k^T times scale, plus bias when
    # given; the weights by masked_softmax; return (weights @ v, weights).
    ### BEGIN SOLUTION
    scores = q @ _t(k)
    scores *= scale  # in place: the product is a fresh array
    if bias is not None:
        if np.broadcast_shapes(scores.shape, bias.shape) == scores.shape:
            scores += bias
        else:  # bias has more batch dimensions than q and k: the sum is larger than scores
            scores = scores + bias
    weights = masked_softmax(scores)
    return weights @ v, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_attention_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_out, _weights = attention_forward(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]),
                                   np.array([[1.0, 2.0], [3.0, 4.0]]), None, 1 / math.sqrt(2))
assert np.allclose(_weights, [[0.6698, 0.3302]], atol=1e-4) and np.allclose(_out, [[1.6604, 2.6604]], atol=1e-4)
### BEGIN HIDDEN TESTS
_out, _weights = attention_forward(np.ones((2, 3, 2)), np.ones((2, 3, 2)), np.arange(12.0).reshape(2, 3, 2),
                                   np.triu(np.full((3, 3), -np.inf), 1), 1.0)
assert np.allclose(_weights[0], [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
assert np.allclose(_out[1, 1], [7.0, 8.0]) and _out.shape == (2, 3, 2)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "attention_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def attention_backward(grad_out: np.ndarray, q: np.ndarray, k: np.ndarray, v: np.ndarray, weights: np.ndarray,
                       scale: float, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dq, dk, dv) of O = (P * keep) v with P = softmax(q k^T * scale + mask), given G = dL/dO.

    ``keep`` is the dropout mask (0 or 1/(1-p)) or None. The gradients have
    the broadcast batch shape of the product; the caller reduces them to the
    inputs' shapes. ``grad_out`` is read, never written.
    """
    dropped = weights if keep is None else weights * keep
    grad_weights = grad_out @ _t(v)
    if keep is not None:
        grad_weights *= keep
    # TODO (task 12.3): dv = dropped^T G; the softmax backward
    # dZ = P * (dP - rowsum(P * dP)); then dq = scale dZ k, dk = scale dZ^T q.
    ### BEGIN SOLUTION
    grad_v = _t(dropped) @ grad_out
    grad_scores = grad_weights
    grad_scores -= (grad_weights * weights) @ np.ones((weights.shape[-1], 1), dtype=weights.dtype)  # row sums
    grad_scores *= weights
    grad_scores *= scale
    grad_q = grad_scores @ k
    grad_k = _t(grad_scores) @ q
    ### END SOLUTION
    return grad_q, grad_k, grad_v


# %% nbgrader={"grade": true, "grade_id": "test_attention_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def _numeric_gradient(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f()
        x[index] = old - eps
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


_r = np.random.default_rng(3)
_q, _k, _v, _g = _r.standard_normal((2, 3, 4)), _r.standard_normal((2, 5, 4)), _r.standard_normal((2, 5, 2)), \
    _r.standard_normal((2, 3, 2))
_causal = np.triu(np.full((3, 5), -np.inf), 1)
_dq, _dk, _dv = attention_backward(_g, _q, _k, _v, attention_forward(_q, _k, _v, _causal, 0.5)[1], 0.5)
for _x, _d in ((_q, _dq), (_k, _dk), (_v, _dv)):
    assert np.allclose(_d, _numeric_gradient(lambda: (attention_forward(_q, _k, _v, _causal, 0.5)[0] * _g).sum(), _x),
                       atol=1e-6)
### BEGIN HIDDEN TESTS
_keep = (_r.random((2, 3, 5)) > 0.3) / 0.7
_weights = attention_forward(_q, _k, _v, None, 0.5)[1]
_dq, _dk, _dv = attention_backward(_g, _q, _k, _v, _weights, 0.5, _keep)
assert np.allclose(_dv, _t(_weights * _keep) @ _g)
_f = lambda: ((masked_softmax(_q @ _t(_k) * 0.5) * _keep @ _v) * _g).sum()  # noqa: E731
assert np.allclose(_dq, _numeric_gradient(_f, _q), atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# The node and the public function. `scaled_dot_product_attention` has
# PyTorch's signature and meaning; it checks the shapes (errors name
# them), turns the mask into the additive form, and records one
# `ScaledDotProductAttentionBackward` node. The batch dimensions of `q`,
# `k`, `v` and the mask broadcast as in a matmul; the node returns every
# gradient in its input's shape.

# %%
#| export
def _as_array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def attention_bias(attn_mask: Any, is_causal: bool, length: int, source_length: int, dtype: Any,
                   true_means_keep: bool = True) -> np.ndarray | None:
    """The additive form of a mask: 0 where a query may look, -inf where not (or the float mask itself).

    A boolean mask means "takes part" where True (``scaled_dot_product_attention``)
    or "masked out" where True (``true_means_keep=False``, ``nn.MultiheadAttention``).
    ``is_causal`` gives the (length, source_length) mask j <= i.
    """
    if is_causal:
        return np.triu(np.full((length, source_length), -np.inf, dtype=dtype), 1)
    if attn_mask is None:
        return None
    mask = _as_array(attn_mask)
    if mask.dtype == np.bool_:
        allowed = mask if true_means_keep else ~mask
        return np.where(allowed, 0.0, -np.inf).astype(dtype)
    if mask.dtype.kind != "f":
        raise TypeError(f"attn_mask must be boolean or floating, got dtype {mask.dtype}")
    if np.isnan(mask).any() or (mask == np.inf).any():
        raise ValueError("a float attn_mask must not contain NaN or +inf (use -inf to mask a key out)")
    return mask.astype(dtype, copy=False)


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray | None, scale: float,
            keep: np.ndarray | None, weights_out: list | None) -> tuple[np.ndarray, np.ndarray]:
    """``attention_forward`` with dropout on the weights (``keep``) and, if asked, the weights for plotting."""
    out, weights = attention_forward(q, k, v, bias, scale)
    if keep is not None:
        out = (weights * keep) @ v
    if weights_out is not None:
        weights_out.append(weights if keep is None else weights * keep)
    return out, weights


class ScaledDotProductAttentionBackward(Function):
    """O = softmax(q k^T * scale + bias) v as one node; backward by ``attention_backward``.

    Options: ``bias`` (additive mask or None), ``scale``, ``keep`` (dropout
    mask or None) and ``weights_out`` (a list that receives the weights, for plotting).
    """

    def forward(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, bias: np.ndarray | None = None,
                scale: float = 1.0, keep: np.ndarray | None = None, weights_out: list | None = None) -> np.ndarray:
        out, weights = _attend(q, k, v, bias, scale, keep, weights_out)
        self.saved = (q, k, v, weights, scale, keep)
        return out

    def backward(self, grad_output: np.ndarray):
        q, k, v, weights, scale, keep = self.saved
        grads = attention_backward(grad_output, q, k, v, weights, scale, keep)
        return tuple(unbroadcast(g, x.shape) if needed and g.shape != x.shape else (g if needed else None)
                     for g, x, needed in zip(grads, (q, k, v), self.needs_input_grad))


def _dropout_keep(shape: tuple[int, ...], p: float, rng: Any, dtype: Any) -> np.ndarray | None:
    """The inverted-dropout mask: 0 with probability p, else 1/(1-p); None when p == 0."""
    if p == 0.0:
        return None
    return ((_generator(rng).random(shape) >= p) / (1.0 - p)).astype(dtype)


def scaled_dot_product_attention(query: Any, key: Any, value: Any, attn_mask: Any = None, is_causal: bool = False,
                                 dropout_p: float = 0.0, scale: float | None = None,
                                 rng: np.random.Generator | int | None = None) -> Tensor:
    """softmax(query key^T * scale + mask) value, as PyTorch's ``F.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev);
    batch dimensions broadcast. ``attn_mask`` broadcasts to (..., L, S):
    boolean (True = takes part) or float (added to the scores).
    ``is_causal``: query i sees keys 0..i (top-left aligned); not together
    with ``attn_mask``. ``scale`` defaults to 1/sqrt(E). ``dropout_p``
    drops weights with a mask drawn from ``rng``. A query that may see no
    key gets the zero vector (no NaN) and no gradient.
    """
    q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (query, key, value))
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"attention needs query (..., L, E), key (..., S, E), value (..., S, Ev); "
                         f"got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.dtype.kind != "f" or q.dtype != k.dtype or q.dtype != v.dtype:
        raise TypeError(f"query, key and value must share one floating dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention shape mismatch: query {q.shape} (..., L, E), key {k.shape} (..., S, E), "
                         f"value {v.shape} (..., S, Ev) need the same E in query and key and the same S in key "
                         f"and value")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"the batch dimensions of query {q.shape}, key {k.shape} and value {v.shape} "
                         "do not broadcast") from None
    length, source_length = q.shape[-2], k.shape[-2]
    if is_causal and attn_mask is not None:
        raise ValueError("pass either attn_mask or is_causal=True, not both")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    bias = attention_bias(attn_mask, is_causal, length, source_length, q.dtype)
    scores_shape = (*batch, length, source_length)
    if bias is not None:
        try:
            ok = np.broadcast_shapes(bias.shape, scores_shape) == scores_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"attn_mask of shape {bias.shape} does not broadcast to the attention scores' shape "
                             f"(..., L, S) = {scores_shape}")
    keep = _dropout_keep(scores_shape, dropout_p, rng, q.dtype)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttentionBackward.apply(q, k, v, bias=bias, scale=factor, keep=keep)


# %%
_x = Tensor(np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32), requires_grad=True)
_y = scaled_dot_product_attention(_x, _x, _x, is_causal=True)
_y.sum().backward()
print("self-attention", _x.shape, "->", _y.shape, "node:", type(_y.grad_fn).__name__, " grad:", _x.grad.shape)
try:
    scaled_dot_product_attention(_x, _x, _x, attn_mask=np.ones((4, 4), dtype=bool))
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 4. Multi-head attention
#
# One attention gives each query one distribution over the keys. A
# sentence asks several questions at once (which noun is the subject?
# what came just before?). **Multi-head** attention runs `H` attentions
# side by side on `H` slices of width `E / H` and concatenates them:
#
# 1. project: `Q = x_q W_q^T + b_q`, `K = x_k W_k^T + b_k`, `V = x_v W_v^T + b_v`;
#    the three `(E, E)` matrices are stacked in one parameter
#    `in_proj_weight` of shape `(3E, E)`, as in PyTorch;
# 2. split: `(N, L, E) -> (N, H, L, E/H)` (reshape, then swap `L` and `H`);
# 3. attend in every head at once, scale `1/sqrt(E/H)`;
# 4. merge `(N, H, L, E/H) -> (N, L, E)` and apply `out_proj`, a `Linear(E, E)`.
#
# Cost is the same as one attention of width `E`: the heads divide the
# width, they do not multiply it. `E` must be divisible by `H`.
#
# Our `MultiheadAttention` has PyTorch's parameter names and shapes
# (`in_proj_weight (3E, E)`, `in_proj_bias (3E,)`, `out_proj.weight`,
# `out_proj.bias`) and its mask conventions, which differ from
# `scaled_dot_product_attention`'s:
#
# * `attn_mask` `(L, S)` or `(N*H, L, S)`: boolean **True = not allowed**,
#   or float (added);
# * `key_padding_mask` `(N, S)`: **True = this key is padding** (ignored);
# * `is_causal=True` without `attn_mask` applies the causal mask (PyTorch
#   requires the mask as well and treats the flag as a hint).
#
# `forward` returns `(output, weights)`: the weights averaged over heads
# `(N, L, S)`, or per head `(N, H, L, S)` with `average_attn_weights=False`
# (that is what to plot), or None with `need_weights=False`. The weights
# are a constant tensor (no gradient). As in PyTorch the default is
# `batch_first=False` (inputs `(L, N, E)`, sequence first); pass
# `batch_first=True` for `(N, L, E)`, as the examples below do. One
# difference: `out_proj` is our `Linear`, whose weight is stored
# `(in, out)`: copy PyTorch's `out_proj.weight.T` into it
# (`in_proj_weight` is copied as is).
#
# The layer is one fused node too, `MultiheadAttentionBackward` (the
# projections, the head split, the attention above and the merge), so a
# transformer block costs two graph nodes for its attention (this one and
# `out_proj`). Self-attention (`query is key is value`) projects with one
# matrix product.

# %%
#| export
def _split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    """(N, L, E) -> (N, H, L, E/H)."""
    n, length, width = x.shape
    return x.reshape(n, length, heads, width // heads).transpose(0, 2, 1, 3)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, L, D) -> (N, L, H*D), contiguous."""
    n, heads, length, width = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, length, heads * width)


class MultiheadAttentionBackward(Function):
    """merge(attention(split(xq Wq^T + bq), split(xk Wk^T + bk), split(xv Wv^T + bv))), one node.

    Inputs: xq (N, L, E), xk (N, S, E), xv (N, S, E), weight (3E, E) and,
    if the layer has one, bias (3E,). Output (N, L, E), before out_proj.
    """

    def forward(self, xq: np.ndarray, xk: np.ndarray, xv: np.ndarray, weight: np.ndarray, *bias: np.ndarray,
                heads: int = 1, attn_bias: np.ndarray | None = None, keep: np.ndarray | None = None,
                weights_out: list | None = None) -> np.ndarray:
        width = weight.shape[1]
        self_attention = xq is xk and xk is xv
        if self_attention:  # one (N*L, E) x (E, 3E) product for all three projections
            qkv = xq @ weight.T
            if bias:
                qkv += bias[0]
            q, k, v = qkv[..., :width], qkv[..., width:2 * width], qkv[..., 2 * width:]
        else:
            q, k, v = (x @ weight[i * width:(i + 1) * width].T for i, x in enumerate((xq, xk, xv)))
            if bias:
                q, k, v = (p + bias[0][i * width:(i + 1) * width] for i, p in enumerate((q, k, v)))
        q, k, v = (_split_heads(p, heads) for p in (q, k, v))
        scale = 1.0 / math.sqrt(width // heads)
        out, weights = _attend(q, k, v, attn_bias, scale, keep, weights_out)
        self.saved = (xq, xk, xv, weight, q, k, v, weights, scale, keep, self_attention)
        return _merge_heads(out)

    def backward(self, grad_output: np.ndarray):
        xq, xk, xv, weight, q, k, v, weights, scale, keep, self_attention = self.saved
        heads, width = q.shape[1], weight.shape[1]
        grad_heads = _split_heads(grad_output, heads)
        grad_q, grad_k, grad_v = (_merge_heads(g) for g in
                                  attention_backward(grad_heads, q, k, v, weights, scale, keep))
        needs = self.needs_input_grad
        grad_bias = None
        if len(needs) == 5 and needs[4]:
            grad_bias = np.concatenate([g.reshape(-1, width).sum(axis=0) for g in (grad_q, grad_k, grad_v)])
        if self_attention:
            grad_qkv = np.concatenate((grad_q, grad_k, grad_v), axis=-1)  # (N, L, 3E)
            grad_x = grad_qkv @ weight if needs[0] else None
            grad_weight = grad_qkv.reshape(-1, 3 * width).T @ xq.reshape(-1, width) if needs[3] else None
            return (grad_x, None, None, grad_weight) + ((grad_bias,) if len(needs) == 5 else ())
        grads_x, grads_w = [], []
        for i, (g, x) in enumerate(((grad_q, xq), (grad_k, xk), (grad_v, xv))):
            rows = weight[i * width:(i + 1) * width]
            grads_x.append(g @ rows if needs[i] else None)
            grads_w.append(g.reshape(-1, width).T @ x.reshape(-1, width))
        grad_weight = np.concatenate(grads_w) if needs[3] else None
        return (*grads_x, grad_weight) + ((grad_bias,) if len(needs) == 5 else ())


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention`` (without kdim/vdim/add_bias_kv), ``batch_first=False`` by default as there.

    Parameters: in_proj_weight (3E, E) (Xavier-uniform), in_proj_bias (3E,)
    (zeros), out_proj = Linear(E, E) (bias zeros). ``forward`` returns
    (output (N, L, E), weights (N, L, S) averaged over heads, (N, H, L, S)
    per head, or None).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, seed: np.random.Generator | int | None = None,
                 dtype: Any = np.float32) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention needs positive sizes, got embed_dim={embed_dim}, "
                             f"num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} is not divisible by num_heads={num_heads} "
                             f"(each head needs a whole width; e.g. num_heads in "
                             f"{[h for h in range(1, embed_dim + 1) if embed_dim % h == 0][:8]})")
        if isinstance(dropout, bool):  # (E, H, False) meant bias=False; torch's third argument is dropout
            raise TypeError(f"dropout must be a float, got {dropout}; pass bias= by keyword")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = dropout, batch_first
        self.rng = _generator(seed)
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))  # Xavier-uniform over (3E, E), as PyTorch
        self.in_proj_weight = Tensor(self.rng.uniform(-bound, bound, (3 * embed_dim, embed_dim)).astype(dtype),
                                     requires_grad=True)
        self.in_proj_bias = Tensor(np.zeros(3 * embed_dim, dtype=dtype), requires_grad=True) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=self.rng, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0.0

    def _attn_bias(self, attn_mask: Any, key_padding_mask: Any, is_causal: bool, n: int, length: int,
                   source_length: int, dtype: Any) -> np.ndarray | None:
        """The additive mask, broadcastable to (N, H, L, S), from PyTorch's two MultiheadAttention masks."""
        bias = attention_bias(attn_mask, is_causal and attn_mask is None, length, source_length, dtype,
                              true_means_keep=False)
        if bias is not None:
            if bias.shape == (n * self.num_heads, length, source_length):
                bias = bias.reshape(n, self.num_heads, length, source_length)
            elif bias.shape != (length, source_length):
                raise ValueError(f"attn_mask must have shape (L, S) = {(length, source_length)} or "
                                 f"(N*num_heads, L, S) = {(n * self.num_heads, length, source_length)}, "
                                 f"got {bias.shape}")
        if key_padding_mask is not None:
            padding = attention_bias(key_padding_mask, False, length, source_length, dtype, true_means_keep=False)
            if padding.shape != (n, source_length):
                raise ValueError(f"key_padding_mask must have shape (N, S) = {(n, source_length)}, "
                                 f"got {padding.shape}")
            padding = padding.reshape(n, 1, 1, source_length)
            bias = padding if bias is None else bias + padding
        return bias

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        width = self.embed_dim
        self_attention = query is key and key is value
        query, key, value = (x if isinstance(x, Tensor) else Tensor(x) for x in (query, key, value))
        batched = query.ndim == 3
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != query.ndim or x.ndim not in (2, 3) or x.shape[-1] != width:
                raise ValueError(f"MultiheadAttention(embed_dim={width}) expects {name} of shape "
                                 f"{'(N, L, E)' if self.batch_first else '(L, N, E)'} or (L, E) with E = {width}, "
                                 f"got {x.shape} (query {query.shape})")
        if not batched:  # (L, E) -> (1, L, E), and a key_padding_mask (S,) -> (1, S)
            query, key, value = (x.reshape(1, *x.shape) for x in (query, key, value))
            if key_padding_mask is not None and _as_array(key_padding_mask).ndim == 1:
                key_padding_mask = _as_array(key_padding_mask)[None]
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        if self_attention:  # the node projects one input with one product
            key = value = query
        n, length, source_length = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[:2] != value.shape[:2] or key.shape[0] != n:
            raise ValueError(f"key {key.shape} and value {value.shape} must have the same batch and length, "
                             f"and the batch of query {query.shape}")
        bias = self._attn_bias(attn_mask, key_padding_mask, is_causal, n, length, source_length, query.dtype)
        p = self.dropout if self.training else 0.0
        keep = _dropout_keep((n, self.num_heads, length, source_length), p, self.rng, query.dtype)
        sink: list | None = [] if need_weights else None
        params = (self.in_proj_weight,) if self.in_proj_bias is None else (self.in_proj_weight, self.in_proj_bias)
        merged = MultiheadAttentionBackward.apply(query, key, value, *params, heads=self.num_heads, attn_bias=bias,
                                                  keep=keep, weights_out=sink)
        out = self.out_proj(merged)
        if not batched:
            out = out.reshape(length, width)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = sink[0].mean(axis=1) if average_attn_weights else sink[0]
        return out, Tensor(weights[0] if not batched else weights)

    def __repr__(self) -> str:
        return (f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first})")


# %% [markdown]
# **Padding in practice.** A batch of two sequences of different lengths
# is padded with the tokenizer's `pad_id` (module 10) to one length. The
# embedding maps pads to zero vectors (module 11's `padding_idx`), and
# `key_padding_mask = ids == pad_id` stops every query from attending to
# them: their weights are exactly 0. The pad *positions* still produce
# outputs; the loss skips them with `ignore_index` (module 04).

# %%
from tinytorch.core.embeddings import Embedding  # noqa: E402  (module 11)

_ids = np.array([[5, 3, 3, 9], [7, 2, 0, 0]])  # pad_id = 0: the second sequence has 2 real tokens
_x = Embedding(10, 16, padding_idx=0, seed=0)(_ids)
_out, _w = MultiheadAttention(16, 4, batch_first=True, seed=1)(_x, _x, _x, key_padding_mask=_ids == 0)
print("weights of sequence 1 (rows: queries, columns: keys; the last two keys are padding):")
print(np.round(_w.data[1], 3))

# %% [markdown]
# ## 5. Looking at attention weights
#
# An untrained layer's weights are nearly uniform, so to see what the
# masks do we make queries and keys from positions alone: row `t` of a
# sinusoidal table (module 11) for both, times 3 so the scores are sharp.
# Each position then attends most to itself and its neighbours. With the
# causal mask, everything above the diagonal is exactly 0: a position
# cannot look ahead.

# %%
from tinytorch.core.embeddings import sinusoidal_table  # noqa: E402  (module 11)

_positions = 3.0 * sinusoidal_table(16, 16).astype(np.float64)
_plain = attention_forward(_positions, _positions, _positions, None, 1 / 4)[1]
_causal_w = attention_forward(_positions, _positions, _positions, attention_bias(None, True, 16, 16, np.float64),
                              1 / 4)[1]
try:
    import matplotlib.pyplot as plt
except ImportError:  # the figure is optional
    plt = None
if plt is not None:
    _fig, _axes = plt.subplots(1, 2, figsize=(10, 4.4))
    _top = max(_plain.max(), _causal_w.max())
    for _ax, _w, _title in ((_axes[0], _plain, "no mask"), (_axes[1], _causal_w, "is_causal=True")):
        _image = _ax.imshow(_w, cmap="viridis", vmin=0, vmax=_top)
        _ax.set(title=_title, xlabel="key position j", ylabel="query position i")
    _fig.suptitle("Attention weights P[i, j] of positional queries and keys")
    _fig.colorbar(_image, ax=_axes, label="weight (each row sums to 1)")
    plt.show()
print("row 5, causal:", np.round(_causal_w[5, :8], 3))

# %% [markdown]
# For a real layer, ask for the per-head weights and plot `weights[0, h]`
# for each head `h`:
#
# ```python
# mha = MultiheadAttention(64, 4, batch_first=True, seed=0)
# out, weights = mha(x, x, x, average_attn_weights=False, is_causal=True)
# weights.shape  # (N, 4, L, L)
# ```

# %%
_mha = MultiheadAttention(16, 4, batch_first=True, seed=0)
_x = Tensor(_positions[None].astype(np.float32), requires_grad=True)
_out, _per_head = _mha(_x, _x, _x, average_attn_weights=False, is_causal=True)
_out.sum().backward()
print("output", _out.shape, "per-head weights", _per_head.shape, "parameters",
      [tuple(p.shape) for p in _mha.parameters()])

# %% [markdown]
# ## Systems view: the T^2 in attention
#
# The weights `P` hold one number per (query, key) pair: `N * H * T * T`
# floats for a batch of `N` sequences of length `T` with `H` heads, and
# the backward pass needs them, so they stay in memory from the forward
# pass until the backward pass. The projections are only `N * T * E`.
# For `N = 32`, `H = 4`, `E = 64` in float32 (the numbers below are
# computed, the `P` column also measured as the `.nbytes` of a real array
# for the small sizes):

# %%
print(f"{'T':>6} {'P per layer':>14} {'Q, K, V per layer':>18} {'ratio':>7}")
for _T in (32, 128, 512, 2048, 8192):
    _p_bytes, _qkv_bytes = 32 * 4 * _T * _T * 4, 3 * 32 * _T * 64 * 4
    if _T <= 128:  # a real array, to check the arithmetic
        assert np.zeros((32, 4, _T, _T), dtype=np.float32).nbytes == _p_bytes
    print(f"{_T:6d} {_p_bytes / 2**20:11.1f} MB {_qkv_bytes / 2**20:15.1f} MB {_p_bytes / _qkv_bytes:7.1f}x")

# %% [markdown]
# Time grows the same way: two `(T x E/H) x (E/H x T)`-sized products per
# head, `4 N T^2 E` flops forward. Doubling the context quadruples both.
# At `T = 2048` one layer's weights take 2 GB; this is why long-context
# models use kernels such as FlashAttention, which compute the softmax in
# tiles and recompute `P` in the backward pass instead of storing it
# (memory `O(T)`, the same flops), and why the KV cache of module 13 keeps
# `K` and `V` (`O(T)` per step) rather than `P`.
