"""Module 06: optimizer behaviour, in-place updates, state round trips, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor


def _quadratic_steps(optimizer_cls, steps=200, **options):
    p = Tensor(np.array([3.0, -2.0], dtype=np.float32), requires_grad=True)
    opt = optimizer_cls([p], **options)
    for _ in range(steps):
        opt.zero_grad()
        ((p - Tensor(np.array([1.0, 1.0], dtype=np.float32))) ** 2).sum().backward()
        opt.step()
    return p


@pytest.mark.task_6_1
@pytest.mark.task_6_2
@pytest.mark.task_6_3
@pytest.mark.parametrize("cls, options", [(SGD, dict(lr=0.1)), (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
                                          (Adam, dict(lr=0.1)), (AdamW, dict(lr=0.1, weight_decay=0.0)),
                                          (Adam, dict(lr=0.1, amsgrad=True))])
def test_optimizers_minimise_a_quadratic_in_place_and_in_float32(cls, options):
    p = _quadratic_steps(cls, **options)
    assert np.allclose(p.data, [1.0, 1.0], atol=1e-2)
    assert p.dtype == np.float32 and p.grad_fn is None


def test_updates_keep_the_same_array_and_record_no_graph():
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    array = p.data
    opt = Adam([p], lr=0.1)
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    opt.step()
    assert p.data is array and p.grad_fn is None and p.is_leaf


def test_parameters_without_gradient_are_skipped():
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = SGD([a, b], lr=1.0, momentum=0.9)
    a.grad = Tensor([1.0])
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 1.0 and opt.state[1] == {}


def test_state_dict_round_trip_continues_identically():
    def make():
        p = Tensor(np.array([0.5, -0.5]), requires_grad=True)
        return p, Adam([p], lr=0.05, amsgrad=True)

    def step(p, opt, g):
        p.grad = Tensor(np.array(g))
        opt.step()

    p1, o1 = make()
    for g in ([1.0, 2.0], [0.5, -1.0], [2.0, 0.1], [-1.0, 1.0]):
        step(p1, o1, g)
    p2, o2 = make()
    for g in ([1.0, 2.0], [0.5, -1.0]):
        step(p2, o2, g)
    saved, values = o2.state_dict(), p2.data.copy()
    p3, o3 = make()
    p3.data[...] = values
    o3.load_state_dict(saved)
    for g in ([2.0, 0.1], [-1.0, 1.0]):
        step(p3, o3, g)
    assert np.array_equal(p1.data, p3.data)


def test_bad_optimizer_arguments():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be non-negative \(and finite\), got -1"):
        SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov needs momentum"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\), got 1.0"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        Adam([[1.0]])
    with pytest.raises(TypeError, match="int64"):
        Adam([Tensor(np.array([1, 2]))])
    with pytest.raises(ValueError, match="state has 2 parameters"):
        Adam([p]).load_state_dict({"defaults": Adam([p]).defaults, "state": [{}, {}]})


def test_adamw_defaults_match_pytorch():
    p = Tensor([1.0], requires_grad=True)
    assert AdamW([p]).defaults["weight_decay"] == 0.01 and Adam([p]).defaults["weight_decay"] == 0.0
