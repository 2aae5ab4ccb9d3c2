"""Follow-up questions: "那7月20日呢?" after "7月18日的会议谁参加了?" asks the same about July 20."""

from __future__ import annotations

import re
from functools import lru_cache

from .dates import find_dates
from .normalize import is_english, normalize_question
from .tokenize import PLACE_SUFFIXES

_FOLLOWUP = re.compile(r"^(?:那么?|那|还有|再问|and|what about|how about)\s*(?P<rest>.+?)"
                       r"\s*(?:呢|的呢|怎么样|如何)?\s*[?？]?$",
                       re.I)
_EN_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?\b|"
    r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|"
    r"\b\d{1,2}/\d{1,2}\b", re.I)
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,8}?(?:" + "|".join(PLACE_SUFFIXES) + r")")


def is_followup(question: str) -> bool:
    q = question.strip()
    return bool(_FOLLOWUP.match(q)) and (q.rstrip("?？ ").endswith("呢") or q.lower().startswith(
        ("what about", "how about", "and ")) or len(q) <= 12)


def _english_date(text: str) -> re.Match | None:
    return _EN_DATE.search(text)


@lru_cache(maxsize=1)
def _tokenizer():
    from .tokenize import Tokenizer

    return Tokenizer()


def _places(text: str) -> list[str]:
    """Places a question names (郑东新区, 二七区), as the tokenizer finds them, in order."""
    return [n for n in _tokenizer().names_in(text) if n.endswith(PLACE_SUFFIXES)]


def resolve(question: str, previous: str | None) -> str:
    """The question to answer: a follow-up completed from the previous question, else itself.

    Only what the follow-up names (a date or a place) is replaced; the rest of the previous
    question, its question word included, is kept, in the previous question's language.
    """
    if not previous or not is_followup(question):
        return question
    rest = _FOLLOWUP.match(question.strip())["rest"].rstrip("呢 ")
    if is_english(previous):
        old, new = _english_date(previous), _english_date(rest)
        if old and new:
            return previous[:old.start()] + new.group(0) + previous[old.end():]
        return f"{previous.rstrip(' ?？')} ({rest})?"
    rest_norm, prev_norm = normalize_question(rest), normalize_question(previous)
    new_dates, old_dates = find_dates(rest_norm), find_dates(prev_norm)
    if new_dates and old_dates:
        old = old_dates[0]
        return prev_norm[:old.start] + new_dates[0].text + prev_norm[old.end:]
    old_places = _places(prev_norm)
    if _PLACE.fullmatch(rest_norm) and old_places:
        pos = prev_norm.find(old_places[0])
        return prev_norm[:pos] + rest_norm + prev_norm[pos + len(old_places[0]):]
    if new_dates:
        return new_dates[0].text + "," + prev_norm
    return rest_norm + " " + prev_norm
