"""``torch.optim`` for tinytorch: the optimizers of module 06 (``tinytorch.core.optimizers``)."""

from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]
