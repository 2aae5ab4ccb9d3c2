"""Characters of a passage as the reader points at them: their token and boundary features.

The reader scores characters, so an answer can end inside an encoder piece (``15日`` out of
``15`` ``日在``). Each character knows the token that covers it and six features: first and
last character of that token, start and end of a jieba word, punctuation, and digit or Latin.
Which boundaries answers respect is learned from the training data, not ruled.

:func:`question_overlap` adds what the frozen encoder cannot see, since it reads the passage
without the question: which characters the question repeats, alone and as two-character words
(DrQA's "exact match" features, per character). How much they count is learned.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CHAR_FEATURES = 6     # boundary features of a character (char_layout)
OVERLAP_FEATURES = 2  # what the question repeats (question_overlap); after them in the head's ``char_feats``


@dataclass
class CharLayout:
    token: np.ndarray     # (chars,) int64: the token covering each character
    features: np.ndarray  # (chars, CHAR_FEATURES) float32
    valid: np.ndarray     # (chars,) bool: may start or end an answer


def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


@lru_cache(maxsize=1)
def _tokenizer():
    jb = _jieba()
    tk = jb.Tokenizer()
    tk.initialize()
    return tk


def is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZ" or ch.isspace()


_ALNUM = re.compile(r"[0-9A-Za-z０-９Ａ-Ｚａ-ｚ.%]")


def char_layout(text: str, offsets: np.ndarray) -> CharLayout:
    """Layout of ``text`` given its tokens' character offsets ((-1, -1) for non-text tokens)."""
    n = len(text)
    token = np.zeros(n, np.int64)
    covered = np.zeros(n, bool)
    features = np.zeros((n, CHAR_FEATURES), np.float32)
    for t, (s, e) in enumerate(offsets):
        if s < 0 or s >= n:
            continue
        e = min(int(e), n)
        token[s:e] = t  # a later piece wins over the bare word marker that shares its start
        covered[s:e] = True
        features[s, 0] = 1.0
        features[e - 1, 1] = 1.0
    last = 0
    for i in range(n):  # uncovered characters (blanks) borrow the previous token
        if covered[i]:
            last = token[i]
        else:
            token[i] = last
    for _, s, e in _tokenizer().tokenize(text):
        if e > s:
            features[s, 2] = 1.0
            features[e - 1, 3] = 1.0
    for i, ch in enumerate(text):
        features[i, 4] = is_punct(ch)
        features[i, 5] = bool(_ALNUM.match(ch))
    valid = covered & ~np.array([ch.isspace() for ch in text], bool) if n else covered
    return CharLayout(token, features, valid)



def _key(ch: str) -> str:
    return "" if is_punct(ch) else ch.lower()


def question_overlap(text: str, question: str) -> np.ndarray:
    """(chars, 2) float32: the character occurs in the question; it is part of a two-character
    sequence the question also has."""
    q = [_key(c) for c in question]
    chars = {c for c in q if c}
    pairs = {(a, b) for a, b in zip(q, q[1:], strict=False) if a and b}
    t = [_key(c) for c in text]
    out = np.zeros((len(t), OVERLAP_FEATURES), np.float32)
    for i, c in enumerate(t):
        if c and c in chars:
            out[i, 0] = 1.0
            if i + 1 < len(t) and (c, t[i + 1]) in pairs:
                out[i, 1] = out[i + 1, 1] = 1.0
    return out
