"""Every way a checkpoint can be bad gives one clear error naming the file, and loads nothing."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CheckpointError, Trainer


def _trainer(sizes=(4, 8, 3), optimizer=Adam, dropout=True):
    layers = [Linear(sizes[0], sizes[1], rng=1), ReLU()] + ([Dropout(0.2, rng=5)] if dropout else [])
    model = Sequential(*layers, Linear(sizes[1], sizes[2], rng=2))
    opt = optimizer(model.parameters(), lr=0.01) if optimizer is SGD else optimizer(model.parameters())
    return Trainer(model, CrossEntropyLoss(), opt)


def _fitted(tmp_path, **kwargs):
    trainer = _trainer(**kwargs)
    x = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    trainer.fit([(Tensor(x), Tensor(np.arange(16) % 3))], epochs=2, progress=False)
    path = tmp_path / "run.npz"
    trainer.save_checkpoint(path)
    return trainer, path


def _snapshot(trainer):
    return ([p.data.copy() for p in trainer.model.parameters()], json.dumps(trainer.optimizer.defaults),
            [{k: np.array(v, copy=True) for k, v in s.items()} for s in trainer.optimizer.state], trainer.epoch)


def _assert_untouched(trainer, snapshot):
    params, defaults, states, epoch = snapshot
    assert all(np.array_equal(p.data, q) for p, q in zip(trainer.model.parameters(), params))
    assert json.dumps(trainer.optimizer.defaults) == defaults and trainer.epoch == epoch
    assert len(trainer.optimizer.state) == len(states)
    for s, t in zip(trainer.optimizer.state, states):
        assert s.keys() == t.keys() and all(np.array_equal(s[k], t[k]) for k in s)


def _rewrite(path, change):
    """Rewrite the archive at ``path`` with ``change(arrays)`` applied."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _meta(edit):
    def change(arrays):
        meta = json.loads(str(arrays["meta"]))
        edit(meta)
        arrays["meta"] = np.array(json.dumps(meta))
    return change


BROKEN = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
                  "not a readable .npz archive.*damaged or truncated zip"),
    "random_bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(300)),
                     "not a readable .npz archive.*never holds pickles"),
    "empty": (lambda p: p.write_bytes(b""), r"not a readable .npz archive \(it is empty\)"),
    "single_array": (lambda p: np.save(open(p, "wb"), np.zeros(3)), "single array"),
    "missing_meta": (lambda p: _rewrite(p, lambda a: a.pop("meta")), "no 'meta' entry"),
    "bad_json": (lambda p: _rewrite(p, lambda a: a.__setitem__("meta", np.array("{epoch: 2"))),
                 "'meta' entry is not valid JSON"),
    "meta_not_a_dict": (lambda p: _rewrite(p, lambda a: a.__setitem__("meta", np.array("[1, 2]"))),
                        r"'meta' entry lacks \['epoch'"),
    "meta_lacks_keys": (lambda p: _rewrite(p, _meta(lambda m: m.pop("history"))), r"lacks \['history'\]"),
    "bad_epoch": (lambda p: _rewrite(p, _meta(lambda m: m.__setitem__("epoch", -3))), "'epoch' must be"),
    "object_array": (lambda p: _pickled_entry(p), "not a readable .npz archive.*[Oo]bject arrays"),
    "parameter_shape": (lambda p: _rewrite(p, lambda a: a.__setitem__("model/layers.0.bias", np.zeros(5))),
                        r"does not fit this trainer.*layers.0.bias.*shape \(5,\)"),
    "string_parameter": (lambda p: _rewrite(p, lambda a: a.__setitem__("model/layers.0.bias", np.array(["a"] * 8))),
                         "does not fit this trainer.*dtype <U1"),
    "missing_parameter": (lambda p: _rewrite(p, lambda a: a.pop("model/layers.3.weight")),
                          r"does not fit this trainer.*missing keys \['layers.3.weight'\]"),
    "rng_count": (lambda p: _rewrite(p, _meta(lambda m: m["rng_states"].append(m["rng_states"][0]))),
                  "does not fit this trainer: it has 2 random generators, the model has 1"),
    "rng_state": (lambda p: _rewrite(p, _meta(lambda m: m.__setitem__("rng_states", [{"bit_generator": "x"}]))),
                  "does not fit this trainer: random generator 0: state must be for a PCG64"),
    "optimizer_state_shape": (lambda p: _rewrite(p, lambda a: a.__setitem__("optimizer/0/exp_avg", np.zeros(3))),
                              r"does not fit this trainer.*exp_avg.*shape \(3,\)"),
}


def _pickled_entry(path):
    with zipfile.ZipFile(path, "a") as archive:
        with archive.open("extra.npy", "w") as handle:
            np.lib.format.write_array(handle, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_bad_checkpoint_names_the_file_and_loads_nothing(tmp_path, case):
    _, path = _fitted(tmp_path)
    damage, named = BROKEN[case]
    damage(path)
    target = _trainer()
    before = _snapshot(target)
    with pytest.raises(CheckpointError, match=f"checkpoint {path}.*{named}"):
        target.load_checkpoint(path)
    _assert_untouched(target, before)


def test_checkpoint_of_another_model_shape_loads_nothing(tmp_path):
    # the case: the first layers were overwritten before the error
    _, path = _fitted(tmp_path)
    other = _trainer(sizes=(4, 8, 5))  # same first layer, different last layer
    before = _snapshot(other)
    with pytest.raises(CheckpointError, match=r"layers.3.weight.*shape \(8, 3\), the parameter has \(8, 5\)"):
        other.load_checkpoint(path)
    _assert_untouched(other, before)


def test_sgd_checkpoint_into_an_adam_trainer_is_refused_before_anything_changes(tmp_path):
    _, path = _fitted(tmp_path, optimizer=SGD)
    adam = _trainer()
    before = _snapshot(adam)
    with pytest.raises(CheckpointError, match=f"checkpoint {path} does not fit this trainer.*not those of Adam"):
        adam.load_checkpoint(path)
    _assert_untouched(adam, before)
    assert adam.optimizer.defaults["lr"] == 1e-3


def test_missing_file_and_missing_folder_name_the_path(tmp_path):
    trainer = _trainer()
    with pytest.raises(FileNotFoundError, match=f"checkpoint {tmp_path / 'nope.npz'} does not exist"):
        trainer.load_checkpoint(tmp_path / "nope.npz")
    target = tmp_path / "missing" / "run.npz"
    with pytest.raises(FileNotFoundError, match=f"cannot save checkpoint {target}: the folder "
                                                f"{tmp_path / 'missing'} does not exist"):
        trainer.save_checkpoint(target)
    assert not (tmp_path / "missing").exists()


def test_a_good_checkpoint_still_round_trips(tmp_path):
    source, path = _fitted(tmp_path)
    target = _trainer()
    target.load_checkpoint(path)
    _assert_untouched(target, _snapshot(source))
    assert target.history == source.history
