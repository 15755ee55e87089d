"""``torch.utils`` for tinytorch: only ``tinytorch.utils.data``."""
