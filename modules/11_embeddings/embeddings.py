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
# # Module 11 -- Embeddings
#
# A tokenizer (module 10) turns text into integers. A network needs
# vectors. An **embedding** is a table with one learnable row per token:
# token id `i` becomes row `i`. This module builds that table, its gradient
# (a scatter-add), and the two usual ways to tell a model *where* in the
# sequence a token stands (positional encodings).
#
# | task | what | graded |
# |------|------|--------|
# | 11.1 | `EmbeddingBackward`: forward is a row lookup, backward a scatter-add | 4 pts |
# | 11.2 | `sinusoidal_table`: the fixed sine/cosine position table | 3 pts |

# %%
#| export
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.core.layers import Module, _generator
from tinytorch.core.tensor import Function, Tensor

# %% [markdown]
# ## 1. A lookup is a one-hot matrix product
#
# Take a vocabulary of `V = 4` tokens and vectors of width `D = 2`:
#
# $$W = \begin{pmatrix} 0.1 & 0.2 \\ 0.3 & 0.4 \\ 0.5 & 0.6 \\ 0.7 & 0.8 \end{pmatrix}\quad (V \times D)$$
#
# Token 2 written as a one-hot row is `x = [0, 0, 1, 0]`, and
# `x W = [0.5, 0.6]`: the product picks row 2. So an embedding *is* a
# linear layer without bias applied to one-hot inputs. We never build the
# one-hot matrix: for a batch of `N` tokens it would be `N x V` numbers
# (for `N = 1024`, `V = 50,000`: 51 million floats, 200 MB) to select
# `N` rows. `W[ids]` does the same with `N x D` copies.
#
# The backward pass follows from the matrix view. For `Y = X W` the weight
# gradient is `X^T G` (module 01). Row `v` of `X^T G` is the sum of the
# upstream gradient rows `G[n]` of every position `n` whose token is `v`:
#
# $$\frac{\partial L}{\partial W_v} = \sum_{n:\ \mathrm{ids}_n = v} G_n$$
#
# That is a **scatter-add**: start from zeros and add each `G[n]` into row
# `ids[n]`. A token that occurs three times in the batch gets three
# contributions. The tempting `grad[ids] = G` is wrong: with repeated ids
# numpy keeps only the *last* write. `np.add.at(grad, ids, G)` adds every
# one (it is "unbuffered"). Rows of tokens that did not occur get zero.
#
# Worked example with the `W` above: `ids = [2, 0, 2]`, upstream
# `G = [[1, 1], [2, 2], [3, 3]]`. Rows 2 and 0 are looked up; the gradient
# is `dW = [[2, 2], [0, 0], [4, 4], [0, 0]]` (row 2 gets `[1, 1] + [3, 3]`).
#
# **Padding.** Sequences in a batch have different lengths; the short ones
# are filled with a pad token (module 10's `pad_id`). With
# `padding_idx=p`, as in PyTorch, row `p` starts at zero and never receives
# a gradient, so a pad token always maps to the zero vector, however long
# we train. (The loss must still skip pad positions: module 04's
# `ignore_index`.)
#
# **Initialisation.** PyTorch draws `W ~ N(0, 1)`; we do the same. Each
# coordinate of an embedding then has variance 1, like a normalised input.

# %% nbgrader={"grade": false, "grade_id": "embedding_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class EmbeddingBackward(Function):
    """out = weight[ids], shape ids.shape + (D,);  dweight[v] = sum of g[n] over the positions n with ids[n] == v.

    ``padding_idx`` (or None): that row receives no gradient.
    """

    def forward(self, weight: np.ndarray, ids: np.ndarray = None, padding_idx: int | None = None) -> np.ndarray:
        # TODO (task 11.1): save (ids, weight.shape, padding_idx) and return
        # the rows of weight picked by ids (np.take along axis 0 keeps ids' shape).
        ### BEGIN SOLUTION
        self.saved = (ids, weight.shape, padding_idx)
        return np.take(weight, ids, axis=0)
        ### END SOLUTION

    def backward(self, grad_output: np.ndarray):
        ids, (rows, width), padding_idx = self.saved
        # TODO (task 11.1): a zero (rows, width) array in grad_output's dtype;
        # scatter-add every gradient row into the row of its id (repeated
        # ids accumulate: np.add.at); zero the padding row.
        ### BEGIN SOLUTION
        grad = np.zeros((rows, width), dtype=grad_output.dtype)
        # np.add.at(grad, ids, g) is the idea; numpy runs it 5x faster on a flat
        # array, so scatter element by element: row id, column c -> id * width + c.
        flat_index = (ids.reshape(-1, 1) * width + np.arange(width)).reshape(-1)
        np.add.at(grad.reshape(-1), flat_index, grad_output.reshape(-1))
        if padding_idx is not None:
            grad[padding_idx] = 0
        ### END SOLUTION
        return (grad,)


# %% nbgrader={"grade": true, "grade_id": "test_embedding_backward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_w = Tensor(np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]], dtype=np.float32), requires_grad=True)
_out = EmbeddingBackward.apply(_w, ids=np.array([2, 0, 2]))
assert np.allclose(_out.data, [[0.5, 0.6], [0.1, 0.2], [0.5, 0.6]])
_out.backward(np.array([[1, 1], [2, 2], [3, 3]], dtype=np.float32))
assert np.allclose(_w.grad.data, [[2, 2], [0, 0], [4, 4], [0, 0]]), _w.grad.data
### BEGIN HIDDEN TESTS
_w = Tensor(np.ones((5, 3), dtype=np.float32), requires_grad=True)
_out = EmbeddingBackward.apply(_w, ids=np.array([[1, 1], [4, 1]]), padding_idx=4)
assert _out.shape == (2, 2, 3)
_out.backward(np.ones((2, 2, 3), dtype=np.float32))
assert np.allclose(_w.grad.data[:, 0], [0, 3, 0, 0, 0]) and _w.grad.dtype == np.float32
### END HIDDEN TESTS

# %% [markdown]
# The layer around the node checks its input -- a wrong id must fail
# loudly here, not as a numpy error deep inside a training step -- and
# owns the weight. Ids can be a `Tensor`, a numpy array or a list of
# integers of any shape `(...)`; the output is `(..., D)`.

# %%
#| export
def _token_ids(ids: Any, num_embeddings: int, what: str) -> np.ndarray:
    """ids as an integer array, every entry in [0, num_embeddings); IndexError/TypeError name the culprit."""
    array = ids.data if isinstance(ids, Tensor) else np.asarray(ids)
    if array.dtype == np.bool_ or array.dtype.kind not in "iu":
        if array.size == 0 and array.dtype.kind == "f":  # np.asarray([]) is float64
            return array.astype(np.int64)
        raise TypeError(f"{what} expects integer token ids, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_embeddings):
        bad = array[(array < 0) | (array >= num_embeddings)]
        position = tuple(int(i) for i in np.argwhere((array < 0) | (array >= num_embeddings))[0])
        raise IndexError(f"{what}: token id {int(bad[0])} at position {position} is outside [0, {num_embeddings}) "
                         f"(ids have shape {array.shape}, min {int(array.min())}, max {int(array.max())})")
    return array


class Embedding(Module):
    """A lookup table: ids (...) -> weight[ids] (..., embedding_dim), weight (num_embeddings, embedding_dim) ~ N(0, 1).

    ``padding_idx`` (negative counts from the end, as in PyTorch): that row
    starts at zero and gets no gradient. ``seed``: an int or a
    ``np.random.Generator`` for the initial weight.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 seed: np.random.Generator | int | None = None, dtype: Any = np.float32) -> None:
        if num_embeddings <= 0 or embedding_dim <= 0:
            raise ValueError(f"Embedding needs positive sizes, got num_embeddings={num_embeddings}, "
                             f"embedding_dim={embedding_dim}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"padding_idx must be in [{-num_embeddings}, {num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        weight = _generator(seed).standard_normal((num_embeddings, embedding_dim)).astype(dtype)
        if padding_idx is not None:
            weight[padding_idx] = 0
        self.weight = Tensor(weight, requires_grad=True)

    def forward(self, ids: Any) -> Tensor:
        array = _token_ids(ids, self.num_embeddings, f"Embedding({self.num_embeddings}, {self.embedding_dim})")
        return EmbeddingBackward.apply(self.weight, ids=array, padding_idx=self.padding_idx)

    def __repr__(self) -> str:
        padding = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"Embedding({self.num_embeddings}, {self.embedding_dim}{padding})"


# %%
_emb = Embedding(10, 4, padding_idx=0, seed=0)
_batch = np.array([[5, 3, 3, 0], [7, 0, 0, 0]])  # two sequences, padded with id 0
_vectors = _emb(_batch)
print("ids", _batch.shape, "-> vectors", _vectors.shape)
_vectors.sum().backward()
print("gradient row of token 3 (used twice):", _emb.weight.grad.data[3], " pad row:", _emb.weight.grad.data[0])
try:
    _emb(np.array([[1, 12]]))
except IndexError as error:
    print("IndexError:", error)

# %% [markdown]
# ## 2. Where is each token? Positional encodings
#
# Attention (module 12) compares every token with every other one and sums
# the results. A sum does not care about order: without extra information
# "dog bites man" and "man bites dog" give the same set of vectors. We
# therefore **add** a vector that depends only on the position `t` to the
# token's embedding: `x_t = E[id_t] + P[t]`.
#
# **Sinusoidal** (Vaswani et al., 2017): fixed, nothing to learn,
#
# $$P[t, 2i] = \sin\!\left(\frac{t}{10000^{2i/D}}\right), \qquad P[t, 2i+1] = \cos\!\left(\frac{t}{10000^{2i/D}}\right)$$
#
# Each pair of columns is a clock turning at its own speed: column pair
# `i = 0` turns once every `2 pi` positions, the last pair once every
# `2 pi * 10000` positions. Nearby positions get similar vectors, and
# `P[t + k]` is a fixed rotation of `P[t]` for every `t`, so "k tokens
# back" looks the same everywhere in the sequence.
#
# Worked number: `D = 4`, `t = 1`. The frequencies are `1/10000^0 = 1` and
# `1/10000^(2/4) = 0.01`, so `P[1] = [sin 1, cos 1, sin 0.01, cos 0.01] =
# [0.8415, 0.5403, 0.0100, 1.0000]`. Every `P[0] = [0, 1, 0, 1]`.
#
# An odd width `D` keeps the first `D` columns of the table for `D + 1`.

# %% nbgrader={"grade": false, "grade_id": "sinusoidal_table", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def sinusoidal_table(max_len: int, dim: int, dtype: Any = np.float32) -> np.ndarray:
    """P (max_len, dim): P[t, 2i] = sin(t / 10000^(2i/dim)), P[t, 2i+1] = cos(t / 10000^(2i/dim))."""
    if max_len <= 0 or dim <= 0:
        raise ValueError(f"sinusoidal_table needs positive sizes, got max_len={max_len}, dim={dim}")
    # TODO (task 11.2): angles[t, i] = t / 10000^(2i/dim) for i < ceil(dim/2),
    # computed in float64; sines in the even columns, cosines in the odd
    # ones; return the first dim columns in dtype.
    ### BEGIN SOLUTION
    pairs = (dim + 1) // 2
    angles = np.arange(max_len, dtype=np.float64)[:, None] / 10000.0 ** (2.0 * np.arange(pairs) / dim)
    table = np.empty((max_len, 2 * pairs))
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles)
    return table[:, :dim].astype(dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sinusoidal_table", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_table = sinusoidal_table(50, 4)
assert _table.shape == (50, 4) and _table.dtype == np.float32
assert np.allclose(_table[0], [0, 1, 0, 1]) and np.allclose(_table[1], [0.8415, 0.5403, 0.0100, 1.0000], atol=1e-4)
### BEGIN HIDDEN TESTS
assert sinusoidal_table(3, 5).shape == (3, 5) and np.allclose(sinusoidal_table(3, 5)[2, 4], np.sin(2 / 10000 ** 0.8))
assert np.allclose(sinusoidal_table(7, 6)[:, :4], sinusoidal_table(7, 6)[:, :4].astype(np.float64))
### END HIDDEN TESTS

# %% [markdown]
# The table as a picture: rows are positions, columns are dimensions. The
# left columns change quickly with position, the right ones slowly; every
# row is different, which is all the model needs to tell positions apart.

# %%
try:
    import matplotlib.pyplot as plt
except ImportError:  # the figure is optional
    plt = None
if plt is not None:
    _fig, _ax = plt.subplots(figsize=(7, 3.2))
    _image = _ax.imshow(sinusoidal_table(64, 32).T, aspect="auto", cmap="RdBu", vmin=-1, vmax=1)
    _ax.set(title="Sinusoidal positional encoding, D = 32", xlabel="position t (token index)",
            ylabel="dimension (column of P)")
    _fig.colorbar(_image, ax=_ax, label="value of P[t, column]")
    _fig.tight_layout()
    plt.show()

# %% [markdown]
# ### The two position layers
#
# Both layers take the token vectors `x` of shape `(..., T, D)` and
# **return `x + P[start : start + T]`**, the positional table broadcast
# over the leading (batch) dimensions. `start` is the position of the
# first token of `x`: 0 for a whole sequence; during generation with a
# key-value cache (module 13) the model feeds one new token at a time, at
# position `start = tokens so far`. A sequence longer than `max_len` is an
# error, not a silent wrap-around.
#
# * `SinusoidalPositionalEncoding(max_len, dim)`: the fixed table above
#   (a constant, not a parameter). The table itself is its `table`
#   attribute, `(max_len, dim)`, for plotting.
# * `LearnedPositionalEncoding(max_len, dim)`: a learnable `(max_len, dim)`
#   parameter, initialised like an embedding, `N(0, 1)`. GPT-2 does this.
#   It is an embedding of the positions `0..T-1`; a slice of the weight is
#   differentiable, so its gradient is the upstream gradient summed over
#   the batch.

# %%
#| export
def _check_positions(x: Tensor, start: int, max_len: int, dim: int, what: str) -> int:
    """The sequence length T of x (..., T, dim); errors name the shapes."""
    if x.ndim < 2 or x.shape[-1] != dim:
        raise ValueError(f"{what} expects input (..., T, {dim}), got shape {x.shape}")
    length = x.shape[-2]
    if start < 0 or start + length > max_len:
        raise ValueError(f"{what}: positions {start}..{start + length - 1} are outside [0, {max_len}) "
                         f"(input shape {x.shape}, start={start}); raise max_len")
    return length


class SinusoidalPositionalEncoding(Module):
    """x (..., T, dim) -> x + P[start:start+T] with the fixed table P = sinusoidal_table(max_len, dim)."""

    def __init__(self, max_len: int, dim: int) -> None:
        self.max_len, self.dim = max_len, dim
        self.table = sinusoidal_table(max_len, dim)  # a constant: not a parameter

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        length = _check_positions(x, start, self.max_len, self.dim, repr(self))
        return x + self.table[start:start + length].astype(x.dtype, copy=False)

    def __repr__(self) -> str:
        return f"SinusoidalPositionalEncoding(max_len={self.max_len}, dim={self.dim})"


class LearnedPositionalEncoding(Module):
    """x (..., T, dim) -> x + weight[start:start+T], weight (max_len, dim) learnable, ~ N(0, 1)."""

    def __init__(self, max_len: int, dim: int, seed: np.random.Generator | int | None = None,
                 dtype: Any = np.float32) -> None:
        if max_len <= 0 or dim <= 0:
            raise ValueError(f"LearnedPositionalEncoding needs positive sizes, got max_len={max_len}, dim={dim}")
        self.max_len, self.dim = max_len, dim
        self.weight = Tensor(_generator(seed).standard_normal((max_len, dim)).astype(dtype), requires_grad=True)

    def forward(self, x: Tensor, start: int = 0) -> Tensor:
        length = _check_positions(x, start, self.max_len, self.dim, repr(self))
        return x + self.weight[start:start + length]

    def __repr__(self) -> str:
        return f"LearnedPositionalEncoding(max_len={self.max_len}, dim={self.dim})"


# %%
_tokens = Embedding(20, 8, seed=0)(np.array([[1, 2, 3], [4, 5, 6]]))
_learned = LearnedPositionalEncoding(16, 8, seed=1)
_x = SinusoidalPositionalEncoding(16, 8)(_tokens)
print("tokens", _tokens.shape, "+ sinusoidal ->", _x.shape)
_learned(_tokens).sum().backward()
print("learned positions that got a gradient:", np.flatnonzero(np.abs(_learned.weight.grad.data).sum(1)))

# %% [markdown]
# ## Systems view
#
# | layer | parameters | float32 memory | forward cost |
# |-------|-----------:|---------------:|--------------|
# | `Embedding(V, D)` | `V * D` | `4 V D` bytes | copy `N * D` numbers |
# | same as one-hot `Linear(V, D)` | `V * D` | `4 V D` bytes + `4 N V` for the one-hot batch | `2 N V D` flops |
# | `SinusoidalPositionalEncoding` | 0 | `4 max_len D` bytes (constant) | one add |
# | `LearnedPositionalEncoding` | `max_len * D` | `4 max_len D` bytes | one add |
#
# For GPT-2 small (`V = 50,257`, `D = 768`) the token table alone has 38.6
# million parameters, 154 MB in float32 -- a third of the model. Its
# gradient as we compute it is a dense `V x D` array even though a batch of
# `N = 1024` tokens touches at most 1024 rows: the other 49,000+ rows are
# zeros that Adam still reads and writes. Large systems use sparse
# gradients (only the touched rows) for that reason. For our character
# vocabulary (`V` about 80) the dense gradient is tiny and simplest.
#
# `np.add.at` is unbuffered (it handles repeated ids). Row by row
# (`np.add.at(grad, ids, G)`) it takes 3 ms for 1,024 ids of width 64 here;
# on the flat `(V*D,)` view with element indices `id * D + column` it
# takes 0.6 ms, which is why `EmbeddingBackward` scatters that way. An equivalent is
# a one-hot matrix product `onehot(ids)^T G`, which costs `2 N V D` flops
# instead of `N D` additions -- fine for `V = 80`, wasteful for `V = 50,000`.
