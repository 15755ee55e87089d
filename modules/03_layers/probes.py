"""Probes of module 03's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np


def named_parameters(nb):
    class Pair(nb.Module):
        def __init__(self):
            self.a = nb.Tensor([1.0], requires_grad=True)
            self.constant = nb.Tensor([2.0])
            self.blocks = [nb.Module(), nb.Module()]
            self.blocks[1].b = nb.Tensor([3.0, 4.5], requires_grad=True)

    pair = Pair()
    names = [name for name, _ in pair.named_parameters()]
    values = np.concatenate([p.data.ravel() for _, p in pair.named_parameters()])
    pair.blocks[0].a = pair.a  # shared: listed once
    return {"names": np.array(names), "values": values, "shared_count": len(pair.parameters()),
            "shared_values": np.concatenate([p.data.ravel() for p in pair.parameters()])}


def linear_forward_backward(nb):
    layer = nb.Linear(2, 3, rng=0)
    layer.weight.data[...] = [[1, 0, -1], [0, 1, 1]]
    layer.bias.data[...] = 0.5
    x = nb.Tensor([[1.0, 2.0], [-0.5, 3.0]], requires_grad=True)
    y = layer(x)
    y.grad_fn.needs_input_grad = (True, True, True)
    dx, dw, db = y.grad_fn.backward(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    return {"y": y, "node": type(y.grad_fn).__name__, "n_params": len(layer.parameters()), "dx": dx, "dw": dw,
            "db": db}


def linear_init(nb):
    no_bias = nb.Linear(2, 3, bias=False, rng=0)(nb.Tensor(np.ones((4, 2), dtype=np.float32)))
    same = np.array_equal(nb.Linear(5, 4, rng=7).weight.data, nb.Linear(5, 4, rng=7).weight.data)
    return {"no_bias_shape": np.array(no_bias.shape), "seeded": same,
            "n_params_no_bias": len(nb.Linear(2, 3, bias=False, rng=0).parameters())}


def dropout_statistics(nb):
    drop = nb.Dropout(0.5, rng=0)
    y = drop(nb.Tensor(np.full(10000, 2.0, dtype=np.float32)))
    values = set(np.unique(y.data).tolist())
    evaluated = drop.eval()(nb.Tensor([1.0, 2.0]))
    eval_mode = drop.training
    drop.train()
    return {"values_ok": values <= {0.0, 4.0}, "mean_ok": abs(float(y.data.mean()) - 2.0) < 0.1,
            "kept_share_ok": abs(float((y.data != 0).mean()) - 0.5) < 0.05, "dtype": str(y.dtype),
            "eval": evaluated, "eval_mode": eval_mode, "train_mode": drop.training}


def dropout_all(nb):
    return {"all_dropped": nb.Dropout(1.0, rng=0)(nb.Tensor([1.0, 2.0])),
            "none_dropped": nb.Dropout(0.0, rng=0)(nb.Tensor([1.5, -2.0]))}


PROBES = {
    "test_module_parameters": [named_parameters],
    "test_linear": [linear_forward_backward, linear_init],
    "test_dropout": [dropout_statistics, dropout_all],
}
