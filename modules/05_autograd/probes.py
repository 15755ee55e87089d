"""Probes of module 05's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. The student's module is ``tinytorch.core.autograd`` in
the sandbox, so ``Tensor.backward`` runs their engine too.
"""

import numpy as np


def unbroadcast_shapes(nb):
    cases = {"rows": (np.ones((32, 10)), (10,)), "keepdim": (np.ones((2, 3, 4)), (3, 1)),
             "same": (np.arange(5.0).reshape(5, 1), (5, 1)), "scalar": (np.arange(6.0).reshape(2, 3), ()),
             "mixed": (np.arange(24.0).reshape(2, 3, 4), (1, 4))}
    outputs = {}
    for name, (grad, shape) in cases.items():
        out = np.asarray(nb.unbroadcast(grad, shape))
        outputs[name] = out
        outputs[name + "_shape"] = np.array(out.shape, dtype=np.int64)
    return outputs


def accumulate_grad_aliasing(nb):
    leaf = nb.Tensor(np.zeros(2), requires_grad=True)
    g = np.array([1.0, 2.0])
    shared = set()
    nb.accumulate_grad(leaf, g, shared)
    stored_as_is = leaf.grad.data is g and id(g) in shared
    nb.accumulate_grad(leaf, np.array([1.0, 1.0]), shared)
    after = leaf.grad.data.copy()
    other = nb.Tensor(np.zeros(2), requires_grad=True)
    nb.accumulate_grad(other, g, shared)
    view = np.ones((2, 2))[0]
    third = nb.Tensor(np.zeros(2), requires_grad=True)
    nb.accumulate_grad(third, view, set())
    f32 = nb.Tensor(np.zeros(2, dtype=np.float32), requires_grad=True)
    nb.accumulate_grad(f32, np.ones(2) * 0.5, set())
    return {"stored_as_is": stored_as_is, "after": after, "other": other.grad, "other_copied": other.grad.data is not g,
            "view_copied": third.grad.data is not view, "f32": f32.grad, "f32_dtype": str(f32.grad.dtype)}


def backward_accumulates(nb):
    x = nb.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    nb.backward((x * x).sum())
    first = x.grad.data.copy()
    nb.backward((x * 1.5).sum())
    w = nb.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    b = nb.Tensor(np.zeros(2), requires_grad=True)
    nb.backward(((nb.Tensor(np.ones((4, 3))) @ w + b) * nb.Tensor([1.0, -2.0])).sum())
    return {"first": first, "accumulated": x.grad, "b": b.grad, "w": w.grad}


def backward_graph_shapes(nb):
    h = nb.Tensor([1.0], requires_grad=True)
    y = h
    for _ in range(30):
        y = y + y  # 2**30 paths, 31 nodes: visit each node once
    nb.backward(y)
    paths = h.grad.data.copy()
    h = nb.Tensor([1.0], requires_grad=True)
    y = h
    for _ in range(5000):
        y = y * 1.0  # deeper than Python's recursion limit
    nb.backward(y)
    try:
        nb.backward(nb.Tensor([1.0, 2.0], requires_grad=True) * 2)
        non_scalar = "no exception"
    except RuntimeError:
        non_scalar = "RuntimeError"
    except Exception as error:
        non_scalar = type(error).__name__
    return {"paths": paths, "deep": h.grad, "non_scalar": non_scalar}


def gradcheck_verdicts(nb):
    from tinytorch.core.tensor import Function

    class WrongSquare(Function):
        def forward(self, a):
            self.saved = a
            return a * a

        def backward(self, grad_output):
            return (grad_output * self.saved,)  # should be 2 * a

    cube = nb.gradcheck(lambda a: (a * a * a).sum(), nb.Tensor(np.array([2.0, -1.0]), requires_grad=True))
    matmul = nb.gradcheck(lambda a, b: a @ b, nb.Tensor(np.ones((2, 3)), requires_grad=True),
                          nb.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True))
    try:
        nb.gradcheck(lambda a: WrongSquare.apply(a), nb.Tensor(np.array([1.0, 3.0]), requires_grad=True))
        wrong, names_element = "no exception", False
    except nb.GradcheckError as error:
        wrong, names_element = "GradcheckError", "element" in str(error)
    x = nb.Tensor(np.array([0.5, -1.5]), requires_grad=True)
    (x * x * x).sum().backward()
    return {"cube": bool(cube), "matmul": bool(matmul), "wrong": wrong, "names_element": names_element,
            "grad_untouched_by_check": x.grad}


PROBES = {
    "test_unbroadcast": [unbroadcast_shapes],
    "test_accumulate_grad": [accumulate_grad_aliasing],
    "test_backward": [backward_accumulates, backward_graph_shapes],
    "test_gradcheck": [gradcheck_verdicts],
}
