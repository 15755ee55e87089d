"""Module 10: character and byte-pair tokenizers -- exact round trips, special tokens, BPE training."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.datasets import load_pride_and_prejudice
from tinytorch.text.tokenization import CHUNK_PATTERN, BPETokenizer, CharTokenizer, merge_pair

CORPUS = load_pride_and_prejudice()
SAMPLE = CORPUS.train[:20_000]
ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=200)  # any code point, surrogates included


@pytest.fixture(scope="module")
def bpe() -> BPETokenizer:
    return BPETokenizer.train(SAMPLE, 400)


@pytest.fixture(scope="module")
def chars() -> CharTokenizer:
    return CharTokenizer.train(SAMPLE)


@pytest.mark.task_10_1
@settings(max_examples=150, deadline=None)
@given(text=ANY_TEXT)
def test_char_round_trip_is_exact_on_any_text(text):
    tokenizer = CharTokenizer.train("Hello, world.\n")
    ids = tokenizer.encode(text)
    assert all(0 <= i < tokenizer.vocab_size for i in ids)
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(tokenizer.encode(text, bos=True, eos=True)) == text


@pytest.mark.task_10_1
def test_char_vocabulary_specials_and_unknowns(chars):
    assert (chars.pad_id, chars.bos_id, chars.eos_id) == (0, 1, 2)
    assert chars.vocab_size == 3 + len(chars.characters) + 256 and chars.characters == sorted(set(SAMPLE))
    assert chars.encode("a") == [3 + chars.characters.index("a")]
    assert chars.encode("ab", bos=True, eos=True)[0] == 1 and chars.encode("ab", bos=True, eos=True)[-1] == 2
    assert chars.decode([1, *chars.encode("hi"), 2, 0], skip_special_tokens=False) == "<bos>hi<eos><pad>"
    euro = chars.encode("\u20ac")  # not in the corpus: three UTF-8 bytes
    assert [i - chars.byte_offset for i in euro] == list("\u20ac".encode()) and chars.decode(euro) == "\u20ac"
    strict = CharTokenizer.train(SAMPLE, byte_fallback=False)
    assert strict.unk_id == 3 and strict.vocab_size == 4 + len(strict.characters)
    assert strict.encode("a\u20acb")[1] == 3 and strict.decode(strict.encode("a\u20acb")) == "a\ufffdb"
    capped = CharTokenizer.train("aaabbc", vocab_size=3 + 256 + 2)
    assert capped.characters == ["a", "b"] and capped.decode(capped.encode("abc")) == "abc"
    with pytest.raises(ValueError, match="vocab_size=10 leaves no room"):
        CharTokenizer.train("abc", vocab_size=10)
    with pytest.raises(IndexError, match=r"token id 999 is outside \[0, "):
        chars.decode([999])
    with pytest.raises(TypeError, match="encode expects a str"):
        chars.encode(b"bytes")


@pytest.mark.task_10_2
def test_merge_pair_left_to_right():
    assert merge_pair([5, 5, 5, 5, 5], (5, 5), 9) == [9, 9, 5]
    assert merge_pair([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]
    assert merge_pair([2, 1], (1, 2), 7) == [2, 1]


@pytest.mark.task_10_3
@settings(max_examples=150, deadline=None)
@given(text=ANY_TEXT)
def test_bpe_round_trip_is_exact_on_any_text(bpe, text):
    assert "".join(CHUNK_PATTERN.findall(text)) == text  # chunking loses nothing
    ids = bpe.encode(text)
    assert all(3 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text
    assert bpe.decode(bpe.encode(text, bos=True, eos=True)) == text


@pytest.mark.task_10_3
def test_bpe_encode_applies_merges_in_training_order(bpe):
    # encoding the training text chunk by chunk must agree with a direct application of every merge in order
    for chunk in CHUNK_PATTERN.findall(SAMPLE[:3000]):
        ids = [3 + b for b in chunk.encode()]
        for rank, pair in enumerate(bpe.merges):
            ids = merge_pair(ids, pair, 259 + rank)
        assert bpe.encode_chunk(chunk) == ids, chunk
    assert len(bpe.encode(SAMPLE)) < 0.6 * len(SAMPLE)


def test_bpe_training_is_deterministic_and_sized(bpe):
    assert bpe.vocab_size == 400 and len(bpe.merges) == 141
    assert BPETokenizer.train(SAMPLE, 400).merges == bpe.merges
    assert " the" in [bpe.token(i) for i in range(259, 400)]
    pairs = Counter()  # the first merge is the most frequent pair within chunks, counted directly
    for chunk in CHUNK_PATTERN.findall(SAMPLE):
        pairs.update(zip(chunk.encode(), chunk.encode()[1:]))
    top = max(pairs.values())
    assert bpe.merges[0] == min((3 + a, 3 + b) for (a, b), n in pairs.items() if n == top)
    assert bpe.token(0) == "<pad>" and bpe.decode([1, 259, 2], skip_special_tokens=False).startswith("<bos>")
    rebuilt = BPETokenizer(bpe.merges)
    assert rebuilt.encode(SAMPLE[:500]) == bpe.encode(SAMPLE[:500])
    # fewer merges when no pair repeats: the vocabulary stops growing
    assert BPETokenizer.train("abcd", 300).vocab_size == 259
    with pytest.raises(ValueError, match="vocab_size must be at least 259"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match=r"merge \(3, 500\) refers to an id outside"):
        BPETokenizer([(3, 500)])
    with pytest.raises(IndexError, match="outside"):
        bpe.decode([400])


def test_invalid_utf8_ids_decode_with_a_replacement_character(bpe):
    lone_continuation = [3 + 0x80]
    assert bpe.decode(lone_continuation) == "\ufffd"
    chars = CharTokenizer.train("ab")
    assert chars.decode([chars.byte_offset + 0xFF]) == "\ufffd"


def test_vocabulary_size_trades_against_sequence_length():
    """The measured trade-off the module reports: more merges, fewer tokens per character, diminishing returns."""
    full = BPETokenizer.train(CORPUS.train[:100_000], 1024)
    text = CORPUS.validation[:20_000]
    lengths = [len(BPETokenizer(full.merges[:size - 259]).encode(text)) for size in (259, 300, 512, 1024)]
    assert lengths[0] == len(text)  # bytes only: ASCII text is one token per character
    assert lengths[0] > lengths[1] > lengths[2] > lengths[3]
    assert lengths[2] < 0.55 * len(text) and (lengths[1] - lengths[2]) > (lengths[2] - lengths[3])
