"""One script for matching, the original for showing: traditional text folded to simplified.

Questions are normalized to simplified characters; stories keep the characters they were
printed in (citations quote them, offsets point into them). Everything that *compares* text
(BM25 tokens, embeddings and the reader's inputs, dates, names, places, bylines) reads
``fold(text)``: the same text in simplified characters and, unlike a plain OpenCC
conversion, always the same length, so an offset into the folded text is an offset into the
original. Replies to a question asked in traditional characters are phrased in traditional
characters (:func:`to_traditional`); quotes stay as printed.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4)
def _opencc(config: str):
    import opencc

    return opencc.OpenCC(config)


@lru_cache(maxsize=65536)
def _char(ch: str) -> str:
    out = _opencc("t2s").convert(ch)
    return out if len(out) == 1 else ch


def fold(text: str) -> str:
    """``text`` in simplified characters, character for character (same length, same offsets).

    OpenCC converts phrase by phrase; where that changes the length, each character is
    converted on its own instead."""
    if not text or text.isascii():
        return text
    out = _opencc("t2s").convert(text)
    if out == text:
        return text  # simplified already: no second copy of it is kept
    if len(out) == len(text):
        return out
    return "".join(_char(ch) for ch in text)


def is_traditional(text: str) -> bool:
    """Written in traditional characters: folding changes it."""
    return fold(text) != text


def to_traditional(text: str) -> str:
    """Reply phrasing for a question asked in traditional characters (OpenCC s2t)."""
    return _opencc("s2t").convert(text)
