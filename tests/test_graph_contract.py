"""The graph after backward() and the contract of a rule (Function's docstring).

* backward() drops a node's inputs as well as its saved arrays, so memory
  returns to the pre-forward level while the loss is still referenced;
* FREED marks a released node; a rule that saved nothing (() or None) still
  runs its first backward, and a second backward gets PyTorch's message;
* a rule never writes into grad_output: the parity helper passes a
  read-only upstream gradient, so such a rule fails there.
"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.tensor import FREED, Function, Tensor


def _mlp_step(model, x, y):
    loss = CrossEntropyLoss()(model(x), y)
    loss.backward()
    return loss


def test_memory_returns_to_the_pre_forward_level_while_the_loss_is_referenced():
    rng = np.random.default_rng(0)
    model = Sequential(Linear(128, 512, rng=1), ReLU(), Linear(512, 512, rng=2), ReLU(), Linear(512, 10, rng=3))
    x = Tensor(rng.standard_normal((256, 128)).astype(np.float32))
    y = Tensor(rng.integers(0, 10, 256))
    _mlp_step(model, x, y)  # the parameters' .grad now exist; later steps add into them in place
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        loss = _mlp_step(model, x, y)  # keep the loss: its node must not keep the activations alive
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    activations = 256 * (512 + 512 + 512 + 512 + 10) * 4  # hidden layers before and after ReLU, logits
    assert peak - before > activations  # the forward pass did allocate them
    assert after - before < 64 * 1024, (before, after)  # ... and nothing of them is left (was 8 MiB at this size)
    assert loss.grad_fn.saved is FREED and loss.grad_fn.inputs == ()


def test_every_node_is_released_and_retain_graph_keeps_them():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    y = (h.exp() + h).sum()
    nodes = [y.grad_fn, y.grad_fn.inputs[0].grad_fn, h.grad_fn]
    y.backward(retain_graph=True)
    assert all(node.saved is not FREED and node.inputs for node in nodes)
    y.backward()
    assert all(node.saved is FREED and node.inputs == () for node in nodes)
    assert np.allclose(x.grad.data, 2 * 2 * (np.exp(2.0) + 1))


@pytest.mark.parametrize("nothing", [(), None])
def test_a_rule_that_saves_nothing_runs_its_first_backward(nothing):
    class Double(Function):
        def forward(self, a):
            self.saved = nothing  # "nothing needed", not "freed"
            return a * 2

        def backward(self, grad_output):
            return (grad_output * 2,)

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Double.apply(x).sum()
    y.backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_second_backward_message_matches_torch(torch):
    for lib in (torch, None):
        x = torch.tensor([1.0, 2.0], requires_grad=True) if lib else Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
            y.backward()


class _WritesIntoGrad(Function):
    """Breaks the contract: scales grad_output in place."""

    def forward(self, a):
        return a * 3

    def backward(self, grad_output):
        grad_output *= 3
        return (grad_output,)


def test_parity_helper_rejects_a_rule_that_writes_into_grad_output(torch):
    with pytest.raises(ValueError, match="read-only"):
        assert_parity(lambda a: _WritesIntoGrad.apply(a), lambda a: a * 3, [np.ones(3)], torch)


def test_rule_contract_holds_for_every_layer_rule_under_read_only_gradients():
    # the leaf may store what the rule returns; a later += must not change anything the rule keeps
    layer = Linear(3, 2, rng=0, dtype=np.float64)
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    out = layer(x)
    upstream = np.ones((4, 2))
    upstream.setflags(write=False)
    out.backward(upstream)
    grads = [t.grad.data.copy() for t in (x, layer.weight, layer.bias)]
    for t in (x, layer.weight, layer.bias):
        t.grad.data += 1.0  # the engine gave each leaf an array it owns
    assert np.array_equal(upstream, np.ones((4, 2)))
    assert [np.array_equal(t.grad.data, g + 1) for t, g in zip((x, layer.weight, layer.bias), grads)] == [True] * 3

