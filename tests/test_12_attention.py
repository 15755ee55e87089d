"""Module 12: scaled dot-product attention and MultiheadAttention against PyTorch (values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity import assert_parity
from tinytorch.core.attention import (MultiheadAttention, attention_backward, attention_forward, masked_softmax,
                                      scaled_dot_product_attention)
from tinytorch.core.autograd import gradcheck
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor

R = np.random.default_rng(12)


def _qkv(q_shape, k_shape, v_width=None, dtype=np.float64):
    v_shape = (*k_shape[:-1], v_width or k_shape[-1])
    return [R.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape)]


def _bool_mask(shape, fully_masked_row=True):
    mask = R.random(shape) > 0.4
    mask[..., 0] = True  # every row sees something ...
    if fully_masked_row:
        mask[..., 1, :] = False  # ... except row 1, which sees nothing
    return mask


SDPA_CASES = {
    "2d": dict(shapes=((4, 3), (6, 3)), kwargs={}),
    "batched": dict(shapes=((2, 4, 3), (2, 5, 3)), kwargs={}),
    "multi_head": dict(shapes=((2, 3, 4, 8), (2, 3, 4, 8)), kwargs={}),
    "value_width": dict(shapes=((2, 4, 3), (2, 5, 3), 7), kwargs={}),
    "broadcast_batch": dict(shapes=((2, 1, 4, 3), (1, 3, 5, 3)), kwargs={}),
    "causal": dict(shapes=((2, 3, 5, 4), (2, 3, 5, 4)), kwargs=dict(is_causal=True)),
    "causal_rectangular": dict(shapes=((2, 3, 4), (2, 6, 4)), kwargs=dict(is_causal=True)),
    "bool_mask": dict(shapes=((2, 3, 4, 5), (2, 3, 6, 5)), kwargs=dict(attn_mask=_bool_mask((4, 6)))),
    "bool_mask_per_batch": dict(shapes=((2, 3, 4, 5), (2, 3, 6, 5)), kwargs=dict(attn_mask=_bool_mask((2, 1, 4, 6)))),
    "float_mask": dict(shapes=((2, 4, 5), (2, 6, 5)), kwargs=dict(attn_mask=R.standard_normal((4, 6)))),
    "float_mask_with_inf": dict(shapes=((2, 4, 5), (2, 6, 5)),
                                kwargs=dict(attn_mask=np.where(_bool_mask((4, 6)), 0.5, -np.inf))),
    "scale": dict(shapes=((2, 4, 5), (2, 6, 5)), kwargs=dict(scale=0.3)),
}


@pytest.mark.parity
@pytest.mark.task_12_2
@pytest.mark.task_12_3
@pytest.mark.parametrize("case", sorted(SDPA_CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sdpa_matches_torch(torch, case, dtype):
    spec = SDPA_CASES[case]
    arrays = _qkv(*spec["shapes"], dtype=dtype)
    kwargs = dict(spec["kwargs"])
    mask = kwargs.pop("attn_mask", None)
    if mask is not None and mask.dtype.kind == "f":
        mask = mask.astype(dtype)
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    assert_parity(lambda q, k, v: scaled_dot_product_attention(q, k, v, attn_mask=mask, **kwargs),
                  lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                      q, k, v, attn_mask=None if mask is None else torch.tensor(mask), **kwargs),
                  arrays, torch, **tol)


@pytest.mark.task_12_1
def test_fully_masked_row_is_zero_not_nan_with_no_gradient():
    q, k, v = (Tensor(a, requires_grad=True) for a in _qkv((2, 4, 3), (2, 5, 3)))
    mask = np.ones((4, 5), dtype=bool)
    mask[2] = False
    out = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(out.data[:, 2] == 0) and not np.isnan(out.data).any()
    out.sum().backward()
    assert np.all(q.grad.data[:, 2] == 0) and np.isfinite(k.grad.data).all() and np.isfinite(v.grad.data).all()
    assert np.array_equal(masked_softmax(np.full((3,), -np.inf)), [0, 0, 0])


@pytest.mark.task_12_1
def test_softmax_is_stable_at_1e4_in_float32():
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=np.float32)
    weights = masked_softmax(scores)
    assert weights.dtype == np.float32 and np.isfinite(weights).all()
    np.testing.assert_allclose(weights, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)
    q = Tensor(np.array([[[100.0, 0.0]]], dtype=np.float32), requires_grad=True)
    k = Tensor(np.array([[[100.0, 0.0], [-100.0, 0.0]]], dtype=np.float32), requires_grad=True)
    out = scaled_dot_product_attention(q, k, k)
    out.sum().backward()
    assert np.isfinite(q.grad.data).all() and np.allclose(out.data, [[[100.0, 0.0]]])


@pytest.mark.task_12_3
def test_sdpa_gradcheck_with_masks():
    q, k, v = _qkv((2, 3, 4), (2, 5, 4))
    mask = _bool_mask((3, 5))
    for kwargs in ({}, {"is_causal": True}, {"attn_mask": mask}, {"attn_mask": np.where(mask, 0.3, -np.inf)}):
        assert gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, **kwargs),
                         *(Tensor(x, requires_grad=True) for x in (q, k, v)))


def test_sdpa_dropout_is_seeded_and_unbiased():
    q, k, v = (Tensor(a.astype(np.float32)) for a in _qkv((1, 1, 64, 8), (1, 1, 64, 8)))
    a = scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=3)
    b = scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=3)
    assert np.array_equal(a.data, b.data) and not np.allclose(a.data, scaled_dot_product_attention(q, k, v).data)
    # the backward uses the same mask: compare with the explicit formula
    keep = ((np.random.default_rng(3).random((1, 1, 64, 64)) >= 0.5) / 0.5).astype(np.float32)
    qt, kt, vt = (Tensor(x.data.astype(np.float64), requires_grad=True) for x in (q, k, v))
    out = scaled_dot_product_attention(qt, kt, vt, dropout_p=0.5, rng=3)
    weights = attention_forward(qt.data, kt.data, vt.data, None, 1 / np.sqrt(8))[1]
    np.testing.assert_allclose(out.data, (weights * keep) @ vt.data, rtol=1e-6)
    grads = attention_backward(np.ones_like(out.data), qt.data, kt.data, vt.data, weights, 1 / np.sqrt(8), keep)
    out.sum().backward()
    for tensor, grad in zip((qt, kt, vt), grads):
        np.testing.assert_allclose(tensor.grad.data, grad, rtol=1e-6)


def test_sdpa_bad_input_names_shapes():
    q, k, v = (Tensor(a) for a in _qkv((2, 4, 3), (2, 5, 3)))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) does not broadcast .* \(2, 4, 5\)"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match=r"query \(2, 4, 3\) .* key \(2, 5, 4\)"):
        scaled_dot_product_attention(q, Tensor(np.ones((2, 5, 4))), v)
    with pytest.raises(ValueError, match=r"value \(2, 6, 3\)"):
        scaled_dot_product_attention(q, k, Tensor(np.ones((2, 6, 3))))
    with pytest.raises(ValueError, match="do not broadcast"):
        scaled_dot_product_attention(Tensor(np.ones((3, 4, 3))), k, v)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), dtype=bool), is_causal=True)
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    with pytest.raises(TypeError, match="one floating dtype"):
        scaled_dot_product_attention(q, k, Tensor(np.ones((2, 5, 3), dtype=np.float32)))
    with pytest.raises(TypeError, match="boolean or floating"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), dtype=np.int64))
    with pytest.raises(ValueError, match=r"NaN or \+inf"):
        scaled_dot_product_attention(q, k, v, attn_mask=np.full((4, 5), np.nan))


# ---------------------------------------------------------------- MultiheadAttention


def _linear_weight_from_torch(torch_weight: np.ndarray) -> np.ndarray:
    """torch stores Linear weights (out, in); convert to whatever layout our Linear uses."""
    return torch_weight if Linear(2, 3).weight.shape == (3, 2) else torch_weight.T


def _pair(torch, embed_dim, heads, bias=True, batch_first=True, dtype=np.float64, seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, bias=bias, batch_first=batch_first,
                                         dtype=torch.float64 if dtype == np.float64 else torch.float32)
    if bias:  # torch starts the biases at zero; random ones test their gradients better
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    ours = MultiheadAttention(embed_dim, heads, bias=bias, batch_first=batch_first, seed=seed, dtype=dtype)
    ours.in_proj_weight.data[...] = theirs.in_proj_weight.detach().numpy()
    ours.out_proj.weight.data[...] = _linear_weight_from_torch(theirs.out_proj.weight.detach().numpy())
    if bias:
        ours.in_proj_bias.data[...] = theirs.in_proj_bias.detach().numpy()
        ours.out_proj.bias.data[...] = theirs.out_proj.bias.detach().numpy()
    return ours, theirs


def _param_grads(ours, theirs):
    mine = {name: p.grad.data for name, p in ours.named_parameters()}
    other = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    assert sorted(mine) == sorted(other)
    other["out_proj.weight"] = _linear_weight_from_torch(other["out_proj.weight"])
    return mine, other


MHA_CASES = {
    "self": dict(),
    "self_causal_bool": dict(attn_mask="causal_bool"),
    "self_float_mask": dict(attn_mask="float"),
    "self_per_head_mask": dict(attn_mask="per_head"),
    "key_padding": dict(key_padding_mask=True),
    "cross": dict(cross=True),
    "cross_padding_and_mask": dict(cross=True, key_padding_mask=True, attn_mask="bool"),
    "per_head_weights": dict(average_attn_weights=False),
    "no_bias": dict(bias=False),
    "seq_first": dict(batch_first=False),
    "unbatched": dict(unbatched=True),
    "unbatched_padding": dict(unbatched=True, key_padding_mask=True),
    "float32": dict(dtype=np.float32),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_multihead_attention_matches_torch(torch, case):
    spec = MHA_CASES[case]
    n, length, source, width, heads = 2, 5, 7 if spec.get("cross") else 5, 8, 2
    dtype = spec.get("dtype", np.float64)
    ours, theirs = _pair(torch, width, heads, bias=spec.get("bias", True), batch_first=spec.get("batch_first", True),
                         dtype=dtype)
    x = R.standard_normal((n, length, width)).astype(dtype)
    memory = R.standard_normal((n, source, width)).astype(dtype) if spec.get("cross") else None
    kwargs = {"average_attn_weights": spec.get("average_attn_weights", True)}
    if spec.get("attn_mask") == "causal_bool":
        kwargs["attn_mask"] = np.triu(np.ones((length, source), dtype=bool), 1)
    elif spec.get("attn_mask") == "bool":
        kwargs["attn_mask"] = R.random((length, source)) > 0.7
        kwargs["attn_mask"][:, 0] = False
    elif spec.get("attn_mask") == "float":
        kwargs["attn_mask"] = R.standard_normal((length, source)).astype(dtype)
    elif spec.get("attn_mask") == "per_head":
        kwargs["attn_mask"] = R.standard_normal((n * heads, length, source)).astype(dtype)
    if spec.get("key_padding_mask"):
        padding = np.zeros((n, source), dtype=bool)
        padding[0, -2:] = True
        kwargs["key_padding_mask"] = padding
    if not spec.get("batch_first", True):
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
        memory = None if memory is None else np.ascontiguousarray(memory.transpose(1, 0, 2))
    if spec.get("unbatched"):
        x = x[0]
        if "key_padding_mask" in kwargs:
            kwargs["key_padding_mask"] = kwargs["key_padding_mask"][0]

    ours_x = Tensor(x, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    ours_m = Tensor(memory, requires_grad=True) if memory is not None else ours_x
    theirs_m = torch.tensor(memory, requires_grad=True) if memory is not None else theirs_x
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out, weights = ours(ours_x, ours_m, ours_m, **kwargs)
    expected, expected_weights = theirs(theirs_x, theirs_m, theirs_m, **torch_kwargs)
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    assert weights.shape == tuple(expected_weights.shape)
    np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), **tol)
    upstream = R.standard_normal(out.shape).astype(dtype)
    upstream.setflags(write=False)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.copy()))
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), **tol)
    if memory is not None:
        np.testing.assert_allclose(ours_m.grad.data, theirs_m.grad.numpy(), **tol)
    mine, other = _param_grads(ours, theirs)
    for name in mine:
        np.testing.assert_allclose(mine[name], other[name], err_msg=name, **tol)


@pytest.mark.parity
def test_multihead_fully_masked_query_is_zero_like_torch_sdpa_path(torch):
    ours, theirs = _pair(torch, 8, 2)
    x = R.standard_normal((2, 4, 8))
    padding = np.zeros((2, 4), dtype=bool)
    padding[1] = True  # every key of sequence 1 is padding
    out, _ = ours(Tensor(x), Tensor(x), Tensor(x), key_padding_mask=padding, need_weights=False)
    expected, _ = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(padding), need_weights=False)
    assert not np.isnan(out.data).any()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_multihead_gradcheck_and_is_causal():
    mha = MultiheadAttention(6, 3, batch_first=True, seed=1, dtype=np.float64)
    mha.in_proj_bias.data[...] = np.random.default_rng(0).standard_normal(18)
    x = Tensor(np.random.default_rng(1).standard_normal((2, 4, 6)), requires_grad=True)
    memory = Tensor(np.random.default_rng(2).standard_normal((2, 3, 6)), requires_grad=True)

    def run(x, memory, w, b):
        mha.in_proj_weight, mha.in_proj_bias = w, b
        return mha(x, memory, memory, need_weights=False)[0]

    assert gradcheck(run, x, memory, Tensor(mha.in_proj_weight.data, requires_grad=True),
                     Tensor(mha.in_proj_bias.data, requires_grad=True))
    assert gradcheck(lambda x, w: (mha.__setattr__("in_proj_weight", w),
                                   mha(x, x, x, is_causal=True, need_weights=False)[0])[1],
                     x, Tensor(mha.in_proj_weight.data, requires_grad=True))
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)
    a = mha(x, x, x, is_causal=True)
    b = mha(x, x, x, attn_mask=causal)
    np.testing.assert_allclose(a[0].data, b[0].data)
    assert np.all(np.triu(a[1].data[0], 1) == 0) and a[1].requires_grad is False


def test_multihead_init_matches_torch_conventions():
    mha = MultiheadAttention(64, 4, seed=0)
    assert mha.batch_first is False  # sequence first by default, as torch.nn.MultiheadAttention
    bound = np.sqrt(6 / (64 + 192))
    assert mha.in_proj_weight.shape == (192, 64) and np.abs(mha.in_proj_weight.data).max() <= bound
    assert np.all(mha.in_proj_bias.data == 0) and np.all(mha.out_proj.bias.data == 0)
    names = [name for name, _ in mha.named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert np.array_equal(MultiheadAttention(8, 2, seed=4).in_proj_weight.data,
                          MultiheadAttention(8, 2, seed=4).in_proj_weight.data)
    assert len(MultiheadAttention(8, 2, bias=False).parameters()) == 2


def test_multihead_dropout_only_in_training():
    mha = MultiheadAttention(8, 2, dropout=0.5, batch_first=True, seed=0)
    x = Tensor(np.random.default_rng(0).standard_normal((2, 6, 8)).astype(np.float32))
    assert not np.allclose(mha(x, x, x)[0].data, mha(x, x, x)[0].data)
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].data, mha(x, x, x)[0].data)


def test_multihead_bad_input_names_shapes():
    with pytest.raises(ValueError, match=r"embed_dim=10 is not divisible by num_heads=3"):
        MultiheadAttention(10, 3)
    with pytest.raises(TypeError, match="pass bias= by keyword"):
        MultiheadAttention(8, 2, False)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        MultiheadAttention(8, 2, dropout=1.5)
    mha = MultiheadAttention(8, 2, batch_first=True, seed=0)
    x = Tensor(np.ones((2, 5, 8), dtype=np.float32))
    with pytest.raises(ValueError, match=r"expects query of shape \(N, L, E\) or \(L, E\) with E = 8, got \(2, 5, 6\)"):
        mha(Tensor(np.ones((2, 5, 6), dtype=np.float32)), x, x)
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(L, S\) = \(5, 5\) or \(N\*num_heads, L, S\) "
                                         r"= \(4, 5, 5\), got \(3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(2, 5\), got \(5, 5\)"):
        mha(x, x, x, np.zeros((5, 5), dtype=bool))
    with pytest.raises(ValueError, match=r"key \(2, 4, 8\) and value \(2, 5, 8\)"):
        mha(x, Tensor(np.ones((2, 4, 8), dtype=np.float32)), x)
    plain = np.ones((2, 5, 8), dtype=np.float32)  # numpy inputs are accepted, self-attention still detected
    np.testing.assert_allclose(mha(plain, plain, plain)[0].data, mha(x, x, x)[0].data)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 2), length=st.integers(1, 4), source=st.integers(1, 4), width=st.integers(1, 3),
       value_width=st.integers(1, 3), mask_kind=st.sampled_from(["none", "causal", "bool", "float"]),
       seed=st.integers(0, 2**16))
def test_sdpa_gradcheck_property(batch, length, source, width, value_width, mask_kind, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal(s) for s in ((batch, length, width), (batch, source, width),
                                                  (batch, source, value_width)))
    kwargs = {}
    if mask_kind == "causal":
        kwargs["is_causal"] = True
    elif mask_kind == "bool":
        kwargs["attn_mask"] = rng.random((length, source)) > 0.3  # may mask whole rows: their gradient is 0
    elif mask_kind == "float":
        kwargs["attn_mask"] = rng.standard_normal((batch, length, source))
    out = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v), **kwargs)
    assert out.shape == (batch, length, value_width) and np.isfinite(out.data).all()
    assert gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, **kwargs),
                     *(Tensor(x, requires_grad=True) for x in (q, k, v)))
