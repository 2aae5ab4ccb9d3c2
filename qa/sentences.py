"""Sentence boundaries in a story body, as character offsets."""

from __future__ import annotations

import re

# A sentence ends at a full stop, question or exclamation mark (with the quotes that close
# after it), or at the end of a paragraph.
_SENTENCE = re.compile(r"[^\n]*?(?:(?:[。！？!?]|……)[”’\"'」』）)】]*|(?=\n)|$)")
_CLAUSE_BREAKS = (re.compile(r"[；;]"), re.compile(r"[，,、：:]"))


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text[start:end]``, surrounding blanks left out."""
    end = len(text) if end is None else end
    spans = []
    pos = start
    while pos < end:
        m = _SENTENCE.match(text, pos, end)
        s, e = m.start(), m.end()
        if e == s:  # at a newline
            pos = e + 1
            continue
        spans.append(_strip(text, s, e))
        pos = e
    return [(s, e) for s, e in spans if e > s]


def split_long(text: str, span: tuple[int, int], max_chars: int, level: int = 0) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_chars`` at semicolons, then at commas, then anywhere."""
    s, e = span
    if e - s <= max_chars:
        return [span]
    if level == len(_CLAUSE_BREAKS):
        return [(i, min(i + max_chars, e)) for i in range(s, e, max_chars)]
    cuts = [m.end() for m in _CLAUSE_BREAKS[level].finditer(text, s, e) if m.end() < e]
    out = []
    for piece in _pack(s, e, cuts, max_chars):
        out.extend(split_long(text, piece, max_chars, level + 1))
    return out


def _pack(s: int, e: int, cuts: list[int], max_chars: int) -> list[tuple[int, int]]:
    """Greedily join the clauses between ``cuts`` into pieces of at most ``max_chars``."""
    pieces, start, last = [], s, s
    for cut in cuts + [e]:
        if cut - start > max_chars and last > start:
            pieces.append((start, last))
            start = last
        last = cut
    pieces.append((start, e))
    return pieces


def _strip(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e
