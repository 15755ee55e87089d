"""Probes of module 10's graded cells (format: tito_cli/probing.py).

Each probe calls the student's code (``nb``) and returns what it saw; the
grader compares it with the reference solution's outputs, outside the
student's process. Probes are keyed by the graded cell's grade_id.
"""

import numpy as np


def char_encode_known_and_bytes(nb):
    tok = nb.CharTokenizer.train("hello, world")
    text = "hold \u00e9t\u00e9 \U0001f600 row"
    ids = tok.encode(text)
    return {"ids": np.array(ids), "round_trip": tok.decode(ids) == text, "vocab_size": tok.vocab_size,
            "with_ends": np.array(tok.encode("lo", bos=True, eos=True))}


def char_encode_unk(nb):
    tok = nb.CharTokenizer.train("abcab", byte_fallback=False)
    return {"ids": np.array(tok.encode("abzc\u00e9")), "decoded": tok.decode(tok.encode("abzc"))}


def merge_pair_cases(nb):
    return {"overlap": np.array(nb.merge_pair([7, 7, 7, 8, 7, 7], (7, 7), 300)),
            "chain": np.array(nb.merge_pair([300, 7, 8, 300, 7, 300], (300, 7), 301)),
            "edges": np.array(nb.merge_pair([1, 2, 1, 2, 2, 1], (1, 2), 9)),
            "empty": len(nb.merge_pair([], (1, 2), 9)), "single": np.array(nb.merge_pair([1], (1, 2), 9))}


def bpe_encode_chunk_order(nb):
    tok = nb.BPETokenizer.train("aaabdaaabac the then there thee", 270)
    return {"merges": np.array(tok.merges), "chunk": np.array(tok.encode_chunk("aaabdaaabac")),
            "aaaa": np.array(tok.encode_chunk("aaaa")), "there": np.array(tok.encode_chunk(" there")),
            "empty": len(tok.encode_chunk(""))}


def bpe_round_trip(nb):
    tok = nb.BPETokenizer.train("the cat sat on the mat; the cats sat. " * 3, 290)
    text = "the mats, \u00e9t\u00e9 sat\n\n cat_s 42"
    ids = tok.encode(text)
    return {"ids": np.array(ids), "round_trip": tok.decode(ids) == text}


PROBES = {
    "test_char_encode": [char_encode_known_and_bytes, char_encode_unk],
    "test_merge_pair": [merge_pair_cases],
    "test_bpe_encode_chunk": [bpe_encode_chunk_order, bpe_round_trip],
}
