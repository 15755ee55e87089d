"""Bundled data sets (hand-written, not generated): the 8x8 handwritten digits.

The file ships with the project in ``datasets/digits/`` and inside the
wheel as package data; nothing is ever downloaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

DIGITS_FILE = "digits8x8.npz"
DIGITS_SHA256 = "7cb5c5daea8d24eaa810050d90d5498ac20dd1db7e7f268e28652660d0a95f68"


class Digits(NamedTuple):
    train_images: np.ndarray  # (1437, 64) float32 in [0, 1], or (1437, 8, 8) with flatten=False
    train_labels: np.ndarray  # (1437,) int64
    test_images: np.ndarray  # (360, 64)
    test_labels: np.ndarray  # (360,)


def digits_path() -> Path:
    """Where the digits file is: the checkout's datasets/ folder, else the installed package data."""
    checkout = Path(__file__).resolve().parents[1] / "datasets" / "digits" / DIGITS_FILE
    if checkout.is_file():
        return checkout
    packaged = resources.files("tinytorch") / "_data" / "digits" / DIGITS_FILE
    if packaged.is_file():
        return Path(str(packaged))
    raise FileNotFoundError(f"{DIGITS_FILE} was not found in datasets/digits/ of the checkout nor in the installed "
                            "package; reinstall tinytorch (pip install -e .)")


def load_digits(flatten: bool = True, scale: bool = True) -> Digits:
    """The fixed train/test split of the 8x8 digits.

    Images become float32 (divided by 16 into [0, 1] when ``scale``) and, when
    ``flatten``, rows of 64 features; labels become int64 class indices.
    """
    with np.load(digits_path(), allow_pickle=False) as data:
        arrays = {key: data[key] for key in ("train_images", "train_labels", "test_images", "test_labels")}

    def images(raw: np.ndarray) -> np.ndarray:
        out = raw.astype(np.float32) / (16.0 if scale else 1.0)
        return out.reshape(len(out), -1) if flatten else out

    return Digits(images(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                  images(arrays["test_images"]), arrays["test_labels"].astype(np.int64))
