"""Every loss against PyTorch (or the reference formula written in torch): values and gradients.

Each case runs in float64 (rtol 1e-6) and float32 (rtol 1e-4) for every
reduction it supports; gradients are compared for every floating input,
targets included.
"""

from __future__ import annotations

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core import losses as L

pytestmark = pytest.mark.parity

N, C = 6, 5


def _rng():
    return np.random.default_rng(42)


def _logits(shape=(N, C), scale=2.0):
    return _rng().standard_normal(shape) * scale


def _labels(shape=(N,), classes=C, ignore=None):
    y = _rng().integers(0, classes, shape)
    if ignore is not None:
        y.flat[::3] = ignore
    return y


def _probs(shape=(N, C)):
    p = _rng().random(shape) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def _unit(shape=(N, 3)):
    return _rng().uniform(0.05, 0.95, shape)


def _cases(F):
    """(id, tinytorch fn, torch fn, arrays, reductions) for every loss."""
    r = _rng()
    x, y = r.standard_normal((N, 3)), r.standard_normal((N, 3))
    w = r.uniform(0.5, 2.0, C)
    signs = np.where(r.random(N) > 0.5, 1.0, -1.0)
    cases = [
        ("mse", L.mse_loss, F.mse_loss, [x, y]),
        ("l1", L.l1_loss, F.l1_loss, [x, y]),
        ("huber_0.5", lambda a, b, reduction: L.huber_loss(a, b, reduction, delta=0.5),
         lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=0.5), [x, y]),
        ("huber_2", lambda a, b, reduction: L.huber_loss(a, b, reduction, delta=2.0),
         lambda a, b, reduction: F.huber_loss(a, b, reduction=reduction, delta=2.0), [x, y]),
        ("smooth_l1_0.5", lambda a, b, reduction: L.smooth_l1_loss(a, b, reduction, beta=0.5),
         lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.5), [x, y]),
        ("smooth_l1_0", lambda a, b, reduction: L.smooth_l1_loss(a, b, reduction, beta=0.0),
         lambda a, b, reduction: F.smooth_l1_loss(a, b, reduction=reduction, beta=0.0), [x, y]),
        ("bce", L.binary_cross_entropy, F.binary_cross_entropy, [_unit(), _unit()]),
        ("bce_weight", lambda a, b, reduction: L.binary_cross_entropy(a, b, weight=w[:3], reduction=reduction),
         lambda a, b, reduction: F.binary_cross_entropy(a, b, weight=_t(w[:3], a), reduction=reduction),
         [_unit(), _unit()]),
        ("bce_logits", L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, [x * 3, _unit()]),
        ("bce_logits_weights",
         lambda a, b, reduction: L.binary_cross_entropy_with_logits(a, b, weight=w[:3], reduction=reduction,
                                                                    pos_weight=w[2:]),
         lambda a, b, reduction: F.binary_cross_entropy_with_logits(a, b, weight=_t(w[:3], a), reduction=reduction,
                                                                    pos_weight=_t(w[2:], a)),
         [x * 3, _unit()]),
        ("ce", L.cross_entropy, F.cross_entropy, [_logits(), _labels()]),
        ("ce_weight", lambda a, b, reduction: L.cross_entropy(a, b, weight=w, reduction=reduction),
         lambda a, b, reduction: F.cross_entropy(a, b, weight=_t(w, a), reduction=reduction), [_logits(), _labels()]),
        ("ce_ignore", lambda a, b, reduction: L.cross_entropy(a, b, ignore_index=2, reduction=reduction),
         lambda a, b, reduction: F.cross_entropy(a, b, ignore_index=2, reduction=reduction),
         [_logits(), _labels(ignore=2)]),
        ("ce_ignore_default", L.cross_entropy, F.cross_entropy, [_logits(), _labels(ignore=-100)]),
        ("ce_smoothing", lambda a, b, reduction: L.cross_entropy(a, b, reduction=reduction, label_smoothing=0.15),
         lambda a, b, reduction: F.cross_entropy(a, b, reduction=reduction, label_smoothing=0.15),
         [_logits(), _labels()]),
        ("ce_all_options",
         lambda a, b, reduction: L.cross_entropy(a, b, w, ignore_index=1, reduction=reduction, label_smoothing=0.2),
         lambda a, b, reduction: F.cross_entropy(a, b, _t(w, a), ignore_index=1, reduction=reduction,
                                                 label_smoothing=0.2),
         [_logits(), _labels(ignore=1)]),
        ("ce_spatial", lambda a, b, reduction: L.cross_entropy(a, b, w, ignore_index=0, reduction=reduction,
                                                               label_smoothing=0.1),
         lambda a, b, reduction: F.cross_entropy(a, b, _t(w, a), ignore_index=0, reduction=reduction,
                                                 label_smoothing=0.1),
         [_logits((2, C, 3, 4)), _labels((2, 3, 4), ignore=0)]),
        ("ce_unbatched", L.cross_entropy, F.cross_entropy, [_logits((C,)), np.array(3)]),
        ("ce_probs", L.cross_entropy, F.cross_entropy, [_logits(), _probs()]),
        ("ce_probs_weight_smoothing",
         lambda a, b, reduction: L.cross_entropy(a, b, weight=w, reduction=reduction, label_smoothing=0.1),
         lambda a, b, reduction: F.cross_entropy(a, b, weight=_t(w, a), reduction=reduction, label_smoothing=0.1),
         [_logits(), _probs()]),
        ("ce_probs_spatial", L.cross_entropy, F.cross_entropy,
         [_logits((2, C, 3)), _probs((2, C, 3))]),
        ("nll", L.nll_loss, F.nll_loss, [_logits(), _labels()]),
        ("nll_weight_ignore", lambda a, b, reduction: L.nll_loss(a, b, w, ignore_index=3, reduction=reduction),
         lambda a, b, reduction: F.nll_loss(a, b, _t(w, a), ignore_index=3, reduction=reduction),
         [_logits(), _labels(ignore=3)]),
        ("nll_spatial", L.nll_loss, F.nll_loss, [_logits((2, C, 3)), _labels((2, 3))]),
        ("kl", L.kl_div, F.kl_div, [np.log(_probs()), _probs()], ("mean", "sum", "none", "batchmean")),
        ("kl_log_target", lambda a, b, reduction: L.kl_div(a, b, reduction, log_target=True),
         lambda a, b, reduction: F.kl_div(a, b, reduction=reduction, log_target=True),
         [np.log(_probs()), np.log(_probs())], ("mean", "sum", "none", "batchmean")),
        ("gaussian_nll", lambda a, b, v, reduction: L.gaussian_nll_loss(a, b, v, reduction=reduction),
         lambda a, b, v, reduction: F.gaussian_nll_loss(a, b, v, reduction=reduction),
         [x, y, r.uniform(0.1, 2.0, (N, 3))]),
        ("gaussian_nll_full_shared_var",
         lambda a, b, v, reduction: L.gaussian_nll_loss(a, b, v, full=True, eps=0.3, reduction=reduction),
         lambda a, b, v, reduction: F.gaussian_nll_loss(a, b, v, full=True, eps=0.3, reduction=reduction),
         [x, y, r.uniform(0.1, 2.0, (N, 1))]),
        ("gaussian_nll_per_sample_var", lambda a, b, v, reduction: L.gaussian_nll_loss(a, b, v, reduction=reduction),
         lambda a, b, v, reduction: F.gaussian_nll_loss(a, b, v, reduction=reduction),
         [x, y, r.uniform(0.1, 2.0, (N,))]),
        ("margin_ranking", lambda a, b, t, reduction: L.margin_ranking_loss(a, b, t, 0.3, reduction),
         lambda a, b, t, reduction: F.margin_ranking_loss(a, b, t, margin=0.3, reduction=reduction),
         [x[:, 0], y[:, 0], signs]),
        ("triplet", lambda a, p, n, reduction: L.triplet_margin_loss(a, p, n, reduction=reduction),
         lambda a, p, n, reduction: F.triplet_margin_loss(a, p, n, reduction=reduction), [x, y, x[::-1] * 0.5]),
        ("triplet_p1_swap", lambda a, p, n, reduction: L.triplet_margin_loss(a, p, n, 2.0, 1.0, swap=True,
                                                                             reduction=reduction),
         lambda a, p, n, reduction: F.triplet_margin_loss(a, p, n, margin=2.0, p=1.0, swap=True, reduction=reduction),
         [x, y, x[::-1] * 0.5]),
        ("triplet_p3_eps", lambda a, p, n, reduction: L.triplet_margin_loss(a, p, n, 0.5, 3.0, eps=1e-3,
                                                                            reduction=reduction),
         lambda a, p, n, reduction: F.triplet_margin_loss(a, p, n, margin=0.5, p=3.0, eps=1e-3, reduction=reduction),
         [x, y, x[::-1] * 0.5]),
    ]
    return cases


def _t(array, like):
    import torch

    return torch.tensor(np.asarray(array), dtype=like.dtype)


def _expand(torch):
    import torch.nn.functional as F

    params = []
    for case in _cases(F):
        name, ours, theirs, arrays = case[:4]
        reductions = case[4] if len(case) > 4 else ("mean", "sum", "none")
        for reduction in reductions:
            for dtype in (np.float64, np.float32):
                params.append(pytest.param(ours, theirs, arrays, reduction, dtype,
                                           id=f"{name}-{reduction}-{np.dtype(dtype).name}"))
    return params


def _params():
    try:
        import torch
    except ImportError:  # collected without torch: the cases fail loudly in the fixture instead
        return [pytest.param(None, None, None, None, None, id="torch-missing")]
    return _expand(torch)


@pytest.mark.parametrize("ours, theirs, arrays, reduction, dtype", _params())
def test_loss_parity(torch, ours, theirs, arrays, reduction, dtype):
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    tolerance = dict(rtol=1e-6, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-6)
    assert_parity(lambda *a: ours(*a, reduction=reduction), lambda *a: theirs(*a, reduction=reduction), arrays, torch,
                  **tolerance)


# ---- reference formulas written in torch, for the losses PyTorch does not have -------------------

def _reference_cases(torch):
    F = torch.nn.functional
    r = _rng()
    x, y = r.standard_normal((N, 3)), r.standard_normal((N, 3))
    signs = np.where(r.random((N, 3)) > 0.5, 1.0, -1.0)
    binary = (r.random((N, 3)) > 0.5).astype(float)
    pairs = (r.random(N) > 0.5).astype(float)

    def torch_focal(logits, target, gamma, alpha=None):
        log_pt = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        loss = -(1 - log_pt.exp()) ** gamma * log_pt
        return loss * (torch.tensor(alpha, dtype=logits.dtype)[target] if alpha is not None else 1.0)

    def torchvision_sigmoid_focal(inputs, targets, alpha, gamma):
        p = torch.sigmoid(inputs)
        ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
        return loss

    def torch_contrastive(a, b, t, margin):
        d = (a - b).norm(dim=-1)
        return 0.5 * ((1 - t) * d ** 2 + t * (margin - d).clamp_min(0) ** 2)

    def torch_info_nce(q, k, temperature, normalize):
        if normalize:
            q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        return F.cross_entropy(q @ k.T / temperature, torch.arange(q.shape[0]), reduction="none")

    def torch_dice(logits, t, smooth):
        p = torch.sigmoid(logits)
        return 1 - (2 * (p * t).sum(dim=1) + smooth) / (p.sum(dim=1) + t.sum(dim=1) + smooth)

    return [
        ("log_cosh", lambda a, b: L.log_cosh_loss(a, b, "none"), lambda a, b: torch.log(torch.cosh(a - b)), [x, y]),
        ("quantile_0.8", lambda a, b: L.quantile_loss(a, b, 0.8, "none"),
         lambda a, b: torch.maximum(0.8 * (b - a), (0.8 - 1) * (b - a)), [x, y]),
        ("hinge", lambda s, t: L.hinge_loss(s, t, 0.7, "none"), lambda s, t: (0.7 - t * s).clamp_min(0),
         [x, signs]),
        ("focal_gamma0_is_ce", lambda a, t: L.focal_loss(a, t, 0.0, reduction="none"),
         lambda a, t: F.cross_entropy(a, t, reduction="none"), [_logits(), _labels()]),
        ("focal_gamma2", lambda a, t: L.focal_loss(a, t, 2.0, reduction="none"),
         lambda a, t: torch_focal(a, t, 2.0), [_logits(), _labels()]),
        ("focal_alpha", lambda a, t: L.focal_loss(a, t, 1.5, alpha=[0.1, 0.2, 0.3, 0.2, 0.2], reduction="none"),
         lambda a, t: torch_focal(a, t, 1.5, [0.1, 0.2, 0.3, 0.2, 0.2]), [_logits(), _labels()]),
        ("binary_focal", lambda a, t: L.binary_focal_loss(a, t, 0.25, 2.0, "none"),
         lambda a, t: torchvision_sigmoid_focal(a, t, 0.25, 2.0), [x * 2, binary]),
        ("binary_focal_no_alpha", lambda a, t: L.binary_focal_loss(a, t, -1, 1.0, "none"),
         lambda a, t: torchvision_sigmoid_focal(a, t, -1, 1.0), [x * 2, binary]),
        ("contrastive", lambda a, b: L.contrastive_loss(a, b, pairs, 2.0, "none"),
         lambda a, b: torch_contrastive(a, b, torch.tensor(pairs, dtype=a.dtype), 2.0), [x, y]),
        ("info_nce", lambda q, k: L.info_nce_loss(q, k, 0.2, True, "none"),
         lambda q, k: torch_info_nce(q, k, 0.2, True), [x, y]),
        ("info_nce_raw", lambda q, k: L.info_nce_loss(q, k, 2.0, False, "none"),
         lambda q, k: torch_info_nce(q, k, 2.0, False), [x, y]),
        ("dice", lambda a, t: L.dice_loss(a, t, 1.0, True, "none"), lambda a, t: torch_dice(a, t, 1.0), [x, binary]),
        ("dpo", lambda pw, pl, rw, rl: L.dpo_loss(pw, pl, rw, rl, 0.5, "none"),
         lambda pw, pl, rw, rl: -F.logsigmoid(0.5 * ((pw - rw) - (pl - rl))), [x[:, 0], x[:, 1], y[:, 0], y[:, 1]]),
    ]


def _parity_in_both_dtypes(name, ours, theirs, arrays, torch, float32_atol=1e-6):
    """assert_parity in float64 (rtol 1e-6) and float32 (rtol 1e-4); the failure names the case and dtype."""
    for dtype, tolerance in ((np.float64, dict(rtol=1e-6, atol=1e-9)), (np.float32, dict(rtol=1e-4, atol=float32_atol))):
        cast = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
        try:
            assert_parity(ours, theirs, cast, torch, **tolerance)
        except AssertionError as error:
            raise AssertionError(f"{name} ({np.dtype(dtype).name}): {error}") from None


def test_reference_formulas(torch):
    for name, ours, theirs, arrays in _reference_cases(torch):
        _parity_in_both_dtypes(name, ours, theirs, arrays, torch)


def test_uncertainty_weighting_matches_formula(torch):
    losses = np.array([2.0, 0.3, 5.0])
    module = L.UncertaintyWeightedLoss(3)
    module.log_vars.data[...] = [0.1, -0.4, 1.2]
    total = module([L.Tensor(np.float32(v), requires_grad=True) for v in losses])
    s = torch.tensor([0.1, -0.4, 1.2], dtype=torch.float32, requires_grad=True)
    expected = (torch.exp(-s) * torch.tensor(losses, dtype=torch.float32) + s).sum()
    expected.backward()
    total.backward()
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(module.log_vars.grad.data, s.grad.numpy(), rtol=1e-6)


# ---- inputs PyTorch accepts that we used to refuse or get wrong (issue 12) ------------------------------------

def _issue_12_cases(torch):
    F = torch.nn.functional
    r = _rng()
    x, y = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    empty, empty_unit = np.zeros((0, 3)), np.full((0, 3), 0.5)
    zero_row = np.vstack([np.zeros(3), r.standard_normal((3, 3))])
    return [
        ("gaussian_nll_var_1x3", L.gaussian_nll_loss, F.gaussian_nll_loss, [x, y, r.uniform(0.1, 2.0, (1, 3))]),
        ("gaussian_nll_var_4x1", L.gaussian_nll_loss, F.gaussian_nll_loss, [x, y, r.uniform(0.1, 2.0, (4, 1))]),
        ("margin_ranking_y0", lambda a, b, t, reduction: L.margin_ranking_loss(a, b, t, 0.4, reduction),
         lambda a, b, t, reduction: F.margin_ranking_loss(a, b, t, margin=0.4, reduction=reduction),
         [x[:, 0], y[:, 0], np.array([0.0, 1.0, -1.0, 0.0])]),
        ("nll_unbatched", L.nll_loss, F.nll_loss, [np.log(_probs((1, C)))[0], np.array(2)]),
        ("nll_unbatched_ignored", L.nll_loss, F.nll_loss, [np.log(_probs((1, C)))[0], np.array(-100)]),
        ("ce_all_ignored", L.cross_entropy, F.cross_entropy, [_logits(), np.full(N, -100)]),
        ("mse_empty", L.mse_loss, F.mse_loss, [empty, empty]),
        ("l1_empty", L.l1_loss, F.l1_loss, [empty, empty]),
        ("bce_empty", L.binary_cross_entropy, F.binary_cross_entropy, [empty_unit, empty_unit]),
        ("bce_logits_empty", L.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, [empty, empty]),
        ("triplet_empty", lambda a, p, n, reduction: L.triplet_margin_loss(a, p, n, reduction=reduction),
         lambda a, p, n, reduction: F.triplet_margin_loss(a, p, n, reduction=reduction), [empty, empty, empty]),
        ("ce_empty", L.cross_entropy, F.cross_entropy, [np.zeros((0, C)), np.zeros(0, dtype=np.int64)]),
        ("nll_empty", L.nll_loss, F.nll_loss, [np.zeros((0, C)), np.zeros(0, dtype=np.int64)]),
        ("kl_empty", L.kl_div, F.kl_div, [empty, empty_unit], ("mean", "sum", "none", "batchmean")),
        ("info_nce_zero_row", lambda q, k, reduction: L.info_nce_loss(q, k, 0.5, True, reduction),
         lambda q, k, reduction: F.cross_entropy(F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.5,
                                                 torch.arange(4), reduction=reduction), [zero_row, y]),
    ]


def test_issue_12_parity(torch):
    for name, ours, theirs, arrays, *rest in _issue_12_cases(torch):
        for reduction in (rest[0] if rest else ("mean", "sum", "none")):
            _parity_in_both_dtypes(f"{name} {reduction}", lambda *a: ours(*a, reduction=reduction),
                                   lambda *a: theirs(*a, reduction=reduction), arrays, torch)


def test_focal_with_ignored_rows_matches_torch_reference(torch):
    F = torch.nn.functional
    logits, target = _logits((N, 150)), _labels(classes=150, ignore=-100)
    alpha = _rng().uniform(0.2, 1.0, 150)

    def reference(a, reduction):
        t = torch.tensor(target)
        counted = t != -100
        safe = torch.where(counted, t, torch.zeros_like(t))
        log_pt = F.log_softmax(a, dim=1).gather(1, safe[:, None])[:, 0]
        loss = -(1 - log_pt.exp()) ** 2.0 * log_pt * torch.tensor(alpha, dtype=a.dtype)[safe] * counted
        return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / counted.sum()}[reduction]

    for reduction in ("mean", "sum", "none"):
        assert_parity(lambda a: L.focal_loss(a, target, 2.0, alpha, reduction), lambda a: reference(a, reduction),
                      [logits], torch)


# ---- PyTorch's signatures and the distance helpers --------------------------------------------------------

FUNCTIONALS = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
               "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "gaussian_nll_loss",
               "margin_ranking_loss", "triplet_margin_loss", "normalize"]


@pytest.mark.parametrize("name", FUNCTIONALS)
def test_functional_takes_torchs_arguments_in_torchs_order(torch, name):
    import inspect

    deprecated = {"size_average", "reduce", "out"}  # PyTorch's legacy arguments, not carried over
    theirs = [p for p in inspect.signature(getattr(torch.nn.functional, name)).parameters if p not in deprecated]
    ours = list(inspect.signature(getattr(L, name)).parameters)
    assert ours == theirs


def test_builtin_signatures_follow_torchs_docs():
    import inspect

    # torch's C functions have no Python signature; these are the documented ones
    expected = {"cosine_similarity": ["x1", "x2", "dim", "eps"],
                "pairwise_distance": ["x1", "x2", "p", "eps", "keepdim"],
                "one_hot": ["tensor", "num_classes"],
                "logsumexp": ["input", "dim", "keepdim"],
                "log_softmax": ["input", "dim"]}
    for name, names in expected.items():
        positional = [p.name for p in inspect.signature(getattr(L, name)).parameters.values()
                      if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert positional == names, name


def _helper_cases(torch):
    F = torch.nn.functional
    r = _rng()
    x = np.vstack([np.zeros(3), r.standard_normal((3, 3))])
    y = r.standard_normal((4, 3))
    cases = []
    for p in (1.0, 2.0, 3.0):
        cases.append((f"normalize_p{p}", lambda a, p=p: L.normalize(a, p=p), lambda a, p=p: F.normalize(a, p=p), [x]))
        cases.append((f"pairwise_distance_p{p}", lambda a, b, p=p: L.pairwise_distance(a, b, p=p),
                      lambda a, b, p=p: F.pairwise_distance(a, b, p=p), [x, y]))
    cases += [
        ("normalize_dim0", lambda a: L.normalize(a, dim=0, eps=0.5), lambda a: F.normalize(a, dim=0, eps=0.5), [x]),
        ("cosine_similarity", L.cosine_similarity, F.cosine_similarity, [x, y]),
        ("cosine_similarity_dim0_broadcast", lambda a, b: L.cosine_similarity(a, b, dim=0),
         lambda a, b: F.cosine_similarity(a, b, dim=0), [y, y[:1] * 2.0]),
        ("pairwise_distance_keepdim_1d", lambda a, b: L.pairwise_distance(a, b, keepdim=True),
         lambda a, b: F.pairwise_distance(a, b, keepdim=True), [y[0], x[1]]),
        ("pairwise_distance_same", lambda a, b: L.pairwise_distance(a, b, eps=0.0),
         lambda a, b: F.pairwise_distance(a, b, eps=0.0), [x, x.copy()]),
        ("log_softmax_dim0", lambda a: L.log_softmax(a, dim=0), lambda a: F.log_softmax(a, dim=0), [y]),
        ("log_softmax_positional", lambda a: L.log_softmax(a, 1), lambda a: F.log_softmax(a, 1), [y]),
        ("logsumexp_keepdim", lambda a: L.logsumexp(a, dim=0, keepdim=True),
         lambda a: torch.logsumexp(a, dim=0, keepdim=True), [y]),
        ("logsumexp_positional", lambda a: L.logsumexp(a, 1), lambda a: torch.logsumexp(a, 1), [y]),
    ]
    for reduction in ("mean", "sum", "none"):
        w = r.uniform(0.1, 2.0, (4, 3))
        cases += [
            (f"mse_weight_{reduction}", lambda a, b, w=w, red=reduction: L.mse_loss(a, b, reduction=red, weight=w),
             lambda a, b, w=w, red=reduction: F.mse_loss(a, b, reduction=red, weight=torch.tensor(w, dtype=a.dtype)),
             [x, y]),
            (f"l1_weight_{reduction}", lambda a, b, w=w, red=reduction: L.l1_loss(a, b, reduction=red, weight=w),
             lambda a, b, w=w, red=reduction: F.l1_loss(a, b, reduction=red, weight=torch.tensor(w, dtype=a.dtype)),
             [x, y]),
            (f"huber_weight_{reduction}",
             lambda a, b, w=w, red=reduction: L.huber_loss(a, b, red, 0.5, weight=w),
             lambda a, b, w=w, red=reduction: F.huber_loss(a, b, red, 0.5, weight=torch.tensor(w, dtype=a.dtype)),
             [x * 2, y]),
        ]
    return cases


def test_helpers_and_weights_match_torch(torch):
    for name, ours, theirs, arrays in _helper_cases(torch):
        _parity_in_both_dtypes(name, ours, theirs, arrays, torch, float32_atol=1e-5)


def test_one_hot_matches_torch(torch):
    labels = np.array([[0, 3], [2, 2]])
    for num_classes in (-1, 6):
        ours = L.one_hot(labels, num_classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), num_classes).numpy()
        assert ours.dtype == np.int64 and ours.shape == theirs.shape
        np.testing.assert_array_equal(ours.data, theirs)
