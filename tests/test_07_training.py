"""Module 07: clipping, the trainer, exact checkpoint resume, memory, curves."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Trainer, accuracy, clip_grad_norm, plot_history
from tinytorch.data.loader import DataLoader, TensorDataset


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    return x, y


def _setup(seed=0, optimizer="adam"):
    model = Sequential(Linear(4, 16, rng=seed), ReLU(), Dropout(0.2, rng=seed + 1), Linear(16, 2, rng=seed + 2))
    opt = Adam(model.parameters(), lr=0.01) if optimizer == "adam" else SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, Trainer(model, CrossEntropyLoss(), opt, grad_clip_norm=1.0)


@pytest.mark.task_7_1
def test_clip_grad_norm_scales_to_the_limit():
    a, b = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(1), requires_grad=True)
    a.grad, b.grad = Tensor(np.array([3.0, 0.0])), Tensor(np.array([4.0]))
    assert np.isclose(clip_grad_norm([a, b], 2.5), 5.0)
    norm = np.sqrt((a.grad.data ** 2).sum() + (b.grad.data ** 2).sum())
    assert np.isclose(norm, 2.5, rtol=1e-5)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm([a], 0)


@pytest.mark.task_7_2
def test_fit_learns_and_records_example_weighted_history():
    x, y = _data()
    model, trainer = _setup()
    loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True, seed=0)  # 50, 50, 20
    history = trainer.fit(loader, epochs=30, val_loader=loader, progress=False)
    assert len(history["train_loss"]) == 30 == trainer.epoch
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]
    assert history["val_accuracy"][-1] > 0.85
    loss, acc = trainer.evaluate(DataLoader(TensorDataset(x, y), batch_size=120))
    assert np.isclose(acc, history["val_accuracy"][-1])


@pytest.mark.task_7_3
def test_evaluate_uses_eval_mode_records_nothing_and_restores_mode():
    x, y = _data()
    model, trainer = _setup()
    seen = []
    original = model.forward

    def spy(batch):
        seen.append(model.layers[2].training)
        out = original(batch)
        seen.append(out.grad_fn is None)
        return out

    model.forward = spy
    trainer.evaluate([(Tensor(x), Tensor(y))])
    assert seen == [False, True] and model.training
    model.eval()
    trainer.evaluate([(Tensor(x), Tensor(y))])
    assert not model.training


def test_accuracy_for_classes_and_single_logits():
    assert accuracy(Tensor([[2.0, 1.0], [0.0, 3.0]]), Tensor(np.array([0, 0]))) == 0.5
    assert accuracy(Tensor([[0.3], [-0.2], [1.0]]), Tensor([[1.0], [0.0], [0.0]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resumed_run_continues_exactly(tmp_path, optimizer):
    x, y = _data()

    def loader():
        return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=7)

    model_a, straight = _setup(optimizer=optimizer)
    straight.fit(loader(), epochs=4, progress=False)

    model_b, first = _setup(optimizer=optimizer)
    first.fit(loader(), epochs=2, progress=False)
    path = tmp_path / "checkpoint.npz"
    first.save_checkpoint(path)
    model_c, resumed = _setup(seed=99, optimizer=optimizer)  # different init: everything must come from the file
    resumed.load_checkpoint(path)
    assert resumed.epoch == 2
    resumed.fit(loader(), epochs=2, progress=False)

    for p, q in zip(model_a.parameters(), model_c.parameters()):
        assert np.array_equal(p.data, q.data)
    assert straight.history == resumed.history
    with np.load(path, allow_pickle=False) as data:  # plain arrays, no pickle needed
        assert "model/layers.0.weight" in data.files


def test_graph_is_freed_and_memory_does_not_grow_over_steps():
    x, y = _data(256)
    model, trainer = _setup()
    batch = [(Tensor(x[:64]), Tensor(y[:64]))]
    trainer.fit(batch * 50, epochs=1, progress=False)  # warm up: optimizer state, caches
    tracemalloc.start()
    trainer.fit(batch * 500, epochs=1, progress=False)
    gc.collect()
    first, _ = tracemalloc.get_traced_memory()
    trainer.fit(batch * 1000, epochs=1, progress=False)
    gc.collect()
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # one step allocates ~60 KB of activations and gradients; a leak of one of them per step would add 60 MB
    assert second - first < 20_000, (first, second)
    loss = CrossEntropyLoss()(model(Tensor(x)), Tensor(y))
    node = weakref.ref(loss.grad_fn)
    loss.backward()
    del loss
    gc.collect()
    assert node() is None


def test_progress_bar_and_curves(tmp_path, capsys):
    x, y = _data()
    _, trainer = _setup()
    loader = DataLoader(TensorDataset(x, y), batch_size=40)
    trainer.fit(loader, epochs=2, val_loader=loader, progress=True)
    out = capsys.readouterr().out
    assert "epoch   2  train loss" in out and "val loss" in out
    png = plot_history(trainer.history, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
