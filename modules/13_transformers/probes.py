"""Probes of module 13's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. Probes are keyed by the graded cell's grade_id.
"""

import numpy as np

from tito_cli.probing import raised


def layer_norm_affine(nb):
    rng = np.random.default_rng(13)
    ln = nb.LayerNorm(4)
    ln.weight.data[...] = [1.0, -2.0, 0.5, 3.0]
    ln.bias.data[...] = [0.0, 1.0, -1.0, 0.25]
    x = nb.Tensor((rng.standard_normal((3, 4)) * 4 + 2).astype(np.float32), requires_grad=True)
    y = ln(x)
    g = rng.standard_normal((3, 4)).astype(np.float32)
    g.setflags(write=False)  # the rule must not write into its upstream gradient
    y.backward(g)
    worked = nb.LayerNorm(4)(nb.Tensor([[1.0, 2.0, 3.0, 6.0]]))
    return {"worked": worked, "y": y, "node": type(y.grad_fn).__name__, "dx": x.grad, "dw": ln.weight.grad,
            "db": ln.bias.grad, "bad_shape": raised(ln, nb.Tensor(np.ones((2, 3), dtype=np.float32)))}


def layer_norm_plain(nb):
    rng = np.random.default_rng(14)
    x = nb.Tensor(rng.standard_normal((2, 3, 4)).astype(np.float32) * 5 + 3, requires_grad=True)
    y = nb.LayerNorm((3, 4), elementwise_affine=False)(x)
    y.backward(rng.standard_normal((2, 3, 4)).astype(np.float32))
    return {"y": y, "dx": x.grad, "shape": np.array(y.shape)}


def block_forward_backward(nb):
    block = nb.TransformerBlock(8, 2, rng=0)
    x = nb.Tensor(np.random.default_rng(1).standard_normal((2, 5, 8)).astype(np.float32), requires_grad=True)
    y = block(x)
    y.backward(np.random.default_rng(2).standard_normal((2, 5, 8)).astype(np.float32))
    later = x.data.copy()
    later[:, -1] += 1.0
    return {"y": y, "dx": x.grad, "d_ln_1": block.ln_1.weight.grad, "d_fc2": block.mlp.fc2.weight.grad,
            "causal_prefix": block(nb.Tensor(later)).data[:, :-1], "n_params": len(block.parameters())}


def block_identity(nb):
    block = nb.TransformerBlock(8, 2, rng=3)
    for p in block.mlp.parameters() + block.attn.parameters():
        p.data[...] = 0.0  # both branches output zero: the block is the identity
    x = nb.Tensor(np.random.default_rng(4).standard_normal((1, 3, 8)).astype(np.float32))
    return {"y": block(x)}


def sampling(nb):
    z = np.array([[2.0, 1.0, 0.0], [0.0, 5.0, 1.0]])
    many = np.repeat(z[:1], 20000, axis=0)
    default = np.bincount(nb.sample_next_token(many, rng=1), minlength=3) / 20000
    cold = np.bincount(nb.sample_next_token(many, temperature=0.5, rng=0), minlength=3) / 20000
    top2 = nb.sample_next_token(many, top_k=2, rng=0)
    top1 = nb.sample_next_token(np.repeat(z, 50, axis=0), top_k=1, temperature=3.0, rng=5)
    seeded = np.array_equal(nb.sample_next_token(z, rng=3), nb.sample_next_token(z, rng=3))
    return {"greedy": nb.sample_next_token(z, greedy=True), "top1": top1,
            "default_ok": bool(np.abs(default - [0.665, 0.245, 0.090]).max() < 0.015),
            "cold_ok": bool(np.abs(cold - [0.867, 0.117, 0.016]).max() < 0.015),
            "top2_support": np.unique(top2), "top2_ok": bool(abs((top2 == 0).mean() - 0.731) < 0.015),
            "seeded": seeded, "dtype": str(np.asarray(top2).dtype),
            "extreme": nb.sample_next_token(np.array([[-1e4, 1e4, 0.0]]), temperature=0.01, rng=0)}


def kv_cache(nb):
    cache = nb.KVCache(num_layers=2, batch_size=1, num_heads=2, head_dim=3, max_len=5)
    k = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    keys, values = cache.update(1, k, -k)
    first = {"keys_1": keys.copy(), "values_1": values.copy(), "layer_0_untouched": cache.keys[0].copy()}
    cache.length = 2
    keys, values = cache.update(1, 3 * k[:, :, :1], 4 * k[:, :, :1])
    out = {**first, "keys_2": keys, "values_2": values, "view": bool(np.shares_memory(keys, cache.keys))}
    cache.length = 4
    out["overflow"] = raised(cache.update, 0, k, k)
    return out


def cached_generation(nb):
    model = nb.GPT(vocab_size=11, max_len=12, embed_dim=16, num_heads=4, num_layers=2, seed=1)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    return {"cached": nb.generate(model, prompt, 9, greedy=True),
            "plain": nb.generate(model, prompt, 9, greedy=True, use_cache=False)}


PROBES = {
    "test_layer_norm": [layer_norm_affine, layer_norm_plain],
    "test_transformer_block": [block_forward_backward, block_identity],
    "test_sampling": [sampling],
    "test_kv_cache": [kv_cache, cached_generation],
}
TOLERANCE = {"test_layer_norm": (1e-4, 1e-5), "test_transformer_block": (1e-4, 1e-5)}
