"""Module 08: datasets and the loader -- batching, determinism, no extra copies, bad input."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor
from tinytorch.data.loader import DataLoader, Dataset, TensorDataset


@pytest.mark.task_8_1
def test_tensor_dataset_keeps_arrays_without_copying():
    x = np.arange(20.0).reshape(10, 2)
    t = Tensor(np.arange(10.0))
    ds = TensorDataset(x, t)
    assert ds.arrays[0] is x and ds.arrays[1] is t.data
    assert len(ds) == 10 and np.array_equal(ds[4][0], [8.0, 9.0])


@pytest.mark.task_8_2
def test_batches_cover_the_data_once_per_epoch():
    ds = TensorDataset(np.arange(10.0), np.arange(10))
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=3)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate([b[1].data for b in batches]).tolist()) == list(range(10))
    assert all(isinstance(part, Tensor) for b in batches for part in b)
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2


@pytest.mark.task_8_2
def test_seeded_shuffle_is_a_function_of_seed_and_epoch():
    ds = TensorDataset(np.arange(50))

    def order(seed, epoch):
        loader = DataLoader(ds, batch_size=7, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return np.concatenate([b[0].data for b in loader])

    assert np.array_equal(order(1, 0), order(1, 0))
    assert np.array_equal(order(1, 5), order(1, 5))
    assert not np.array_equal(order(1, 0), order(1, 1))
    assert not np.array_equal(order(1, 0), order(2, 0))
    assert np.array_equal(np.concatenate([b[0].data for b in DataLoader(ds, batch_size=7)]), np.arange(50))


def test_a_batch_costs_one_batch_of_memory():
    x = np.zeros((20000, 256), dtype=np.float32)  # 20 MB
    loader = DataLoader(TensorDataset(x), batch_size=64, shuffle=True, seed=0)
    batch_bytes = 64 * 256 * 4
    tracemalloc.start()
    iterator = iter(loader)
    next(iterator)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the permutation (20000 int64 = 160 KB) plus one batch (64 KB); never a copy of the data set
    assert peak < 20000 * 8 + 3 * batch_bytes, peak


def test_generic_datasets_are_stacked():
    class Pairs(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(3, i, dtype=np.float32), i

    x, y = next(iter(DataLoader(Pairs(), batch_size=4)))
    assert x.shape == (4, 3) and np.array_equal(y.data, [0, 1, 2, 3])


def test_bad_loader_arguments():
    ds = TensorDataset(np.arange(4))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(ValueError, match=r"equal length, got lengths \[4, 3\]"):
        TensorDataset(np.arange(4), np.arange(3))
    with pytest.raises(NotImplementedError, match="must define __len__"):
        len(Dataset())
