"""Probes of module 09's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np


def output_sizes(nb):
    cases = [(32, 5, 2, 1, 1), (8, 3, 1, 1, 1), (7, 3, 2, 0, 1), (9, 3, 1, 0, 2), (5, 5, 1, 0, 1), (6, 2, 2, 0, 1),
             (10, 4, 3, 2, 2), (13, 1, 4, 0, 1)]
    return {"sizes": np.array([nb.conv_output_size(*case) for case in cases])}


def windows(nb):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6))
    win = nb.window_view(x, (2, 3), (2, 1), (1, 2))
    square = nb.window_view(np.arange(16.0).reshape(1, 1, 4, 4), (3, 3), (1, 1), (1, 1))
    return {"shape": np.array(win.shape), "values": np.ascontiguousarray(win), "square": np.ascontiguousarray(square),
            "writeable": bool(win.flags.writeable), "shares_memory": bool(np.shares_memory(win, x))}


def convolution_forward(nb):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((2, 1, 3, 3))
    w[0, 0, 1, 1] = 1.0
    w[1] = 1.0
    small = nb.ConvolutionBackward().forward(x, w, np.array([0.0, 0.5]))
    rng = np.random.default_rng(1)
    y = nb.ConvolutionBackward().forward(rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)),
                                         rng.standard_normal(4), stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    y32 = nb.ConvolutionBackward().forward(np.ones((2, 3, 5, 5), dtype=np.float32),
                                           np.ones((4, 3, 2, 2), dtype=np.float32), None, stride=(2, 2),
                                           padding=(1, 1), dilation=(1, 1))
    return {"small": small, "y": y, "y32": y32, "dtype32": str(y32.dtype)}


def _node(nb, x, w, stride, padding, dilation, needs):
    """A node whose saved values are built from the given code (im2col), not from the student's forward."""
    o, c, kh, kw = w.shape
    node = nb.ConvolutionBackward()
    node.saved = (nb.im2col(x, (kh, kw), stride, padding, dilation), w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o),
                  x.shape, w.shape, stride, padding, dilation)
    node.needs_input_grad = needs
    return node


def convolution_backward(nb):
    tiny = _node(nb, np.array([[[[1.0, 2.0, 3.0]]]]), np.array([[[[1.0, 1.0]]]]), (1, 1), (0, 0), (1, 1),
                 (True, True, True))
    tiny_dx, tiny_dw, tiny_db = tiny.backward(np.array([[[[1.0, 2.0]]]]))
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    g = rng.standard_normal((2, 4, 3, 3))  # the output shape for stride (2, 1), padding (1, 0), dilation (1, 2)
    g.setflags(write=False)
    dx, dw, db = _node(nb, x, w, (2, 1), (1, 0), (1, 2), (True, True, True)).backward(g)
    only_w = _node(nb, x, w, (2, 1), (1, 0), (1, 2), (False, True)).backward(g)
    return {"tiny_dx": tiny_dx, "tiny_dw": tiny_dw, "tiny_db": tiny_db, "dx": dx, "dw": dw, "db": db,
            "only_w_length": len(only_w), "only_w_dx_is_none": only_w[0] is None, "only_w_dw": only_w[1]}


def max_pool(nb):
    node = nb.MaxPool2DBackward()
    ties = node.forward(np.array([[[[1.0, 3.0, 0.0, 0.0], [3.0, 2.0, 0.0, -1.0]]]]))
    (ties_dx,) = node.backward(np.array([[[[5.0, 7.0]]]]))
    node = nb.MaxPool2DBackward()
    x = np.random.default_rng(4).integers(-2, 3, (2, 3, 7, 6)).astype(np.float64)  # many ties
    overlap = node.forward(x, (3, 2), (2, 1), (1, 1))
    (overlap_dx,) = node.backward(np.random.default_rng(5).standard_normal(overlap.shape))
    node = nb.MaxPool2DBackward()
    x32 = np.random.default_rng(6).standard_normal((2, 4, 8, 8)).astype(np.float32)
    tiled = node.forward(np.ascontiguousarray(x32.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2))  # channels-last
    (tiled_dx,) = node.backward(np.random.default_rng(7).standard_normal(tiled.shape).astype(np.float32))
    return {"ties": ties, "ties_dx": ties_dx, "overlap": overlap, "overlap_dx": overlap_dx, "tiled": tiled,
            "tiled_dx": tiled_dx, "dtype": str(tiled_dx.dtype)}


PROBES = {
    "test_conv_output_size": [output_sizes],
    "test_window_view": [windows],
    "test_convolution": [convolution_forward],
    "test_convolution_backward": [convolution_backward],
    "test_max_pool": [max_pool],
}
TOLERANCE = {"test_max_pool": (1e-6, 1e-6)}  # float32 gradients summed over overlapping windows
