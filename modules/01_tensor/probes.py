"""Probes of module 01's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np

from tito_cli.probing import raised


def as_array_dtypes(nb):
    cases = {"list": [1, 2, 3], "float": 2.5, "f64": np.array([1.0, 2.0]), "ints": np.array([0, 3, 1]),
             "np_scalar": np.float64(3.0), "nested": [[1.5, -2.0], [0.25, 4.0]]}
    outputs = {}
    for name, value in cases.items():
        array = nb.as_array(value)
        outputs[name] = array
        outputs[name + "_dtype"] = str(array.dtype)
    forced = nb.as_array([1, 2], dtype=np.float64)
    return {**outputs, "forced": forced, "forced_dtype": str(forced.dtype),
            "strings": raised(nb.as_array, ["a", "b"]), "ragged": raised(nb.as_array, [[1.0], [2.0, 3.0]])}


def mul_backward_scalars(nb):
    node = nb.MulBackward()
    node.needs_input_grad = (True, True)
    out = node.forward(np.array(3.0), np.array(4.0))
    da, db = node.backward(np.array(2.0))
    return {"out": out, "da": da, "db": db}


def mul_backward_broadcast(nb):
    node = nb.MulBackward()
    node.needs_input_grad = (True, False)
    out = node.forward(np.ones((2, 3)) * 1.5, np.arange(3.0) - 0.5)
    da, db = node.backward(np.full((2, 3), 2.0))
    return {"out": out, "da": da, "db_is_none": db is None}


def matmul_backward_both(nb):
    a, b = np.arange(6.0).reshape(2, 3) - 2.0, np.arange(12.0).reshape(3, 4) * 0.5
    node = nb.MatmulBackward()
    node.needs_input_grad = (True, True)
    out = node.forward(a, b)
    ga, gb = node.backward(np.arange(8.0).reshape(2, 4))
    return {"out": out, "ga": ga, "gb": gb}


def matmul_backward_one(nb):
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    node = nb.MatmulBackward()
    node.needs_input_grad = (False, True)
    node.forward(a, b)
    ga, gb = node.backward(np.ones((2, 4)))
    return {"ga_is_none": ga is None, "gb": gb}


def sum_backward_axes(nb):
    node = nb.SumBackward()
    out = node.forward(np.arange(6.0).reshape(2, 3), axis=1)
    (g1,) = node.backward(np.array([1.0, 2.0]))
    node = nb.SumBackward()
    node.forward(np.ones((2, 3, 4)), axis=(0, 2), keepdims=True)
    (g2,) = node.backward(np.array([5.0, -1.0, 0.5]).reshape(1, 3, 1))
    node = nb.SumBackward()
    total = node.forward(np.ones((2, 3)))
    (g3,) = node.backward(np.array(1.5))
    return {"out": out, "g1": g1, "g2": g2, "total": total, "g3": g3}


def tensor_ops_nodes(nb):
    x = nb.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    return {"mul": type((x * 2).grad_fn).__name__, "rmul": type((2 * x).grad_fn).__name__,
            "matmul": type((x @ x).grad_fn).__name__, "sum": type(x.sum().grad_fn).__name__,
            "dtype": str((x * 2).dtype), "no_grad_fn": nb.Tensor([1.0, 2.0]).grad_fn is None}


def tensor_ops_values(nb):
    x = nb.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = nb.Tensor([[0.5, -1.0, 2.0]])
    return {"affine": ((x - 1) / 2), "rsub": 1 - x, "mixed": (x * y + 3) @ x, "neg": -x * y}


PROBES = {
    "test_as_array": [as_array_dtypes],
    "test_mul_backward": [mul_backward_scalars, mul_backward_broadcast],
    "test_matmul_backward": [matmul_backward_both, matmul_backward_one],
    "test_sum_backward": [sum_backward_axes],
    "test_tensor_ops": [tensor_ops_nodes, tensor_ops_values],
}
