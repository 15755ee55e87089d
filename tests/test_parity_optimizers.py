"""SGD, Adam and AdamW against PyTorch: 20 steps, every option, float64, to 1e-6."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor

pytestmark = pytest.mark.parity

SGD_OPTIONS = [dict(lr=0.1)] + [
    dict(lr=0.05, momentum=m, dampening=d, weight_decay=wd, nesterov=n)
    for m, d, wd, n in itertools.product([0.0, 0.9], [0.0, 0.3], [0.0, 0.01], [False, True])
    if not (n and (m == 0 or d != 0))
]
ADAM_OPTIONS = [dict(lr=lr, betas=b, eps=e, weight_decay=wd, amsgrad=a)
                for lr, b, e, wd, a in itertools.product([1e-2], [(0.9, 0.999), (0.5, 0.9)], [1e-8, 1e-3],
                                                         [0.0, 0.05], [False, True])]

CASES = ([("SGD", SGD, "SGD", o) for o in SGD_OPTIONS] + [("Adam", Adam, "Adam", o) for o in ADAM_OPTIONS]
         + [("AdamW", AdamW, "AdamW", o) for o in ADAM_OPTIONS])


@pytest.mark.parametrize("name, ours_cls, torch_name, options", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_twenty_steps_match_pytorch(torch, name, ours_cls, torch_name, options):
    rng = np.random.default_rng(11)
    shapes = [(4, 3), (3,), (2, 2, 2)]
    start = [rng.standard_normal(s) for s in shapes]
    ours = [Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt = ours_cls(ours, **options)
    reference = getattr(torch.optim, torch_name)(theirs, **options)
    for step in range(20):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            if step % 7 == 3:
                g *= 50.0  # an occasional large gradient exercises the moment estimates
            p.grad = Tensor(g.copy())
            q.grad = torch.tensor(g.copy())
        opt.step()
        reference.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-6, atol=1e-10)
