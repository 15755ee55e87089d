"""PyTorch's Tensor surface on tinytorch: values and gradients against torch, and every bad-input path."""

from __future__ import annotations

import numpy as np
import pytest

from parity import assert_parity
from tinytorch.core.tensor import Tensor

R = np.random.default_rng(11)


def arr(*shape):
    return R.uniform(-2.0, 2.0, shape)


def _as_index(like, index):
    """An int64 index of the same framework as ``like`` (torch.gather wants a torch tensor)."""
    return Tensor(np.array(index)) if isinstance(like, Tensor) else __import__("torch").tensor(index)


SHAPE_OPS = [
    ("transpose_0_1", lambda a: a.transpose(0, 1), arr(3, 4)),
    ("transpose_neg", lambda a: a.transpose(-1, 0), arr(2, 3, 4)),
    ("transpose_same", lambda a: a.transpose(1, 1), arr(2, 3)),
    ("permute_tuple", lambda a: a.permute((1, 2, 0)), arr(2, 3, 4)),
    ("T_3d", lambda a: a.permute(2, 1, 0), arr(2, 3, 4)),
    ("view", lambda a: a.view(4, -1), arr(2, 3, 4)),
    ("view_tuple", lambda a: a.view((6, 4)), arr(2, 3, 4)),
    ("unsqueeze_0", lambda a: a.unsqueeze(0), arr(3, 4)),
    ("unsqueeze_end", lambda a: a.unsqueeze(-1), arr(3, 4)),
    ("unsqueeze_mid", lambda a: a.unsqueeze(1), arr(3, 4)),
    ("squeeze_all", lambda a: a.squeeze(), arr(1, 3, 1, 4)),
    ("squeeze_dim", lambda a: a.squeeze(2), arr(1, 3, 1, 4)),
    ("squeeze_not_one", lambda a: a.squeeze(1), arr(1, 3, 1, 4)),
    ("squeeze_dims", lambda a: a.squeeze((0, 2)), arr(1, 3, 1, 4)),
    ("flatten", lambda a: a.flatten(), arr(2, 3, 4)),
    ("flatten_1", lambda a: a.flatten(1), arr(2, 3, 4)),
    ("flatten_0_1", lambda a: a.flatten(0, 1), arr(2, 3, 4)),
    ("sum_dim", lambda a: a.sum(dim=1), arr(2, 3, 4)),
    ("sum_dims_keepdim", lambda a: a.sum(dim=(0, -1), keepdim=True), arr(2, 3, 4)),
    ("sum_positional", lambda a: a.sum(2, True), arr(2, 3, 4)),
    ("mean_dim", lambda a: a.mean(dim=(1, 2)), arr(2, 3, 4)),
    ("max_all", lambda a: a.max(), arr(3, 4)),
    ("max_dim_values", lambda a: a.max(dim=1).values, arr(3, 4)),
    ("max_dim_keepdim", lambda a: a.max(0, keepdim=True)[0], arr(3, 4)),
    ("min_dim_values", lambda a: a.min(dim=-1).values, arr(2, 3, 4)),
    ("min_all", lambda a: a.min(), arr(3, 4)),
    ("amax_dims", lambda a: a.amax(dim=(0, 2)), arr(2, 3, 4)),
    ("amin_keepdim", lambda a: a.amin(dim=1, keepdim=True), arr(2, 3, 4)),
    ("gather", lambda a: a.gather(1, _as_index(a, [[0, 2, 2], [3, 1, 0]])), arr(2, 4)),
    ("gather_repeats", lambda a: a.gather(0, _as_index(a, [[1, 0, 1], [1, 1, 1]])), arr(2, 3)),
    ("gather_smaller", lambda a: a.gather(0, _as_index(a, [[1], [0]])), arr(3, 4)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, fn, data", SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS])
def test_shape_and_reduction_parity(torch, name, fn, data):
    assert_parity(fn, fn, [data], torch)


@pytest.mark.parity
@pytest.mark.parametrize("method", ["max", "min"])
def test_max_min_dim_return_values_and_indices_like_torch(torch, method):
    data = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 0.0, 7.0, 3.0], [-1.0, -1.0, -1.0, -1.0]])
    ours = getattr(Tensor(data), method)(dim=1)
    theirs = getattr(torch.tensor(data), method)(dim=1)
    assert np.array_equal(ours.indices.data, theirs.indices.numpy())  # ties: the first index, like torch
    assert ours.indices.dtype == np.int64
    np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
    values, indices = ours  # unpacks like torch.return_types.max
    assert values is ours.values and indices is ours.indices


@pytest.mark.parity
@pytest.mark.parametrize("a, b", [([1.0, 2.0, 3.0, np.nan], [1.0, 3.0, 2.0, 0.0]),
                                  ([[0.5, -1.0], [2.0, 2.0]], [0.5, 3.0])], ids=["ties_nan", "broadcast"])
def test_elementwise_max_min_of_two_tensors(torch, a, b):
    a, b = np.array(a), np.array(b)
    for name in ("max", "min"):
        ours = getattr(Tensor(a), name)(Tensor(b))
        theirs = getattr(torch.tensor(a), name)(torch.tensor(b))
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    finite = np.nan_to_num(a)
    assert_parity(lambda x, y: x.max(y), lambda x, y: torch.maximum(x, y), [finite, b], torch)
    assert_parity(lambda x, y: x.min(y), lambda x, y: torch.minimum(x, y), [finite, b], torch)


@pytest.mark.parity
def test_max_over_nan_follows_torchs_gradient(torch):
    data = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, 5.0, 0.0]])
    for ours_fn, torch_fn in [(lambda t: t.max(), lambda t: t.max()),
                              (lambda t: t.amax(dim=1), lambda t: t.amax(dim=1)),
                              (lambda t: t.max(dim=1).values, lambda t: t.max(dim=1).values),
                              (lambda t: t.min(), lambda t: t.min())]:
        ours, theirs = Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        out, expected = ours_fn(ours), torch_fn(theirs)
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parity
def test_mean_of_nothing_is_nan_like_torch(torch):
    x = Tensor(np.zeros(0), requires_grad=True)
    m = x.mean()
    assert np.isnan(m.item()) and np.isnan(torch.zeros(0).mean().item())
    m.backward()
    assert x.grad.shape == (0,)
    assert np.isnan(Tensor(np.zeros((0, 3))).mean(dim=0).data).all()


def test_reductions_accept_numpy_aliases_and_size_is_a_method():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = Tensor(a)
    assert np.array_equal(x.sum(axis=1, keepdims=True).data, a.sum(axis=1, keepdims=True))
    assert np.array_equal(x.mean(axis=(0, 2)).data, a.mean(axis=(0, 2)))
    assert np.array_equal(x.max(axis=2).values.data, a.max(axis=2))
    assert np.array_equal(x.argmax(dim=1, keepdim=True).data, a.argmax(axis=1)[:, None, :])
    assert x.argmax().item() == 23 and x.argmin().item() == 0 and x.argmax().dtype == np.int64
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.numel() == 24 and x.dim() == 3
    assert Tensor(3.0).sum(0).item() == 3.0 and Tensor(np.ones((2, 3))).sum(dim=()).item() == 6.0


@pytest.mark.parametrize("call, error, pattern", [
    (lambda x: x.sum(axis=1.5), TypeError, r"dim must be an int, got 1\.5"),
    (lambda x: x.sum(dim="0"), TypeError, "dim must be an int"),
    (lambda x: x.sum(axis=True), TypeError, "dim must be an int"),
    (lambda x: x.sum(axis=(0, 0)), ValueError, "names the same dimension twice"),
    (lambda x: x.mean(dim=(1, -1)), ValueError, "names the same dimension twice"),
    (lambda x: x.argmax(axis=5), IndexError, r"dim 5 is out of range .*\[-2, 1\]"),
    (lambda x: x.max(dim=2), IndexError, "dim 2 is out of range"),
    (lambda x: x.amax(dim=-3), IndexError, "dim -3 is out of range"),
    (lambda x: x.sum(dim=1, axis=1), TypeError, "both dim=1 and its alias axis=1"),
    (lambda x: x.transpose(0, 2), IndexError, "dim 2 is out of range"),
    (lambda x: x.permute(0), ValueError, r"permute needs all 2 dims"),
    (lambda x: x.permute(0, 0), ValueError, "names the same dimension twice"),
    (lambda x: x.unsqueeze(4), IndexError, r"dim 4 is out of range .*\[-3, 2\]"),
    (lambda x: x.squeeze(2), IndexError, "dim 2 is out of range"),
    (lambda x: x.flatten(1, 0), ValueError, "start_dim 1 comes after end_dim 0"),
    (lambda x: x.view(4, 2), ValueError, r"shape \(2, 3\)"),
    (lambda x: x.size(2), IndexError, "dim 2 is out of range"),
    (lambda x: x.gather(1, np.array([[0.0]])), ValueError, "integer index"),
    (lambda x: x.gather(1, np.array([0, 1])), ValueError, "2 dimensions"),
    (lambda x: x.gather(1, np.array([[3]])), IndexError, r"out of range \[0, 3\)"),
    (lambda x: x.gather(1, np.array([[0], [1], [0]])), ValueError, "larger than the input"),
    (lambda x: Tensor(np.arange(3)).mean(), TypeError, "floating-point tensor.*int64"),
    (lambda x: Tensor(np.zeros((0, 2))).max(dim=0), ValueError, "max over an empty dim"),
    (lambda x: Tensor(np.zeros((0, 2))).argmax(), ValueError, "empty"),
])
def test_bad_dims_are_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(Tensor(np.ones((2, 3))))


# ---- the rest of the Tensor surface, the factories and functions -------------------

import tinytorch as tt  # noqa: E402  (the PyTorch-shaped top level)


def _same_index(like, index):
    """``index`` as an int64 tensor of the framework of ``like``."""
    return tt.tensor(index) if isinstance(like, Tensor) else __import__("torch").tensor(index)


def _lib(like):
    return tt if isinstance(like, Tensor) else __import__("torch")


MORE_OPS = [
    ("expand", lambda a: a.expand(2, 3, -1), arr(3, 1)),
    ("expand_same", lambda a: a.expand(3, 4), arr(3, 4)),
    ("expand_as", lambda a: a.expand_as(a.sum(0, keepdim=True).expand(2, 5, 4)), arr(5, 1)),
    ("scatter", lambda a: a.scatter(1, _same_index(a, [[0, 2], [1, 0]]), a[:, :2] * 3), arr(2, 3)),
    ("scatter_value", lambda a: a.scatter(0, _same_index(a, [[1, 0, 1]]), 5.0), arr(2, 3)),
    ("cat", lambda a: _lib(a).cat([a, a * 2, a[:1]], dim=0), arr(2, 3)),
    ("cat_dim1", lambda a: _lib(a).cat([a, a.exp()], dim=-1), arr(2, 3)),
    ("stack", lambda a: _lib(a).stack([a, a * a], dim=1), arr(2, 3)),
    ("to_float32", lambda a: a.float() * 2, arr(2, 3)),
    ("to_double", lambda a: a.float().double(), arr(2, 3)),
    ("masked_fill", lambda a: a.masked_fill(a > 0.5, -1.0), arr(3, 4)),
    ("clone", lambda a: a.clone() * a, arr(3, 4)),
    ("norm", lambda a: a.norm(), arr(3, 4)),
    ("norm_dim", lambda a: a.norm(dim=1, keepdim=True), arr(3, 4)),
    ("norm_p1", lambda a: a.norm(p=1, dim=0), arr(3, 4)),
    ("var", lambda a: a.var(dim=1), arr(3, 4)),
    ("var_biased", lambda a: a.var(unbiased=False), arr(3, 4)),
    ("std", lambda a: a.std(dim=0, keepdim=True), arr(3, 4)),
    ("relu", lambda a: a.relu(), arr(3, 4)),
    ("sigmoid", lambda a: a.sigmoid(), arr(3, 4)),
    ("softmax", lambda a: a.softmax(dim=0), arr(3, 4)),
    ("log_softmax", lambda a: a.log_softmax(dim=1), arr(3, 4)),
    ("matmul", lambda a: a.matmul(a.T), arr(3, 4)),
    ("where_method", lambda a: a.where(a > 0, a * 2), arr(3, 4)),
    ("sort_values", lambda a: a.sort(dim=1).values, arr(3, 4)),
    ("sort_descending", lambda a: _lib(a).sort(a, dim=0, descending=True)[0], arr(3, 4)),
    ("topk", lambda a: a.topk(2, dim=1).values, arr(3, 4)),
    ("topk_smallest", lambda a: _lib(a).topk(a, 2, dim=0, largest=False).values, arr(3, 4)),
    ("split", lambda a: _lib(a).cat([p * (i + 1) for i, p in enumerate(a.split(2, dim=1))], dim=1), arr(3, 5)),
    ("split_sizes", lambda a: a.split([1, 2], dim=0)[1], arr(3, 5)),
    ("chunk", lambda a: a.chunk(3, dim=1)[-1], arr(3, 5)),
    ("repeat", lambda a: a.repeat(2, 1, 3), arr(3, 2)),
    ("tril", lambda a: a.tril(), arr(3, 4)),
    ("triu_k", lambda a: _lib(a).triu(a, diagonal=1), arr(2, 3, 4)),
    ("maximum_fn", lambda a: _lib(a).maximum(a, a.flip(0) if not isinstance(a, Tensor) else a[::-1]), arr(3, 4)),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, fn, data", MORE_OPS, ids=[c[0] for c in MORE_OPS])
def test_more_ops_parity(torch, name, fn, data):
    assert_parity(fn, fn, [data], torch)


def _inplace_script(lib, a_data, b_data):
    """In-place ops inside a graph and under no_grad, written once for both frameworks."""
    a = lib.tensor(a_data, requires_grad=True)
    b = lib.tensor(b_data, requires_grad=True)
    h = a * 2
    k = h * 3  # recorded before h changes: its gradient goes to h as it was
    h += b * 2
    h -= 1
    h *= 3
    h[0, 1] = b[1, 0] * 4
    h[1] = 0.5
    h /= 2
    buf = lib.zeros(2, 3)
    buf += a
    buf.masked_fill_(buf > 0.5, 0.25)
    buf.clamp_(-0.5, 0.4)
    c = (h.sum() + k.sum() + (buf * buf).sum())
    c.backward()
    with lib.no_grad():
        a -= 0.1 * a.grad
        b.zero_()
    return [c.detach(), a.grad, b.grad, a.detach(), b.detach(), h.detach()]


@pytest.mark.parity
def test_inplace_ops_match_torch_in_and_out_of_the_graph(torch):
    a, b = arr(2, 3), arr(2, 3)
    ours = _inplace_script(tt, a, b)
    theirs = _inplace_script(torch, a, b)
    for i, (x, y) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(np.asarray(x), y.numpy(), rtol=1e-6, atol=1e-7, err_msg=f"result {i}")


@pytest.mark.parity
def test_version_counter_errors_like_torch(torch):
    for lib in (tt, torch):
        x = lib.tensor([1.0, 2.0, 3.0])
        w = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        y = (x * w).sum()
        x += 1  # x was saved by the multiplication for w's gradient
        with pytest.raises(RuntimeError, match="modified by an inplace operation.*is at version 1; expected version 0"):
            y.backward()
        w2 = lib.tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w2 += 1
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            w2.zero_()
        with lib.no_grad():
            w2.fill_(3.0)
            w2.normal_()
            w2.uniform_(-1, 1)
        assert w2.requires_grad and -1 <= w2.item() <= 1


def test_inplace_keeps_dtype_and_shape_and_shares_memory():
    x = tt.zeros(2, 3)
    view = x.view(6)
    x += 1
    x[0, 0] = 7
    assert view.tolist() == [7, 1, 1, 1, 1, 1] and x.dtype == np.float32
    n = tt.tensor([1, 2, 3])
    n *= 2
    assert n.dtype == np.int64 and n.tolist() == [2, 4, 6]
    with pytest.raises(TypeError, match="float64 can't be cast to the tensor's dtype int64"):
        n += np.array([0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not fit the tensor's shape \(3,\)"):
        n += tt.ones(2, 3).long()
    with pytest.raises(TypeError, match="exactly one of src and value"):
        x.scatter_(1, tt.tensor([[0]]))
    one_hot = tt.zeros(3, 4).scatter_(1, tt.tensor([[1], [3], [0]]), 1.0)
    assert one_hot.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]]


@pytest.mark.parity
def test_sort_indices_and_tests_match_torch(torch):
    data = np.array([[3.0, 1.0, 2.0, 5.0], [0.5, -1.0, 4.0, 2.5]])
    for ours, theirs in [(tt.tensor(data).sort(dim=1).indices, torch.tensor(data).sort(dim=1).indices),
                         (tt.argsort(tt.tensor(data), dim=0, descending=True),
                          torch.argsort(torch.tensor(data), dim=0, descending=True)),
                         (tt.tensor(data).topk(3).indices, torch.tensor(data).topk(3).indices),
                         ((tt.tensor(data) > 1).all(dim=1), (torch.tensor(data) > 1).all(dim=1)),
                         ((tt.tensor(data) > 4.5).any(), (torch.tensor(data) > 4.5).any()),
                         (tt.tensor(data - 1).sign(), torch.tensor(data - 1).sign())]:
        assert ours.tolist() == theirs.tolist()
    assert [p.shape for p in tt.zeros(7, 2).chunk(3)] == [tuple(p.shape) for p in torch.zeros(7, 2).chunk(3)]
    with pytest.raises(ValueError, match="add up to 4, not dim 0's length 7"):
        tt.zeros(7).split([1, 3])
    with pytest.raises(ValueError, match="topk: k=5 is out of range"):
        tt.zeros(4).topk(5)
    with pytest.raises(ValueError, match="at least 2 sizes"):
        tt.zeros(2, 2).repeat(2)


def test_python_protocols():
    loss = tt.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{tt.tensor([1.0, 2.0])}" == str(tt.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only 0-d tensors take one"):
        f"{tt.tensor([1.0, 2.0]):.2f}"
    assert np.allclose(tt.tensor([1.0, 2.0]), [1.0, 2.0]) and np.asarray(tt.ones(2, 2)).shape == (2, 2)
    assert [10, 20, 30][tt.tensor(2)] == 30 and list(range(tt.tensor(3))) == [0, 1, 2]
    with pytest.raises(TypeError, match="only 0-d integer tensors can be used as an index"):
        [1, 2][tt.tensor(1.0)]
    assert abs(tt.tensor([-2.0, 3.0])).tolist() == [2.0, 3.0]
    assert float(tt.tensor([2.5])) == 2.5 and int(tt.tensor(7)) == 7
    mask = (tt.arange(4) > 1) & ~(tt.arange(4) == 3)
    assert mask.tolist() == [False, False, True, False] and (mask | True).tolist() == [True] * 4
    with pytest.raises(TypeError, match="boolean or integer"):
        ~tt.tensor([1.0])


@pytest.mark.parity
def test_factories_infer_dtypes_like_torch(torch):
    cases = [
        lambda lib: lib.tensor([1, 2]), lambda lib: lib.tensor([1.5, 2]), lambda lib: lib.tensor(True),
        lambda lib: lib.tensor(np.array([1.0, 2.0])), lambda lib: lib.tensor([[1, 2]], dtype=lib.float64),
        lambda lib: lib.zeros(2, 3), lambda lib: lib.ones((2, 3), dtype=lib.int64), lambda lib: lib.full((2,), 3),
        lambda lib: lib.full((2,), 1.5), lambda lib: lib.full((2,), True), lambda lib: lib.arange(5),
        lambda lib: lib.arange(1, 2, 0.25), lambda lib: lib.arange(0, 10, 3), lambda lib: lib.linspace(0, 1, 5),
        lambda lib: lib.eye(3), lambda lib: lib.eye(2, 3), lambda lib: lib.zeros_like(lib.tensor([1, 2])),
        lambda lib: lib.ones_like(lib.tensor([1.0])), lambda lib: lib.full_like(lib.zeros(2), 7),
        lambda lib: lib.tensor([1.0]).long(), lambda lib: lib.tensor([1]).float(), lambda lib: lib.tensor([1]).bool(),
        lambda lib: lib.tensor([2.0]).to(lib.float64), lambda lib: lib.tensor([2.0]).to("cpu"),
        # promotion: an integer or bool side takes the float side's dtype
        lambda lib: lib.tensor([1, 2]) * 2.5, lambda lib: lib.tensor([3, 4]) * 2, lambda lib: 1 - lib.tensor([3, 4]),
        lambda lib: lib.tensor([1.0, 2.0]) * lib.tensor([1, 2]), lambda lib: lib.arange(3) + lib.ones(3),
        lambda lib: lib.tensor([True, False]) + lib.tensor([1.5, 2.0]), lambda lib: lib.tensor([3, 4]) / 2,
        lambda lib: lib.ones(2, dtype=lib.float64) * lib.tensor([1, 2]),
    ]
    for i, make in enumerate(cases):
        ours, theirs = make(tt), make(torch)
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), (i, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-7, err_msg=str(i))


def test_one_seeded_generator():
    tt.manual_seed(3)
    first = [tt.randn(2, 3), tt.rand(4), tt.randint(0, 10, (5,)), tt.randperm(6), tt.zeros(3).normal_()]
    tt.manual_seed(3)
    again = [tt.randn(2, 3), tt.rand(4), tt.randint(0, 10, (5,)), tt.randperm(6), tt.zeros(3).normal_()]
    for x, y in zip(first, again):
        assert x.dtype == y.dtype and np.array_equal(x.data, y.data)
    assert first[0].dtype == np.float32 and first[2].dtype == np.int64 and sorted(first[3].tolist()) == list(range(6))
    assert tt.randint(3, (100,)).data.max() < 3 and tt.randint(5, 7, size=(50,)).data.min() >= 5
    assert not np.array_equal(tt.randn(3).data, tt.randn(3).data)
    with pytest.raises(ValueError, match="non-negative int"):
        tt.manual_seed(-1)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: tt.cat([tt.zeros(2, 3), tt.zeros(3, 2)]), ValueError, r"tensor 1 has shape \(3, 2\)"),
    (lambda: tt.cat([]), ValueError, "at least one tensor"),
    (lambda: tt.cat([tt.zeros(2)], dim=1), IndexError, "dim 1 is out of range"),
    (lambda: tt.stack([tt.zeros(2), tt.zeros(3)]), ValueError, r"tensor 1 has shape \(3,\)"),
    (lambda: tt.zeros(2, -1), ValueError, "non-negative"),
    (lambda: tt.zeros(2.5), TypeError, "size must be an int"),
    (lambda: tt.tensor("abc"), TypeError, "needs numbers"),
    (lambda: tt.randint(5, 2, (3,)), ValueError, r"high \(2\) must be greater than low \(5\)"),
    (lambda: tt.arange(0, 5, 0), ValueError, "step must be nonzero"),
    (lambda: tt.dot(tt.ones(2), tt.ones(3)), ValueError, "two 1-D tensors"),
    (lambda: tt.from_numpy([1, 2]), TypeError, "numpy array"),
    (lambda: tt.exp("x"), TypeError, "exp needs a Tensor"),
    (lambda: tt.ones(3, 1).expand(2), ValueError, "1 sizes"),
    (lambda: tt.ones(3, 2).expand(3, 4), ValueError, r"cannot broadcast shape \(3, 2\) to \(3, 4\)"),
    (lambda: tt.ones(3).masked_fill(tt.ones(3), 0.0), TypeError, "boolean mask"),
    (lambda: tt.ones(2, 3).scatter(1, tt.tensor([[3]]), 1.0), IndexError, r"out of range \[0, 3\)"),
    (lambda: tt.ones(2, 3).scatter(1, tt.tensor([[0, 1]]), tt.ones(1, 1)), ValueError, "at least the index's shape"),
    (lambda: tt.ones(2, 3).__setitem__(5, 1.0), IndexError, r"index 5 .*shape \(2, 3\)"),
    (lambda: tt.ones(2, 3).__setitem__(0, tt.ones(4)), ValueError, r"value of shape \(4,\)"),
])
def test_bad_arguments_are_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_namespaces_reexport_the_modules():
    import tinytorch.nn as nn
    import tinytorch.nn.functional as F
    import tinytorch.optim as optim
    import tinytorch.utils.data as data
    from tinytorch.core import activations, layers, losses, optimizers
    from tinytorch.data import loader

    assert nn.Linear is layers.Linear and nn.Softmax is activations.Softmax and nn.MSELoss is losses.MSELoss
    assert F.cross_entropy is losses.cross_entropy and F.softmax is activations.softmax
    assert F.logsigmoid is losses.log_sigmoid
    assert optim.Adam is optimizers.Adam and data.DataLoader is loader.DataLoader and tt.nn is nn
    from tinytorch.core import training

    assert nn.utils.clip_grad_norm_ is training.clip_grad_norm
    every_loss = {n for n in vars(losses) if n.endswith("Loss") and not n.startswith("_")}
    assert every_loss <= set(nn.__all__), every_loss - set(nn.__all__)
    every_functional_loss = {n for n in vars(losses) if n.endswith("_loss") and not n.startswith("_")}
    every_functional_loss.discard("choose_loss")  # module 04's guide to the losses, not a loss
    assert every_functional_loss <= set(F.__all__), every_functional_loss - set(F.__all__)
    p = nn.Parameter(tt.randn(2, 3))
    assert isinstance(p, Tensor) and p.requires_grad and p.shape == (2, 3)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(tt.ones(3))

    net = Net()
    assert net.parameters() == [net.w]
    with pytest.raises(AttributeError, match="has no attribute 'Transformer'"):
        nn.Transformer
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        tt.nonexistent


@pytest.mark.parity
def test_setitem_with_a_mask_and_a_graph_value_matches_torch(torch):
    data = arr(3, 4)
    results = []
    for lib in (tt, torch):
        a = lib.tensor(data, requires_grad=True)
        h = a * 1
        h[h > 0] = 0
        h[:, 0] = a[:, 1] * 2
        (h * h).sum().backward()
        results.append((np.asarray(h.tolist()), np.asarray(a.grad.tolist())))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
