"""Probes of module 08's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np

from tito_cli.probing import raised


def tensor_dataset_items(nb):
    ds = nb.TensorDataset(np.arange(10).reshape(5, 2), np.arange(5) * 10)
    x, y = ds[3]
    t = nb.Tensor(np.ones((3, 2), dtype=np.float32))
    try:
        nb.TensorDataset(np.zeros((5, 2)), np.zeros(4))
        unequal, names_lengths = "no exception", False
    except ValueError as error:
        unequal, names_lengths = "ValueError", "[5, 4]" in str(error)
    return {"len": len(ds), "x": x, "y": y, "last": ds[4][0], "unequal": unequal, "names_lengths": names_lengths,
            "keeps_tensor_data": nb.TensorDataset(t).arrays[0] is t.data}


def dataloader_batches(nb):
    ds = nb.TensorDataset(np.arange(10, dtype=np.float32) * 0.5, np.arange(10))
    sizes = [len(b[0]) for b in nb.DataLoader(ds, batch_size=4)]
    dropped = [len(b[0]) for b in nb.DataLoader(ds, batch_size=4, drop_last=True)]
    ordered = np.concatenate([b[0].data for b in nb.DataLoader(ds, batch_size=3)])
    return {"sizes": sizes, "dropped": dropped, "ordered": ordered,
            "zero_batch": raised(nb.DataLoader, ds, batch_size=0),
            "batch_is_tensor": type(next(iter(nb.DataLoader(ds, batch_size=2)))[0]).__name__}


def dataloader_shuffle(nb):
    ds = nb.TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
    first = np.concatenate([b[1].data for b in nb.DataLoader(ds, batch_size=3, shuffle=True, seed=0)])
    loader = nb.DataLoader(ds, batch_size=3, shuffle=True, seed=0)
    again = np.concatenate([b[1].data for b in loader])
    loader.set_epoch(1)
    epoch1 = np.concatenate([b[1].data for b in loader])
    return {"is_permutation": sorted(first.tolist()) == list(range(10)), "shuffled": first.tolist() != list(range(10)),
            "repeatable": np.array_equal(first, again), "epoch_differs": not np.array_equal(epoch1, first),
            "epoch1_is_permutation": sorted(epoch1.tolist()) == list(range(10))}


PROBES = {
    "test_tensor_dataset": [tensor_dataset_items],
    "test_dataloader": [dataloader_batches, dataloader_shuffle],
}
