"""A GPT training step against the same model in PyTorch eager, and the cost of generation with and without the cache.

Training step: batch 32, 32 tokens, width 64, 4 heads, 2 pre-norm blocks
(GELU in its tanh form), a 65-token vocabulary, next-token cross-entropy,
AdamW -- forward, backward and update. PyTorch runs the same architecture
with the same weights (the first losses are checked equal), one thread,
interleaved round-robin with ours so machine noise hits both alike.

Generation: a 2-layer width-64 model continues an 8-token prompt by 120
tokens, greedily, with the KV cache and without it (same ids, checked).
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from common import interleaved, load_torch, machine, paired_rounds, quartiles, write_json
from tinytorch.core.losses import cross_entropy
from tinytorch.core.optimizers import AdamW
from tinytorch.core.transformer import GPT, generate

BATCH, STEPS, WIDTH, HEADS, LAYERS, VOCAB = 32, 32, 64, 4, 2, 65
LR = 1e-3


def make_batch(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, VOCAB, (BATCH, STEPS + 1))
    return tokens[:, :-1], tokens[:, 1:]


class TinyStep:
    def __init__(self, model: GPT, x: np.ndarray, y: np.ndarray) -> None:
        self.model, self.x, self.y = model, x, y.reshape(-1)
        self.optimizer = AdamW(model.parameters(), lr=LR)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = cross_entropy(self.model(self.x).reshape(-1, VOCAB), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def torch_model(torch, ours: GPT):
    """The same architecture in PyTorch, with our weights copied in (Linear weights transposed)."""
    nn, F = torch.nn, torch.nn.functional
    width, heads, vocab = ours.embed_dim, ours.num_heads, ours.vocab_size
    hidden = ours.blocks[0].mlp.fc1.out_features

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))
            self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

        def forward(self, x):
            b, t, d = x.shape
            h = self.ln_1(x)
            q, k, v = (proj(h).view(b, t, heads, d // heads).transpose(1, 2) for proj in (self.q, self.k, self.v))
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
            x = x + self.o(a)
            return x + self.fc2(F.gelu(self.fc1(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(ours.max_len, width)
            self.blocks = nn.ModuleList(Block() for _ in ours.blocks)
            self.ln_f, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(torch.arange(ids.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    model = TorchGPT().to(torch.float64 if ours.head.weight.dtype == np.float64 else torch.float32)
    pairs = [(model.tok.weight, ours.token_embedding.weight, False),
             (model.pos.weight, ours.position_encoding.weight, False)]
    for theirs, mine in zip(model.blocks, ours.blocks):
        pairs += [(theirs.ln_1.weight, mine.ln_1.weight, False), (theirs.ln_1.bias, mine.ln_1.bias, False),
                  (theirs.ln_2.weight, mine.ln_2.weight, False), (theirs.ln_2.bias, mine.ln_2.bias, False)]
        for t_lin, m_lin in [(theirs.q, mine.attn.q_proj), (theirs.k, mine.attn.k_proj), (theirs.v, mine.attn.v_proj),
                             (theirs.o, mine.attn.out_proj), (theirs.fc1, mine.mlp.fc1), (theirs.fc2, mine.mlp.fc2)]:
            pairs += [(t_lin.weight, m_lin.weight, True), (t_lin.bias, m_lin.bias, False)]
    pairs += [(model.ln_f.weight, ours.ln_f.weight, False), (model.ln_f.bias, ours.ln_f.bias, False),
              (model.head.weight, ours.head.weight, True), (model.head.bias, ours.head.bias, False)]
    with torch.no_grad():
        for theirs, mine, transpose in pairs:
            theirs.copy_(torch.from_numpy(mine.data.T.copy() if transpose else mine.data.copy()))
    return model


class TorchStep:
    def __init__(self, torch, model, x: np.ndarray, y: np.ndarray) -> None:
        self.torch, self.model = torch, model
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y.reshape(-1))
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=LR)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(self.x).reshape(-1, VOCAB), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def training_step(rounds: int = 90, inner: int = 5) -> dict:
    """Median ms per step of both frameworks, and the median and quartiles of the per-round ratios.

    Each round times ``inner`` steps of each framework back to back, so a
    round's ratio compares the two under the same machine load.
    """
    torch = load_torch()
    x, y = make_batch()
    ours = GPT(VOCAB, STEPS, WIDTH, HEADS, LAYERS, seed=0)
    candidates = {"tinytorch": TinyStep(ours, x, y)}
    if torch is not None:
        candidates["pytorch"] = TorchStep(torch, torch_model(torch, ours), x, y)
    first = {name: fn() for name, fn in candidates.items()}  # same weights, same batch: same loss
    assert max(first.values()) - min(first.values()) < 1e-4, first
    ms, ratios = paired_rounds(candidates, rounds, inner)
    row = {"shape": {"batch": BATCH, "steps": STEPS, "width": WIDTH, "heads": HEADS, "layers": LAYERS,
                     "vocab": VOCAB},
           "first_loss": first, "rounds": rounds, "ms": ms}
    if ratios:
        row["ratio_to_pytorch"] = {"median": statistics.median(ratios), "quartiles": quartiles(ratios)}
    return row


def generation(new_tokens: int = 120, repeats: int = 5) -> dict:
    """ms per generated token with and without the KV cache (same ids), and the speed-up."""
    model = GPT(VOCAB, 8 + new_tokens, WIDTH, HEADS, LAYERS, seed=0)
    prompt = np.arange(8) % VOCAB
    cached = generate(model, prompt, new_tokens, greedy=True)
    assert np.array_equal(cached, generate(model, prompt, new_tokens, greedy=True, use_cache=False))
    times = interleaved({"cache": lambda: generate(model, prompt, new_tokens, greedy=True),
                         "no_cache": lambda: generate(model, prompt, new_tokens, greedy=True, use_cache=False)},
                        rounds=repeats, warmup=1)
    return {"new_tokens": new_tokens, "ms_per_token": {k: 1000 * v / new_tokens for k, v in times.items()},
            "speedup": times["no_cache"] / times["cache"]}


def run(rounds: int = 90) -> dict:
    load_before = os.getloadavg()[0]
    result = {"training_step": training_step(rounds=rounds), "generation": generation()}
    result["load_average_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", default=str(Path(__file__).with_name("results_transformer.json")))
    args = parser.parse_args()
    start = time.perf_counter()
    result = run(rounds=5 if args.quick else 90)
    step, gen = result["training_step"], result["generation"]
    print("GPT training step (B 32, T 32, D 64, 4 heads, 2 layers, AdamW), 1 thread, ms per step:",
          ", ".join(f"{name} {ms:.2f}" for name, ms in step["ms"].items()))
    if "ratio_to_pytorch" in step:
        r = step["ratio_to_pytorch"]
        low, high = r["quartiles"]
        print(f"  tinytorch / PyTorch: {r['median']:.2f}x (quartiles of {step['rounds']} paired rounds "
              f"{low:.2f}x .. {high:.2f}x), target <= 1.0x")
    print(f"generation of {gen['new_tokens']} tokens, ms per token: cache {gen['ms_per_token']['cache']:.2f}, "
          f"no cache {gen['ms_per_token']['no_cache']:.2f}; the cache is {gen['speedup']:.1f}x faster")
    load = result["load_average_1min"]
    print(f"load average (1 min) {load['before']:.1f} before, {load['after']:.1f} after, "
          f"{os.cpu_count()} CPUs; {time.perf_counter() - start:.0f} s")
    torch = load_torch()
    write_json(Path(args.json), {"machine": machine(), "torch": getattr(torch, "__version__", None), **result})
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
