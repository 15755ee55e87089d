"""Probes of module 04's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. Probes are keyed by the graded cell's grade_id.
"""

import numpy as np

from tito_cli.probing import raised


def mse_values(nb):
    x = nb.Tensor([2.0, 4.0, -1.5], requires_grad=True)
    loss = nb.mse_loss(x, nb.Tensor([1.0, 1.0, 0.5]))
    loss.backward()
    return {"loss": loss, "grad": x.grad}


def mse_reductions(nb):
    x, t = nb.Tensor([[2.0, 4.0], [0.5, -3.0]]), nb.Tensor([[1.0, 1.0], [0.0, 1.0]])
    return {"sum": nb.mse_loss(x, t, reduction="sum"), "none": nb.mse_loss(x, t, reduction="none")}


def mse_sum_gradient_and_weights(nb):
    x = nb.Tensor([2.0, 4.0, -1.0], requires_grad=True)
    loss = nb.mse_loss(x, nb.Tensor([1.0, 1.0, 1.0]), reduction="sum")
    loss.backward()
    weighted = nb.mse_loss(nb.Tensor([2.0, 4.0]), nb.Tensor([1.0, 1.0]), weight=[1.0, 3.0])
    return {"sum": loss, "grad": x.grad, "weighted_mean": weighted}


def mse_bad_shape(nb):
    try:
        nb.mse_loss(nb.Tensor(np.ones((3, 1))), nb.Tensor(np.ones(3)))
    except ValueError as error:
        return {"raised": "ValueError", "names_shape": "(3, 1)" in str(error)}
    return {"raised": "no ValueError", "names_shape": False}


def huber_values(nb):
    x = nb.Tensor([0.5, 3.0, -2.5, 0.0], requires_grad=True)
    loss = nb.huber_loss(x, nb.Tensor([0.0, 0.0, 0.0, 0.25]), reduction="none")
    loss.sum().backward()
    return {"loss": loss, "grad": x.grad}


def huber_delta(nb):
    return {"sum": nb.huber_loss(nb.Tensor([3.0, -0.5]), nb.Tensor([0.0, 0.0]), delta=2.0, reduction="sum"),
            "mean": nb.huber_loss(nb.Tensor([3.0, -0.5]), nb.Tensor([0.5, 0.0]), delta=0.7),
            "bad_delta": raised(nb.huber_loss, nb.Tensor([1.0]), nb.Tensor([0.0]), delta=0.0)}


def huber_delta_gradient(nb):
    x = nb.Tensor([3.0, -5.0, 1.5, -0.5], requires_grad=True)
    loss = nb.huber_loss(x, nb.Tensor([0.0, 0.0, 0.0, 0.0]), delta=2.0, reduction="sum")
    loss.backward()
    return {"loss": loss, "grad": x.grad}


def bce_logits_extremes(nb):
    x = nb.Tensor(np.array([0.0, -1e4, 1e4, 2.5], dtype=np.float32), requires_grad=True)
    loss = nb.BCEWithLogitsBackward.apply(x, nb.Tensor(np.array([1.0, 1.0, 0.0, 0.3], dtype=np.float32)))
    loss.sum().backward()
    return {"loss": loss, "grad": x.grad}


def bce_logits_pos_weight(nb):
    x = nb.Tensor(np.array([0.3, -0.7, 1.9]), requires_grad=True)
    loss = nb.BCEWithLogitsBackward.apply(x, nb.Tensor(np.array([1.0, 0.0, 0.6])), pos_weight=np.array(3.0))
    loss.sum().backward()
    return {"loss": loss, "grad": x.grad}


def cross_entropy_stable(nb):
    x = nb.Tensor(np.array([[1000.0, 0.0], [0.0, 0.0], [-1e4, 1e4]], dtype=np.float32), requires_grad=True)
    loss = nb.CrossEntropyBackward.apply(x, nb.Tensor(np.array([0, 1, 0])))
    loss.backward()
    return {"loss": loss, "grad": x.grad}


def cross_entropy_smoothing(nb):
    x = nb.Tensor(np.array([[0.0, 0.0, 1.0], [2.0, -1.0, 0.5]]), requires_grad=True)
    loss = nb.CrossEntropyBackward.apply(x, nb.Tensor(np.array([1, 0])), label_smoothing=0.2)
    loss.backward()
    return {"loss": loss, "grad": x.grad}


def cross_entropy_weights_ignore_probabilities(nb):
    x = nb.Tensor(np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 0.5]]), requires_grad=True)
    loss = nb.CrossEntropyBackward.apply(x, nb.Tensor(np.array([1, 0, 1])), weight=np.array([2.0, 3.0]),
                                         ignore_index=0, reduction="sum")
    loss.backward()
    soft = nb.Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    soft_loss = nb.CrossEntropyBackward.apply(soft, nb.Tensor(np.array([[0.2, 0.5, 0.3]])))
    soft_loss.backward()
    return {"loss": loss, "grad": x.grad, "soft_loss": soft_loss, "soft_grad": soft.grad}


def masked_mean_values(nb):
    v = nb.Tensor([[1.0, 2.0, 9.0], [4.0, 9.0, 7.5]], requires_grad=True)
    mask = np.array([[1, 1, 0], [1, 0, 1]])
    out = nb.masked_mean(v, mask)
    out.backward()
    return {"mean": out, "grad": v.grad, "bool_mask": nb.masked_mean(nb.Tensor([1.0, 3.0]), np.array([True, True])),
            "empty_mask": raised(nb.masked_mean, v, np.zeros((2, 3)))}


def focal_values(nb):
    logits = nb.Tensor(np.array([[2.0, 0.0, -1.0], [0.1, 0.2, 0.3], [1.5, -0.5, 0.0]]))
    labels = np.array([0, 2, 1])
    return {"gamma0": nb.focal_loss(logits, labels, gamma=0.0), "ce": nb.cross_entropy(logits, labels),
            "gamma2": nb.focal_loss(logits, labels, gamma=2.0, reduction="none"),
            "alpha": nb.focal_loss(logits, labels, gamma=1.0, alpha=[0.5, 1.0, 2.0], reduction="none")}


def focal_extremes(nb):
    big = nb.Tensor(np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=np.float32), requires_grad=True)
    loss = nb.focal_loss(big, np.array([1, 1]))
    loss.backward()
    return {"loss": loss, "grad": big.grad}


def triplet_values(nb):
    a = nb.Tensor([[0.0, 0.0], [0.0, 0.0], [1.0, -1.0]])
    p = nb.Tensor([[3.0, 4.0], [3.0, 4.0], [1.5, -1.0]])
    n = nb.Tensor([[6.0, 8.0], [0.0, 4.0], [1.0, 0.2]])
    return {"p2": nb.triplet_margin_loss(a, p, n, eps=0.0, reduction="none"),
            "p1": nb.triplet_margin_loss(a, p, n, p=1.0, eps=0.0, reduction="none"),
            "swap": nb.triplet_margin_loss(nb.Tensor([[0.0, 0.0]]), nb.Tensor([[1.0, 0.0]]), nb.Tensor([[1.5, 0.0]]),
                                           eps=0.0, swap=True)}


def triplet_gradient(nb):
    a = nb.Tensor([[0.2, -0.4], [1.0, 2.0]], requires_grad=True)
    loss = nb.triplet_margin_loss(a, nb.Tensor([[1.0, 0.0], [1.0, 1.5]]), nb.Tensor([[0.0, -0.5], [3.0, 2.0]]))
    loss.backward()
    return {"loss": loss, "grad": a.grad}


def info_nce_values(nb):
    q, qs = nb.Tensor(np.eye(3)), nb.Tensor(np.eye(3) * 5.0)
    return {"eye": nb.info_nce_loss(q, q, temperature=1.0), "scaled": nb.info_nce_loss(qs, qs, temperature=1.0),
            "unnormalized": nb.info_nce_loss(qs, qs, temperature=1.0, normalize=False)}


def info_nce_gradient(nb):
    rng = np.random.default_rng(0)
    q = nb.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    k = nb.Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    loss = nb.info_nce_loss(q, k, temperature=0.5)
    loss.backward()
    return {"loss": loss, "grad_q": q.grad, "grad_k": k.grad}


def dpo_values(nb):
    zero = nb.Tensor([0.0, 0.0])
    pw = nb.Tensor([-1.0, -2.0], requires_grad=True)
    loss = nb.dpo_loss(pw, nb.Tensor([-3.0, -1.0]), nb.Tensor([-2.0, -2.5]), nb.Tensor([-2.0, -2.0]), beta=0.5)
    loss.backward()
    return {"zero": nb.dpo_loss(zero, zero, zero, zero), "loss": loss, "grad": pw.grad}


def dpo_extremes(nb):
    f32 = [nb.Tensor(np.array([v], dtype=np.float32)) for v in (-1e4, 0.0, 0.0, 0.0)]
    return {"huge": nb.dpo_loss(*f32, beta=1.0)}


def loss_term_shares_values(nb):
    return {"weighted": nb.loss_term_shares([2.0, 0.01, 0.5], [1.0, 10.0, 2.0]),
            "tensors": nb.loss_term_shares([nb.Tensor(1.0), nb.Tensor(3.0)]),
            "mismatch": raised(nb.loss_term_shares, [1.0, 2.0], [1.0]),
            "zero_total": raised(nb.loss_term_shares, [1.0, 2.0], [0.0, 0.0])}  # the student's own error


PROBES = {
    "test_mse_loss": [mse_values, mse_reductions, mse_sum_gradient_and_weights, mse_bad_shape],
    "test_huber_loss": [huber_values, huber_delta, huber_delta_gradient],
    "test_bce_with_logits": [bce_logits_extremes, bce_logits_pos_weight],
    "test_cross_entropy": [cross_entropy_stable, cross_entropy_smoothing, cross_entropy_weights_ignore_probabilities],
    "test_masked_mean": [masked_mean_values],
    "test_focal_loss": [focal_values, focal_extremes],
    "test_triplet_margin_loss": [triplet_values, triplet_gradient],
    "test_info_nce_loss": [info_nce_values, info_nce_gradient],
    "test_dpo_loss": [dpo_values, dpo_extremes],
    "test_loss_term_shares": [loss_term_shares_values],
}
TOLERANCE = {"test_cross_entropy": (1e-5, 1e-6), "test_bce_with_logits": (1e-5, 1e-6)}
