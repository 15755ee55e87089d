"""Probes of module 02's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import warnings

import numpy as np


def relu_values(nb):
    node = nb.ReLUBackward()
    forward = node.forward(np.array([-2.0, 0.0, 3.0, -0.5, 7.25]))
    (grad,) = node.backward(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    return {"forward": forward, "grad": grad}


def relu_float32(nb):
    out = nb.ReLUBackward().forward(np.array([[-1.0, 2.0]], dtype=np.float32))
    return {"out": out, "dtype": str(out.dtype)}


def sigmoid_extremes(nb):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning is a failure, as in the test
        s = nb.stable_sigmoid(np.array([-1e4, -1.0, 0.0, 1.0, 1e4], dtype=np.float32))
    return {"values": s, "dtype": str(s.dtype)}


def sigmoid_no_cancellation(nb):
    tiny = nb.stable_sigmoid(np.array([-30.0, -12.5, 4.0]))
    return {"relative": tiny / np.array([9.357622968840175e-14, 3.7266531720786709e-06, 0.98201379003790845])}


def softmax_forward_backward(nb):
    node = nb.SoftmaxBackward()
    s = node.forward(np.array([[1000.0, 1001.0], [0.0, -3.0]]))
    (uniform,) = node.backward(np.array([[1.0, 1.0], [2.0, 2.0]]))
    node = nb.SoftmaxBackward()
    s3 = node.forward(np.array([[0.0, 1.0, 2.0], [1.5, -0.5, 0.25]]), axis=-1)
    (g3,) = node.backward(np.array([[1.0, 0.0, 0.0], [0.3, -0.2, 0.7]]))
    return {"s": s, "uniform": uniform, "s3": s3, "g3": g3}


def softmax_axis0(nb):
    node = nb.SoftmaxBackward()
    s = node.forward(np.array([[0.5, 1.0], [2.0, -1.0], [0.0, 0.0]]), axis=0)
    (g,) = node.backward(np.array([[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]))
    return {"s": s, "g": g}


PROBES = {
    "test_relu": [relu_values, relu_float32],
    "test_sigmoid": [sigmoid_extremes, sigmoid_no_cancellation],
    "test_softmax": [softmax_forward_backward, softmax_axis0],
}
TOLERANCE = {"sigmoid_no_cancellation": (1e-12, 0.0)}  # the hidden test asks for relative error below 1e-12
