"""Module 04: losses -- stability at extreme inputs, bad input, gradcheck on every loss, the classes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinytorch.core import losses as L
from tinytorch.core.autograd import gradcheck
from tinytorch.core.tensor import Tensor

R = np.random.default_rng(3)
HUGE = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, -1e4]], dtype=np.float32)
LABELS = np.array([1, 0, 2])


def _no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


# ---- numerical stability -------------------------------------------------------

@pytest.mark.task_4_4
@pytest.mark.parametrize("name, fn", [
    ("cross_entropy", lambda x: L.cross_entropy(x, LABELS)),
    ("cross_entropy_smoothing", lambda x: L.cross_entropy(x, LABELS, label_smoothing=0.1)),
    ("nll(log_softmax)", lambda x: L.nll_loss(L.log_softmax(x, axis=1), LABELS)),
    ("focal", lambda x: L.focal_loss(x, LABELS, gamma=2.0)),
    ("log_softmax", lambda x: L.log_softmax(x, axis=1).sum()),
    ("logsumexp", lambda x: L.logsumexp(x, axis=1).sum()),
    ("bce_with_logits", lambda x: L.binary_cross_entropy_with_logits(x, Tensor((HUGE > 0).astype(np.float32)))),
    ("bce_with_logits_wrong", lambda x: L.binary_cross_entropy_with_logits(x, Tensor((HUGE < 0).astype(np.float32)))),
    ("binary_focal", lambda x: L.binary_focal_loss(x, Tensor((HUGE < 0).astype(np.float32)))),
    ("dpo", lambda x: L.dpo_loss(x[0], x[1], x[2], x[2])),
])
def test_finite_values_and_gradients_at_logits_1e4_float32(name, fn):
    x = Tensor(HUGE.copy(), requires_grad=True)
    loss = _no_warnings(lambda: fn(x))
    assert loss.dtype == np.float32, name
    assert np.isfinite(loss.item()), name
    _no_warnings(loss.backward)
    assert np.all(np.isfinite(x.grad.data)), name


def test_cross_entropy_at_extremes_is_exact():
    x = Tensor(HUGE.copy(), requires_grad=True)
    loss = L.cross_entropy(x, LABELS, reduction="none")
    # rows 0 and 1: the true class is 2e4 below the max; row 2: 1e4 below two tied logits -> 1e4 + log 2
    assert np.allclose(loss.data, [2e4, 2e4, 1e4 + np.log(2.0)], rtol=1e-6)
    loss.sum().backward()
    assert np.allclose(x.grad.data[0], [1.0, -1.0, 0.0])


def test_bce_clamps_probabilities_of_exactly_zero_and_one():
    p = Tensor(np.array([0.0, 1.0, 0.0, 1.0], dtype=np.float32), requires_grad=True)
    y = Tensor(np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32))
    loss = _no_warnings(lambda: L.binary_cross_entropy(p, y, reduction="none"))
    assert np.allclose(loss.data, [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.data))


def test_log_cosh_of_large_residuals_does_not_overflow():
    r = np.array([1e3, -1e3, 1e4, 0.0], dtype=np.float32)
    x = Tensor(r, requires_grad=True)
    loss = _no_warnings(lambda: L.log_cosh_loss(x, Tensor(np.zeros(4, dtype=np.float32)), reduction="none"))
    assert np.allclose(loss.data, np.abs(r) - np.log(2.0) * (r != 0), rtol=1e-6)
    loss.sum().backward()
    assert np.allclose(x.grad.data, np.tanh(r))


# ---- exercises, checked on numbers ----------------------------------------------

@pytest.mark.task_4_1
def test_mse_gradient_is_two_residual_over_n():
    x = Tensor(R.standard_normal((4, 3)), requires_grad=True)
    y = R.standard_normal((4, 3))
    L.mse_loss(x, Tensor(y)).backward()
    assert np.allclose(x.grad.data, 2 * (x.data - y) / 12)


@pytest.mark.task_4_2
def test_huber_gradient_is_clipped_residual():
    x = Tensor(np.array([-3.0, -0.5, 0.2, 4.0]), requires_grad=True)
    L.huber_loss(x, Tensor(np.zeros(4)), reduction="sum", delta=1.0).backward()
    assert np.allclose(x.grad.data, np.clip(x.data, -1, 1))


@pytest.mark.task_4_3
def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    x = Tensor(R.standard_normal(6), requires_grad=True)
    y = (R.random(6) > 0.5).astype(float)
    L.binary_cross_entropy_with_logits(x, Tensor(y), reduction="sum").backward()
    assert np.allclose(x.grad.data, 1 / (1 + np.exp(-x.data)) - y)


@pytest.mark.task_4_4
def test_cross_entropy_is_one_fused_node_with_softmax_minus_onehot_gradient():
    x = Tensor(R.standard_normal((5, 4)), requires_grad=True)
    y = np.array([0, 3, 1, 1, 2])
    loss = L.cross_entropy(x, y)
    assert isinstance(loss.grad_fn, L.CrossEntropyBackward)
    assert loss.grad_fn.inputs[0] is x  # nothing between the logits and the loss
    loss.backward()
    p = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    assert np.allclose(x.grad.data, (p - np.eye(4)[y]) / 5)


@pytest.mark.task_4_5
def test_masked_mean_ignores_padding():
    values = Tensor(np.array([[1.0, 2.0, 9.0], [4.0, 9.0, 9.0]]))
    assert np.isclose(L.masked_mean(values, np.array([[1, 1, 0], [1, 0, 0]])).item(), 7 / 3)


@pytest.mark.task_4_6
def test_focal_loss_reduces_easy_examples_most():
    easy = L.focal_loss(Tensor(np.array([[4.0, 0.0]])), np.array([0]), gamma=2.0).item()
    hard = L.focal_loss(Tensor(np.array([[-2.0, 0.0]])), np.array([0]), gamma=2.0).item()
    ce_easy = L.cross_entropy(Tensor(np.array([[4.0, 0.0]])), np.array([0])).item()
    ce_hard = L.cross_entropy(Tensor(np.array([[-2.0, 0.0]])), np.array([0])).item()
    assert easy / ce_easy < 0.001 and hard / ce_hard > 0.7


@pytest.mark.task_4_8
def test_info_nce_is_low_when_pairs_match():
    q = R.standard_normal((8, 16))
    matched = L.info_nce_loss(Tensor(q), Tensor(q + 0.01 * R.standard_normal((8, 16))), temperature=0.05).item()
    shuffled = L.info_nce_loss(Tensor(q), Tensor(q[::-1].copy()), temperature=0.05).item()
    assert matched < 0.01 < shuffled


@pytest.mark.task_4_7
def test_triplet_worked_example():
    a, p, n = Tensor([[0.0, 0.0]]), Tensor([[3.0, 4.0]]), Tensor([[0.0, 4.0]])
    assert np.isclose(L.triplet_margin_loss(a, p, n, eps=0.0).item(), 2.0)


@pytest.mark.task_4_9
def test_dpo_prefers_raising_the_chosen_answer():
    zero = Tensor([0.0])
    chosen = Tensor([0.0], requires_grad=True)
    L.dpo_loss(chosen, zero, zero, zero, beta=1.0).backward()
    assert np.isclose(chosen.grad.data[0], -0.5)


@pytest.mark.task_4_10
def test_loss_term_shares_worked_example():
    assert np.allclose(L.loss_term_shares([2.0, 0.01], [1.0, 10.0]), [2 / 2.1, 0.1 / 2.1])


# ---- gradcheck on every loss -------------------------------------------------------

def _gradcheck_cases():
    x, y = R.standard_normal((4, 3)), R.standard_normal((4, 3))
    logits, labels = R.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    probs = R.random((4, 5)) + 0.1
    probs /= probs.sum(axis=1, keepdims=True)
    unit = R.uniform(0.1, 0.9, (4, 3))
    signs = np.sign(R.standard_normal((4, 3)))
    T = lambda a: Tensor(a, requires_grad=True)  # noqa: E731
    return {
        "mse": (lambda a, b: L.mse_loss(a, b), T(x), T(y)),
        "l1": (lambda a, b: L.l1_loss(a, b), T(x), T(y)),
        "huber": (lambda a, b: L.huber_loss(a, b, delta=0.7), T(x), T(y)),
        "smooth_l1": (lambda a, b: L.smooth_l1_loss(a, b, beta=0.4), T(x), T(y)),
        "log_cosh": (lambda a, b: L.log_cosh_loss(a, b), T(x), T(y)),
        "quantile": (lambda a, b: L.quantile_loss(a, b, 0.3), T(x), T(y)),
        "bce": (lambda a, b: L.binary_cross_entropy(a, b, weight=np.array([1.0, 2.0, 0.5])), T(unit), T(unit[::-1].copy())),
        "bce_logits": (lambda a, b: L.binary_cross_entropy_with_logits(a, b, pos_weight=np.array([2.0, 1.0, 0.5])),
                       T(x), T(unit)),
        "ce": (lambda a: L.cross_entropy(a, labels, weight=np.arange(1.0, 6.0), label_smoothing=0.1), T(logits)),
        "ce_probs": (lambda a, b: L.cross_entropy(a, b, label_smoothing=0.2), T(logits), T(probs)),
        "nll": (lambda a: L.nll_loss(a, labels, ignore_index=2), T(logits)),
        "kl": (lambda a, b: L.kl_div(a, b, "batchmean"), T(np.log(probs)), T(probs[::-1].copy())),
        "gaussian_nll": (lambda a, b, v: L.gaussian_nll_loss(a, b, v, full=True), T(x), T(y), T(unit + 0.5)),
        "focal": (lambda a: L.focal_loss(a, labels, gamma=2.0, alpha=[1, 2, 1, 1, 3]), T(logits)),
        "binary_focal": (lambda a: L.binary_focal_loss(a, Tensor((unit > 0.5).astype(float))), T(x)),
        "hinge": (lambda a: L.hinge_loss(a, Tensor(signs), margin=2.5), T(x)),
        "margin_ranking": (lambda a, b: L.margin_ranking_loss(a, b, Tensor(signs), margin=0.5), T(x), T(y)),
        "contrastive": (lambda a, b: L.contrastive_loss(a, b, np.array([0, 1, 1, 0]), margin=4.0), T(x), T(y)),
        "triplet": (lambda a, b, c: L.triplet_margin_loss(a, b, c, margin=3.0, swap=True), T(x), T(y), T(x[::-1].copy())),
        "info_nce": (lambda a, b: L.info_nce_loss(a, b, temperature=0.5), T(x), T(y)),
        "dice": (lambda a: L.dice_loss(a, Tensor((unit > 0.5).astype(float))), T(x)),
        "dpo": (lambda a, b, c, d: L.dpo_loss(a, b, c, d, beta=0.7), T(x[:, 0].copy()), T(x[:, 1].copy()),
                T(y[:, 0].copy()), T(y[:, 1].copy())),
        "log_softmax": (lambda a: L.log_softmax(a, axis=0), T(logits)),
        "logsumexp": (lambda a: L.logsumexp(a, axis=1, keepdims=True), T(logits)),
        "masked_mean": (lambda a: L.masked_mean(a, unit > 0.5), T(x)),
        "softplus": (lambda a: L.softplus(a), T(x * 5)),
    }


@pytest.mark.parametrize("name", sorted(_gradcheck_cases()))
def test_gradcheck_every_loss(name):
    fn, *inputs = _gradcheck_cases()[name]
    assert gradcheck(fn, *inputs, atol=1e-6, rtol=1e-4)


def test_every_loss_class_matches_its_function():
    x, y = Tensor(R.standard_normal((4, 3))), Tensor(R.uniform(0.1, 0.9, (4, 3)))
    pairs = [(L.MSELoss(), L.mse_loss), (L.L1Loss(), L.l1_loss), (L.HuberLoss(delta=0.5), L.huber_loss),
             (L.LogCoshLoss(), L.log_cosh_loss), (L.BCEWithLogitsLoss(), L.binary_cross_entropy_with_logits),
             (L.BinaryFocalLoss(), L.binary_focal_loss), (L.DiceLoss(), L.dice_loss)]
    for module, fn in pairs:
        kwargs = {"delta": 0.5} if isinstance(module, L.HuberLoss) else {}
        assert np.isclose(module(x, y).item(), fn(x, y, **kwargs).item()), type(module).__name__
    assert L.BCELoss is L.BinaryCrossEntropyLoss
    assert np.isclose(L.BCELoss()(y, y).item(), L.binary_cross_entropy(y, y).item())
    logits, labels = Tensor(R.standard_normal((4, 5))), np.array([1, 2, 3, 4])
    assert np.isclose(L.CrossEntropyLoss(label_smoothing=0.1)(logits, labels).item(),
                      L.cross_entropy(logits, labels, label_smoothing=0.1).item())
    assert np.isclose(L.FocalLoss(gamma=0.0)(logits, labels).item(), L.CrossEntropyLoss()(logits, labels).item())
    assert np.isclose(L.NLLLoss()(L.log_softmax(logits, 1), labels).item(), L.cross_entropy(logits, labels).item())
    assert "CrossEntropyLoss(" in repr(L.CrossEntropyLoss())


def test_uncertainty_weighted_loss_is_a_trainable_module():
    module = L.UncertaintyWeightedLoss(2)
    assert module.parameters() == [module.log_vars] and np.all(module.log_vars.data == 0)
    total = module([Tensor(np.float32(3.0)), Tensor(np.float32(0.5))])
    assert np.isclose(total.item(), 3.5)
    total.backward()
    assert np.allclose(module.log_vars.grad.data, [1 - 3.0, 1 - 0.5])


# ---- bad input ------------------------------------------------------------------

def test_bad_input_is_named():
    x = Tensor(np.ones((4, 3)))
    cases = [
        (ValueError, r"input shape \(4, 3\) and target shape \(4,\)", lambda: L.mse_loss(x, Tensor(np.ones(4)))),
        (ValueError, r"reduction must be one of 'mean', 'sum', 'none', got 'avg'", lambda: L.l1_loss(x, x, "avg")),
        (ValueError, "reduction must be one of", lambda: L.MSELoss(reduction="batchmean")),
        (IndexError, r"target 3 is out of range for 3 classes", lambda: L.cross_entropy(x, np.array([0, 1, 2, 3]))),
        (IndexError, r"target -1 is out of range", lambda: L.nll_loss(x, np.array([0, -1, 2, 1]))),
        (TypeError, r"target of dtype float32 and shape \(4,\) is neither class indices \(integers, shape \(4,\)\)",
         lambda: L.cross_entropy(x, Tensor([0, 1, 2, 1]))),
        (ValueError, r"target shape \(3,\) does not fit input shape \(4, 3\)", lambda: L.cross_entropy(x, np.array([0, 1, 2]))),
        (ValueError, r"weight must have one entry per class: expected shape \(3,\), got \(2,\)",
         lambda: L.cross_entropy(x, np.array([0, 1, 2, 1]), weight=[1.0, 2.0])),
        (ValueError, r"probabilities in \[0, 1\], got values from -0.5 to 1",
         lambda: L.binary_cross_entropy(Tensor([-0.5, 1.0]), Tensor([0.0, 1.0]))),
        (ValueError, "label_smoothing must be in", lambda: L.CrossEntropyLoss(label_smoothing=1.5)),
        (ValueError, "var has negative entries", lambda: L.gaussian_nll_loss(x, x, Tensor(-np.ones((4, 3))))),
        (ValueError, "var shape", lambda: L.gaussian_nll_loss(x, x, Tensor(np.ones((2, 2))))),
        (ValueError, r"target must contain only \(-1.0, 1.0\)", lambda: L.hinge_loss(x, x * 0)),
        (ValueError, "same shape", lambda: L.triplet_margin_loss(x, x, Tensor(np.ones((4, 2))))),
        (ValueError, "mask selects no element", lambda: L.masked_mean(x, np.zeros((4, 3)))),
        (ValueError, "expected 2 losses, got 1", lambda: L.UncertaintyWeightedLoss(2)([Tensor(1.0)])),
        (TypeError, "must be floating point", lambda: L.mse_loss(Tensor(np.array([1, 2])), Tensor([1.0, 2.0]))),
        (ValueError, "tau must be in", lambda: L.quantile_loss(x, x, tau=1.5)),
        (ValueError, r"temperature must be positive", lambda: L.info_nce_loss(x, x, temperature=0)),
        (ValueError, "does not broadcast", lambda: L.binary_cross_entropy_with_logits(x, x, pos_weight=[1.0, 2.0])),
    ]
    for error, pattern, call in cases:
        with pytest.raises(error, match=pattern):
            call()


def test_ignore_index_targets_are_not_range_checked_and_not_counted():
    x = Tensor(R.standard_normal((3, 4)), requires_grad=True)
    full = L.cross_entropy(x, np.array([1, -100, 2]))
    manual = (L.cross_entropy(x[np.array([0])], np.array([1]), reduction="sum")
              + L.cross_entropy(x[np.array([2])], np.array([2]), reduction="sum")) * 0.5
    assert np.isclose(full.item(), manual.item())
    full.backward()
    assert np.allclose(x.grad.data[1], 0.0)


# ---- issue 12: bad input that used to give a silent number or a raw traceback -----------------------------

NAN = float("nan")


@pytest.mark.parametrize("error, pattern, call", [
    (ValueError, r"alpha must be a number or one weight per class, shape \(C,\), got shape \(4, 1\)",
     lambda: L.FocalLoss(alpha=np.ones((4, 1)))),
    (ValueError, r"alpha must be a number or one weight per class, shape \(C,\), got shape \(4, 1\)",
     lambda: L.focal_loss(Tensor(np.zeros((4, 3))), np.array([0, 1, 2, 0]), alpha=np.ones((4, 1)))),
    (ValueError, r"alpha must have one entry per class: expected shape \(3,\), got \(2,\)",
     lambda: L.FocalLoss(alpha=[1.0, 2.0])(Tensor(np.zeros((2, 3))), np.array([2, 1]))),
    (ValueError, "alpha must be non-negative", lambda: L.FocalLoss(alpha=-0.5)),
    (ValueError, "alpha contains nan", lambda: L.focal_loss(Tensor(np.zeros((1, 2))), np.array([0]), alpha=[1, NAN])),
    (TypeError, "alpha must be numbers", lambda: L.focal_loss(Tensor(np.zeros((1, 2))), np.array([0]), alpha=["a", "b"])),
    (IndexError, "target 150 is out of range for 150 classes",
     lambda: L.focal_loss(Tensor(np.zeros((2, 150))), np.array([150, 1]))),
    (IndexError, "target -5 is out of range", lambda: L.focal_loss(Tensor(np.zeros((2, 150))), np.array([-5, 1]))),
    (ValueError, r"binary_cross_entropy: target must be in \[0, 1\], got values from 0 to 2",
     lambda: L.BCELoss()(Tensor([0.5, 0.5]), Tensor([0.0, 2.0]))),
    (ValueError, r"target must be in \[0, 1\], got values from -1", lambda: L.binary_cross_entropy(
        Tensor([0.5]), Tensor([-1.0]))),
    (ValueError, r"kl_div: target must be probabilities \(non-negative\), got a minimum of -0.2",
     lambda: L.KLDivLoss()(Tensor([-1.0, -1.0]), Tensor([1.2, -0.2]))),
    (TypeError, "HuberLoss: delta must be a real number, got str 'a'", lambda: L.HuberLoss(delta="a")),
    (TypeError, "huber_loss: delta must be a real number, got str", lambda: L.huber_loss(
        Tensor([1.0]), Tensor([0.0]), delta="a")),
    (ValueError, "HuberLoss: delta must be a number, got nan", lambda: L.HuberLoss(delta=NAN)),
    (ValueError, "SmoothL1Loss: beta must be a number, got nan", lambda: L.SmoothL1Loss(beta=NAN)),
    (ValueError, "smooth_l1_loss: beta must be a number, got nan",
     lambda: L.smooth_l1_loss(Tensor([1.0]), Tensor([0.0]), beta=NAN)),
    (ValueError, "InfoNCELoss: temperature must be a number, got nan", lambda: L.InfoNCELoss(temperature=NAN)),
    (ValueError, "info_nce_loss: temperature must be a number, got nan",
     lambda: L.info_nce_loss(Tensor(np.eye(2)), Tensor(np.eye(2)), temperature=NAN)),
    (ValueError, "FocalLoss: alpha must be a number, got nan", lambda: L.FocalLoss(alpha=NAN)),
    (ValueError, "FocalLoss: gamma must be a number, got nan", lambda: L.FocalLoss(gamma=NAN)),
    (ValueError, "BinaryFocalLoss: alpha must be a number, got nan", lambda: L.BinaryFocalLoss(alpha=NAN)),
    (ValueError, "binary_focal_loss: gamma must be non-negative", lambda: L.binary_focal_loss(
        Tensor([1.0]), Tensor([1.0]), gamma=-1.0)),
    (ValueError, "MarginRankingLoss: margin must be a number, got nan", lambda: L.MarginRankingLoss(margin=NAN)),
    (TypeError, "TripletMarginLoss: margin must be a real number, got str", lambda: L.TripletMarginLoss(margin="1")),
    (ValueError, "TripletMarginLoss: p must be positive", lambda: L.TripletMarginLoss(p=0)),
    (TypeError, "HingeLoss: margin must be a real number, got NoneType", lambda: L.HingeLoss(margin=None)),
    (ValueError, "ContrastiveLoss: margin must be a number, got nan", lambda: L.ContrastiveLoss(margin=NAN)),
    (ValueError, "QuantileLoss: tau must be a number, got nan", lambda: L.QuantileLoss(tau=NAN)),
    (ValueError, "QuantileLoss: tau must be in", lambda: L.QuantileLoss(tau=1.0)),
    (ValueError, "DPOLoss: beta must be a number, got nan", lambda: L.DPOLoss(beta=NAN)),
    (ValueError, "DiceLoss: smooth must be a number, got nan", lambda: L.DiceLoss(smooth=NAN)),
    (ValueError, "GaussianNLLLoss: eps must be a number, got nan", lambda: L.GaussianNLLLoss(eps=NAN)),
    (ValueError, "CrossEntropyLoss: label_smoothing must be a number, got nan",
     lambda: L.CrossEntropyLoss(label_smoothing=NAN)),
    (TypeError, "cross_entropy: label_smoothing must be a real number, got str",
     lambda: L.cross_entropy(Tensor(np.zeros((1, 2))), np.array([0]), label_smoothing="0.1")),
    (TypeError, "num_tasks must be an integer", lambda: L.UncertaintyWeightedLoss(2.5)),
    (ValueError, r"nll_loss: input must be log-probabilities of shape \(C,\), \(N, C\) or \(N, C, d1, ...\), got a 0-d",
     lambda: L.NLLLoss()(Tensor(1.0), np.array(0))),
    (ValueError, r"var shape \(1, 1\) must equal the input shape \(4, 3\), or differ from it in one dimension",
     lambda: L.gaussian_nll_loss(Tensor(np.ones((4, 3))), Tensor(np.ones((4, 3))), Tensor(np.ones((1, 1))))),
    (TypeError, "mse_loss: target must be a Tensor or an array of numbers, got None",
     lambda: L.MSELoss()(Tensor([1.0, 2.0]), None)),
    (ValueError, r"target must contain only \(-1.0, 0.0, 1.0\), got 2$",
     lambda: L.margin_ranking_loss(Tensor([1.0]), Tensor([0.0]), Tensor([2.0]))),
])
def test_issue_12_bad_input_is_refused_with_the_argument_named(error, pattern, call):
    with pytest.raises(error, match=pattern):
        call()


def test_focal_ignore_index_is_not_read_as_a_class():
    # a target of -100 with 150 classes used to index class 50 (numpy's negative indexing)
    logits = Tensor(R.standard_normal((3, 150)), requires_grad=True)
    target = np.array([-100, 7, 149])
    focal = L.focal_loss(logits, target, gamma=0.0)
    assert np.isclose(focal.item(), L.cross_entropy(logits, target).item())
    per_row = L.focal_loss(logits, target, gamma=2.0, reduction="none")
    assert per_row.data[0] == 0.0
    focal.backward()
    assert np.all(logits.grad.data[0] == 0.0)  # the ignored row gets no gradient
    custom = L.focal_loss(logits, np.array([3, 7, 149]), gamma=1.0, ignore_index=3, reduction="sum")
    assert np.isclose(custom.item(), L.focal_loss(logits, target, gamma=1.0, reduction="sum").item())


def test_focal_alpha_keeps_the_loss_one_value_per_row():
    logits = Tensor(R.standard_normal((4, 3)))
    labels = np.array([0, 1, 2, 0])
    assert L.focal_loss(logits, labels, alpha=0.5, reduction="none").shape == (4,)
    per_class = L.focal_loss(logits, labels, alpha=[0.5, 0.5, 0.5], reduction="none")
    assert np.allclose(per_class.data, 0.5 * L.focal_loss(logits, labels, reduction="none").data)


def test_info_nce_normalize_keeps_a_zero_row_finite():
    queries = Tensor(np.vstack([np.zeros(4), R.standard_normal((2, 4))]), requires_grad=True)
    keys = Tensor(R.standard_normal((3, 4)), requires_grad=True)
    loss = _no_warnings(lambda: L.info_nce_loss(queries, keys, temperature=0.5))
    assert np.isfinite(loss.item())
    _no_warnings(loss.backward)
    assert np.all(np.isfinite(queries.grad.data)) and np.all(np.isfinite(keys.grad.data))


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "binary_cross_entropy", "smooth_l1_loss", "huber_loss"])
def test_empty_batch_is_nan_mean_zero_sum_empty_none(loss):
    fn = getattr(L, loss)
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    assert np.isnan(_no_warnings(lambda: fn(x, Tensor(np.zeros((0, 3))))).item())
    total = fn(x, Tensor(np.zeros((0, 3))), reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert x.grad.shape == (0, 3)
    assert fn(x, Tensor(np.zeros((0, 3))), reduction="none").shape == (0, 3)


@pytest.mark.parametrize("error, pattern, call", [
    (TypeError, "one_hot: tensor must hold integer class indices, got dtype float32",
     lambda: L.one_hot(Tensor([0.0, 1.0]))),
    (ValueError, "one_hot: class indices must be non-negative, got -1", lambda: L.one_hot(np.array([0, -1]))),
    (ValueError, "one_hot: class index 3 is out of range for num_classes=3", lambda: L.one_hot(np.array([3]), 3)),
    (ValueError, "cannot infer num_classes from an empty tensor", lambda: L.one_hot(np.zeros(0, dtype=np.int64))),
    (TypeError, "one_hot: num_classes must be an integer", lambda: L.one_hot(np.array([1]), 2.5)),
    (ValueError, "normalize: eps must be a number, got nan", lambda: L.normalize(Tensor(np.ones((2, 2))), eps=NAN)),
    (ValueError, "norm: p must be positive", lambda: L.norm(Tensor(np.ones(2)), p=0)),
    (IndexError, "norm: dim 2 is out of range for a tensor with 2 dimensions",
     lambda: L.normalize(Tensor(np.ones((2, 2))), dim=2)),
    (ValueError, r"cosine_similarity: x1 shape \(2, 3\) and x2 shape \(2, 2\) do not broadcast",
     lambda: L.cosine_similarity(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 2))))),
    (ValueError, r"pairwise_distance: x1 shape \(2, 3\) and x2 shape \(4, 3\) do not broadcast",
     lambda: L.pairwise_distance(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 3))))),
    (IndexError, "log_softmax: dim 5 is out of range", lambda: L.log_softmax(Tensor(np.ones((2, 2))), dim=5)),
    (TypeError, "logsumexp: dim must be an integer, got 1.5", lambda: L.logsumexp(Tensor(np.ones((2, 2))), 1.5)),
    (TypeError, "log_softmax: give dim or its alias axis, not both",
     lambda: L.log_softmax(Tensor(np.ones((2, 2))), dim=0, axis=1)),
    (ValueError, r"mse_loss: weight shape \(3,\) must equal the input shape \(2, 3\)",
     lambda: L.mse_loss(Tensor(np.ones((2, 3))), Tensor(np.ones((2, 3))), weight=np.ones(3))),
    (TypeError, "l1_loss: weight must be numbers", lambda: L.l1_loss(Tensor([1.0]), Tensor([1.0]), weight=["a"])),
])
def test_helper_bad_input_is_named(error, pattern, call):
    with pytest.raises(error, match=pattern):
        call()


def test_axis_and_keepdims_stay_aliases_of_dim_and_keepdim():
    x = Tensor(R.standard_normal((3, 4)))
    assert np.allclose(L.log_softmax(x, axis=0).data, L.log_softmax(x, dim=0).data)
    assert np.allclose(L.logsumexp(x, axis=1, keepdims=True).data, L.logsumexp(x, dim=1, keepdim=True).data)
    assert L.logsumexp(x, axis=1, keepdims=True).shape == (3, 1)


# ---- choosing a loss ---------------------------------------------------------------------------------------

def test_choose_loss_returns_the_configured_loss_and_why():
    loss, why = L.choose_loss("robust regression", delta=2.0)
    assert isinstance(loss, L.HuberLoss) and loss.delta == 2.0 and why.startswith("HuberLoss: ")
    x, y = Tensor(np.array([0.0, 5.0])), Tensor(np.array([0.0, 0.0]))
    assert np.isclose(loss(x, y).item(), L.huber_loss(x, y, delta=2.0).item())
    padded, why = L.choose_loss("padded sequences")
    assert isinstance(padded, L.CrossEntropyLoss) and padded.ignore_index == -100 and "ignore_index" in why
    assert L.choose_loss("distillation")[0].reduction == "batchmean"
    expected = {"regression": L.MSELoss, "quantile": L.QuantileLoss, "binary": L.BCEWithLogitsLoss,
                "multi-class": L.CrossEntropyLoss, "imbalanced": L.FocalLoss, "metric learning": L.TripletMarginLoss,
                "contrastive": L.InfoNCELoss, "preferences": L.DPOLoss, "segmentation": L.DiceLoss,
                "uncertainty": L.GaussianNLLLoss, "multi-label": L.BCEWithLogitsLoss}
    for task, cls in expected.items():
        assert type(L.choose_loss(task)[0]) is cls, task


@pytest.mark.parametrize("error, pattern, call", [
    (ValueError, "choose_loss: unknown task 'clustering'; choose one of: regression, robust regression",
     lambda: L.choose_loss("clustering")),
    (TypeError, "choose_loss: MSELoss does not take these options", lambda: L.choose_loss("regression", delta=1.0)),
    (ValueError, "HuberLoss: delta must be positive", lambda: L.choose_loss("robust regression", delta=-1.0)),
])
def test_choose_loss_bad_input_is_named(error, pattern, call):
    with pytest.raises(error, match=pattern):
        call()
