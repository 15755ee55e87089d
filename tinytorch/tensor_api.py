"""PyTorch's Tensor methods that are built from module 01's primitives.

``Tensor`` (module 01, ``tinytorch.core.tensor``) inherits this class, so
``x.view(2, 3)``, ``x.unsqueeze(0)``, ``x += y`` or ``x.float()`` work as in
PyTorch. Nothing here carries a gradient rule: every method is a line or
two over the primitives module 01 teaches (``reshape``, ``permute``, ``where``,
``clip``, the cast and set-item rules, ...), so gradients follow from theirs. The file is
written by hand, not generated, to keep the module 01 notebook about the
primitives themselves.

Module 01 imports this file first, so the methods import what they use of
module 01 (its dim checks, the front doors ``gather``/``scatter``/
``expand``/``to`` to its rules) and of later modules (``sigmoid``, ``tanh``,
``relu``, the softmaxes) when they are called, as ``Tensor.backward`` does
module 05. Every other method works through ``self`` alone.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from tinytorch import random as _random


def _array(value: Any) -> np.ndarray:
    """The array behind a tensor, or ``value`` as an array (masks, indices)."""
    return value.data if isinstance(value, TensorAPI) else np.asarray(value)


class TensorAPI:
    """PyTorch's convenience methods of ``Tensor`` (see the module docstring)."""

    __slots__ = ()

    # ---- sizes ------------------------------------------------------------------
    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (PyTorch's ``size()`` is a method), or the length of one dim."""
        from tinytorch.core.tensor import _one_dim

        if dim is None:
            return self.data.shape
        if self.data.ndim == 0:
            raise IndexError(f"size({dim}) of a 0-d tensor: it has no dimensions")
        return self.data.shape[_one_dim(dim, self.data.ndim)]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        """The number of dimensions (same as ``ndim``)."""
        return self.data.ndim

    # ---- front doors of module 01's gather and scatter rules -----------------------
    def gather(self, dim: int, index: Any) -> Any:
        """``out[i][j] = self[i][index[i][j]]`` for ``dim=1`` (torch.gather); differentiable in self."""
        from tinytorch.core.tensor import GatherBackward, _one_dim

        return GatherBackward.apply(self, index=_array(index), dim=_one_dim(dim, self.ndim))

    def scatter(self, dim: int, index: Any, src: Any) -> Any:
        """A copy with ``out[i][index[i][j]] = src[i][j]`` for ``dim=1`` (torch.scatter): module 01's
        SetItemBackward at the places ``index`` names, so its rule is the gradient."""
        from tinytorch.core.tensor import SetItemBackward, _one_dim

        index = _array(index)
        where = along(index, self.shape, _one_dim(dim, self.ndim), "scatter")
        src = self._operand(src)
        if src.ndim:  # PyTorch reads only the first index.shape entries of src
            if src.ndim != index.ndim or any(n > m for n, m in zip(index.shape, src.shape)):
                raise ValueError(f"scatter: src of shape {src.shape} must have at least the index's shape "
                                 f"{index.shape}")
            src = src[tuple(slice(0, n) for n in index.shape)]
        return SetItemBackward.apply(self, src, index=where)

    # ---- shapes: every one is a reshape, an expand or a permute ----------------
    def view(self, *shape: int | Sequence[int]) -> Any:
        """PyTorch's name for a reshape that shares memory (numpy shares it whenever it can)."""
        return self.reshape(*shape)

    def view_as(self, other: Any) -> Any:
        return self.reshape(other.shape)

    def reshape_as(self, other: Any) -> Any:
        return self.reshape(other.shape)

    def expand_as(self, other: Any) -> Any:
        return self.expand(other.shape)

    def unsqueeze(self, dim: int) -> Any:
        """A new dimension of size 1 at ``dim``, in [-ndim - 1, ndim]."""
        from tinytorch.core.tensor import _one_dim

        d = _one_dim(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Any:
        """Drop dimensions of size 1: all of them, or those in ``dim`` that have size 1."""
        from tinytorch.core.tensor import _normalize_axes

        dims = _normalize_axes(dim, self.ndim)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Any:
        """Merge dims ``start_dim..end_dim`` (inclusive) into one."""
        from tinytorch.core.tensor import _one_dim

        start, end = _one_dim(start_dim, self.ndim), _one_dim(end_dim, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {self.shape})")
        merged = int(np.prod(self.shape[start:end + 1]))
        return self.reshape(self.shape[:start] + (merged,) + self.shape[end + 1:])

    def transpose(self, dim0: int, dim1: int) -> Any:
        """Swap two dimensions (a permute, which reorders all of them)."""
        from tinytorch.core.tensor import _one_dim

        order = list(range(max(self.ndim, 1)))
        a, b = _one_dim(dim0, self.ndim), _one_dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return self.permute(order[:self.ndim])

    def where(self, condition: Any, other: Any) -> Any:
        """``self`` where ``condition`` holds, else ``other`` (torch.Tensor.where; module 01's ``where``)."""
        from tinytorch.core.tensor import where

        return where(condition, self, self._operand(other))

    def expand(self, *sizes: int | Sequence[int]) -> Any:
        """A broadcast view of ``sizes`` (-1 keeps a size; new dims go in front), module 01's ExpandBackward."""
        from tinytorch.core.tensor import ExpandBackward

        sizes = _size(sizes, allow=-1)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor with {self.ndim} dims")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return ExpandBackward.apply(self, shape=shape)

    def contiguous(self) -> Any:
        return self  # numpy handles strides; nothing to do

    def clone(self) -> Any:
        """A copy that stays in the graph (gradient flows back unchanged)."""
        return self.where(True, self)

    # ---- dtypes and devices ---------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, **kwargs: Any) -> Any:
        """This tensor in ``dtype``, module 01's CastBackward; ``to("cpu")`` and ``to(other)`` work too."""
        from tinytorch.core.tensor import CastBackward

        for arg in args:  # to(dtype), to("cpu"), to(other_tensor), to("cpu", dtype)
            if isinstance(arg, TensorAPI):
                dtype = arg.dtype
            elif arg is not None and not str(arg).startswith("cpu"):
                dtype = arg
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self
        return CastBackward.apply(self, dtype=np.dtype(dtype))

    def float(self) -> Any:
        return self.to(np.float32)

    def double(self) -> Any:
        return self.to(np.float64)

    def long(self) -> Any:
        return self.to(np.int64)

    def int(self) -> Any:
        return self.to(np.int32)

    def bool(self) -> Any:
        return self.to(np.bool_)

    def type_as(self, other: Any) -> Any:
        return self.to(other.dtype)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def cpu(self) -> Any:
        return self

    @property
    def device(self) -> str:
        return "cpu"

    def new_zeros(self, *size: Any) -> Any:
        return self._wrap(np.zeros(_size(size), dtype=self.dtype))

    def new_ones(self, *size: Any) -> Any:
        return self._wrap(np.ones(_size(size), dtype=self.dtype))

    # ---- min, argmax: the counterparts of module 01's max --------------------------
    def min(self, dim: Any = None, keepdim: bool = False, *,
            axis: int | None = None, keepdims: bool | None = None) -> Any:
        """``min()``: the smallest element; ``min(dim)``: ``(values, indices)``; ``min(other)``: elementwise."""
        from tinytorch.core.tensor import _dim_args

        if isinstance(dim, TensorAPI):
            return minimum(self, dim)
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return -((-self).max())
        return extreme(self, dim, keepdim, largest=False)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Any:
        return -((-self).amax(dim, keepdim))

    def argmax(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Any:
        """Index (int64) of the largest element along ``dim``, or in the flattened tensor without one."""
        return arg_extreme(self, dim if axis is None else axis, keepdim, largest=True)

    def argmin(self, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Any:
        return arg_extreme(self, dim if axis is None else axis, keepdim, largest=False)

    # ---- order, pieces and repeats: a gather, slices, an expand ---------------------
    def argsort(self, dim: int = -1, descending: bool = False) -> Any:
        """The indices (int64) that sort along ``dim``; ties keep their order (a stable sort)."""
        from tinytorch.core.tensor import _one_dim

        d = _one_dim(dim, self.ndim)
        order = np.argsort(-self.data if descending else self.data, axis=d if self.ndim else None, kind="stable")
        return self._wrap(order.astype(np.int64).reshape(self.shape))

    def sort(self, dim: int = -1, descending: bool = False) -> ValuesIndices:
        """``(values, indices)`` sorted along ``dim``; the values are a gather, so the gradient follows."""
        indices = self.argsort(dim, descending)
        return ValuesIndices(self.gather(dim, indices) if self.ndim else self.clone(), indices)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
        """The ``k`` largest (or smallest) entries along ``dim`` as ``(values, indices)``."""
        from tinytorch.core.tensor import _one_dim

        d = _one_dim(dim, self.ndim)
        if not 0 <= _int(k, "k") <= (self.shape[d] if self.ndim else 1):
            raise ValueError(f"topk: k={k} is out of range for dim {dim} of shape {self.shape}")
        indices = self.argsort(dim, descending=largest)[(slice(None),) * d + (slice(0, k),)]
        return ValuesIndices(self.gather(d, indices), indices)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Any, ...]:
        """Pieces along ``dim`` of ``split_size`` each (the last may be shorter), or of the listed sizes."""
        from tinytorch.core.tensor import _one_dim

        d = _one_dim(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size, (tuple, list)):
            sizes = [_int(size, "split_size") for size in split_size]
            if sum(sizes) != n:
                raise ValueError(f"split sizes {sizes} add up to {sum(sizes)}, not dim {dim}'s length {n}")
        else:
            if _int(split_size, "split_size") <= 0:
                raise ValueError(f"split_size must be positive, got {split_size}")
            sizes = [min(split_size, n - start) for start in range(0, n, split_size)]
        starts = np.cumsum([0] + sizes[:-1])
        return tuple(self[(slice(None),) * d + (slice(int(a), int(a) + b),)] for a, b in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Any, ...]:
        """``chunks`` pieces along ``dim`` (PyTorch's sizes: ceil(n / chunks) each, the last shorter)."""
        from tinytorch.core.tensor import _one_dim

        if _int(chunks, "chunks") <= 0:
            raise ValueError(f"chunk needs a positive number of chunks, got {chunks}")
        return self.split(max(-(-self.shape[_one_dim(dim, self.ndim)] // chunks), 1), dim)

    def repeat(self, *sizes: int | Sequence[int]) -> Any:
        """Tile ``sizes[i]`` times along dim i (new leading dims when more sizes than dims): an expand
        over interleaved axes of size 1, then a reshape."""
        sizes = _size(sizes)
        if len(sizes) < self.ndim:
            raise ValueError(f"repeat needs at least {self.ndim} sizes for shape {self.shape}, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spread = self.reshape(tuple(x for n in shape for x in (1, n)))
        tiled = spread.expand(tuple(x for r, n in zip(sizes, shape) for x in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def tril(self, diagonal: int = 0) -> Any:
        """Zero above the ``diagonal`` of the last two dims (a ``where``)."""
        rows, cols = self.shape[-2:]
        return self.where(np.tri(rows, cols, diagonal, dtype=bool), 0)

    def triu(self, diagonal: int = 0) -> Any:
        """Zero below the ``diagonal`` of the last two dims (a ``where``)."""
        rows, cols = self.shape[-2:]
        return self.where(~np.tri(rows, cols, diagonal - 1, dtype=bool), 0)

    # ---- tests and signs: no gradient ---------------------------------------------
    def all(self, dim: int | None = None) -> Any:
        return self._wrap(np.asarray(self.data.all(axis=dim)))

    def any(self, dim: int | None = None) -> Any:
        return self._wrap(np.asarray(self.data.any(axis=dim)))

    def sign(self) -> Any:
        return self._wrap(np.sign(self.data))

    # ---- elementwise and reductions composed from primitives --------------------
    def add(self, other: Any) -> Any:
        return self + other

    def sub(self, other: Any) -> Any:
        return self - other

    def mul(self, other: Any) -> Any:
        return self * other

    def div(self, other: Any) -> Any:
        return self / other

    def pow(self, exponent: Any) -> Any:
        return self ** exponent

    def matmul(self, other: Any) -> Any:
        return self @ other

    def square(self) -> Any:
        return self * self

    def clamp(self, min: float | None = None, max: float | None = None) -> Any:
        """PyTorch's name for ``clip``: min(max(x, min), max)."""
        return self.clip(min, max)

    def masked_fill(self, mask: Any, value: Any) -> Any:
        """``value`` where ``mask`` is True, else this tensor (a ``where``)."""
        mask = _array(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill needs a boolean mask, got dtype {mask.dtype}")
        return self.where(~mask, value)

    def norm(self, p: float | str = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Any:
        """The p-norm over ``dim`` (all elements by default): (sum |x|^p)^(1/p); 'fro' is p = 2."""
        if p in (2, "fro"):
            return (self * self).sum(dim, keepdim).sqrt()
        if p == 1:
            return self.abs().sum(dim, keepdim)
        if p == float("inf"):
            return self.abs().amax(dim, keepdim)
        return (self.abs() ** p).sum(dim, keepdim) ** (1.0 / p)

    def var(self, dim: int | Sequence[int] | None = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None) -> Any:
        """sum((x - mean)^2) / (n - correction) over ``dim``; correction 1 (unbiased) by default."""
        correction = (1 if unbiased else 0) if correction is None else correction
        squares = ((self - self.mean(dim, keepdim=True)) ** 2).sum(dim, keepdim)
        count = self.numel() // max(squares.numel(), 1)
        return squares * (1.0 / (count - correction) if count > correction else float("nan"))

    def std(self, dim: int | Sequence[int] | None = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None) -> Any:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    # ---- module 02/04 activations as methods (imported when called) --------------
    def relu(self) -> Any:
        from tinytorch.core.activations import relu

        return relu(self)

    def sigmoid(self) -> Any:
        from tinytorch.core.activations import sigmoid

        return sigmoid(self)

    def tanh(self) -> Any:
        from tinytorch.core.activations import tanh

        return tanh(self)

    def softmax(self, dim: int) -> Any:
        from tinytorch.core.activations import softmax

        return softmax(self, dim)

    def log_softmax(self, dim: int) -> Any:
        from tinytorch.core.losses import log_softmax

        return log_softmax(self, dim)

    # ---- in place: each is an op whose result ``_inplace`` writes back --------
    def _inplace(self, result: Any) -> Any:
        """Make this tensor hold ``result``, an op's output of the same shape (every in-place method).

        A leaf that requires grad cannot change while gradients are recorded
        (PyTorch's rule). In a graph, this tensor becomes the op's output and
        the node keeps the tensor as it was (``replaced``, read by module
        01's ``Function.check_versions``); otherwise the numbers are written
        into its array. Either way its version goes up.
        """
        from tinytorch.core.tensor import is_grad_enabled

        if is_grad_enabled() and self.requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if result.shape != self.shape:
            raise ValueError(f"in-place result of shape {result.shape} does not fit the tensor's shape {self.shape}")
        if result.dtype != self.dtype:
            if not np.can_cast(result.dtype, self.dtype, casting="same_kind"):
                raise TypeError(f"in-place result of dtype {result.dtype} can't be cast to the tensor's dtype "
                                f"{self.dtype}")
            result = result.to(self.dtype)
        if result.grad_fn is not None:  # this tensor becomes the op's output; the old array stays intact
            before = self._wrap(self.data, self.grad_fn)
            before.requires_grad, before._version = self.requires_grad, self._version
            result.grad_fn.replaced = before
            self.data, self.grad_fn, self.requires_grad = result.data, result.grad_fn, True
        else:
            if not self.data.flags.writeable:  # e.g. the view expand made
                self.data = self.data.copy()
            np.copyto(self.data, result.data)  # arrays sharing this memory see the change, as in PyTorch
        self._version += 1
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        """``x[index] = value``: module 01's SetItemBackward, written back in place."""
        from tinytorch.core.tensor import SetItemBackward, _plain_index

        self._inplace(SetItemBackward.apply(self, self._operand(value), index=_plain_index(index)))

    def __iadd__(self, other: Any) -> Any:
        return self._inplace(self + other)

    def __isub__(self, other: Any) -> Any:
        return self._inplace(self - other)

    def __imul__(self, other: Any) -> Any:
        return self._inplace(self * other)

    def __itruediv__(self, other: Any) -> Any:
        return self._inplace(self / other)

    def add_(self, other: Any, *, alpha: float = 1) -> Any:
        return self._inplace(self + other * alpha if alpha != 1 else self + other)

    def sub_(self, other: Any, *, alpha: float = 1) -> Any:
        return self._inplace(self - other * alpha if alpha != 1 else self - other)

    def mul_(self, other: Any) -> Any:
        return self._inplace(self * other)

    def div_(self, other: Any) -> Any:
        return self._inplace(self / other)

    def copy_(self, src: Any) -> Any:
        """Write ``src`` (broadcast to this shape) into this tensor; the gradient flows to src."""
        return self._inplace(self.where(False, src))

    def fill_(self, value: Any) -> Any:
        return self.copy_(value)

    def zero_(self) -> Any:
        return self.copy_(0)

    def clamp_(self, min: float | None = None, max: float | None = None) -> Any:
        return self._inplace(self.clamp(min, max))

    def masked_fill_(self, mask: Any, value: Any) -> Any:
        return self._inplace(self.masked_fill(mask, value))

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Any:
        if (src is None) == (value is None):
            raise TypeError("scatter_ needs exactly one of src and value")
        return self._inplace(self.scatter(dim, index, value if src is None else src))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: np.random.Generator | None = None) -> Any:
        """Fill with N(mean, std^2) draws from ``generator`` (default: the one ``manual_seed`` sets)."""
        draws = (generator or _random.default_generator).normal(mean, std, self.shape)
        return self.copy_(self._wrap(draws.astype(self.dtype)))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: np.random.Generator | None = None) -> Any:
        """Fill with U(a, b) draws from ``generator`` (default: the one ``manual_seed`` sets)."""
        draws = (generator or _random.default_generator).uniform(a, b, self.shape)
        return self.copy_(self._wrap(draws.astype(self.dtype)))

    # ---- Python and numpy protocols ----------------------------------------
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The numbers for numpy (``np.allclose(t, ...)``, ``np.asarray(t)``)."""
        return self.data if dtype is None else self.data.astype(dtype)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the number of a 0-d tensor; other tensors take no format spec."""
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a tensor of shape {self.shape}; "
                            "only 0-d tensors take one (use .item())")
        return str(self)

    def __index__(self) -> int:
        """A 0-d integer tensor used as an index (``range(t)``, ``lst[t]``)."""
        if self.ndim != 0 or self.dtype.kind not in "iub":
            raise TypeError(f"only 0-d integer tensors can be used as an index, got dtype {self.dtype} "
                            f"and shape {self.shape}")
        return int(self.data)

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __abs__(self) -> Any:
        return self.abs()

    def __invert__(self) -> Any:
        return self._wrap(~_logical(self, "~"))

    def __and__(self, other: Any) -> Any:
        return self._wrap(_logical(self, "&") & _logical(other, "&"))

    def __or__(self, other: Any) -> Any:
        return self._wrap(_logical(self, "|") | _logical(other, "|"))

    def __xor__(self, other: Any) -> Any:
        return self._wrap(_logical(self, "^") ^ _logical(other, "^"))

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__


def along(index: np.ndarray, shape: tuple[int, ...], dim: int, name: str) -> tuple:
    """The numpy index of the elements that ``index[i][j]`` names along ``dim`` (gather, scatter).

    PyTorch's rules: an integer index with as many dims as the input, no
    larger outside ``dim``, its values in ``[0, shape[dim])``.
    """
    if index.ndim != len(shape) or index.dtype.kind not in "iu":
        raise ValueError(f"{name} needs an integer index with {len(shape)} dimensions like the input, "
                         f"got dtype {index.dtype} and shape {index.shape}")
    if any(n > m for d, (n, m) in enumerate(zip(index.shape, shape)) if d != dim):
        raise ValueError(f"{name} index of shape {index.shape} is larger than the input {shape} outside dim {dim}")
    if index.size and not (0 <= index.min() and index.max() < shape[dim]):
        raise IndexError(f"{name} index out of range [0, {shape[dim]}) along dim {dim}: "
                         f"min {index.min()}, max {index.max()}")
    where = list(np.indices(index.shape, sparse=True))
    where[dim] = index
    return tuple(where)


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as PyTorch's ``torch.return_types.max`` does."""

    values: Any
    indices: Any


def arg_extreme(t: Any, dim: int | None, keepdim: bool, largest: bool) -> Any:
    """argmax/argmin: the first NaN, else the first of tied extremes (PyTorch's choice); int64."""
    from tinytorch.core.tensor import _one_dim

    data = t.data.reshape(-1) if dim is None else t.data
    d = 0 if dim is None else _one_dim(dim, t.ndim)
    if data.ndim == 0:
        return t._wrap(np.zeros((), dtype=np.int64))
    if data.shape[d] == 0:
        raise ValueError(f"{'argmax' if largest else 'argmin'} over an empty dim (shape {t.shape}, dim {dim})")
    index = (data.argmax if largest else data.argmin)(axis=d, keepdims=keepdim and dim is not None)
    return t._wrap(np.asarray(index, dtype=np.int64))


def extreme(t: Any, dim: Any, keepdim: bool, largest: bool) -> ValuesIndices:
    """(values, indices) of the max (or min) along one dim; the gradient goes to the index (a gather)."""
    index = arg_extreme(t, dim, True, largest)
    if t.ndim == 0:
        return ValuesIndices(t.reshape(()), index)
    values = t.gather(dim, index)
    if not keepdim:
        values, index = values.squeeze(dim), index.squeeze(dim)
    return ValuesIndices(values, index)


def maximum(a: Any, b: Any) -> Any:
    """Elementwise maximum of two tensors; a tie splits the gradient in half and NaN wins (torch.maximum)."""
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return a._wrap(np.maximum(a.data, b.data))
    return a.where(a > b, b.where(a < b, (a + b) * 0.5))


def minimum(a: Any, b: Any) -> Any:
    """Elementwise minimum of two tensors (see ``maximum``)."""
    return -maximum(-a, -b)


def _logical(value: Any, op: str) -> np.ndarray:
    """A boolean or integer array for a bitwise operator; floats are refused, as in PyTorch."""
    array = _array(value)
    if array.dtype.kind not in "iub":
        raise TypeError(f"{op} needs boolean or integer tensors, got dtype {array.dtype}")
    return array


def _int(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    return int(value)


def _size(size: tuple, allow: int = 0) -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` -> (2, 3), every entry an int >= ``allow`` (-1 for expand)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if _int(n, "size") < allow:
            raise ValueError(f"sizes must be non-negative, got {tuple(size)}")
    return tuple(int(n) for n in size)
