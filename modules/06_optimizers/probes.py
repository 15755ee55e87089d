"""Probes of module 06's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np


def _steps(optimizer, parameter, gradients):
    """Parameter values after each step with the given gradients."""
    values = []
    for gradient in gradients:
        parameter.grad = optimizer_tensor(parameter, gradient)
        optimizer.step()
        values.append(parameter.data.copy())
    return np.array(values)


def optimizer_tensor(parameter, gradient):
    return type(parameter)(np.asarray(gradient, dtype=parameter.data.dtype))


def sgd_momentum(nb):
    p = nb.Tensor([0.0, 1.0], requires_grad=True)
    return {"path": _steps(nb.SGD([p], lr=0.1, momentum=0.9), p, [[1.0, -2.0], [1.0, 0.5], [1.0, 3.0]])}


def sgd_weight_decay_nesterov(nb):
    p = nb.Tensor([1.0], requires_grad=True)
    opt = nb.SGD([p], lr=0.5, weight_decay=0.1)
    p.grad = nb.Tensor([0.0])
    opt.step()
    decayed, grad_after = p.data.copy(), p.grad.data.copy()
    q = nb.Tensor([0.0, 2.0], requires_grad=True)
    path = _steps(nb.SGD([q], lr=1.0, momentum=0.5, nesterov=True), q, [[1.0, 1.0], [0.5, -1.0]])
    return {"decayed": decayed, "grad_unchanged": grad_after, "nesterov": path}


def adam_steps(nb):
    p = nb.Tensor([1.0, -1.0], requires_grad=True)
    opt = nb.Adam([p], lr=0.01)
    path = _steps(opt, p, [[0.5, -1000.0], [0.5, -1000.0], [-0.25, 10.0]])
    return {"path": path, "steps": opt.state[0]["step"]}


def adam_betas(nb):
    p = nb.Tensor([0.3, 2.0, -4.0], requires_grad=True)
    return {"path": _steps(nb.Adam([p], lr=0.05, betas=(0.8, 0.99), eps=1e-6), p,
                           [[1.0, -0.5, 0.0], [0.2, 0.2, 0.2], [-3.0, 1.0, 0.5]])}


def adamw_decoupled(nb):
    p = nb.Tensor([2.0], requires_grad=True)
    decoupled = _steps(nb.AdamW([p], lr=0.1, weight_decay=0.5), p, [[0.0], [1.0]])
    q = nb.Tensor([2.0], requires_grad=True)
    coupled = _steps(nb.Adam([q], lr=0.1, weight_decay=0.5), q, [[0.0], [1.0]])
    return {"adamw": decoupled, "adam_l2": coupled}


PROBES = {
    "test_sgd": [sgd_momentum, sgd_weight_decay_nesterov],
    "test_adam": [adam_steps, adam_betas],
    "test_adamw": [adamw_decoupled],
}
TOLERANCE = {"test_adam": (1e-5, 1e-7), "test_adamw": (1e-5, 1e-7)}
