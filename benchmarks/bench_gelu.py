"""Exact GELU against ReLU: forward + backward through tinytorch, float32, as a ratio to ReLU.

The exact GELU needs erf, which numpy lacks. Module 02 evaluates it with a
tabulated Taylor series (numpy only); the old way called `math.erf` once per
element through `np.frompyfunc`, and is kept here as the reference point.
Times are medians of interleaved runs; the ratio to ReLU (measured in the
same round) is what to compare between machines.
"""

from __future__ import annotations

import common  # noqa: F401  (pins BLAS threads before numpy loads)

import math

import numpy as np

from common import interleaved, load_torch
from tinytorch.core.activations import gelu, relu
from tinytorch.core.tensor import Tensor

SHAPE = (256, 1024)
_erf_per_element = np.frompyfunc(math.erf, 1, 1)


def _through_tinytorch(activation, x: np.ndarray, upstream: np.ndarray):
    def step():
        leaf = Tensor(x, requires_grad=True)
        activation(leaf).backward(upstream)
        return leaf.grad.data
    return step


def _per_element_gelu(x: np.ndarray, upstream: np.ndarray):
    """The former implementation, forward and backward, on plain arrays."""
    def step():
        cdf = (0.5 * (1.0 + _erf_per_element(x / math.sqrt(2.0)))).astype(x.dtype)
        out = x * cdf
        grad = upstream * (cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))
        return out, grad
    return step


def run(rounds: int = 15, shape: tuple[int, int] = SHAPE) -> dict:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    upstream = rng.standard_normal(shape).astype(np.float32)
    new, old = _through_tinytorch(gelu, x, upstream)(), _per_element_gelu(x, upstream)()[1]
    np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-6)  # the same function, both ways
    candidates = {"relu": _through_tinytorch(relu, x, upstream),
                  "gelu": _through_tinytorch(gelu, x, upstream),
                  "gelu_tanh": _through_tinytorch(lambda t: gelu(t, approximate="tanh"), x, upstream),
                  "gelu_per_element_erf": _per_element_gelu(x, upstream)}
    torch = load_torch()
    if torch is not None:
        def torch_step(fn):
            def step():
                leaf = torch.from_numpy(x).requires_grad_(True)
                fn(leaf).backward(torch.from_numpy(upstream))
                return leaf.grad
            return step
        candidates["torch_relu"] = torch_step(torch.relu)
        candidates["torch_gelu"] = torch_step(torch.nn.functional.gelu)
    # per-round ratios, so that a slow moment hits the numerator and the denominator alike
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        times = interleaved(candidates, rounds=1, warmup=1 if not samples["relu"] else 0)
        for name, seconds in times.items():
            samples[name].append(seconds)
    ms = {name: 1e3 * float(np.median(values)) for name, values in samples.items()}
    ratios = {name: [a / b for a, b in zip(samples[name], samples["relu"])] for name in samples if
              not name.startswith("torch")}
    if torch is not None:
        ratios["torch_gelu"] = [a / b for a, b in zip(samples["torch_gelu"], samples["torch_relu"])]
    spread = {name: (float(np.percentile(r, 25)), float(np.median(r)), float(np.percentile(r, 75)))
              for name, r in ratios.items()}
    return {"shape": list(shape), "ms": ms, "ratio_to_relu": spread}


if __name__ == "__main__":
    result = run()
    print(f"forward + backward on {tuple(result['shape'])} float32, 1 thread (ms, ratio to ReLU: q25 / median / q75)")
    for name, value in result["ms"].items():
        ratio = result["ratio_to_relu"].get(name)
        text = " / ".join(f"{r:.1f}x" for r in ratio) if ratio else ""
        print(f"  {name:22s} {value:8.2f} ms  {text}")
