"""Probes of module 12's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. Probes are keyed by the graded cell's grade_id.
"""

import numpy as np


def masked_softmax_rows(nb):
    scores = np.array([[0.7, 0.0, -1.2], [-np.inf, -np.inf, -np.inf], [2.0, -np.inf, 1.0],
                       [1e4, 0.0, -1e4]], dtype=np.float32)
    weights = nb.masked_softmax(scores.copy())
    batched = nb.masked_softmax(np.linspace(-3, 3, 24).reshape(2, 3, 4))
    return {"weights": weights, "dtype": str(weights.dtype), "nan": bool(np.isnan(weights).any()),
            "batched": batched}


def _inputs():
    rng = np.random.default_rng(12)
    return rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))


def attention_forward_masks(nb):
    q, k, v = _inputs()
    causal = np.triu(np.full((3, 5), -np.inf), 1)
    plain_out, plain_w = nb.attention_forward(q, k, v, None, 0.5)
    out, weights = nb.attention_forward(q, k, v, causal, 0.5)
    float_out, _ = nb.attention_forward(q, k, v, np.linspace(-1, 1, 15).reshape(3, 5), 0.25)
    return {"plain_out": plain_out, "plain_w": plain_w, "causal_out": out, "causal_w": weights,
            "float_out": float_out}


def attention_backward_grads(nb):
    q, k, v = _inputs()
    g = np.random.default_rng(5).standard_normal((2, 3, 2))
    g.setflags(write=False)  # the rule must not write into its upstream gradient
    causal = np.triu(np.full((3, 5), -np.inf), 1)
    weights = nb.attention_forward(q, k, v, causal, 0.5)[1]
    dq, dk, dv = nb.attention_backward(g, q, k, v, weights, 0.5)
    keep = (np.random.default_rng(6).random((2, 3, 5)) > 0.3) / 0.7
    dq2, dk2, dv2 = nb.attention_backward(g, q, k, v, nb.attention_forward(q, k, v, None, 0.5)[1], 0.5, keep)
    return {"dq": dq, "dk": dk, "dv": dv, "dq_drop": dq2, "dk_drop": dk2, "dv_drop": dv2}


PROBES = {
    "test_masked_softmax": [masked_softmax_rows],
    "test_attention_forward": [attention_forward_masks],
    "test_attention_backward": [attention_backward_grads],
}
