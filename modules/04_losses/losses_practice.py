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
# # Module 04 -- Losses, part 3: the losses at work, and choosing one
#
# Parts 1 and 2 built the losses. This notebook (no exercise) shows *why*
# these losses and *how* they behave, in numbers and figures: maximum
# likelihood and proper scoring, gradients you can see, padded sequences
# and the softmax-before-cross-entropy bug, InfoNCE's similarities and
# temperature. Then a table from task to loss
# with `choose_loss`, the systems view (time and memory as the batch and
# the number of classes grow), and a summary of the module.
#
# It runs on the exported package (`tito export 04` first); `.backward()`
# runs module 05's prebuilt engine.

# %%
import time
import tracemalloc

import matplotlib.pyplot as plt

from tinytorch.core.losses import *  # noqa: F403 (the exported module: parts 1 and 2, and this part's cell)

# %% [markdown]
# ## 1. Why these losses
#
# **MSE is maximum likelihood under Gaussian noise.** If `y = f(x) + noise`
# with noise `N(0, sigma^2)`, the negative log-likelihood of one target is
# `(y - f)^2 / (2 sigma^2) + log sigma + 0.5 log(2 pi)`. For a fixed sigma
# only the first term depends on the model: minimising it *is* minimising
# the squared error. Worked number: residuals `[1, 3]`, `sigma = 1`: the
# NLL is `0.5 * [1, 9] + 0.919 = [1.419, 5.419]`, exactly half the squared
# error plus a constant -- which the cell checks with `gaussian_nll_loss`.

# %%
_r = Tensor([2.0, 4.0])
_nll = gaussian_nll_loss(_r, Tensor([1.0, 1.0]), Tensor([1.0, 1.0]), full=True, reduction="none")
_half_mse = 0.5 * mse_loss(_r, Tensor([1.0, 1.0]), reduction="none").data + 0.5 * np.log(2 * np.pi)
print("Gaussian NLL:", _nll.data, " 0.5 * squared error + const:", _half_mse)
assert np.allclose(_nll.data, _half_mse)

# %% [markdown]
# **BCE is two-class cross-entropy.** A logit `x` for the positive class is
# the pair of logits `[0, x]` for classes (negative, positive): then
# `softmax([0, x])_1 = sigmoid(x)`, and the two losses agree to the last
# digit, gradient included.

# %%
_x = Tensor(np.array([-3.0, 0.5, 2.0]), requires_grad=True)
_y = np.array([1, 0, 1])
_bce = binary_cross_entropy_with_logits(_x, Tensor(_y.astype(float)), reduction="none")
_pairs = Tensor(np.stack([np.zeros(3), _x.data], axis=1), requires_grad=True)
_ce = cross_entropy(_pairs, _y, reduction="none")
print("BCE from logits:", _bce.data.round(4), " CE on [0, x]:", _ce.data.round(4))
assert np.allclose(_bce.data, _ce.data)
_bce.sum().backward()
_ce.sum().backward()
assert np.allclose(_x.grad.data, _pairs.grad.data[:, 1])

# %% [markdown]
# **Log loss is a proper scoring rule.** If an event happens with true
# probability `p` and the model says `q`, the expected log loss is
# `-(p log q + (1 - p) log(1 - q))`.
# Its derivative `(q - p) / (q (1 - q))` is zero only at `q = p`, so the
# model does best by reporting exactly what it believes. The absolute error
# `|y - q|` is not proper: its expectation `p (1 - q) + (1 - p) q` is a
# straight line in `q`, minimised at 0 or 1 -- it rewards overconfidence.

# %%
_q = np.linspace(0.005, 0.995, 199)
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for p_true, colour in [(0.2, "C0"), (0.5, "C1"), (0.8, "C2")]:
    expected = -(p_true * np.log(_q) + (1 - p_true) * np.log(1 - _q))
    ax.plot(_q, expected, colour, label=f"log loss, true p = {p_true}")
    ax.plot([p_true], [expected[np.argmin(np.abs(_q - p_true))]], "o", color=colour)
ax.plot(_q, 0.8 * (1 - _q) + 0.2 * _q, "C2--", label="absolute error, true p = 0.8 (improper)")
ax.set_title("Expected loss against the predicted probability (minimum: dot)")
ax.set_xlabel("predicted probability q (unitless)")
ax.set_ylabel("expected loss (nats)")
ax.set_ylim(0, 2.5)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Gradients you can see
#
# **BCE from logits: `d loss / d z = sigma(z) - y`.** The gradient is
# bounded by 1 in size, zero only where the prediction matches the label,
# and never vanishes on a confident mistake (left of 0 for `y = 1`). Below,
# the curves are autograd's gradients, not the formula.

# %%
_z = np.linspace(-6, 6, 241)
fig, ax = plt.subplots(figsize=(6.5, 3.5))
for label in [0.0, 0.3, 1.0]:
    _t = Tensor(_z.copy(), requires_grad=True)
    binary_cross_entropy_with_logits(_t, Tensor(np.full_like(_z, label)), reduction="sum").backward()
    ax.plot(_z, _t.grad.data, label=f"label y = {label}")
ax.axhline(0, color="grey", lw=0.5)
ax.set_title("Gradient of BCE-with-logits: sigmoid(z) - y")
ax.set_xlabel("logit z (unitless)")
ax.set_ylabel("d loss / d z (per example)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# **Cross-entropy: every row of the gradient sums to zero.** Row `i` is
# `(p_i - onehot(y_i)) / N`, and both `p_i` and the one-hot sum to 1. Adding
# the same number to all of a row's logits changes nothing, so the
# gradient has no component along `[1, 1, ..., 1]`.
#
# **Temperature divides the gradient by T.** For `loss = CE(x / T, y)`,
# the chain rule gives `d loss / d x = (softmax(x / T) - onehot(y)) / T`:
# a distillation temperature of 4 shrinks the gradient 4 times (which is
# why distillation multiplies its loss by `T^2`, part 2).

# %%
_rng = np.random.default_rng(0)
_logits = _rng.standard_normal((4, 5)) * 2
_labels = np.array([0, 3, 1, 4])
_t = Tensor(_logits.copy(), requires_grad=True)
cross_entropy(_t, _labels).backward()
print("row sums of the gradient:", _t.grad.data.sum(axis=1).round(12))
assert np.allclose(_t.grad.data.sum(axis=1), 0.0)
for T in [1.0, 2.0, 4.0]:
    _t = Tensor(_logits.copy(), requires_grad=True)
    cross_entropy(_t * (1.0 / T), _labels, reduction="sum").backward()
    _soft = np.exp(_logits / T) / np.exp(_logits / T).sum(axis=1, keepdims=True)
    assert np.allclose(_t.grad.data, (_soft - np.eye(5)[_labels]) / T)
    print(f"T = {T}: |gradient| = {np.linalg.norm(_t.grad.data):.4f} = "
          f"|softmax(x / T) - onehot| / T = {np.linalg.norm(_soft - np.eye(5)[_labels]):.4f} / {T}")

# %% [markdown]
# **Label smoothing and temperature.** Smoothing mixes the one-hot target
# with the uniform distribution, so the best logit gap is finite instead of
# infinite; dividing logits by a temperature `T` sharpens (`T < 1`) or
# flattens (`T > 1`) the softmax.

# %%
_gap = np.linspace(-2, 12, 200)
_two = np.stack([_gap, np.zeros_like(_gap)], axis=1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
_width = 0.25
for i, temperature in enumerate([0.5, 1.0, 4.0]):  # bar groups centred on each class
    axes[0].bar(np.arange(3) + (i - 1) * _width, softmax(Tensor(np.array([2.0, 1.0, 0.1]) / temperature)).data,
                width=_width, label=f"T = {temperature}")
axes[0].set_xticks(range(3), ["class 0 (logit 2)", "class 1 (logit 1)", "class 2 (logit 0.1)"])
axes[0].set_title("softmax(logits / T)")
axes[0].set_ylabel("probability")
axes[0].legend()
for eps in [0.0, 0.1, 0.3]:
    _l = cross_entropy(Tensor(_two), np.zeros(len(_gap), dtype=np.int64), reduction="none", label_smoothing=eps)
    axes[1].plot(_gap, _l.data, label=f"label_smoothing = {eps}")
axes[1].set_title("Cross-entropy against the logit gap, label 0")
axes[1].set_xlabel("logit gap x0 - x1 (unitless)")
axes[1].set_ylabel("loss (nats)")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. Padded sequences, and a classic bug
#
# Three token sequences of lengths 4, 2 and 1, over a vocabulary of 5, are
# padded to length 4; padding positions get the target `-100`, PyTorch's
# default `ignore_index`. The per-token losses of the 7 real tokens are
# averaged. Two wrong denominators are common: dividing by all 12 slots
# (padding counted as zero loss), and averaging the per-sequence means
# (which weights the 1-token sequence as much as the 4-token one).

# %%
_rng = np.random.default_rng(1)
_lengths = np.array([4, 2, 1])
_logits = _rng.standard_normal((3, 4, 5))
_targets = _rng.integers(0, 5, (3, 4))
_mask = np.arange(4)[None, :] < _lengths[:, None]
_targets[~_mask] = -100
_flat_logits, _flat_targets = Tensor(_logits.reshape(12, 5)), _targets.reshape(12)
_per_token = cross_entropy(_flat_logits, _flat_targets, reduction="none").data.reshape(3, 4)
_right = cross_entropy(_flat_logits, _flat_targets).item()
_over_all_slots = _per_token.sum() / 12
_mean_of_means = np.mean([_per_token[i, :n].mean() for i, n in enumerate(_lengths)])
print("per-token losses (padding shows 0):\n", _per_token.round(3))
print(f"ignore_index mean (sum / 7 real tokens) = {_right:.4f}")
print(f"sum / 12 slots                           = {_over_all_slots:.4f}  (too small: padding dilutes)")
print(f"mean of per-sequence means               = {_mean_of_means:.4f}  (short sequences overweighted)")
assert np.isclose(_right, _per_token.sum() / 7)
assert np.isclose(_right, masked_mean(Tensor(_per_token), _mask).item())

# %% [markdown]
# **Softmax before a cross-entropy that expects logits.** `cross_entropy`
# applies its own softmax. Feeding it probabilities squashes the "logits"
# into [0, 1]: even a perfect prediction `[1, 0, 0]` then costs
# `-log(e / (e + 2)) = 0.551` instead of 0, and the gradient reaching the
# model is multiplied by the softmax's Jacobian, so it all but vanishes
# when the model is confident -- exactly where a wrong model needs it.

# %%
for logits in ([4.0, 0.0, -2.0], [12.0, 0.0, 0.0], [-3.0, 3.0, 0.0]):
    _right_x = Tensor(np.array([logits]), requires_grad=True)
    _right_l = cross_entropy(_right_x, np.array([0]))
    _right_l.backward()
    _bug_x = Tensor(np.array([logits]), requires_grad=True)
    _bug_l = cross_entropy(softmax(_bug_x, dim=1), np.array([0]))
    _bug_l.backward()
    print(f"logits {logits}: CE {_right_l.item():.4f} |grad| {np.abs(_right_x.grad.data).sum():.4f}  "
          f"| CE(softmax) {_bug_l.item():.4f} |grad| {np.abs(_bug_x.grad.data).sum():.6f}")

# %% [markdown]
# ## 4. InfoNCE at work
#
# Eight items, each seen twice with noise: the
# similarity matrix `Q K^T / tau` has its positives on the diagonal. A
# lower temperature sharpens the softmax over each row: the loss falls as
# long as the positives win, and the gradient concentrates on the hardest
# negatives.

# %%
_rng = np.random.default_rng(5)
_items = _rng.standard_normal((8, 16))
_queries = Tensor(_items + 0.6 * _rng.standard_normal((8, 16)))
_keys = Tensor(_items + 0.6 * _rng.standard_normal((8, 16)))
_sim = (normalize(_queries, dim=1) @ normalize(_keys, dim=1).T).data
_taus = np.geomspace(0.02, 2.0, 25)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
_image = axes[0].imshow(_sim, cmap="viridis", vmin=-1, vmax=1)
fig.colorbar(_image, ax=axes[0], label="cosine similarity")
axes[0].set_title("Similarity of queries and keys")
axes[0].set_xlabel("key index")
axes[0].set_ylabel("query index")
axes[1].plot(_taus, [info_nce_loss(_queries, _keys, temperature=t).item() for t in _taus], "o-", label="InfoNCE")
axes[1].axhline(np.log(8), color="grey", ls="--", label="log 8 (chance)")
axes[1].set_xscale("log")
axes[1].set_title("InfoNCE against the temperature")
axes[1].set_xlabel("temperature tau (unitless, log scale)")
axes[1].set_ylabel("loss (nats)")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Choosing a loss
#
# **Which loss for which task.** The model's last layer and the loss go
# together: output logits, and let the loss apply the sigmoid or softmax.
#
# | task | loss | why |
# |------|------|-----|
# | regression | `MSELoss` | maximum likelihood under Gaussian noise; predicts the mean |
# | robust regression (outliers) | `HuberLoss(delta)` | quadratic near 0, linear beyond `delta`: an outlier's pull is capped |
# | quantiles, intervals | `QuantileLoss(tau)` | predicts the tau-quantile; two taus give an interval |
# | regression with uncertainty | `GaussianNLLLoss` | learns a variance per prediction |
# | binary | `BCEWithLogitsLoss` | stable from logits; gradient sigma(z) - y |
# | multi-label | `BCEWithLogitsLoss(pos_weight)` | one independent binary decision per label |
# | multi-class | `CrossEntropyLoss` | softmax over exclusive classes; fused and stable |
# | imbalanced classes | `CrossEntropyLoss(weight)` or `FocalLoss(gamma)` | weights rebalance counts; focal down-weights easy examples |
# | padded sequences | `CrossEntropyLoss(ignore_index)` | padding tokens leave the numerator and the denominator |
# | distillation | `KLDivLoss('batchmean')` on softened log-probabilities, times T^2 | matches the teacher's whole distribution |
# | metric learning | `TripletMarginLoss` or `InfoNCELoss` | learns distances (triplets) or which of N is the match (InfoNCE) |
# | preferences | `DPOLoss(beta)` | prefers the chosen answer relative to a reference model |
# | segmentation | `DiceLoss` (+ `BCEWithLogitsLoss`) | overlap, insensitive to how small the foreground is |
#
# `choose_loss(task, **details)` returns the configured loss and the
# reason; the details are the loss's own options.

# %%
#| export
_CHOICES = {  # task -> (loss class, why); the table above
    "regression": (MSELoss, "maximum likelihood under Gaussian noise; predicts the conditional mean"),
    "robust regression": (HuberLoss, "quadratic near 0 and linear beyond delta, so an outlier's pull is capped"),
    "quantile": (QuantileLoss, "the pinball loss is minimised by the tau-quantile of the targets"),
    "uncertainty": (GaussianNLLLoss, "learns a variance per prediction along with the mean"),
    "binary": (BCEWithLogitsLoss, "stable from logits, gradient sigmoid(z) - y"),
    "multi-label": (BCEWithLogitsLoss, "one independent binary decision per label; pos_weight for rare ones"),
    "multi-class": (CrossEntropyLoss, "softmax over exclusive classes, fused and stable at any logit"),
    "imbalanced": (FocalLoss, "(1 - p_t)^gamma down-weights the many easy examples; alpha reweights classes"),
    "padded sequences": (CrossEntropyLoss, "ignore_index removes padding from the sum and from the count"),
    "distillation": (KLDivLoss, "matches the teacher's softened distribution; use 'batchmean' and multiply by T^2"),
    "metric learning": (TripletMarginLoss, "anchor closer to the positive than to the negative, by a margin"),
    "contrastive": (InfoNCELoss, "each query must pick its own key among N: cross-entropy over similarities"),
    "preferences": (DPOLoss, "raises the chosen answer over the rejected one, relative to a reference model"),
    "segmentation": (DiceLoss, "measures overlap, so a tiny foreground is not drowned by the background"),
}
_DEFAULTS = {"padded sequences": {"ignore_index": -100}, "distillation": {"reduction": "batchmean"}}


def choose_loss(task: str, **details: Any) -> tuple[Module, str]:
    """The loss for ``task`` (a row of the table), built with ``details`` as its options, and why.

    >>> loss, why = choose_loss("robust regression", delta=2.0)
    """
    if task not in _CHOICES:
        raise ValueError(f"choose_loss: unknown task {task!r}; choose one of: {', '.join(_CHOICES)}")
    cls, why = _CHOICES[task]
    options = {**_DEFAULTS.get(task, {}), **details}
    try:
        loss = cls(**options)
    except TypeError as error:
        raise TypeError(f"choose_loss: {cls.__name__} does not take these options ({error})") from None
    return loss, f"{cls.__name__}: {why}"

# %%
for task, details in [("robust regression", {"delta": 2.0}), ("padded sequences", {}),
                      ("imbalanced", {"gamma": 2.0, "alpha": [0.25, 0.75]}), ("distillation", {})]:
    loss, why = choose_loss(task, **details)
    print(f"{task:18s} -> {loss!r}\n{'':21s}{why}")

# %% [markdown]
# ## 6. Systems view
#
# An elementwise loss (MSE, BCE) on B predictions costs O(B) time and
# memory. A softmax cross-entropy over C classes costs O(B x C): the
# logits, and the softmax the fused node keeps for backward, are B x C
# each. Measured below (forward and backward, float32, fastest of 3 runs;
# peak memory with `tracemalloc`, in MiB; this machine's numbers, for the
# ratios, not the absolute values).

# %%
def _measure(fn, *arrays):
    tensors = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        fn(*tensors).backward()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn(*tensors).backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best * 1e3, peak / 2**20


_rng = np.random.default_rng(6)
print(f"{'loss':14s}{'B':>7s}{'C':>7s}{'time (ms)':>11s}{'peak (MiB)':>12s}")
for B, C in [(1024, 10), (1024, 1000), (4096, 1000), (1024, 8000)]:
    x = _rng.standard_normal((B, C)).astype(np.float32)
    for name, fn, arrays in [("MSE on (B,)", mse_loss, (x[:, 0].copy(), x[:, 1].copy())),
                             ("CE on (B, C)", cross_entropy, (x, _rng.integers(0, C, B)))]:
        ms, mib = _measure(fn, *arrays)
        print(f"{name:14s}{B:7d}{C:7d}{ms:11.2f}{mib:12.2f}")

# %% [markdown]
# For a language model, B is the number of tokens in a batch and C the
# vocabulary. One float32 B x C buffer:
#
# | tokens B \ vocabulary C (MB = 10^6 bytes) | 1,000 | 32,000 | 50,257 | 128,000 |
# |---|---|---|---|---|
# | 512 | 2 MB | 66 MB | 103 MB | 262 MB |
# | 4,096 | 16 MB | 524 MB | 823 MB | 2.1 GB |
# | 32,768 | 131 MB | 4.2 GB | 6.6 GB | 16.8 GB |
#
# Logits, softmax and gradient make three such buffers at the peak (an
# unfused loss, seven). Two remedies matter at that size: **sampled
# softmax** (score the true class against a few thousand sampled negatives,
# an unbiased estimate with O(B x k) cost, for training only) and **lower
# precision** (bfloat16 logits halve the memory; keep the log-sum-exp and
# the reduction in float32, where the sum of many small terms would
# otherwise lose digits). Chunking the batch through the head also caps
# the peak at one chunk's B x C.
#
# ## Summary
#
# * A loss is a value and a gradient; the gradient is what trains.
# * Reduce with care: means divide by what counts (weights, valid tokens),
#   and the scale of the gradient follows the reduction.
# * Work from logits: BCE's `sigma(z) - y` and cross-entropy's
#   `softmax - target`, computed through log-sum-exp, are exact at any
#   logit; a softmax before the loss breaks both.
# * Log loss and MSE are maximum likelihood; log loss is proper.
# * Choose the loss for the task (the table above); the family here covers
#   robustness, quantiles, imbalance, padding, distillation, metric
#   learning, preferences and overlap.
# * Cross-entropy's cost is O(B x C): at a language model's vocabulary,
#   fusing, chunking, sampling and precision decide whether it fits.
