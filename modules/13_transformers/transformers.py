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
# # Module 13 -- Transformers
#
# Module 12 built attention: every position looks at every earlier
# position and takes a weighted average of what it finds. A transformer
# stacks that with three more ideas -- layer normalisation, a per-position
# MLP and residual connections -- and trains the stack to predict the next
# token. This module builds them, a small GPT-style language model, text
# generation (greedy, temperature, top-k) and the key-value cache that
# makes generation fast.
#
# | task | what | graded |
# |------|------|--------|
# | 13.1 | `LayerNormBackward`: normalise, scale, shift, and the fused gradient | 4 pts |
# | 13.2 | `TransformerBlock.forward`: the pre-norm residual block | 3 pts |
# | 13.3 | `sample_next_token`: greedy, temperature and top-k sampling | 3 pts |
# | 13.4 | `KVCache.update`: store new keys and values, return all so far | 3 pts |

# %%
#| export
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import scaled_dot_product_attention
from tinytorch.core.autograd import no_grad
from tinytorch.core.embeddings import Embedding, LearnedPositionalEncoding
from tinytorch.core.layers import Linear, Module
from tinytorch.core.tensor import Function, Tensor, is_grad_enabled

# %% [markdown]
# ## 1. Layer normalisation
#
# Deep stacks train badly when the scale of the activations drifts from
# layer to layer. Layer normalisation rescales each position's feature
# vector `x` (the last axis, `D` numbers) to mean 0 and variance 1, then
# lets the network choose its own scale `w` and shift `b` per feature:
#
# $$\mu = \frac{1}{D}\sum_i x_i, \qquad \sigma^2 = \frac{1}{D}\sum_i (x_i - \mu)^2, \qquad
#   \hat x_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y_i = w_i \hat x_i + b_i$$
#
# Unlike batch normalisation it uses no statistics across the batch: every
# token is normalised on its own, so training and generation (one token at
# a time) compute the same thing. The variance is the biased one (divide
# by `D`), as in PyTorch, and `eps = 1e-5` keeps a constant vector from
# dividing by zero.
#
# Worked number: `x = [1, 2, 3, 6]`: `mu = 3`, `x - mu = [-2, -1, 0, 3]`,
# `var = (4 + 1 + 0 + 9) / 4 = 3.5`, `x_hat = [-1.069, -0.535, 0, 1.604]`
# (with `w = 1, b = 0` that is `y`).
#
# **Why one fused node.** Written with primitive ops, layer norm records
# about ten nodes (mean, subtract, square, mean, add, power, multiply,
# scale, shift) and keeps as many intermediate arrays. It sits twice in
# every block, so it is hot. The gradient has a closed form: with
# `g = dL/dy` and `h = g * w`,
#
# $$\frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2+\epsilon}}
#   \left(h - \operatorname{mean}(h) - \hat x \,\operatorname{mean}(h \hat x)\right), \qquad
#   \frac{\partial L}{\partial w} = \sum_{\text{rows}} g \hat x, \qquad
#   \frac{\partial L}{\partial b} = \sum_{\text{rows}} g$$
#
# (the two means are over the normalised axes: moving every `x_i` by the
# same amount, or scaling them all, does not change `x_hat`, so those two
# directions are projected out of the gradient). One node saves only
# `x_hat` and `1/sigma`.

# %% nbgrader={"grade": false, "grade_id": "layer_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class LayerNormBackward(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last ``ndim`` axes (fused).

    x: (..., *normalized_shape); weight, bias: normalized_shape (optional, together).
    dx = rstd * (h - mean(h) - x_hat * mean(h * x_hat)) with h = g * weight;
    dweight = sum over rows of g * x_hat; dbias = sum over rows of g.
    """

    def forward(self, x: np.ndarray, *affine: np.ndarray, ndim: int = 1, eps: float = 1e-5) -> np.ndarray:
        features = int(np.prod(x.shape[x.ndim - ndim:]))
        rows = x.reshape(-1, features)  # every normalised group as one row
        # Row means as a matrix-vector product with a vector of 1/D: one BLAS
        # call instead of numpy's slower reduction over short rows.
        average = np.full(features, 1.0 / features, dtype=x.dtype)
        # TODO (task 13.1): the row mean (rows @ average) and the biased row
        # variance, x_hat and rstd = 1 / sqrt(var + eps), both (rows, 1) in x's
        # dtype; save (x_hat, rstd, average, weight or None); return
        # x_hat * weight + bias (or x_hat) in x's shape.
        ### BEGIN SOLUTION
        centered = rows - (rows @ average)[:, None]
        variance = (centered * centered) @ average
        rstd = (1.0 / np.sqrt(variance + x.dtype.type(eps)))[:, None]
        x_hat = centered
        x_hat *= rstd  # in place: centered is ours
        weight = affine[0].reshape(-1) if affine else None
        self.saved = (x_hat, rstd, average, weight)
        if not affine:
            return x_hat.reshape(x.shape)
        out = x_hat * weight
        out += affine[1].reshape(-1)
        return out.reshape(x.shape)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        x_hat, rstd, average, weight = self.saved
        g = grad_output.reshape(x_hat.shape)
        # TODO (task 13.1): grad_x from the formula above (row means are
        # @ average) in grad_output's shape; if affine, grad_w and grad_b
        # summed over the rows, in the parameters' shape (self.inputs[1].shape).
        ### BEGIN SOLUTION
        # mean(h) = g @ (weight / D) and mean(h * x_hat) = (g * x_hat) @ (weight / D):
        # the row means come from g and g * x_hat (which dweight needs anyway), two passes fewer
        per_feature = average if weight is None else weight * average
        g_xhat = g * x_hat
        mean_h, mean_hx = g @ per_feature, g_xhat @ per_feature
        if weight is not None:
            shape = self.inputs[1].shape
            ones = np.ones(len(g), dtype=g.dtype)  # column sums, again as one matrix-vector product
            grad_w = (ones @ g_xhat).reshape(shape)
            grad_b = (ones @ g).reshape(shape)
        h = g * weight if weight is not None else g.copy()
        h -= mean_h[:, None]
        h -= np.multiply(x_hat, mean_hx[:, None], out=g_xhat)  # g_xhat is spent: its buffer is reused
        h *= rstd
        grad_x = h.reshape(grad_output.shape)
        ### END SOLUTION
        if weight is None:
            return (grad_x,)
        return grad_x, grad_w, grad_b


def layer_norm(input: Tensor, normalized_shape: int | tuple[int, ...], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.layer_norm: normalise ``input`` (..., *normalized_shape) over its trailing axes."""
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"layer_norm over normalized_shape {shape} expects input (..., "
                         f"{', '.join(map(str, shape))}), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"layer_norm expects a floating-point input, got dtype {input.dtype}")
    if (weight is None) != (bias is None):
        raise ValueError("layer_norm takes weight and bias together (or neither)")
    if weight is None:
        return LayerNormBackward.apply(input, ndim=k, eps=eps)
    for name, param in (("weight", weight), ("bias", bias)):
        if tuple(param.shape) != shape:
            raise ValueError(f"layer_norm {name} must have shape {shape}, got {param.shape}")
        if param.dtype != input.dtype:
            raise TypeError(f"layer_norm {name} is {param.dtype} but the input is {input.dtype}; cast one of them")
    return LayerNormBackward.apply(input, weight, bias, ndim=k, eps=eps)


class LayerNorm(Module):
    """torch.nn.LayerNorm: normalise over the trailing ``normalized_shape`` axes, then scale and shift.

    Input (..., *normalized_shape) -> output of the same shape. ``weight``
    starts at 1 and ``bias`` at 0 (both of shape normalized_shape) when
    ``elementwise_affine``.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(not isinstance(n, (int, np.integer)) or n <= 0 for n in shape):
            raise ValueError(f"LayerNorm normalized_shape must be positive ints, got {normalized_shape!r}")
        if eps <= 0:
            raise ValueError(f"LayerNorm eps must be positive, got {eps}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Tensor(np.ones(self.normalized_shape, dtype=np.float32), requires_grad=True)
            self.bias = Tensor(np.zeros(self.normalized_shape, dtype=np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        if not self.elementwise_affine:
            return layer_norm(x, self.normalized_shape, eps=self.eps)
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return (f"LayerNorm({self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine})")


# %% nbgrader={"grade": true, "grade_id": "test_layer_norm", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_ln = LayerNorm(4)
_x = Tensor([[1.0, 2.0, 3.0, 6.0]], requires_grad=True)
_y = _ln(_x)
assert np.allclose(_y.data, [[-1.0690, -0.5345, 0.0, 1.6036]], atol=1e-4), _y
assert isinstance(_y.grad_fn, LayerNormBackward)
(_y * Tensor([[1.0, 0.0, 0.0, 0.0]])).sum().backward()
assert np.allclose(_x.grad.data.sum(), 0.0, atol=1e-6)  # shifting every x_i alike changes nothing
assert np.allclose(_ln.bias.grad.data, [1, 0, 0, 0]) and np.allclose(_ln.weight.grad.data, [-1.0690, 0, 0, 0], atol=1e-4)
### BEGIN HIDDEN TESTS
_x = Tensor(np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32) * 5 + 3)
_y = LayerNorm(4)(_x).data
assert np.allclose(_y.mean(axis=-1), 0, atol=1e-5) and np.allclose(_y.var(axis=-1), 1, atol=1e-3)
assert LayerNorm((3, 4), elementwise_affine=False)(_x).shape == (2, 3, 4)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The block: residual stream, attention, MLP
#
# A transformer block updates a **residual stream** `x` of shape
# `(B, T, D)` -- one `D`-vector per token -- in two steps, each *added*
# to the stream rather than replacing it:
#
# $$x \leftarrow x + \operatorname{Attention}(\operatorname{LN}_1(x)), \qquad
#   x \leftarrow x + \operatorname{MLP}(\operatorname{LN}_2(x))$$
#
# - **Attention** moves information *between* positions (module 12), causal
#   so position `t` sees only positions `<= t`.
# - **The MLP** `Linear(D, 4D) -> GELU -> Linear(4D, D)` transforms each
#   position on its own; it holds two thirds of a block's parameters.
# - **Residuals.** Because each step adds to `x`, the gradient of the loss
#   reaches every layer through the identity path `dx/dx = 1` as well as
#   through the layer: a 12-layer stack trains like a shallow one at first.
#
# **Pre-norm vs post-norm.** The 2017 transformer normalised *after* the
# addition, `x = LN(x + f(x))` (post-norm). Then the identity path passes
# through every `LN`, and deep stacks needed a learning-rate warm-up to
# train at all. GPT-2 (2019) moved `LN` *inside* the branch,
# `x = x + f(LN(x))` (pre-norm): the stream itself is never normalised, so
# gradients flow unchanged down the identity path, and one final `LN`
# before the output head cleans the stream up. Every block here is pre-norm.
#
# ```
#   x ──────────────┬────────────────(+)──────────────┬──────────────(+)──> x'
#                   └─ LN_1 ─ attention ─┘              └─ LN_2 ─ MLP ─┘
# ```
#
# The attention half projects `LN_1(x)` to queries, keys and values
# (`Linear(D, D)` each), splits the `D` features into `H` heads of `D/H`,
# calls module 12's fused `scaled_dot_product_attention` and projects the
# merged heads back with a fourth `Linear(D, D)`. The projections are our
# own (not `MultiheadAttention`) so the key-value cache of section 5 can
# keep the keys and values between calls.

# %%
#| export
def _split_heads(rows: Tensor, batch: int, num_heads: int) -> Tensor:
    """(B * T, D) -> (B, H, T, D / H): each head's slice of the features, heads as a batch axis."""
    width = rows.shape[1]
    return rows.reshape(batch, -1, num_heads, width // num_heads).transpose(1, 2)


def _merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, D / H) -> (B * T, D): the inverse of _split_heads."""
    batch, heads, steps, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch * steps, heads * head_dim)


def causal_mask(queries: int, keys: int) -> np.ndarray:
    """Boolean (queries, keys) mask, True where attention is allowed.

    The queries are the last ``queries`` of ``keys`` positions (the earlier
    ones are cached), so query i sits at position keys - queries + i and may
    see keys j <= that position.
    """
    offset = keys - queries
    return np.arange(keys)[None, :] <= np.arange(offset, keys)[:, None]


class CausalSelfAttention(Module):
    """Multi-head causal self-attention with its own q/k/v/out projections; (B, T, D) -> (B, T, D)."""

    def __init__(self, embed_dim: int, num_heads: int, rng: np.random.Generator | int | None = None) -> None:
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"embed_dim must be a positive multiple of num_heads, got embed_dim={embed_dim}, "
                             f"num_heads={num_heads}")
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.q_proj = Linear(embed_dim, embed_dim, rng=rng)
        self.k_proj = Linear(embed_dim, embed_dim, rng=rng)
        self.v_proj = Linear(embed_dim, embed_dim, rng=rng)
        self.out_proj = Linear(embed_dim, embed_dim, rng=rng)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        batch, steps, width = x.shape
        rows = x.reshape(batch * steps, width)  # one (B*T, D) matmul per projection, not B small ones
        q = _split_heads(self.q_proj(rows), batch, self.num_heads)
        k = _split_heads(self.k_proj(rows), batch, self.num_heads)
        v = _split_heads(self.v_proj(rows), batch, self.num_heads)
        if cache is None:
            out = scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            # generation: earlier tokens' keys and values come from the cache
            if is_grad_enabled() and x.requires_grad:
                raise RuntimeError("the KV cache is for inference: call the model under no_grad() "
                                   "(generate() does) or without a cache")
            keys, values = cache.update(layer, k.data, v.data)
            steps, total = q.shape[2], keys.shape[2]
            if steps == 1:  # one new token may see everything before it: no mask needed
                out = scaled_dot_product_attention(q, Tensor._wrap(keys), Tensor._wrap(values))
            else:
                out = scaled_dot_product_attention(q, Tensor._wrap(keys), Tensor._wrap(values),
                                                   attn_mask=Tensor._wrap(causal_mask(steps, total)))
        return self.out_proj(_merge_heads(out)).reshape(batch, steps, width)


class MLP(Module):
    """Linear(D, hidden) -> GELU (tanh form) -> Linear(hidden, D), applied to every position."""

    def __init__(self, embed_dim: int, hidden_dim: int, rng: np.random.Generator | int | None = None) -> None:
        self.fc1 = Linear(embed_dim, hidden_dim, rng=rng)
        self.act = GELU(approximate="tanh")
        self.fc2 = Linear(hidden_dim, embed_dim, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        rows = x.reshape(-1, x.shape[-1])  # (B*T, D): one large matmul per layer
        return self.fc2(self.act(self.fc1(rows))).reshape(x.shape)


# %% nbgrader={"grade": false, "grade_id": "transformer_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class TransformerBlock(Module):
    """Pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)); (B, T, D) -> (B, T, D)."""

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: int = 4,
                 rng: np.random.Generator | int | None = None) -> None:
        rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        self.ln_1 = LayerNorm(embed_dim)
        self.attn = CausalSelfAttention(embed_dim, num_heads, rng=rng)
        self.ln_2 = LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, mlp_ratio * embed_dim, rng=rng)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.attn.embed_dim:
            raise ValueError(f"TransformerBlock expects input (batch, steps, {self.attn.embed_dim}), "
                             f"got shape {x.shape}")
        # TODO (task 13.2): the two residual updates above; pass cache and
        # layer on to self.attn.
        ### BEGIN SOLUTION
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_transformer_block", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_block = TransformerBlock(8, 2, rng=0)
_x = Tensor(np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32), requires_grad=True)
_y = _block(_x)
assert _y.shape == (2, 5, 8) and _y.dtype == np.float32
# causal: changing the last position leaves every earlier output unchanged
_x2 = _x.data.copy()
_x2[:, -1] += 1.0
assert np.allclose(_block(Tensor(_x2)).data[:, :-1], _y.data[:, :-1], atol=1e-6)
_y.sum().backward()
assert all(p.grad is not None for p in _block.parameters()) and len(_block.parameters()) == 16
### BEGIN HIDDEN TESTS
for _p in _block.mlp.parameters() + _block.attn.parameters():
    _p.data[...] = 0.0  # both branches output zero: the block is the identity
assert np.allclose(_block(_x).data, _x.data, atol=1e-6)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. A small GPT and the causal language-model objective
#
# A decoder-only language model reads token ids `(B, T)`, adds a learned
# embedding of each token and of each position (module 11's `Embedding`
# and `LearnedPositionalEncoding`, as GPT-2 does), runs `L` blocks, a final layer norm
# and a `Linear(D, V)` head, and outputs logits `(B, T, V)`: at every
# position, a score for each possible *next* token.
#
# The objective is the average cross-entropy of the next token,
#
# $$\mathcal{L} = -\frac{1}{B T}\sum_{b,t} \log p_\theta(x_{b,t+1} \mid x_{b,1..t}),$$
#
# so the targets are the inputs shifted left by one. Because attention is
# causal, one forward pass over a sequence of `T` tokens gives `T`
# training examples at once -- position `t` cannot peek at `t+1`.
# Positions that should not count (padding, or a prompt we do not want to
# learn) get the target `ignore_index = -100`, and module 04's
# `cross_entropy` leaves them out of both the sum and the count.
#
# Scale: a model that knows nothing predicts `1/V` for every token and has
# loss `ln V` (`ln 65 = 4.17` for 65 characters). A bigram table that only
# looks at the previous character reaches about 2.5 on English text; the
# transformer's advantage is everything further back.

# %%
#| export
class GPT(Module):
    """Decoder-only transformer language model: ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, vocab_size: int, max_len: int, embed_dim: int = 64, num_heads: int = 4,
                 num_layers: int = 2, mlp_ratio: int = 4, seed: int | None = None) -> None:
        if vocab_size <= 0 or max_len <= 0 or num_layers <= 0:
            raise ValueError(f"GPT needs positive sizes, got vocab_size={vocab_size}, max_len={max_len}, "
                             f"num_layers={num_layers}")
        rng = np.random.default_rng(seed)
        self.vocab_size, self.max_len, self.embed_dim = vocab_size, max_len, embed_dim
        self.num_heads, self.num_layers = num_heads, num_layers
        self.token_embedding = Embedding(vocab_size, embed_dim, seed=int(rng.integers(2**31)))
        self.position_encoding = LearnedPositionalEncoding(max_len, embed_dim, seed=int(rng.integers(2**31)))
        for table in (self.token_embedding, self.position_encoding):
            table.weight.data *= np.float32(0.1)  # small start: the blocks' updates are not drowned out
        self.blocks = [TransformerBlock(embed_dim, num_heads, mlp_ratio, rng=rng) for _ in range(num_layers)]
        self.ln_f = LayerNorm(embed_dim)
        self.head = Linear(embed_dim, vocab_size, rng=rng)

    def forward(self, ids: Any, cache: KVCache | None = None) -> Tensor:
        ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"GPT expects integer token ids of shape (batch, steps), got shape {ids.shape} "
                             f"and dtype {ids.dtype}")
        start = 0 if cache is None else cache.length
        steps = ids.shape[1]
        if start + steps > self.max_len:
            raise ValueError(f"GPT was built for max_len={self.max_len} positions; got {steps} tokens"
                             + (f" after {start} cached ones" if start else ""))
        x = self.position_encoding(self.token_embedding(ids), start)  # token + position start..start+T-1
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer)
        if cache is not None:
            cache.length += steps
        rows = self.ln_f(x).reshape(-1, self.embed_dim)  # (B*T, D): one matmul for the head
        return self.head(rows).reshape(len(ids), steps, self.vocab_size)

    def generate(self, prompt: Any, max_new_tokens: int, **options: Any) -> np.ndarray:
        """``generate(self, prompt, max_new_tokens, ...)`` (section 4): prompt + new token ids."""
        return generate(self, prompt, max_new_tokens, **options)


# %% [markdown]
# ## 4. Generation: greedy, temperature, top-k
#
# To write text the model runs in a loop: feed the tokens so far, take the
# logits `z` of the last position, choose a token, append it, repeat.
# How to choose:
#
# - **greedy**: `argmax z`. Deterministic; on a small model it soon
#   repeats itself.
# - **temperature** `tau`: sample from `softmax(z / tau)`. `tau < 1`
#   sharpens the distribution towards greedy, `tau > 1` flattens it
#   towards uniform.
# - **top-k**: keep the `k` largest logits, set the rest to `-inf`, then
#   sample: rare tokens, which are mostly the model's mistakes, can never
#   be picked.
#
# Worked number: `z = [2, 1, 0]`, `tau = 1`: `p = [0.665, 0.245, 0.090]`;
# `tau = 0.5`: `p = [0.867, 0.117, 0.016]`; `top_k = 2, tau = 1`:
# `p = [0.731, 0.269, 0]`.
#
# Sampling uses one uniform number `u` per row and the inverse of the
# cumulative distribution (the first token whose running total exceeds
# `u`), so a seeded generator gives the same text every run.

# %% nbgrader={"grade": false, "grade_id": "sampling", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sample_next_token(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                      greedy: bool = False, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """One token id per row of ``logits`` (B, V): argmax if greedy, else a sample of softmax(logits / T)
    restricted to the ``top_k`` largest logits. Returns int64 (B,)."""
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"sample_next_token expects logits of shape (batch, vocab), got {logits.shape}")
    if greedy:
        return logits.argmax(axis=1).astype(np.int64)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 (use greedy=True for argmax), got {temperature}")
    if top_k is not None and not 1 <= top_k <= logits.shape[1]:
        raise ValueError(f"top_k must be in [1, {logits.shape[1]}] (the vocabulary size), got {top_k}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    # TODO (task 13.3): scale by 1 / temperature (in float64); keep only the
    # top_k largest per row (others -inf); a stable softmax; then per row the
    # first index whose cumulative probability exceeds rng.random().
    ### BEGIN SOLUTION
    z = logits.astype(np.float64) / temperature
    if top_k is not None:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    cumulative = np.cumsum(p, axis=1)
    u = rng.random((len(z), 1)) * cumulative[:, -1:]  # scaling u instead of normalising p
    chosen = (cumulative <= u).sum(axis=1)
    return np.minimum(chosen, z.shape[1] - 1).astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sampling", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_z = np.array([[2.0, 1.0, 0.0], [0.0, 5.0, 1.0]])
assert sample_next_token(_z, greedy=True).tolist() == [0, 1]
_draws = sample_next_token(np.repeat(_z[:1], 20000, axis=0), temperature=0.5, rng=0)
assert np.allclose(np.bincount(_draws, minlength=3) / 20000, [0.867, 0.117, 0.016], atol=0.01)
_draws = sample_next_token(np.repeat(_z[:1], 20000, axis=0), top_k=2, rng=0)
assert _draws.max() == 1 and abs((_draws == 0).mean() - 0.731) < 0.01
### BEGIN HIDDEN TESTS
assert np.array_equal(sample_next_token(_z, rng=3), sample_next_token(_z, rng=3))
assert np.allclose(np.bincount(sample_next_token(np.repeat(_z[:1], 20000, axis=0), rng=1), minlength=3) / 20000,
                   [0.665, 0.245, 0.090], atol=0.01)
assert sample_next_token(np.array([[-1e4, 1e4, 0.0]]), temperature=0.01, rng=0).tolist() == [1]
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The key-value cache
#
# Generating `N` tokens naively runs the whole model on the whole prefix
# every step: step `t` projects `t` tokens and computes a `t x t` score
# matrix, so `N` steps cost `O(N^2)` projections and `O(N^3)` attention
# work -- and all but the newest row of it was already computed in the
# previous step. Causal attention makes that exact: the keys and values
# of token `j` depend only on tokens `<= j`, so they never change once
# computed.
#
# The cache keeps, per layer, the keys and values `(B, H, t, D/H)` of the
# tokens so far. Each step then feeds *only the new token*: one row of
# projections per layer, one query against `t` cached keys. The work per
# step drops from `O(t D^2 + t^2 D)` to `O(D^2 + t D)`; the cost is the
# memory `2 L B t D` numbers (for GPT-2 small, L = 12 and D = 768, at 1,024 tokens: 75 MB
# per sequence in float32). The outputs are *equal* to the uncached ones --
# the same numbers computed once instead of again -- and a test checks it.
#
# The buffers are allocated once for the longest sequence and filled in
# place, so appending never copies what is already stored. A prompt of
# several tokens is fed in one call ("prefill"); its queries then need the
# causal mask shifted by the number of cached tokens, which
# `causal_mask(queries, keys)` builds: below, a 6-token prompt fed at
# once, then 2 tokens fed after 4 cached ones.

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(8, 3))
for ax, (queries, keys) in zip(axes, [(6, 6), (2, 6)]):
    ax.imshow(causal_mask(queries, keys), cmap="Greens", vmin=0, vmax=1.5)
    ax.set_title(f"causal_mask({queries}, {keys}): green = may attend")
    ax.set_xlabel("key position (cached and new)")
    ax.set_ylabel("query position (new tokens)")
    ax.set_xticks(range(keys))
    ax.set_yticks(range(queries), [str(keys - queries + i) for i in range(queries)])
plt.tight_layout()
plt.show()

# %% nbgrader={"grade": false, "grade_id": "kv_cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class KVCache:
    """Keys and values of the tokens seen so far, per layer: buffers (layers, B, H, max_len, head_dim).

    ``length`` counts the stored tokens; the model advances it after every
    forward call. Inference only: the stored arrays carry no gradient.
    """

    def __init__(self, num_layers: int, batch_size: int, num_heads: int, head_dim: int, max_len: int,
                 dtype: Any = np.float32) -> None:
        shape = (num_layers, batch_size, num_heads, max_len, head_dim)
        self.keys = np.zeros(shape, dtype=dtype)
        self.values = np.zeros(shape, dtype=dtype)
        self.length = 0

    @property
    def max_len(self) -> int:
        return self.keys.shape[3]

    def update(self, layer: int, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Store the new (B, H, T, head_dim) keys and values after the ``length`` cached ones;
        return every key and value so far, (B, H, length + T, head_dim) views of the buffers."""
        expected = self.keys.shape[1:3] + self.keys.shape[4:]
        if keys.shape != values.shape or keys.shape[:2] + keys.shape[3:] != expected:
            raise ValueError(f"KVCache expects keys and values of shape {expected[:2]} + (T, {expected[2]}), "
                             f"got {keys.shape} and {values.shape}")
        end = self.length + keys.shape[2]
        if end > self.max_len:
            raise ValueError(f"KVCache holds {self.max_len} positions; {self.length} are used and "
                             f"{keys.shape[2]} more do not fit")
        # TODO (task 13.4): write keys and values into positions
        # [length, end) of this layer's buffers (in place, no new buffer);
        # return the views of positions [0, end).
        ### BEGIN SOLUTION
        self.keys[layer, :, :, self.length:end] = keys
        self.values[layer, :, :, self.length:end] = values
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_kv_cache", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_cache = KVCache(num_layers=2, batch_size=1, num_heads=2, head_dim=3, max_len=5)
_k, _v = np.ones((1, 2, 2, 3), dtype=np.float32), np.full((1, 2, 2, 3), 2.0, dtype=np.float32)
_keys, _values = _cache.update(1, _k, _v)
assert _keys.shape == (1, 2, 2, 3) and np.all(_values == 2.0) and np.all(_cache.keys[0] == 0)
_cache.length = 2
_keys, _values = _cache.update(1, 3 * _k[:, :, :1], 4 * _v[:, :, :1])
assert _keys.shape == (1, 2, 3, 3) and np.allclose(_keys[0, 0, :, 0], [1, 1, 3]) and np.allclose(_values[0, 1, 2], 8)
### BEGIN HIDDEN TESTS
assert np.shares_memory(_keys, _cache.keys)  # a view of the buffer, not a copy
_cache.length = 4
try:
    _cache.update(0, _k, _v)
except ValueError as _error:
    assert "5 positions" in str(_error)
else:
    raise AssertionError("overflowing the cache must raise")
### END HIDDEN TESTS

# %% [markdown]
# `generate` ties it together: one prefill call for the prompt, then one
# call per new token. With `use_cache=False` it recomputes the whole
# prefix each step (the last `max_len` tokens when the text gets longer
# than the model's positions).

# %%
#| export
def generate(model: GPT, prompt: Any, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
             greedy: bool = False, seed: int | np.random.Generator | None = None,
             use_cache: bool = True) -> np.ndarray:
    """Continue ``prompt`` (token ids, (T,) or (B, T)) by ``max_new_tokens`` tokens; returns prompt + new ids."""
    ids = np.asarray(prompt.data if isinstance(prompt, Tensor) else prompt)
    single = ids.ndim == 1
    ids = ids[None, :] if single else ids
    if ids.ndim != 2 or ids.shape[1] == 0 or ids.dtype.kind not in "iu":
        raise ValueError(f"prompt must be non-empty integer token ids of shape (T,) or (B, T), got shape "
                         f"{np.shape(prompt)} and dtype {ids.dtype}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    total = ids.shape[1] + max_new_tokens
    if use_cache and total > model.max_len:
        raise ValueError(f"with the KV cache, prompt ({ids.shape[1]}) + max_new_tokens ({max_new_tokens}) "
                         f"must fit in the model's max_len={model.max_len}; use use_cache=False for longer text")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    out = [ids.astype(np.int64)]
    with no_grad():
        if use_cache:
            cache = KVCache(model.num_layers, ids.shape[0], model.num_heads, model.embed_dim // model.num_heads,
                            total)
            feed = ids
            for _ in range(max_new_tokens):
                logits = model(feed, cache).data[:, -1]
                feed = sample_next_token(logits, temperature, top_k, greedy, rng)[:, None]
                out.append(feed)
        else:
            sequence = ids.astype(np.int64)
            for _ in range(max_new_tokens):
                logits = model(sequence[:, -model.max_len:]).data[:, -1]
                token = sample_next_token(logits, temperature, top_k, greedy, rng)[:, None]
                sequence = np.concatenate([sequence, token], axis=1)
            out = [sequence]
    model.train(was_training)
    result = np.concatenate(out, axis=1)
    return result[0] if single else result

# %% [markdown]
# The cache changes the cost, not the result. Below, the same seeded
# model continues the same prompt with and without it: the token ids are
# identical, and the time per generated token shows the difference grow
# with the length of the text.

# %%
import time

_model = GPT(vocab_size=20, max_len=96, embed_dim=32, num_heads=4, num_layers=2, seed=0)
_prompt = np.arange(8) % 20
_cached = generate(_model, _prompt, 80, seed=1)
_plain = generate(_model, _prompt, 80, seed=1, use_cache=False)
assert np.array_equal(_cached, _plain)
print("generated ids (first 24):", _cached[:24].tolist())

_lengths = [8, 24, 48, 88]
_ms = {True: [], False: []}
for _n in _lengths:
    for _use in (True, False):
        _start = time.perf_counter()
        generate(_model, _prompt, _n, greedy=True, use_cache=_use)
        _ms[_use].append(1000 * (time.perf_counter() - _start) / _n)

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(_lengths, _ms[False], "o-", label="no cache (whole prefix each step)")
ax.plot(_lengths, _ms[True], "s-", label="KV cache (new token only)")
ax.set_title("Generation cost per token, 2-layer GPT, width 32")
ax.set_xlabel("tokens generated after an 8-token prompt")
ax.set_ylabel("milliseconds per token")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Systems view
#
# Parameters of this GPT with width `D`, `L` blocks, vocabulary `V` and
# `max_len` positions: each block has `4 D^2 + 4 D` (attention) +
# `8 D^2 + 5 D` (MLP) + `4 D` (two layer norms) = `12 D^2 + 13 D`; the
# model adds `(V + max_len) D` embeddings, `2 D` for the final norm and
# `D V + V` for the head. For `D = 64, L = 2, V = 65, max_len = 128`:
# 2 x 49,984 + 12,352 + 128 + 4,225 = 116,673.
#
# Compute per training step of `B x T` tokens: the matmuls cost about
# `6 x (12 L D^2 + D V)` flops per token (forward 2, backward 4), and
# attention `6 x 2 L T D` more -- linear in `T` per token, so quadratic in
# `T` per sequence, with the `(B, H, T, T)` weights held for backward.

# %%
_gpt = GPT(vocab_size=65, max_len=128, embed_dim=64, num_heads=4, num_layers=2, seed=0)
print("parameters:", sum(p.numel() for p in _gpt.parameters()))
assert sum(p.numel() for p in _gpt.parameters()) == 2 * (12 * 64 ** 2 + 13 * 64) + (65 + 128) * 64 + 2 * 64 + 64 * 65 + 65
