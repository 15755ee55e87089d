# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 08 -- Data loading
#
# Training sees the data in mini-batches, in a fresh random order every
# epoch. Two small abstractions do this in PyTorch and here:
#
# * a `Dataset` answers `len(ds)` and `ds[i]` (one example);
# * a `DataLoader` turns a dataset into an iterable of batches: it shuffles
#   indices, cuts them into groups of `batch_size`, and stacks the examples.
#
# | task | what | graded |
# |------|------|--------|
# | 8.1 | `TensorDataset`: arrays of equal length, indexed together | 2 pts |
# | 8.2 | `DataLoader.__iter__`: a seeded shuffle, batches, `drop_last` | 4 pts |

# %%
#| export
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from tinytorch.core.tensor import Tensor, _describe, _is_int, as_array

# %% [markdown]
# ## 1. Datasets
#
# `TensorDataset(X, y)` pairs arrays along their first axis. Indexing it
# with a single index gives one example; indexing with an *array* of indices
# gives a whole batch in one numpy operation -- the fast path the loader
# uses, so a batch costs one copy of the rows it contains and nothing more.

# %% nbgrader={"grade": false, "grade_id": "tensor_dataset", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class Dataset:
    """Anything with ``__len__`` and ``__getitem__(i)`` returning one example (a tuple of arrays)."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def _numeric(array: Any, position: int) -> np.ndarray:
    """A numpy array of numbers (kept as it is), or a TypeError naming the argument: strings or Python
    objects would only fail later, inside a batch, far from the mistake."""
    if isinstance(array, np.ndarray) and array.dtype.kind in "fiub":
        return array
    try:
        return as_array(array)
    except TypeError as error:
        raise TypeError(f"TensorDataset: array {position} must hold numbers; {error}") from None


class TensorDataset(Dataset):
    """Examples are rows of several arrays of equal length: ds[i] = (a[i], b[i], ...)."""

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        # TODO (task 8.1): keep plain numpy arrays (a Tensor gives its .data,
        # without copying); every array must have the same first dimension,
        # else a ValueError naming all the lengths.
        ### BEGIN SOLUTION
        self.arrays = [a.data if isinstance(a, Tensor) else _numeric(a, i) for i, a in enumerate(arrays)]
        lengths = [len(a) if a.ndim else 0 for a in self.arrays]
        if len(set(lengths)) != 1 or lengths[0] == 0:
            raise ValueError(f"TensorDataset: arrays must be non-empty and of equal length, got lengths {lengths}")
        ### END SOLUTION

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)


# %% nbgrader={"grade": true, "grade_id": "test_tensor_dataset", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_ds = TensorDataset(np.arange(10).reshape(5, 2), np.arange(5))
assert len(_ds) == 5
_xi, _yi = _ds[3]
assert np.array_equal(_xi, [6, 7]) and _yi == 3
### BEGIN HIDDEN TESTS
try:
    TensorDataset(np.zeros((5, 2)), np.zeros(4))
except ValueError as error:
    assert "[5, 4]" in str(error)
else:
    raise AssertionError("unequal lengths must raise")
_t = Tensor(np.ones((3, 2), dtype=np.float32))
assert TensorDataset(_t).arrays[0] is _t.data
### END HIDDEN TESTS

# %% [markdown]
# ## 2. The loader
#
# Determinism matters for teaching and for debugging: with a `seed`, the
# order of epoch `e` is a fixed function of `(seed, e)`. The trainer calls
# `set_epoch(e)` before each epoch, so a run resumed from a checkpoint at
# epoch 5 sees exactly the batches the uninterrupted run would have seen.
#
# Worked example: 10 examples, `batch_size=4`: batches of 4, 4, 2 (or 4, 4
# with `drop_last=True`, which keeps every batch the same size).

# %% nbgrader={"grade": false, "grade_id": "dataloader", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _stack(examples: list[Any], indices: Any = None) -> tuple[np.ndarray, ...]:
    """Collate a list of examples (tuples of arrays or numbers) into a tuple of batch arrays.

    Examples must agree: the same number of fields, and each field the same
    shape in every example; the error names the dataset indices that differ.
    """
    indices = list(range(len(examples))) if indices is None else [int(i) for i in indices]
    if not isinstance(examples[0], tuple):
        examples = [(e,) for e in examples]
    for i, example in zip(indices, examples):
        if not isinstance(example, tuple) or len(example) != len(examples[0]):
            raise ValueError(f"DataLoader: example {i} is {_describe(example)}, but example {indices[0]} has "
                             f"{len(examples[0])} fields; every example must have the same fields")
    batch = []
    for k in range(len(examples[0])):
        fields = [_field(e[k], i, k) for i, e in zip(indices, examples)]
        for i, field in zip(indices, fields):
            if field.shape != fields[0].shape:
                raise ValueError(f"DataLoader: field {k} of example {i} has shape {field.shape}, but example "
                                 f"{indices[0]} has {fields[0].shape}; a batch needs equal shapes")
        batch.append(np.stack(fields))
    return tuple(batch)


def _field(value: Any, index: int, k: int) -> np.ndarray:
    """One field of one example as an array of numbers (numpy infers the dtype: int labels stay int)."""
    try:
        field = np.asarray(value)
    except ValueError as error:  # a ragged nested list
        raise ValueError(f"DataLoader: field {k} of example {index} is ragged: {error}") from None
    if field.dtype.kind not in "fiub":
        raise TypeError(f"DataLoader: field {k} of example {index} is {_describe(value)}; expected numbers")
    return field


class DataLoader:
    """Batches of a dataset as tuples of Tensors; seeded shuffling, per-epoch order via set_epoch."""

    def __init__(self, dataset: Dataset, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (a Dataset), "
                            f"got {_describe(dataset)}")
        if not (_is_int(batch_size) and batch_size > 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if seed is not None and not (_is_int(seed) and seed >= 0):
            raise ValueError(f"DataLoader: seed must be a non-negative int or None, got {_describe(seed)}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, int(batch_size), shuffle, drop_last
        self.seed = seed
        self.epoch = 0
        self._fresh = np.random.default_rng(seed) if seed is None else None

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle of epoch ``epoch`` (a seeded loader gives the same order for the same epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self._fresh if self.seed is None else np.random.default_rng([self.seed, self.epoch])
        return rng.permutation(n)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        order = self._order()
        fast = isinstance(self.dataset, TensorDataset)
        # TODO (task 8.2): for each slice of `order` of length batch_size
        # (skipping a short last one if drop_last), get the batch -- one
        # dataset[indices] call for a TensorDataset, else _stack of the
        # examples -- and yield it as a tuple of Tensors (Tensor._wrap: no copy).
        ### BEGIN SOLUTION
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            batch = self.dataset[indices] if fast else _stack([self.dataset[int(i)] for i in indices], indices)
            yield tuple(Tensor._wrap(np.asarray(part)) for part in batch)
        ### END SOLUTION
        self.epoch += 1  # an unseeded loop over epochs still gets a new order each time


# %% nbgrader={"grade": true, "grade_id": "test_dataloader", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
_ds = TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
assert [len(b[0]) for b in DataLoader(_ds, batch_size=4)] == [4, 4, 2]
assert [len(b[0]) for b in DataLoader(_ds, batch_size=4, drop_last=True)] == [4, 4]
_first = np.concatenate([b[1].data for b in DataLoader(_ds, batch_size=3, shuffle=True, seed=0)])
assert sorted(_first) == list(range(10)) and list(_first) != list(range(10))
### BEGIN HIDDEN TESTS
_loader = DataLoader(_ds, batch_size=3, shuffle=True, seed=0)
_again = np.concatenate([b[1].data for b in _loader])
assert np.array_equal(_first, _again)
_loader.set_epoch(1)
assert not np.array_equal(np.concatenate([b[1].data for b in _loader]), _first)
assert isinstance(next(iter(_loader))[0], Tensor)
try:
    DataLoader(_ds, batch_size=0)
except ValueError:
    pass
else:
    raise AssertionError("batch_size 0 must raise")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Any dataset works
#
# A dataset that computes examples on the fly goes through the slow path:
# one `__getitem__` per example, then `_stack`.

# %%
class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.array([float(i)]), i * i


for _x, _y in DataLoader(Squares(), batch_size=2):
    print(_x.shape, _y.data)

# %% [markdown]
# ## Systems view
#
# A batch of `TensorDataset` rows costs one gather (`a[indices]`) per array:
# `batch_size x row size` bytes, and nothing else is copied -- the full
# dataset stays where it is, and the yielded Tensors wrap the gathered
# arrays without another copy. Shuffling costs one permutation of `n`
# integers per epoch.
