"""Bundled data sets (hand-written, not generated): the 8x8 handwritten digits and a small English corpus.

The files ship with the project in ``datasets/`` and inside the wheel as
package data (``tinytorch._data``); nothing is ever downloaded.
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


def _data_path(folder: str, filename: str) -> Path:
    """A bundled file: the checkout's datasets/<folder>/, else the installed package data."""
    checkout = Path(__file__).resolve().parents[1] / "datasets" / folder / filename
    if checkout.is_file():
        return checkout
    packaged = resources.files("tinytorch") / "_data" / folder / filename
    if packaged.is_file():
        return Path(str(packaged))
    raise FileNotFoundError(f"{filename} was not found in datasets/{folder}/ of the checkout nor in the installed "
                            "package; reinstall tinytorch (pip install -e .)")


def digits_path() -> Path:
    """Where the digits file is: the checkout's datasets/ folder, else the installed package data."""
    return _data_path("digits", DIGITS_FILE)


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


PRIDE_AND_PREJUDICE_FILE = "pride_and_prejudice.txt"
PRIDE_AND_PREJUDICE_SHA256 = "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d"


class TextCorpus(NamedTuple):
    text: str  # the whole corpus
    train: str  # the first ~90% of the characters
    validation: str  # the rest, starting at a paragraph


def pride_and_prejudice_path() -> Path:
    """Where the corpus file is: the checkout's datasets/ folder, else the installed package data."""
    return _data_path("pride_and_prejudice", PRIDE_AND_PREJUDICE_FILE)


def load_pride_and_prejudice(validation_fraction: float = 0.1) -> TextCorpus:
    """Jane Austen's *Pride and Prejudice* (684,768 ASCII characters) and a fixed train/validation split.

    ``validation`` is the last ``validation_fraction`` of the characters,
    starting at the first paragraph break (a blank line) after that mark, so
    no paragraph is cut in two; ``train + validation`` is the text minus that
    one blank line. The default split (616,373 / 68,394 characters) is the one
    every reported validation loss uses.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    text = pride_and_prejudice_path().read_text(encoding="utf-8")
    mark = int(len(text) * (1.0 - validation_fraction))
    cut = text.find("\n\n", mark)
    if cut < 0:  # no paragraph break after the mark: cut at the mark
        return TextCorpus(text, text[:mark], text[mark:])
    return TextCorpus(text, text[:cut + 1], text[cut + 2:])
