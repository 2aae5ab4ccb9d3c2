"""Names a question misspells, read as the corpus names they sound like (牛瑞化 -> 牛瑞华).

A run of the question's characters as long as a name the corpus prints, not itself such a name,
that differs from exactly one of them in one character, the two characters sharing a toneless
reading in CC-CEDICT (``qa.gloss``'s readings), is read as that name. Names shorter than three
characters are left alone: one character of two is too much of a name to guess.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

MIN_CHARS = 3
_HAN = re.compile(r"[\u4e00-\u9fff]+")


class NameSounds:
    def __init__(self, names: Iterable[str], readings: Callable[[], dict[str, frozenset[str]]]):
        """``readings``: a character -> its syllables, asked only when a near name is found."""
        self.names = frozenset(n for n in names if len(n) >= MIN_CHARS and _HAN.fullmatch(n))
        self._readings = readings
        self._lengths = sorted({len(n) for n in self.names}, reverse=True)
        self._masked: dict[str, list[tuple[str, int]]] = defaultdict(list)  # 牛瑞? -> (牛瑞华, 2)
        for name in self.names:
            for i in range(len(name)):
                self._masked[name[:i] + "\0" + name[i + 1:]].append((name, i))

    def respell(self, text: str) -> str:
        """``text`` with every misspelt name written as the corpus writes it."""
        out, pos = [], 0
        start = 0
        while start < len(text):
            width, name = self._at(text, start)
            if name:
                out.append(text[pos:start] + name)
                pos = start + width
            start += max(width, 1)
        return "".join(out) + text[pos:]

    def _at(self, text: str, start: int) -> tuple[int, str | None]:
        """(characters to skip, the name to read them as) at ``start``: a name printed right is
        skipped whole; a misspelt one is returned; (0, None) otherwise."""
        for width in self._lengths:
            run = text[start:start + width]
            if len(run) < width or not _HAN.fullmatch(run):
                continue
            if run in self.names:
                return width, None
            found = {name for i in range(width)
                     for name, j in self._masked.get(run[:i] + "\0" + run[i + 1:], ())
                     if self._sound_alike(run[i], name[j])}
            if len(found) == 1:
                return width, found.pop()
        return 0, None

    def _sound_alike(self, a: str, b: str) -> bool:
        readings = self._readings()
        return bool(readings.get(a, frozenset()) & readings.get(b, frozenset()))
