"""PyTorch's top-level functions: factories, ``torch.cat``-style functions, dtypes.

``import tinytorch as torch`` finds these names here (``tinytorch/__init__``
looks them up on first use). Every function composes what the modules
build: the factories wrap numpy arrays in module 01's ``Tensor``, and the
functions call Tensor methods or later modules' ops. Randomness comes from
the one generator in ``tinytorch.random`` (``manual_seed`` reseeds it).
"""

from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from tinytorch import random as _random
from tinytorch.core.tensor import CatBackward, Tensor, where  # noqa: F401  (where is re-exported)
from tinytorch.tensor_api import _size, maximum as _maximum, minimum as _minimum

__all__ = [
    "abs", "allclose", "amax", "amin", "arange", "argmax", "argmin", "argsort", "as_tensor", "bmm", "bool", "cat",
    "chunk", "clamp", "clip", "concat", "concatenate", "dot", "double", "equal", "exp", "eye", "flatten", "float",
    "float32", "float64", "from_numpy", "full", "full_like", "gather", "int", "int32", "int64", "is_tensor",
    "linspace", "log", "log_softmax", "logsumexp", "long", "manual_seed", "masked_fill", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mm", "norm", "numel", "ones", "ones_like", "permute", "pow", "rand",
    "rand_like", "randint", "randn", "randn_like", "randperm", "relu", "reshape", "sigmoid", "softmax",
    "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "sum", "tanh", "tensor", "topk", "transpose",
    "tril", "triu", "unsqueeze", "var",
    "where", "zeros", "zeros_like",
]

# dtypes: numpy's, so that ``t.dtype == torch.float32`` holds
float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)
bool = np.dtype(np.bool_)
manual_seed = _random.manual_seed


def _dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else np.dtype(dtype)


def _new(array: np.ndarray, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """A fresh leaf around ``array`` (converted to ``dtype`` when given)."""
    return Tensor(array, requires_grad=requires_grad, dtype=_dtype(dtype))


# ---- making tensors ---------------------------------------------------------
def tensor(data: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``, its dtype inferred like ``torch.tensor``.

    Python ints give int64, floats float32, bools bool; a numpy array keeps its dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    if dtype is None and not isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"tensor() needs numbers, got {type(data).__name__} {data!r:.60}")
        dtype = {"f": np.float32, "i": np.int64, "u": np.int64, "b": np.bool_}[array.dtype.kind]
        data = array
    return Tensor(np.array(data, dtype=_dtype(dtype)), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    return data if isinstance(data, Tensor) and dtype is None else tensor(data, dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy needs a numpy array, got {type(array).__name__}")
    return Tensor(array)


def is_tensor(value: Any) -> builtins.bool:
    return isinstance(value, Tensor)


def zeros(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.zeros(_size(size), dtype=_dtype(dtype) or np.float32), None, requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.ones(_size(size), dtype=_dtype(dtype) or np.float32), None, requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """``size`` filled with ``fill_value``; the dtype follows the value (int64, float32, bool) unless given."""
    dtype = _dtype(dtype) or tensor(fill_value).dtype
    return _new(np.full(_size((size,)), fill_value, dtype=dtype), None, requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.zeros(t.shape, dtype=_dtype(dtype) or t.dtype), None, requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.ones(t.shape, dtype=_dtype(dtype) or t.dtype), None, requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.full(t.shape, fill_value, dtype=_dtype(dtype) or t.dtype), None, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: builtins.bool = False) -> Tensor:
    """[start, end) in steps of ``step``; int64 when all three are ints, else float32 (PyTorch's rule)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    integral = builtins.all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
    dtype = _dtype(dtype) or (np.int64 if integral else np.float32)
    return _new(np.arange(start, end, step).astype(dtype), None, requires_grad)


def linspace(start: builtins.float, end: builtins.float, steps: builtins.int, dtype: Any = None,
             requires_grad: builtins.bool = False) -> Tensor:
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    return _new(np.linspace(start, end, steps).astype(_dtype(dtype) or np.float32), None, requires_grad)


def eye(n: builtins.int, m: builtins.int | None = None, dtype: Any = None,
        requires_grad: builtins.bool = False) -> Tensor:
    return _new(np.eye(n, m, dtype=_dtype(dtype) or np.float32), None, requires_grad)


# ---- random: the one generator of tinytorch.random ------------------------------
def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    return _random.default_generator if generator is None else generator


def randn(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal draws of shape ``size`` (float32 unless ``dtype``)."""
    draws = _generator(generator).standard_normal(_size(size))
    return _new(draws.astype(_dtype(dtype) or np.float32), None, requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: builtins.bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform draws from [0, 1) of shape ``size``."""
    draws = _generator(generator).random(_size(size))
    return _new(draws.astype(_dtype(dtype) or np.float32), None, requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(*args: Any, size: Sequence[int] | None = None, dtype: Any = None,
            generator: np.random.Generator | None = None) -> Tensor:
    """Integers from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``; int64."""
    if size is None:
        *args, size = args
    if len(args) not in (1, 2):
        raise TypeError("randint takes (high, size) or (low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    draws = _generator(generator).integers(low, high, _size((size,)))
    return Tensor(draws.astype(_dtype(dtype) or np.int64))


def randperm(n: builtins.int, dtype: Any = None, generator: np.random.Generator | None = None) -> Tensor:
    """A random order of 0..n-1 (int64)."""
    return Tensor(_generator(generator).permutation(n).astype(_dtype(dtype) or np.int64))


# ---- functions over tensors -------------------------------------------------------
def _tensor(value: Any, name: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, builtins.int, builtins.float, builtins.bool, list, tuple)):
        return tensor(value)
    raise TypeError(f"{name} needs a Tensor, got {type(value).__name__}")


def cat(tensors: Sequence[Tensor], dim: builtins.int = 0) -> Tensor:
    """The tensors joined along ``dim`` (every other dim must agree); differentiable (module 01's CatBackward)."""
    from tinytorch.core.tensor import _one_dim

    tensors = [_tensor(t, "cat") for t in tensors]
    if not tensors:
        raise ValueError("cat needs at least one tensor")
    first = tensors[0]
    d = _one_dim(dim, first.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:d] + t.shape[d + 1:] != first.shape[:d] + first.shape[d + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {t.shape}, which does not match tensor 0's "
                             f"{first.shape} outside dim {dim}")
    return CatBackward.apply(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: builtins.int = 0) -> Tensor:
    """The tensors (all one shape) along a new dim: ``cat`` of their ``unsqueeze(dim)``."""
    tensors = [_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {tensors[0].shape}")
    return cat([t.unsqueeze(dim) for t in tensors], dim=dim)


def exp(x: Tensor) -> Tensor:
    return _tensor(x, "exp").exp()


def log(x: Tensor) -> Tensor:
    return _tensor(x, "log").log()


def sqrt(x: Tensor) -> Tensor:
    return _tensor(x, "sqrt").sqrt()


def abs(x: Tensor) -> Tensor:
    return _tensor(x, "abs").abs()


def square(x: Tensor) -> Tensor:
    return _tensor(x, "square").square()


def pow(x: Tensor, exponent: Any) -> Tensor:
    return _tensor(x, "pow") ** exponent


def clamp(x: Tensor, min: builtins.float | None = None, max: builtins.float | None = None) -> Tensor:
    return _tensor(x, "clamp").clamp(min, max)


clip = clamp


def sigmoid(x: Tensor) -> Tensor:
    return _tensor(x, "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    return _tensor(x, "tanh").tanh()


def relu(x: Tensor) -> Tensor:
    return _tensor(x, "relu").relu()


def softmax(x: Tensor, dim: builtins.int) -> Tensor:
    return _tensor(x, "softmax").softmax(dim)


def log_softmax(x: Tensor, dim: builtins.int) -> Tensor:
    return _tensor(x, "log_softmax").log_softmax(dim)


def logsumexp(x: Tensor, dim: builtins.int, keepdim: builtins.bool = False) -> Tensor:
    from tinytorch.core.losses import logsumexp as _logsumexp

    return _logsumexp(_tensor(x, "logsumexp"), dim, keepdim)


def sum(x: Tensor, dim: Any = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
    return _tensor(x, "sum").sum(dim, keepdim, **aliases)


def mean(x: Tensor, dim: Any = None, keepdim: builtins.bool = False, **aliases: Any) -> Tensor:
    return _tensor(x, "mean").mean(dim, keepdim, **aliases)


def max(x: Tensor, dim: Any = None, keepdim: builtins.bool = False, **aliases: Any) -> Any:
    """``max(x)``, ``max(x, dim)`` -> (values, indices), or ``max(x, other)`` elementwise."""
    return _tensor(x, "max").max(dim, keepdim, **aliases)


def min(x: Tensor, dim: Any = None, keepdim: builtins.bool = False, **aliases: Any) -> Any:
    return _tensor(x, "min").min(dim, keepdim, **aliases)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return _maximum(_tensor(a, "maximum"), _tensor(b, "maximum"))


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return _minimum(_tensor(a, "minimum"), _tensor(b, "minimum"))


def amax(x: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "amax").amax(dim, keepdim)


def amin(x: Tensor, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "amin").amin(dim, keepdim)


def argmax(x: Tensor, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "argmax").argmax(dim, keepdim)


def argmin(x: Tensor, dim: builtins.int | None = None, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "argmin").argmin(dim, keepdim)


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "norm").norm(p, dim, keepdim)


def var(x: Tensor, dim: Any = None, unbiased: builtins.bool = True, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "var").var(dim, unbiased, keepdim)


def std(x: Tensor, dim: Any = None, unbiased: builtins.bool = True, keepdim: builtins.bool = False) -> Tensor:
    return _tensor(x, "std").std(dim, unbiased, keepdim)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return _tensor(a, "matmul") @ _tensor(b, "matmul")


mm = bmm = matmul


def dot(a: Tensor, b: Tensor) -> Tensor:
    a, b = _tensor(a, "dot"), _tensor(b, "dot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"dot needs two 1-D tensors of one length, got shapes {a.shape} and {b.shape}")
    return a @ b


def reshape(x: Tensor, shape: Sequence[builtins.int]) -> Tensor:
    return _tensor(x, "reshape").reshape(shape)


def flatten(x: Tensor, start_dim: builtins.int = 0, end_dim: builtins.int = -1) -> Tensor:
    return _tensor(x, "flatten").flatten(start_dim, end_dim)


def transpose(x: Tensor, dim0: builtins.int, dim1: builtins.int) -> Tensor:
    return _tensor(x, "transpose").transpose(dim0, dim1)


def permute(x: Tensor, dims: Sequence[builtins.int]) -> Tensor:
    return _tensor(x, "permute").permute(dims)


def unsqueeze(x: Tensor, dim: builtins.int) -> Tensor:
    return _tensor(x, "unsqueeze").unsqueeze(dim)


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    return _tensor(x, "squeeze").squeeze(dim)


def gather(x: Tensor, dim: builtins.int, index: Any) -> Tensor:
    return _tensor(x, "gather").gather(dim, index)


def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    return _tensor(x, "masked_fill").masked_fill(mask, value)


def sort(x: Tensor, dim: builtins.int = -1, descending: builtins.bool = False) -> Any:
    return _tensor(x, "sort").sort(dim, descending)


def argsort(x: Tensor, dim: builtins.int = -1, descending: builtins.bool = False) -> Tensor:
    return _tensor(x, "argsort").argsort(dim, descending)


def topk(x: Tensor, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True) -> Any:
    return _tensor(x, "topk").topk(k, dim, largest)


def split(x: Tensor, split_size: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    return _tensor(x, "split").split(split_size, dim)


def chunk(x: Tensor, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
    return _tensor(x, "chunk").chunk(chunks, dim)


def tril(x: Tensor, diagonal: builtins.int = 0) -> Tensor:
    return _tensor(x, "tril").tril(diagonal)


def triu(x: Tensor, diagonal: builtins.int = 0) -> Tensor:
    return _tensor(x, "triu").triu(diagonal)


def numel(x: Tensor) -> builtins.int:
    return _tensor(x, "numel").numel()


def allclose(a: Any, b: Any, rtol: builtins.float = 1e-5, atol: builtins.float = 1e-8,
             equal_nan: builtins.bool = False) -> builtins.bool:
    return builtins.bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(a: Tensor, b: Tensor) -> builtins.bool:
    return a.shape == b.shape and builtins.bool(np.array_equal(np.asarray(a), np.asarray(b)))
