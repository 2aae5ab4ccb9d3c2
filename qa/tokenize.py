"""Words for BM25: jieba, with dates, numbers with units and known names kept whole.

``7月18日`` and ``七月十八日`` both become the token ``07-18``; a range ``2月10日至12日`` also
gives its two ends. ``220亿元``, ``5.8万余人``, ``1500万台`` stay one token (and give their bare
number too). Names that bylines and titles reveal are added to jieba's dictionary, so
``牛瑞华`` is one token, not three.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from .dates import find_dates
from .lexicons import words

TOKENIZER_VERSION = "2"

UNITS = "|".join(re.escape(u) for u in sorted(words("units"), key=len, reverse=True))
NUMBER_WITH_UNIT = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?(?:[万亿千百])?)(?:余|多)?(?:{UNITS})(?:余|多)?")
_ORDINAL = re.compile(r"第[一二三四五六七八九十百\d]+[个家次届批期天]?")
_DROP = re.compile(r"^[\W_]+$")
STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 对 为 将 把 被 由 从 向 于 以 等 也 都 而 并 就 又 之 其 这 那 有 个 "
    "中 上 下 到 着 过 给 让 使 该 此 各 等等 一个 进行 呢 吗 么 啊 吧 什么 哪 哪些 哪个 哪里 谁 几 多少 "
    "怎么 怎样 如何 为什么 是否 何时 何地 请问 the a an of in on at to and or is are was were what who "
    "when where which how why did does do".split()
)
PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})
PLACE_TAGS = frozenset({"ns", "nt", "nz"})
NAME_TAGS = PERSON_TAGS | PLACE_TAGS
_FUNCTION_CHARS = frozenset("在到赴于的和与及从向对把被由将为是了至往")
# jieba tags of a word no place name starts with: a measure word, a pronoun, a numeral (哪座城市, 这个镇)
_NOT_PLACE_STARTS = frozenset({"q", "r", "m"})
PLACE_SUFFIXES = ("区", "县", "市", "镇", "乡", "省", "村", "社区", "街道")


def place_parts(name: str) -> tuple[str, str] | None:
    """(stem, suffix) of a place name: a suffix after at least two characters (二七 + 区, 郑东新 + 区);
    None for one character and a suffix (城市, 小镇, 新区, 全县), a suffix alone (社区) or no suffix."""
    for suffix in PLACE_SUFFIXES:
        stem = name.removesuffix(suffix)
        if stem != name and len(stem) >= 2:
            return stem, suffix
    return None


def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


class Tokenizer:
    """A jieba tokenizer of its own (the global one is left alone) plus protected spans."""

    def __init__(self, words: Iterable[str] = ()):
        jieba = _jieba()
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.words: set[str] = set()
        self._pos = None
        self.add_words(words)

    def add_words(self, words: Iterable[str]) -> None:
        for w in words:
            w = w.strip()
            if len(w) >= 2 and w not in self.words:
                self.words.add(w)
                self._jieba.add_word(w, freq=2000)

    def frequency(self, word: str) -> int:
        """How common ``word`` is, by jieba's dictionary (0: not in it)."""
        return self._jieba.FREQ.get(word, 0)

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech tag) pairs, as jieba.posseg gives them."""
        if self._pos is None:  # loading the tag table takes a second: once
            import jieba.posseg

            self._pos = jieba.posseg.POSTokenizer(self._jieba)
        return [(p.word, p.flag) for p in self._pos.cut(text)]

    def names_in(self, text: str, tags: frozenset[str] = NAME_TAGS) -> list[str]:
        """People, places and organizations jieba's part-of-speech tags find in ``text``."""
        words = self.tagged(text)
        out = []
        for i, (word, flag) in enumerate(words):
            if flag not in tags or len(word) < 2:
                continue
            # jieba cuts 郑东新区 into 郑东新 + 区: give a place its suffix back.
            following = words[i + 1][0] if i + 1 < len(words) else ""
            if following in PLACE_SUFFIXES and not word.endswith(PLACE_SUFFIXES):
                if tags & PLACE_TAGS or flag in PERSON_TAGS:
                    word += following
                    if not tags & PLACE_TAGS:
                        continue  # a place, not the person that was asked for
            # ... and 经开区 to 经 + 开区: a two-character place glued to the character before it.
            previous = words[i - 1][0] if i else ""
            if flag in PLACE_TAGS and len(word) == 2 and word.endswith(PLACE_SUFFIXES) \
                    and len(previous) == 1 and previous not in _FUNCTION_CHARS and "\u4e00" <= previous <= "\u9fff" \
                    and words[i - 1][1] not in _NOT_PLACE_STARTS:
                word = previous + word
            out.append(word)
        return out

    def words_of(self, text: str) -> list[str]:
        """jieba's precise segmentation of ``text``, blanks left out."""
        return [w for w in self._jieba.cut(text) if w.strip()]

    def __call__(self, text: str) -> list[str]:
        return self.tokenize(text)

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        pos = 0
        for start, end, protected in _protected_spans(text):
            tokens.extend(self._words(text[pos:start]))
            tokens.extend(protected)
            pos = end
        tokens.extend(self._words(text[pos:]))
        return tokens

    def _words(self, text: str) -> list[str]:
        if not text:
            return []
        out = []
        for w in self._jieba.cut_for_search(text):
            w = w.strip().lower()
            if w and not _DROP.match(w) and w not in STOPWORDS:
                out.append(w)
        return out


def _protected_spans(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, tokens) of dates, numbers with units and ordinals, in order, not overlapping."""
    spans: list[tuple[int, int, list[str]]] = []
    for d in find_dates(text):
        spans.append((d.start, d.end, date_tokens(d.norm)))
    for m in NUMBER_WITH_UNIT.finditer(text):
        spans.append((m.start(), m.end(), [m.group(0), m["num"]]))
    for m in _ORDINAL.finditer(text):
        spans.append((m.start(), m.end(), [m.group(0)]))
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    kept, last_end = [], -1
    for span in spans:
        if span[0] >= last_end:
            kept.append(span)
            last_end = span[1]
    return kept


def date_tokens(norm: str) -> list[str]:
    """The tokens of a normalized date: itself, and for a range its two ends."""
    parts = norm.split("/")
    return [norm] + (parts if len(parts) > 1 else [])
