"""Probes of module 07's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process.
"""

import numpy as np


def clip_values(nb):
    a, b = nb.Tensor([0.0], requires_grad=True), nb.Tensor([0.0, 0.0], requires_grad=True)
    a.grad, b.grad = nb.Tensor([3.0]), nb.Tensor([4.0, 12.0])
    norm = nb.clip_grad_norm([a, b], 1.0)
    clipped = np.concatenate([a.grad.data, b.grad.data])
    a.grad, b.grad = nb.Tensor([0.1]), None
    small = nb.clip_grad_norm([a, b], 1.0)
    return {"norm": norm, "clipped": clipped, "small_norm": small, "unchanged": a.grad}


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # a quadrant pattern: needs a hidden layer
    return x, y


def trainer_learns(nb):
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Dropout, Linear, Sequential
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam

    x, y = _data()
    batches = [(nb.Tensor(x[i:i + 20]), nb.Tensor(y[i:i + 20])) for i in range(0, 200, 20)]
    model = Sequential(Linear(2, 32, rng=1), ReLU(), Dropout(0.1, rng=2), Linear(32, 2, rng=3))
    trainer = nb.Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.02), grad_clip_norm=5.0)
    history = trainer.fit(batches, epochs=40, val_loader=batches, progress=False)
    training_after_fit = model.training
    loss, acc = trainer.evaluate(batches[:1])
    expected = nb.accuracy(model.eval()(batches[0][0]), batches[0][1])
    model.train()
    return {"epochs": len(history["train_loss"]), "epoch": trainer.epoch,
            "loss_fell": history["train_loss"][-1] < history["train_loss"][0],
            "learned": history["val_accuracy"][-1] > 0.9, "training_after_fit": training_after_fit,
            "evaluate_accuracy_matches": bool(np.isclose(acc, expected)), "evaluate_loss_finite": bool(np.isfinite(loss))}


def trainer_one_epoch(nb):
    """No dropout, plain SGD, batches of 4 and 3 examples: the numbers follow from the loop alone."""
    from tinytorch.core.layers import Linear
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import SGD

    x, y = _data()
    batches = [(nb.Tensor(x[:4]), nb.Tensor(y[:4])), (nb.Tensor(x[4:7]), nb.Tensor(y[4:7]))]
    model = Linear(2, 2, rng=5)
    trainer = nb.Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5))
    history = trainer.fit(batches, epochs=2, val_loader=batches, progress=False)
    return {"train_loss": history["train_loss"], "train_accuracy": history["train_accuracy"],
            "val_loss": history["val_loss"], "weight": model.weight, "bias": model.bias}


PROBES = {
    "test_clip_grad_norm": [clip_values],
    "test_trainer": [trainer_learns, trainer_one_epoch],
}
TOLERANCE = {"trainer_one_epoch": (1e-4, 1e-6)}
