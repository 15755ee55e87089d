"""``torch.utils.data`` for tinytorch: the data loading of module 08 (``tinytorch.data.loader``)."""

from tinytorch.data.loader import DataLoader, Dataset, TensorDataset

__all__ = ["Dataset", "TensorDataset", "DataLoader"]
