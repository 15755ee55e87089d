"""One helper for every PyTorch parity test: same inputs, compare values and gradients."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tinytorch.core.tensor import Tensor


def assert_parity(tt_fn: Callable, torch_fn: Callable, arrays: Sequence, torch, grad: Sequence[bool] | None = None,
                  rtol: float = 1e-6, atol: float = 1e-8, seed: int = 0) -> None:
    """Run ``tt_fn`` on tinytorch tensors and ``torch_fn`` on torch tensors made from the same ``arrays``.

    Compares the outputs, then back-propagates the same random upstream
    gradient through both and compares the gradient of every input marked in
    ``grad`` (default: every floating input). Non-array arguments are passed as is.
    The upstream gradient is read-only, so a rule that writes into its
    ``grad_output`` fails here (see ``Function``'s docstring).
    """
    arrays = [np.asarray(a) if isinstance(a, (np.ndarray, list)) else a for a in arrays]
    if grad is None:
        grad = [isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    ours = [Tensor(a.copy(), requires_grad=g) if isinstance(a, np.ndarray) else a for a, g in zip(arrays, grad)]
    theirs = [torch.tensor(a.copy(), requires_grad=g) if isinstance(a, np.ndarray) else a for a, g in zip(arrays, grad)]
    out, expected = tt_fn(*ours), torch_fn(*theirs)
    expected_np = expected.detach().numpy()
    assert out.shape == tuple(expected_np.shape), f"shape {out.shape} vs torch {tuple(expected_np.shape)}"
    assert out.dtype == expected_np.dtype, f"dtype {out.dtype} vs torch {expected_np.dtype}"
    np.testing.assert_allclose(out.data, expected_np, rtol=rtol, atol=atol, err_msg="forward value")
    if not any(grad):
        return
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    upstream.setflags(write=False)  # the contract of a rule: never write into grad_output
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (t, e, g) in enumerate(zip(ours, theirs, grad)):
        if not g:
            continue
        assert t.grad is not None, f"input {i} got no gradient"
        want = e.grad.numpy() if e.grad is not None else np.zeros_like(t.data)
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
        np.testing.assert_allclose(t.grad.data, want, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}")
