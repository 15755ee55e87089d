"""Module 13: LayerNorm, the pre-norm block, the GPT, sampling and the KV cache."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core.autograd import gradcheck, no_grad
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformer import (GPT, KVCache, LayerNorm, LayerNormBackward, TransformerBlock, causal_mask,
                                        generate, layer_norm, sample_next_token)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def normal(rng, *shape, dtype=np.float32, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


# ---- task 13.1: LayerNorm ------------------------------------------------------
@pytest.mark.task_13_1
def test_layer_norm_worked_number_and_gradients():
    ln = LayerNorm(4)
    x = Tensor([[1.0, 2.0, 3.0, 6.0]], requires_grad=True)
    y = ln(x)
    assert isinstance(y.grad_fn, LayerNormBackward)
    np.testing.assert_allclose(y.data, [[-2, -1, 0, 3]] / np.sqrt(3.5 + 1e-5), rtol=1e-6)
    y.backward(np.array([[1.0, 0.0, 0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(ln.bias.grad.data, [1, 0, 0, 0])
    np.testing.assert_allclose(ln.weight.grad.data, [y.data[0, 0], 0, 0, 0], rtol=1e-6)
    assert abs(x.grad.data.sum()) < 1e-6  # a uniform shift of x does not change the output


@pytest.mark.task_13_1
@pytest.mark.parity
@pytest.mark.parametrize("shape, normalized", [((6, 8), (8,)), ((2, 5, 8), (8,)), ((2, 5, 8), (5, 8)), ((7,), (7,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_matches_torch(torch, rng, shape, normalized, dtype):
    x = normal(rng, *shape, dtype=dtype, scale=3.0, shift=2.0)
    w = normal(rng, *normalized, dtype=dtype, shift=1.0)
    b = normal(rng, *normalized, dtype=dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert_parity(lambda x, w, b: layer_norm(x, normalized, w, b),
                  lambda x, w, b: torch.nn.functional.layer_norm(x, normalized, w, b), [x, w, b], torch, **tol)
    assert_parity(lambda x: layer_norm(x, normalized, eps=1e-3),
                  lambda x: torch.nn.functional.layer_norm(x, normalized, eps=1e-3), [x], torch, **tol)


@pytest.mark.task_13_1
@pytest.mark.parity
def test_layer_norm_module_matches_torch_module(torch, rng):
    ours, theirs = LayerNorm((3, 4), eps=1e-6), torch.nn.LayerNorm((3, 4), eps=1e-6)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(normal(rng, 3, 4)))
        theirs.bias.copy_(torch.from_numpy(normal(rng, 3, 4)))
    ours.weight.data[...] = theirs.weight.detach().numpy()
    ours.bias.data[...] = theirs.bias.detach().numpy()
    x = normal(rng, 2, 3, 4)
    out = ours(Tensor(x))
    np.testing.assert_allclose(out.data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    plain = LayerNorm(4, elementwise_affine=False)
    assert plain.parameters() == [] and "elementwise_affine=False" in repr(plain)


@pytest.mark.task_13_1
def test_layer_norm_gradcheck(rng):
    x = Tensor(normal(rng, 3, 5, dtype=np.float64), requires_grad=True)
    w = Tensor(normal(rng, 5, dtype=np.float64), requires_grad=True)
    b = Tensor(normal(rng, 5, dtype=np.float64), requires_grad=True)
    assert gradcheck(lambda x, w, b: layer_norm(x, 5, w, b), x, w, b)
    assert gradcheck(lambda x: layer_norm(x, (3, 5)), x)


def test_layer_norm_is_stable_for_large_and_constant_inputs():
    big = Tensor(np.array([[1e4, -1e4, 3e3, 0.0]], dtype=np.float32), requires_grad=True)
    y = LayerNorm(4)(big)
    assert np.all(np.isfinite(y.data)) and abs(y.data.mean()) < 1e-5 and abs(y.data.var() - 1) < 1e-3
    constant = Tensor(np.full((2, 4), 7.0, dtype=np.float32), requires_grad=True)
    y = LayerNorm(4)(constant)
    y.sum().backward()
    assert np.all(y.data == 0) and np.all(np.isfinite(constant.grad.data))


def test_layer_norm_bad_input_is_named():
    with pytest.raises(ValueError, match=r"expects input \(\.\.\., 8\), got shape \(2, 4\)"):
        LayerNorm(8)(Tensor(np.ones((2, 4), dtype=np.float32)))
    with pytest.raises(ValueError, match="positive ints"):
        LayerNorm(0)
    with pytest.raises(ValueError, match="eps must be positive"):
        LayerNorm(4, eps=0.0)
    with pytest.raises(TypeError, match="floating-point"):
        LayerNorm(2)(Tensor(np.array([[1, 2]])))
    with pytest.raises(TypeError, match="float32 but the input is float64"):
        LayerNorm(2)(Tensor(np.ones((1, 2))))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        layer_norm(Tensor(np.ones((1, 4), dtype=np.float32)), 4, Tensor(np.ones(3, dtype=np.float32)),
                   Tensor(np.ones(3, dtype=np.float32)))


# ---- task 13.2: the block and the model ---------------------------------------
@pytest.mark.task_13_2
def test_block_is_causal_and_residual(rng):
    block = TransformerBlock(16, 4, rng=0)
    x = normal(rng, 2, 6, 16)
    y = block(Tensor(x)).data
    changed = x.copy()
    changed[:, 3] += 5.0
    y2 = block(Tensor(changed)).data
    np.testing.assert_allclose(y2[:, :3], y[:, :3], atol=1e-6)  # the past never sees the future
    assert not np.allclose(y2[:, 3:], y[:, 3:])
    for p in block.attn.out_proj.parameters() + block.mlp.fc2.parameters():
        p.data[...] = 0.0
    np.testing.assert_allclose(block(Tensor(x)).data, x, atol=1e-6)  # both branches zero: the identity path


@pytest.mark.task_13_2
@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gpt_matches_torch_values_and_every_gradient(torch, dtype):
    import bench_transformer

    ours = GPT(vocab_size=13, max_len=10, embed_dim=16, num_heads=4, num_layers=2, seed=3)
    if dtype == np.float64:
        for p in ours.parameters():
            p.data = p.data.astype(np.float64)
    theirs = bench_transformer.torch_model(torch, ours)
    ids = np.random.default_rng(0).integers(0, 13, (3, 10))
    targets = np.random.default_rng(1).integers(0, 13, (3, 10))
    from tinytorch.core.losses import cross_entropy

    logits = ours(ids)
    expected = theirs(torch.from_numpy(ids))
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(logits.data, expected.detach().numpy(), **tol)
    cross_entropy(logits.reshape(-1, 13), targets.reshape(-1)).backward()
    torch.nn.functional.cross_entropy(expected.reshape(-1, 13), torch.from_numpy(targets.reshape(-1))).backward()
    ours_grads = [p.grad.data for p in ours.parameters()]
    torch_params = dict(theirs.named_parameters())
    names = ["tok.weight", "pos.weight"]
    for i in range(2):
        names += [f"blocks.{i}.ln_1.weight", f"blocks.{i}.ln_1.bias", f"blocks.{i}.q.weight", f"blocks.{i}.q.bias",
                  f"blocks.{i}.k.weight", f"blocks.{i}.k.bias", f"blocks.{i}.v.weight", f"blocks.{i}.v.bias",
                  f"blocks.{i}.o.weight", f"blocks.{i}.o.bias", f"blocks.{i}.ln_2.weight", f"blocks.{i}.ln_2.bias",
                  f"blocks.{i}.fc1.weight", f"blocks.{i}.fc1.bias", f"blocks.{i}.fc2.weight", f"blocks.{i}.fc2.bias"]
    names += ["ln_f.weight", "ln_f.bias", "head.weight", "head.bias"]
    assert len(names) == len(ours_grads) == len(torch_params)
    for name, grad in zip(names, ours_grads):
        want = torch_params[name].grad.numpy()
        if grad.ndim == 2 and name not in ("tok.weight", "pos.weight"):
            want = want.T  # our Linear stores (in, out)
        np.testing.assert_allclose(grad, want, err_msg=name, **tol)


@pytest.mark.task_13_2
def test_block_gradcheck():
    block = TransformerBlock(8, 2, mlp_ratio=2, rng=0)
    for p in block.parameters():
        p.data = p.data.astype(np.float64)
    x = Tensor(np.random.default_rng(0).standard_normal((1, 3, 8)), requires_grad=True)
    assert gradcheck(lambda x: block(x), x, atol=1e-6)


def test_gpt_bad_input_is_named():
    with pytest.raises(ValueError, match="embed_dim must be a positive multiple of num_heads.*embed_dim=10, num_heads=4"):
        GPT(vocab_size=5, max_len=4, embed_dim=10, num_heads=4)
    model = GPT(vocab_size=5, max_len=4, embed_dim=8, num_heads=2, num_layers=1, seed=0)
    with pytest.raises(ValueError, match=r"integer token ids of shape \(batch, steps\), got shape \(4,\)"):
        model(np.arange(4))
    with pytest.raises(ValueError, match="dtype float32"):
        model(np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="max_len=4 positions; got 5 tokens"):
        model(np.zeros((1, 5), dtype=np.int64))
    with pytest.raises(IndexError):
        model(np.array([[0, 1, 5]]))  # token id 5 in a vocabulary of 5
    with pytest.raises(ValueError, match=r"expects input \(batch, steps, 8\)"):
        model.blocks[0](Tensor(np.ones((2, 8), dtype=np.float32)))


def test_gpt_is_seeded_and_learns_a_tiny_sequence():
    from tinytorch.core.losses import cross_entropy
    from tinytorch.core.optimizers import AdamW

    a, b = GPT(7, 8, 16, 2, 1, seed=5), GPT(7, 8, 16, 2, 1, seed=5)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    ids = np.array([[0, 1, 2, 3, 4, 5, 6, 0]])
    optimizer = AdamW(a.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        loss = cross_entropy(a(ids[:, :-1]).reshape(-1, 7), ids[0, 1:])
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    assert generate(a, [0], 6, greedy=True).tolist() == [0, 1, 2, 3, 4, 5, 6]


# ---- task 13.3: sampling -------------------------------------------------------
@pytest.mark.task_13_3
def test_sampling_distributions():
    z = np.array([[2.0, 1.0, 0.0]])
    many = np.repeat(z, 40000, axis=0)
    for options, expected in [({}, [0.665, 0.245, 0.090]), ({"temperature": 0.5}, [0.867, 0.117, 0.016]),
                              ({"temperature": 2.0}, [0.506, 0.307, 0.186]), ({"top_k": 2}, [0.731, 0.269, 0.0]),
                              ({"top_k": 1}, [1.0, 0.0, 0.0])]:
        freq = np.bincount(sample_next_token(many, rng=0, **options), minlength=3) / len(many)
        np.testing.assert_allclose(freq, expected, atol=0.01, err_msg=str(options))
    assert sample_next_token(np.array([[0.0, 3.0, 1.0], [5.0, 0.0, 0.0]]), greedy=True).tolist() == [1, 0]


@pytest.mark.task_13_3
def test_sampling_is_seeded_stable_and_checks_its_arguments():
    z = np.random.default_rng(0).standard_normal((50, 30))
    first = sample_next_token(z, temperature=0.7, top_k=5, rng=11)
    assert first.dtype == np.int64 and first.shape == (50,)
    assert np.array_equal(first, sample_next_token(z, temperature=0.7, top_k=5, rng=11))
    assert (np.argsort(-z, axis=1)[:, :5] == first[:, None]).any(axis=1).all()  # always one of the top 5
    assert sample_next_token(np.array([[1e4, -1e4, 0.0]], dtype=np.float32), rng=0).tolist() == [0]
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample_next_token(z, temperature=0.0)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 30\]"):
        sample_next_token(z, top_k=31)
    with pytest.raises(ValueError, match=r"\(batch, vocab\)"):
        sample_next_token(z[0])


# ---- task 13.4: the KV cache ---------------------------------------------------
@pytest.mark.task_13_4
def test_cache_update_writes_in_place():
    cache = KVCache(num_layers=1, batch_size=2, num_heads=1, head_dim=2, max_len=4)
    k = np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2)
    keys, values = cache.update(0, k, -k)
    assert keys.shape == (2, 1, 2, 2) and np.shares_memory(keys, cache.keys)
    np.testing.assert_array_equal(values, -k)
    cache.length = 2
    keys, _ = cache.update(0, k[:, :, :1] + 100, k[:, :, :1])
    np.testing.assert_array_equal(keys[:, :, :2], k)
    np.testing.assert_array_equal(keys[:, :, 2], k[:, :, 0] + 100)
    with pytest.raises(ValueError, match="expects keys and values of shape"):
        cache.update(0, np.ones((2, 3, 1, 2), dtype=np.float32), np.ones((2, 3, 1, 2), dtype=np.float32))


@pytest.mark.task_13_4
def test_cached_forward_equals_the_full_forward():
    model = GPT(vocab_size=11, max_len=12, embed_dim=16, num_heads=4, num_layers=2, seed=1)
    ids = np.random.default_rng(2).integers(0, 11, (3, 12))
    with no_grad():
        full = model(ids).data
        cache = KVCache(2, 3, 4, 4, 12)
        pieces = [model(ids[:, :5], cache).data]  # a prompt of 5 (prefill, shifted causal mask)
        pieces.append(model(ids[:, 5:8], cache).data)  # 3 more at once
        pieces += [model(ids[:, t:t + 1], cache).data for t in range(8, 12)]  # then one at a time
    assert cache.length == 12
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full, rtol=1e-5, atol=1e-5)


@pytest.mark.task_13_4
@pytest.mark.parametrize("options", [{"greedy": True}, {"temperature": 0.9, "top_k": 5, "seed": 4},
                                     {"temperature": 1.3, "seed": 8}])
def test_generation_with_cache_equals_without(options):
    model = GPT(vocab_size=17, max_len=40, embed_dim=16, num_heads=2, num_layers=2, seed=0)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    cached = generate(model, prompt, 30, **options)
    plain = generate(model, prompt, 30, use_cache=False, **options)
    assert cached.shape == (2, 33) and np.array_equal(cached[:, :3], prompt)
    np.testing.assert_array_equal(cached, plain)
    np.testing.assert_array_equal(cached, model.generate(prompt, 30, **options))


def test_causal_mask_with_cached_keys():
    np.testing.assert_array_equal(causal_mask(2, 4), [[True, True, True, False], [True, True, True, True]])
    np.testing.assert_array_equal(causal_mask(3, 3), np.tril(np.ones((3, 3), dtype=bool)))


def test_generation_bad_input_and_limits():
    model = GPT(vocab_size=5, max_len=6, embed_dim=8, num_heads=2, num_layers=1, seed=0)
    with pytest.raises(ValueError, match=r"prompt \(2\) \+ max_new_tokens \(5\) must fit in the model's max_len=6"):
        generate(model, [0, 1], 5)
    longer = generate(model, [0, 1], 10, use_cache=False, seed=0)  # the window slides over the last 6
    assert longer.shape == (12,) and longer.dtype == np.int64
    with pytest.raises(ValueError, match="non-empty integer token ids"):
        generate(model, [0.5, 1.0], 2)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        generate(model, [0], -1)
    cache = KVCache(1, 1, 2, 4, 6)
    with pytest.raises(RuntimeError, match="the KV cache is for inference"):
        model.blocks[0](Tensor(np.ones((1, 2, 8), dtype=np.float32), requires_grad=True), cache)
    model.train()
    generate(model, [0], 2)
    assert model.training  # generate restores the mode it found


# ---- milestone 05 and the benchmark ---------------------------------------------
@pytest.mark.slow
def test_benchmark_compares_the_same_model():
    import bench_transformer

    row = bench_transformer.training_step(rounds=1, inner=1)  # asserts equal first losses inside
    assert row["ms"]["tinytorch"] > 0
    gen = bench_transformer.generation(new_tokens=20, repeats=1)  # asserts equal ids inside
    assert gen["speedup"] > 0


def _milestone(*args):
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = dict(__import__("os").environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(root / "milestones" / "05_transformer.py"), "--no-progress", *args],
                          cwd=root, capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_milestone_05_reversal_reaches_99_percent_exact_match(tmp_path):
    result = _milestone("--part", "reversal", "--plot", str(tmp_path / "curves.png"))
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"exact match: (\d+\.\d)% of 1000 held-out sequences", result.stdout)
    assert match and float(match.group(1)) >= 99.0, result.stdout
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_milestone_05_language_model_beats_the_bigram_by_a_fifth():
    result = _milestone("--part", "lm")
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"validation loss: (\d+\.\d+) nats = (\d+\.\d+)x the bigram's", result.stdout)
    assert match and float(match.group(2)) <= 0.8, result.stdout
    sample = re.search(r"sample: '(.*)'", result.stdout)
    assert sample and len(sample.group(1)) > 20
