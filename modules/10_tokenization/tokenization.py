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
# # Module 10 -- Tokenization
#
# A language model predicts the next *token*. Before any tensor appears,
# text must become a list of integers, and back. How we cut text into
# tokens decides how long the sequences are, how large the vocabulary is,
# and whether the model can read a word it has never seen. This module
# builds two tokenizers with the same interface:
#
# * `CharTokenizer`: one token per character (plus a byte fallback);
# * `BPETokenizer`: byte-pair encoding, the subword scheme of GPT-2.
#
# Both have `train(text, vocab_size)`, `encode(text) -> list[int]`,
# `decode(ids) -> str` (with `decode(encode(s)) == s` for **every**
# string `s`), and three special tokens with fixed ids: `pad_id = 0`
# (fills short sequences in a batch), `bos_id = 1` (beginning of
# sequence), `eos_id = 2` (end of sequence).
#
# | task | what | graded |
# |------|------|--------|
# | 10.1 | `CharTokenizer.encode`: known characters and the byte fallback | 3 pts |
# | 10.2 | `merge_pair`: replace every occurrence of a pair by a new id | 2 pts |
# | 10.3 | `BPETokenizer.encode_chunk`: apply the learned merges in order | 3 pts |

# %%
#| export
from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from typing import Iterable

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")  # ids 0, 1, 2 in both tokenizers
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2


def _utf8(text: str) -> bytes:
    # surrogatepass: even a lone surrogate (legal in a Python str) survives the round trip
    return text.encode("utf-8", "surrogatepass")


def _from_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # ids that are not valid UTF-8 (e.g. sampled by a model): mark, do not fail
        return data.decode("utf-8", "replace")


# %% [markdown]
# ## 1. Characters, words, or something in between?
#
# Three ways to cut "unbelievable tokens":
#
# | unit | tokens | vocabulary | unseen words |
# |------|--------|-----------|--------------|
# | characters | `u n b e l i e v a b l e _ t o k e n s` (19) | ~100 | never a problem |
# | words | `unbelievable tokens` (2) | 100,000s | unknown: `<unk>` |
# | subwords | `un believ able _tokens` (4) | 1,000s-100,000s | built from pieces |
#
# Characters give a tiny vocabulary but long sequences: attention costs
# `T^2` (module 12), and the model must spend its capacity learning to
# spell. Words give short sequences but an enormous embedding table, no
# way to read a new word, and a different token for "token" and "tokens".
# **Subwords** sit in between: frequent words are one token, rare words are
# spelled from frequent pieces. Byte-pair encoding finds those pieces from
# data. Section 4 measures the trade-off on our corpus.
#
# ## 2. The character tokenizer
#
# `CharTokenizer.train(text)` gives every distinct character of `text` an
# id, after the three special ids: `<pad> <bos> <eos>` are 0, 1, 2, then the
# characters in sorted order. With `vocab_size` it keeps only the most
# frequent characters.
#
# **Unknown characters** -- ones not in the training text, such as "e"
# with an accent in a text of plain English -- are handled by a **byte
# fallback**: the character is written as its UTF-8 bytes, and each byte
# has an id of its own (256 ids after the characters). So `decode(encode(s))
# == s` for every string, and nothing ever becomes an anonymous `<unk>`.
# A model trained on English never sees the byte ids and gives them low
# probability; they cost 256 rows of the embedding table. With
# `byte_fallback=False` an unknown character becomes `unk_id` instead
# (a fourth special token, decoded as U+FFFD), and round trips are exact
# only for known characters: choose that when the 256 extra outputs
# matter more than exactness.
#
# Worked example: trained on `"hello"` the vocabulary is `<pad> <bos> <eos>
# e h l o` (ids 0-6), then bytes 0..255 (ids 7-262). `encode("hole")` is
# `[4, 6, 5, 3]`; `encode("é")` is the two UTF-8 bytes `0xC3 0xA9`, ids
# `7 + 195 = 202` and `7 + 169 = 176`.

# %% nbgrader={"grade": false, "grade_id": "char_encode", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
class CharTokenizer:
    """One id per character: specials 0-2 (pad, bos, eos), [unk 3,] the characters, then 256 byte ids.

    Unknown characters are encoded as their UTF-8 bytes (``byte_fallback=True``,
    exact round trip on any text) or as ``unk_id`` (``byte_fallback=False``).
    """

    pad_id, bos_id, eos_id = PAD_ID, BOS_ID, EOS_ID

    def __init__(self, characters: Iterable[str], byte_fallback: bool = True) -> None:
        chars = list(dict.fromkeys(characters))  # unique, order kept
        for c in chars:
            if len(c) != 1:
                raise ValueError(f"CharTokenizer characters must be single characters, got {c!r}")
        self.byte_fallback = byte_fallback
        self.unk_id = None if byte_fallback else len(SPECIAL_TOKENS)
        first = len(SPECIAL_TOKENS) + (0 if byte_fallback else 1)
        self.characters = chars
        self.char_to_id = {c: first + i for i, c in enumerate(chars)}
        self.byte_offset = first + len(chars) if byte_fallback else None  # id of byte 0
        self.vocab_size = first + len(chars) + (256 if byte_fallback else 0)

    @classmethod
    def train(cls, text: str, vocab_size: int | None = None, byte_fallback: bool = True) -> CharTokenizer:
        """The characters of ``text`` (sorted); with ``vocab_size``, only the most frequent that fit."""
        counts = Counter(text)
        chars = sorted(counts)
        if vocab_size is not None:
            room = vocab_size - len(SPECIAL_TOKENS) - (256 if byte_fallback else 1)
            if room < 0:
                raise ValueError(f"vocab_size={vocab_size} leaves no room for the characters: the special tokens "
                                 f"{'and the 256 byte ids ' if byte_fallback else 'and <unk> '}need "
                                 f"{vocab_size - room}")
            chars = sorted(c for c, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:room])
        return cls(chars, byte_fallback=byte_fallback)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """ids of ``text``; ``bos``/``eos`` add the special ids at the ends."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids = [self.bos_id] if bos else []
        lookup = self.char_to_id
        for c in text:
            # TODO (task 10.1): a known character appends its id; an unknown
            # one appends byte_offset + b for every byte b of _utf8(c), or
            # unk_id when there is no byte fallback.
            ### BEGIN SOLUTION
            token = lookup.get(c)
            if token is not None:
                ids.append(token)
            elif self.byte_fallback:
                ids.extend(self.byte_offset + b for b in _utf8(c))
            else:
                ids.append(self.unk_id)
            ### END SOLUTION
        if eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """The text of ``ids``; runs of byte ids are joined and decoded as UTF-8."""
        parts: list[str] = []
        pending = bytearray()
        for token in ids:
            token = int(token)
            if not 0 <= token < self.vocab_size:
                raise IndexError(f"token id {token} is outside [0, {self.vocab_size}) for this {type(self).__name__}")
            if self.byte_fallback and token >= self.byte_offset:
                pending.append(token - self.byte_offset)
                continue
            if pending:
                parts.append(_from_utf8(bytes(pending)))
                pending.clear()
            if token < len(SPECIAL_TOKENS):
                if not skip_special_tokens:
                    parts.append(SPECIAL_TOKENS[token])
            elif token == self.unk_id:
                parts.append("\ufffd")
            else:
                parts.append(self.characters[token - len(SPECIAL_TOKENS) - (0 if self.byte_fallback else 1)])
        if pending:
            parts.append(_from_utf8(bytes(pending)))
        return "".join(parts)

    def __repr__(self) -> str:
        return (f"CharTokenizer(vocab_size={self.vocab_size}, characters={len(self.characters)}, "
                f"byte_fallback={self.byte_fallback})")


# %% nbgrader={"grade": true, "grade_id": "test_char_encode", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_tok = CharTokenizer.train("hello")
assert _tok.vocab_size == 7 + 256 and _tok.encode("hole") == [4, 6, 5, 3]
assert _tok.encode("\u00e9") == [202, 176] and _tok.decode(_tok.encode("h\u00e9llo!")) == "h\u00e9llo!"
### BEGIN HIDDEN TESTS
assert _tok.encode("he", bos=True, eos=True) == [1, 4, 3, 2]
_strict = CharTokenizer.train("hello", byte_fallback=False)
assert _strict.encode("hex") == [5, 4, 3] and _strict.decode([5, 4, 3]) == "he\ufffd"
assert _tok.decode(_tok.encode("\U0001f600 ok")) == "\U0001f600 ok"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Byte-pair encoding
#
# BPE (Sennrich et al., 2016; byte-level as in GPT-2) starts from the 256
# bytes, so *every* text can be encoded, and learns **merges**: repeatedly
# find the most frequent adjacent pair of tokens in the training text and
# make it a new token. After `k` merges the vocabulary has `3 + 256 + k`
# ids (specials, bytes, merges).
#
# Worked example on the bytes of `"aaabdaaabac"`:
#
# | step | most frequent pair | new token | sequence |
# |------|--------------------|-----------|----------|
# | 0 | | | `a a a b d a a a b a c` (11) |
# | 1 | `a a` (4 times) | `Z = aa` | `Z a b d Z a b a c` (9) |
# | 2 | `a b` (2; ties with `Z a`) | `Y = ab` | `Z Y d Z Y a c` (7) |
# | 3 | `Z Y` (2) | `X = ZY = aaab` | `X d X a c` (5) |
#
# (Counting `a a` in `a a a` gives 2 overlapping pairs; the merge replaces
# left to right, so `a a a` becomes `Z a`.) Encoding a new text applies the
# merges **in the order they were learned**: merge 1 wherever it applies,
# then merge 2, and so on -- the same tokens the training text got.
#
# Two details from GPT-2. First, the text is cut into **chunks** before
# counting -- runs of letters with the space before them (`" the"`),
# numbers, punctuation, whitespace -- and merges never cross a chunk
# boundary, so `"the."` does not become a token, and identical words are
# counted once with their frequency (which makes training fast). Second,
# ties between equally frequent pairs go to the smaller pair of ids (in
# step 2, `a b` = ids `(100, 101)` beats `Z a` = `(259, 100)`), so training
# is deterministic.

# %% nbgrader={"grade": false, "grade_id": "merge_pair", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with every non-overlapping occurrence of ``pair``, left to right, replaced by ``new_id``."""
    # TODO (task 10.2): walk i over ids; where (ids[i], ids[i+1]) == pair,
    # append new_id and skip two, else append ids[i] and step one.
    ### BEGIN SOLUTION
    out: list[int] = []
    i, n = 0, len(ids)
    first, second = pair
    while i < n:
        if i + 1 < n and ids[i] == first and ids[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_merge_pair", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
_a, _b, _c, _d = (ord(x) for x in "abcd")
assert merge_pair([_a, _a, _a, _b, _d], (_a, _a), 300) == [300, _a, _b, _d]
assert merge_pair([300, _a, _b, _d, 300, _a, _b, _a, _c], (300, _a), 301) == [301, _b, _d, 301, _b, _a, _c]
### BEGIN HIDDEN TESTS
assert merge_pair([], (1, 2), 9) == [] and merge_pair([1], (1, 2), 9) == [1]
assert merge_pair([1, 2, 1, 2, 2], (1, 2), 9) == [9, 9, 2]
### END HIDDEN TESTS

# %% [markdown]
# Training, as provided code. The direct way recounts every pair of the
# corpus after each merge. We count once, then after a merge update only
# the chunks that contained the merged pair (a dictionary from pair to the
# chunks that hold it), and keep the counts in a heap so the most frequent
# pair is found without scanning them all. Training 1,789 merges on the
# whole novel takes a few seconds instead of minutes. `encode_chunk`
# (task 10.3) is the direct way for one chunk: it applies the merges by
# rank, lowest first, and results are cached per chunk string, since the
# same words recur.

# %% nbgrader={"grade": false, "grade_id": "bpe_encode_chunk", "locked": false, "schema_version": 3, "solution": true, "task": false}
#| export
# GPT-2's chunking, for any Unicode text: letters, digits, other symbols
# (each run with at most one leading space), underscores, whitespace.
CHUNK_PATTERN = re.compile(r" ?[^\W\d_]+| ?\d+| ?[^\s\w]+| ?_+|\s+(?!\S)|\s+")


class BPETokenizer:
    """Byte-level byte-pair encoding: ids 0-2 special (pad, bos, eos), 3-258 the bytes, then one id per merge."""

    pad_id, bos_id, eos_id = PAD_ID, BOS_ID, EOS_ID
    byte_offset = len(SPECIAL_TOKENS)  # id of byte 0

    def __init__(self, merges: Iterable[tuple[int, int]] = ()) -> None:
        self.merges: list[tuple[int, int]] = []
        self.ranks: dict[tuple[int, int], int] = {}  # pair -> the id it merges into
        self.token_bytes: list[bytes] = [b""] * len(SPECIAL_TOKENS) + [bytes([b]) for b in range(256)]
        for pair in merges:
            self._add_merge((int(pair[0]), int(pair[1])))
        self._cache: dict[str, list[int]] = {}

    def _add_merge(self, pair: tuple[int, int]) -> int:
        new_id = len(self.token_bytes)
        if not (self.byte_offset <= pair[0] < new_id and self.byte_offset <= pair[1] < new_id):
            raise ValueError(f"merge {pair} refers to an id outside [{self.byte_offset}, {new_id})")
        self.merges.append(pair)
        self.ranks[pair] = new_id
        self.token_bytes.append(self.token_bytes[pair[0]] + self.token_bytes[pair[1]])
        return new_id

    @property
    def vocab_size(self) -> int:
        return len(self.token_bytes)

    def encode_chunk(self, chunk: str) -> list[int]:
        """The ids of one chunk: its bytes, then the learned merges, lowest rank first."""
        ids = [self.byte_offset + b for b in _utf8(chunk)]
        ranks = self.ranks
        # TODO (task 10.3): repeat: among the adjacent pairs of ids, find the
        # one with the lowest rank (ranks[pair] is its new id; unknown pairs
        # do not count); stop when there is none; else ids = merge_pair(...).
        ### BEGIN SOLUTION
        while len(ids) > 1:
            best = min(zip(ids, ids[1:]), key=lambda pair: ranks.get(pair, 1 << 62))
            if best not in ranks:
                break
            ids = merge_pair(ids, best, ranks[best])
        ### END SOLUTION
        return ids

    @classmethod
    def train(cls, text: str, vocab_size: int, progress: bool = False) -> BPETokenizer:
        """Learn ``vocab_size - 259`` merges from ``text`` (fewer if no pair occurs twice)."""
        tokenizer = cls()
        if vocab_size < tokenizer.vocab_size:
            raise ValueError(f"vocab_size must be at least {tokenizer.vocab_size} (3 special tokens + 256 bytes), "
                             f"got {vocab_size}")
        chunk_counts = Counter(CHUNK_PATTERN.findall(text))
        words = [[tokenizer.byte_offset + b for b in _utf8(chunk)] for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        pair_counts: Counter = Counter()
        where: defaultdict = defaultdict(set)  # pair -> indices of the words that contain it
        for index, (word, freq) in enumerate(zip(words, freqs)):
            for pair in zip(word, word[1:]):
                pair_counts[pair] += freq
                where[pair].add(index)
        # a heap of (-count, pair): the most frequent pair on top, ties to the smaller pair; entries
        # whose count has changed since they were pushed are stale and skipped
        heap = [(-count, pair) for pair, count in pair_counts.items()]
        heapq.heapify(heap)
        steps = range(vocab_size - tokenizer.vocab_size)
        if progress:
            from rich.progress import track
            steps = track(steps, description="BPE merges")
        for _ in steps:
            while heap and pair_counts.get(heap[0][1], 0) != -heap[0][0]:
                heapq.heappop(heap)
            if not heap or -heap[0][0] < 2:
                break
            best = heap[0][1]
            new_id = tokenizer._add_merge(best)
            changed = set()
            for index in where.pop(best):
                word, freq = words[index], freqs[index]
                for pair in zip(word, word[1:]):  # forget the word's old pairs ...
                    pair_counts[pair] -= freq
                    changed.add(pair)
                word = words[index] = merge_pair(word, best, new_id)
                for pair in zip(word, word[1:]):  # ... and count its new ones
                    pair_counts[pair] += freq
                    where[pair].add(index)
                    changed.add(pair)
            for pair in changed:
                count = pair_counts[pair]
                if count > 0:
                    heapq.heappush(heap, (-count, pair))
                else:
                    del pair_counts[pair]
        return tokenizer

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """ids of ``text`` (chunk by chunk, cached); ``bos``/``eos`` add the special ids at the ends."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        ids = [self.bos_id] if bos else []
        cache = self._cache
        for chunk in CHUNK_PATTERN.findall(text):
            cached = cache.get(chunk)
            if cached is None:
                cached = self.encode_chunk(chunk)
                if len(cache) < 100_000:
                    cache[chunk] = cached
            ids.extend(cached)
        if eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """The text of ``ids``: the bytes of every token, decoded as UTF-8 at once."""
        data = bytearray()
        parts: list[str] = []
        for token in ids:
            token = int(token)
            if not 0 <= token < self.vocab_size:
                raise IndexError(f"token id {token} is outside [0, {self.vocab_size}) for this BPETokenizer")
            if token < self.byte_offset:
                if not skip_special_tokens:
                    parts.append(_from_utf8(bytes(data)) + SPECIAL_TOKENS[token])
                    data.clear()
                continue
            data += self.token_bytes[token]
        parts.append(_from_utf8(bytes(data)))
        return "".join(parts)

    def token(self, token_id: int) -> str:
        """A readable form of one token (its bytes decoded, or the special token's name)."""
        if token_id < self.byte_offset:
            return SPECIAL_TOKENS[token_id]
        return self.token_bytes[token_id].decode("utf-8", "backslashreplace")

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)})"


# %% nbgrader={"grade": true, "grade_id": "test_bpe_encode_chunk", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_bpe = BPETokenizer.train("aaabdaaabac", 262)  # the worked example: three merges
_a, _b = 3 + ord("a"), 3 + ord("b")
assert _bpe.merges == [(_a, _a), (_a, _b), (259, 260)], _bpe.merges
assert _bpe.encode_chunk("aaabdaaabac") == [261, 3 + ord("d"), 261, _a, 3 + ord("c")]
### BEGIN HIDDEN TESTS
assert _bpe.encode_chunk("aaaa") == [259, 259] and _bpe.encode_chunk("") == []
assert _bpe.decode(_bpe.encode("aab caa\u00e9")) == "aab caa\u00e9"
### END HIDDEN TESTS

# %% [markdown]
# A tokenizer trained on 100,000 characters of *Pride and Prejudice*
# (bundled with the course, `tinytorch.datasets.load_pride_and_prejudice`),
# and what it does to a sentence:

# %%
from tinytorch.datasets import load_pride_and_prejudice  # noqa: E402

_corpus = load_pride_and_prejudice()
_bpe = BPETokenizer.train(_corpus.train[:100_000], 512)
_sentence = "It is a truth universally acknowledged, that a single man"
print([_bpe.token(i) for i in _bpe.encode(_sentence)])
print("the first merges:", [_bpe.token(i) for i in range(259, 275)])

# %% [markdown]
# ## 4. The trade-off, measured
#
# We train one BPE tokenizer with 2,048 ids on the training split
# (merges are learned in order, so the first `k` merges of it *are* the
# tokenizer with `259 + k` ids) and encode the 68,394 characters of the
# validation split with each size. Fewer tokens per character means
# shorter sequences for the same text: attention's cost falls with the
# square. The price is the embedding and output layers, `V x D` each.
#
# (The character tokenizer's vocabulary counts only the special ids and
# the characters; its 256 byte-fallback ids are never used on this text.)

# %%
_full = BPETokenizer.train(_corpus.train, 2048)
_chars = CharTokenizer.train(_corpus.train)
_n = len(_corpus.validation)
_rows = [("characters", 3 + len(_chars.characters), len(_chars.encode(_corpus.validation)))]
for _size in (259, 300, 512, 1024, 2048):
    _sub = BPETokenizer(_full.merges[:_size - 259])
    _rows.append((f"BPE {_size}", _size, len(_sub.encode(_corpus.validation))))
print(f"{'tokenizer':>12} {'vocab V':>8} {'tokens':>8} {'tokens/char':>12} {'T^2 vs chars':>13} {'V x 128':>9}")
for _name, _v, _t in _rows:
    print(f"{_name:>12} {_v:8d} {_t:8d} {_t / _n:12.3f} {(_t / _rows[0][2]) ** 2:13.2f} {_v * 128:9,d}")

# %%
try:
    import matplotlib.pyplot as plt
except ImportError:  # the figure is optional
    plt = None
if plt is not None:
    _fig, _ax = plt.subplots(figsize=(6, 3.5))
    _ax.plot([r[1] for r in _rows[1:]], [r[2] / _n for r in _rows[1:]], "o-", label="BPE (byte-level)")
    _ax.plot([_rows[0][1]], [_rows[0][2] / _n], "s", label="characters")
    _ax.set_xscale("log")
    _ax.set(title="Vocabulary size against sequence length (validation text)", xlabel="vocabulary size V (ids)",
            ylabel="tokens per character")
    _ax.legend()
    _fig.tight_layout()
    plt.show()

# %% [markdown]
# What the numbers say (computed above; the run that wrote this text
# gave these): bytes alone (`BPE 259`) need one token per character, like
# the character tokenizer. 253 merges cut the sequence to 0.46 tokens per
# character, 1,789 merges to 0.30 -- a context of 256 tokens then holds
# 3.3 times as much text as with characters, and attention over the same
# text costs a tenth (0.09). Each doubling of the vocabulary buys less:
# the frequent pieces (`" the"`, `"ing"`, `" and"`) come first. For a small
# model trained for minutes the characters win anyway: 78 outputs instead
# of 2,048 keep the output layer cheap, and every one of them is seen
# thousands of times in training, while a rare BPE token is seen a handful
# of times. Large models, which see billions of tokens, use 50,000-200,000
# ids.
#
# ## Systems view
#
# | | characters | BPE |
# |---|---|---|
# | encode | one dictionary lookup per character | chunking, then merges per new chunk (cached) |
# | training | one pass to count characters | `V - 259` merges; each touches only the chunks holding the pair |
# | memory | `V` entries | `V` byte strings plus the merge table |
#
# A token id becomes a row of an embedding table (module 11) and a column
# of the output layer: both grow linearly with `V`, while attention's
# cost grows with the square of the number of tokens.
