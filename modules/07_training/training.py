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
# # Module 07 -- Training
#
# Every training loop in deep learning is the same five lines, repeated:
#
# ```
# for x, y in batches:
#     optimizer.zero_grad()          # forget the last step's gradients
#     loss = loss_fn(model(x), y)    # forward: build the graph
#     loss.backward()                # backward: fill every .grad
#     optimizer.step()               # update the parameters in place
# ```
#
# A `Trainer` wraps them with what a real run needs: train/eval modes
# (Dropout), evaluation without a graph, gradient clipping, a history of
# loss and accuracy, a progress bar, and checkpoints to resume from.
#
# | task | what | graded |
# |------|------|--------|
# | 7.1 | `clip_grad_norm`: rescale all gradients to a maximum global norm | 3 pts |
# | 7.2 | `Trainer.train_epoch`: the loop above, with statistics | 4 pts |
# | 7.3 | `Trainer.evaluate`: eval mode, no graph, restore the mode | 3 pts |

# %%
#| export
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Module
from tinytorch.core.optimizers import Optimizer
from tinytorch.core.tensor import Tensor, _describe, _is_int, _is_number

# %% [markdown]
# ## 1. Accuracy
#
# For class logits `(N, C)` the prediction of a row is its largest logit.
# The targets say what was right in one of two forms, the same two that
# `CrossEntropyLoss` takes:
#
# * class indices of shape `(N,)`: correct where the prediction equals the index;
# * one-hot or probability targets of shape `(N, C)`: correct where the
#   prediction is the target's most likely class.
#
# The shape decides, never the values; anything else -- labels `(N, 1)`,
# say, which numpy would broadcast against `(N,)` into an `(N, N)` table of
# comparisons -- is an error naming both shapes. For one logit per example
# (binary, `(N,)` or `(N, 1)`) with 0/1 labels of the same size: the
# fraction where `logit > 0` matches the label. Accuracy is a number for
# people; it has no gradient.

# %%
#| export
def accuracy(logits: Tensor, targets: Tensor) -> float:
    """Fraction of correct predictions: argmax over classes (axis 1), or logit > 0 for a single output.

    logits (N, C) with targets (N,) class indices or (N, C) one-hot/probabilities (also (N, C, d...)
    with (N, d...) or (N, C, d...)); logits (N,) or (N, 1) with N 0/1 labels.
    """
    scores = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    labels = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if scores.ndim >= 2 and scores.shape[1] > 1:
        predicted = scores.argmax(axis=1)
        if labels.shape == scores.shape:  # one-hot or probabilities
            labels = labels.argmax(axis=1)
        elif labels.shape != predicted.shape:
            raise ValueError(f"accuracy: logits of shape {scores.shape} need class indices of shape "
                             f"{predicted.shape} or one-hot/probability targets of shape {scores.shape}, "
                             f"got targets of shape {labels.shape}")
    else:
        if scores.size != labels.size or labels.ndim > 2:
            raise ValueError(f"accuracy: {scores.size} single logits (shape {scores.shape}) need as many 0/1 "
                             f"labels, got targets of shape {labels.shape}")
        predicted = (scores.reshape(labels.shape) > 0).astype(labels.dtype)
    if predicted.size == 0:
        raise ValueError(f"accuracy of an empty batch (logits of shape {scores.shape})")
    return float((predicted == labels).mean())


# %% [markdown]
# ## 2. Gradient clipping by global norm
#
# One bad batch can produce a gradient a thousand times larger than usual
# and throw the parameters far away. Clipping treats all gradients as one
# long vector with norm `||g|| = sqrt(sum_p ||g_p||^2)`; if that exceeds
# `max_norm`, every gradient is scaled by `max_norm / ||g||`. The direction
# is unchanged; only the step length is capped.
#
# Worked example: gradients `[3]` and `[4]` have global norm 5; with
# `max_norm = 1` they become `[0.6]` and `[0.8]`.

# %% nbgrader={"grade": false, "grade_id": "clip_grad_norm", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def clip_grad_norm(parameters: Iterable[Tensor], max_norm: float) -> float:
    """Scale gradients in place so their global L2 norm is at most ``max_norm``; returns the norm before clipping."""
    if not _is_number(max_norm):
        raise TypeError(f"clip_grad_norm: max_norm must be a number, got {_describe(max_norm)}")
    if not max_norm > 0:  # also refuses nan, which would silently clip nothing
        raise ValueError(f"clip_grad_norm: max_norm must be positive, got {max_norm}")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad.data for p in parameters if p.grad is not None]
    # TODO (task 7.1): the global norm of all grads; if it exceeds max_norm,
    # multiply every grad in place by max_norm / (norm + 1e-6) (as PyTorch).
    ### BEGIN SOLUTION
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g *= scale
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_clip_grad_norm", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_a, _b = Tensor([0.0], requires_grad=True), Tensor([0.0], requires_grad=True)
_a.grad, _b.grad = Tensor([3.0]), Tensor([4.0])
assert np.isclose(clip_grad_norm([_a, _b], 1.0), 5.0)
assert np.allclose([_a.grad.data[0], _b.grad.data[0]], [0.6, 0.8], atol=1e-6)
### BEGIN HIDDEN TESTS
_a.grad = Tensor([0.1])
_b.grad = None
assert np.isclose(clip_grad_norm([_a, _b], 1.0), 0.1)
assert np.isclose(_a.grad.data[0], 0.1)  # below the threshold: unchanged
### END HIDDEN TESTS

# %% [markdown]
# ## 3. The trainer
#
# Statistics are averaged over *examples*, not batches: a last batch of 5
# examples counts 5/N, not 1/(number of batches).
#
# Checkpoints are plain `.npz` files (no pickle): every parameter by name,
# the optimizer's state, the epoch, the history, and the state of every
# random generator in the model (Dropout). With a seeded `DataLoader`
# (module 08: the order of epoch `e` depends only on the seed and `e`), a run
# resumed from a checkpoint continues exactly as if it had never stopped.
#
# Loading is all or nothing. A checkpoint can be truncated, empty, written by
# another program, or made for another model or optimizer; loading half of
# it would leave a model that is neither the old one nor the saved one. So
# `load_checkpoint` reads the file and checks every part (names, shapes,
# dtypes, the optimizer's kind, the random generators) before it assigns
# anything, and a bad file raises one `CheckpointError` that names the file
# and what is wrong with it.

# %% nbgrader={"grade": false, "grade_id": "trainer", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def _generators(model: Module) -> list[np.random.Generator]:
    """The random generators of a model's modules (e.g. Dropout's), in a fixed order."""
    return [m.rng for m in model.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)]


class Trainer:
    """fit/evaluate a model: history of loss and accuracy per epoch, clipping, progress, checkpoints."""

    def __init__(self, model: Module, loss_fn: Callable[[Tensor, Tensor], Tensor], optimizer: Optimizer,
                 grad_clip_norm: float | None = None, metric: Callable[[Tensor, Tensor], float] = accuracy) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.grad_clip_norm, self.metric = grad_clip_norm, metric
        self.epoch = 0
        self.history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": [], "val_loss": [],
                                                "val_accuracy": []}

    def train_epoch(self, loader: Iterable, on_batch: Callable[[float, float], None] | None = None) -> tuple[float, float]:
        """One pass over ``loader`` in training mode; returns (mean loss, accuracy) over its examples."""
        self.model.train()
        total_loss = total_correct = 0.0
        seen = 0
        for x, y in loader:
            # TODO (task 7.2): zero the gradients, forward, loss, backward,
            # clip if self.grad_clip_norm, step; add loss * n and metric * n
            # to the totals (n = len(x)); call on_batch(loss, metric) if given.
            ### BEGIN SOLUTION
            self.optimizer.zero_grad()
            logits = self.model(x)
            loss = self.loss_fn(logits, y)
            loss.backward()
            if self.grad_clip_norm is not None:
                clip_grad_norm(self.optimizer.params, self.grad_clip_norm)
            self.optimizer.step()
            n = len(x)
            value, score = loss.item(), self.metric(logits, y)
            total_loss += value * n
            total_correct += score * n
            seen += n
            if on_batch is not None:
                on_batch(value, score)
            ### END SOLUTION
        if seen == 0:
            raise ValueError("Trainer.train_epoch: the loader yielded no batch")
        return total_loss / seen, total_correct / seen

    def evaluate(self, loader: Iterable) -> tuple[float, float]:
        """(mean loss, accuracy) over ``loader`` in eval mode, without recording a graph."""
        was_training = self.model.training
        # TODO (task 7.3): eval mode and no_grad(); the same example-weighted
        # averages as train_epoch; restore the previous mode afterwards.
        ### BEGIN SOLUTION
        self.model.eval()
        total_loss = total_correct = 0.0
        seen = 0
        try:
            with no_grad():
                for x, y in loader:
                    logits = self.model(x)
                    n = len(x)
                    total_loss += self.loss_fn(logits, y).item() * n
                    total_correct += self.metric(logits, y) * n
                    seen += n
        finally:
            self.model.train(was_training)
        ### END SOLUTION
        if seen == 0:
            raise ValueError("Trainer.evaluate: the loader yielded no batch")
        return total_loss / seen, total_correct / seen

    def fit(self, train_loader: Iterable, epochs: int, val_loader: Iterable | None = None,
            progress: bool = True) -> dict[str, list[float]]:
        """Train for ``epochs`` more epochs; returns the history (also kept in ``self.history``)."""
        if not _is_int(epochs):
            raise TypeError(f"Trainer.fit: epochs must be an int, got {_describe(epochs)}")
        if epochs < 0:
            raise ValueError(f"Trainer.fit: epochs must be non-negative, got {epochs}")
        bar = _ProgressBar(epochs, _length(train_loader)) if progress else None
        try:
            for _ in range(epochs):
                if hasattr(train_loader, "set_epoch"):
                    train_loader.set_epoch(self.epoch)
                loss, acc = self.train_epoch(train_loader, bar.batch if bar else None)
                self.history["train_loss"].append(loss)
                self.history["train_accuracy"].append(acc)
                if val_loader is not None:
                    val_loss, val_acc = self.evaluate(val_loader)
                    self.history["val_loss"].append(val_loss)
                    self.history["val_accuracy"].append(val_acc)
                self.epoch += 1
                if bar:
                    bar.epoch(self.epoch, self.history)
        finally:
            if bar:
                bar.close()
        return self.history

    # ---- checkpoints --------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Parameters, optimizer state, epoch, history and RNG states in one .npz (written atomically)."""
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise FileNotFoundError(f"cannot save checkpoint {path}: the folder {folder} does not exist")
        arrays: dict[str, np.ndarray] = {f"model/{k}": v for k, v in self.model.state_dict().items()}
        optimizer_state = self.optimizer.state_dict()
        scalars: dict[str, Any] = {}
        for i, state in enumerate(optimizer_state["state"]):
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optimizer/{i}/{key}"] = value
                else:
                    scalars[f"{i}/{key}"] = value
        meta = {"epoch": self.epoch, "history": self.history, "optimizer_defaults": optimizer_state["defaults"],
                "optimizer_scalars": scalars, "optimizer_size": len(optimizer_state["state"]),
                "rng_states": [g.bit_generator.state for g in _generators(self.model)]}
        arrays["meta"] = np.array(json.dumps(meta))
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore everything ``save_checkpoint`` wrote; the next ``fit`` continues from the saved epoch.

        All or nothing: the file is read and every part checked against this
        trainer first; a bad file raises ``CheckpointError`` (naming the file
        and the problem) and leaves the model and optimizer untouched.
        """
        path = Path(path)
        arrays, meta = _read_checkpoint(path)
        try:
            model_values = self.model._check_state_dict(
                {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")})
            states: list[dict[str, Any]] = [{} for _ in range(meta["optimizer_size"])]
            for key, value in arrays.items():
                if key.startswith("optimizer/"):
                    _, index, name = key.split("/", 2)
                    states[int(index)][name] = value
            for key, value in meta["optimizer_scalars"].items():
                index, name = key.split("/", 1)
                states[int(index)][name] = value
            defaults = dict(meta["optimizer_defaults"])
            if "betas" in defaults:
                defaults["betas"] = tuple(defaults["betas"])
            optimizer_defaults, optimizer_states = self.optimizer._check_state_dict(
                {"defaults": defaults, "state": states})
            generators = _generators(self.model)
            if len(generators) != len(meta["rng_states"]):
                raise ValueError(f"it has {len(meta['rng_states'])} random generators, the model has "
                                 f"{len(generators)}")
            for i, (generator, state) in enumerate(zip(generators, meta["rng_states"])):
                try:
                    type(generator.bit_generator)().state = state  # a scratch generator: check, do not assign yet
                except (ValueError, TypeError, KeyError) as error:
                    raise ValueError(f"random generator {i}: {error}") from None
        except (ValueError, TypeError, KeyError, IndexError) as error:
            raise CheckpointError(f"checkpoint {path} does not fit this trainer: {error}") from None
        for name, tensor in self.model.named_parameters():
            tensor.data[...] = model_values[name]
        self.optimizer.defaults, self.optimizer.state = optimizer_defaults, optimizer_states
        for generator, state in zip(generators, meta["rng_states"]):
            generator.bit_generator.state = state
        self.epoch, self.history = meta["epoch"], meta["history"]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message names the file and what is wrong."""


_META_KEYS = ("epoch", "history", "optimizer_defaults", "optimizer_scalars", "optimizer_size", "rng_states")


def _read_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array of a checkpoint and its decoded meta; CheckpointError says what is wrong with the file."""
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):  # a .npy file: one array
            raise ValueError("it holds a single array, not the archive save_checkpoint writes")
        with data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        text = str(error)
        if path.stat().st_size == 0:
            reason = "it is empty"
        elif isinstance(error, zipfile.BadZipFile):
            reason = f"a damaged or truncated zip archive: {text}"
        elif "pickled" in text:
            reason = "numpy reads it as pickled data; a checkpoint never holds pickles"
        elif "Object arrays" in text:
            reason = "it holds an object array, which needs pickle; Object arrays cannot be loaded here"
        else:
            reason = f"{type(error).__name__}: {text}"
        raise CheckpointError(f"checkpoint {path} is not a readable .npz archive ({reason})") from None
    if "meta" not in arrays:
        raise CheckpointError(f"checkpoint {path} has no 'meta' entry; it was not written by "
                              "Trainer.save_checkpoint")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except ValueError as error:
        raise CheckpointError(f"checkpoint {path}: its 'meta' entry is not valid JSON ({error})") from None
    missing = [key for key in _META_KEYS if not isinstance(meta, dict) or key not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path}: its 'meta' entry lacks {missing}")
    epoch, history = meta["epoch"], meta["history"]
    if not _is_int(epoch) or epoch < 0:
        raise CheckpointError(f"checkpoint {path}: 'epoch' must be a non-negative int, got {epoch!r}")
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise CheckpointError(f"checkpoint {path}: 'history' must map names to lists, got {history!r:.80}")
    return arrays, meta


# %% [markdown]
# ## 4. Showing progress
#
# A long run should show that it is alive: a bar with the live loss and
# accuracy of the current epoch, and one line per finished epoch. `rich` is
# imported here, when a bar is first shown, so `import tinytorch` stays fast.

# %%
#| export
def _length(loader: Iterable) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


class _ProgressBar:
    """A rich progress bar over all batches of a fit, with live loss and accuracy."""

    def __init__(self, epochs: int, batches: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.epochs = epochs
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[stats]}"))
        total = epochs * batches if batches is not None else None
        self.task = self.progress.add_task("training", total=total, stats="")
        self.progress.start()
        self.running_loss = self.running_acc = 0.0
        self.count = 0

    def batch(self, loss: float, acc: float) -> None:
        self.count += 1
        self.running_loss += (loss - self.running_loss) / min(self.count, 20)
        self.running_acc += (acc - self.running_acc) / min(self.count, 20)
        self.progress.update(self.task, advance=1,
                             stats=f"loss {self.running_loss:.4f}  acc {100 * self.running_acc:.1f}%")

    def epoch(self, epoch: int, history: dict[str, list[float]]) -> None:
        line = (f"epoch {epoch:3d}  train loss {history['train_loss'][-1]:.4f}  "
                f"acc {100 * history['train_accuracy'][-1]:.1f}%")
        if history["val_loss"]:
            line += f"  |  val loss {history['val_loss'][-1]:.4f}  acc {100 * history['val_accuracy'][-1]:.1f}%"
        self.progress.console.print(line)

    def close(self) -> None:
        self.progress.stop()


def plot_history(history: dict[str, list[float]], path: str | os.PathLike, title: str = "training") -> Path:
    """Save loss and accuracy curves per epoch as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    left.plot(epochs, history["train_loss"], label="train")
    right.plot(epochs, 100 * np.array(history["train_accuracy"]), label="train")
    if history.get("val_loss"):
        left.plot(epochs, history["val_loss"], label="validation")
        right.plot(epochs, 100 * np.array(history["val_accuracy"]), label="validation")
    left.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
    right.set(xlabel="epoch", ylabel="accuracy (%)", title=f"{title}: accuracy")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


# %% nbgrader={"grade": true, "grade_id": "test_trainer", "locked": true, "points": 7, "schema_version": 3, "solution": false, "task": false}
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import Adam

_rng = np.random.default_rng(0)
_X = _rng.standard_normal((200, 2)).astype(np.float32)
_Y = (_X[:, 0] * _X[:, 1] > 0).astype(np.int64)  # a quadrant pattern: needs a hidden layer
_batches = [(Tensor(_X[i:i + 20]), Tensor(_Y[i:i + 20])) for i in range(0, 200, 20)]
_model = Sequential(Linear(2, 32, rng=1), ReLU(), Dropout(0.1, rng=2), Linear(32, 2, rng=3))
_trainer = Trainer(_model, CrossEntropyLoss(), Adam(_model.parameters(), lr=0.02), grad_clip_norm=5.0)
_history = _trainer.fit(_batches, epochs=40, val_loader=_batches, progress=False)
assert len(_history["train_loss"]) == 40 and _trainer.epoch == 40
assert _history["train_loss"][-1] < _history["train_loss"][0]
assert _history["val_accuracy"][-1] > 0.9, _history["val_accuracy"][-1]
assert _model.training  # evaluate restored training mode
### BEGIN HIDDEN TESTS
_loss, _acc = _trainer.evaluate(_batches[:1])
assert np.isclose(_acc, accuracy(_model.eval()(_batches[0][0]), _batches[0][1]))
_model.train()
### END HIDDEN TESTS

# %% [markdown]
# ## Systems view
#
# Evaluation under `no_grad()` records no node, so it keeps no activation
# alive: memory stays at the size of one batch's forward pass. In training,
# the graph of one step is freed when `backward()` ends and the next
# iteration drops the loss -- memory does not grow with the number of steps.
