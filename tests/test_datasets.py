"""The bundled digits: integrity, the fixed split, and the loader."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tinytorch.datasets import (DIGITS_SHA256, PRIDE_AND_PREJUDICE_SHA256, digits_path, load_digits,
                                load_pride_and_prejudice, pride_and_prejudice_path)


def test_file_is_the_documented_one_and_not_a_pickle():
    path = digits_path()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DIGITS_SHA256
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["test_images", "test_labels", "train_images", "train_labels"]
        assert data["train_images"].dtype == np.uint8 and data["train_images"].max() <= 16


def test_fixed_stratified_split():
    d = load_digits()
    assert d.train_images.shape == (1437, 64) and d.test_images.shape == (360, 64)
    assert d.train_images.dtype == np.float32 and 0.0 <= d.train_images.min() and d.train_images.max() <= 1.0
    assert d.train_labels.dtype == np.int64
    # stratified: every digit has 35 to 37 of the 360 test images (the shared README's "35 or 36" is off by one)
    counts = np.bincount(d.test_labels, minlength=10)
    assert counts.sum() == 360 and counts.min() >= 35 and counts.max() <= 37, counts
    raw = load_digits(flatten=False, scale=False)
    assert raw.test_images.shape == (360, 8, 8) and raw.test_images.max() == 16


def test_wheel_ships_the_digits_and_finds_them_outside_a_checkout(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(tmp_path / "dist"), str(root)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("tinytorch-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        assert "tinytorch/_data/digits/digits8x8.npz" in archive.namelist()
        assert "tinytorch/_data/pride_and_prejudice/pride_and_prejudice.txt" in archive.namelist()
        assert "tinytorch/_data/pride_and_prejudice/README.md" in archive.namelist()
        archive.extractall(tmp_path / "site")
    code = ("from tinytorch.datasets import digits_path, load_digits, load_pride_and_prejudice; print(digits_path()); "
            "print(len(load_digits()[3])); print(len(load_pride_and_prejudice().validation))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""})
    assert result.returncode == 0, result.stderr
    path, count, validation = result.stdout.split()
    assert Path(path).is_relative_to(tmp_path / "site") and count == "360" and validation == "68394"


def test_corpus_is_the_documented_text_and_small():
    path = pride_and_prejudice_path()
    raw = path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == PRIDE_AND_PREJUDICE_SHA256
    assert len(raw) <= 1_000_000 and raw.isascii()
    assert (path.parent / "README.md").read_text(encoding="utf-8").count("public domain") >= 1


def test_corpus_split_is_fixed_and_cut_at_a_paragraph():
    corpus = load_pride_and_prejudice()
    assert (len(corpus.text), len(corpus.train), len(corpus.validation)) == (684768, 616373, 68394)
    assert corpus.text.startswith("PRIDE AND PREJUDICE") and corpus.validation.startswith("The situation of affairs")
    assert corpus.train + "\n" + corpus.validation == corpus.text
    assert corpus.train.endswith("\n") and not corpus.validation.startswith("\n")
    other = load_pride_and_prejudice(0.5)
    assert other.train + "\n" + other.validation == corpus.text and abs(len(other.train) - 342384) < 2000
    with pytest.raises(ValueError, match="validation_fraction"):
        load_pride_and_prejudice(1.0)
