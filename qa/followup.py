"""Follow-up questions: "那7月20日呢?" after "7月18日的会议谁参加了?" asks the same about July 20."""

from __future__ import annotations

import re

from .dates import find_dates
from .normalize import normalize_question
from .tokenize import PLACE_SUFFIXES

_FOLLOWUP = re.compile(r"^(?:那么?|那|还有|再问|and|what about|how about)\s*(?P<rest>.+?)"
                       r"\s*(?:呢|的呢|怎么样|如何)?\s*[?？]?$",
                       re.I)
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,8}?(?:" + "|".join(PLACE_SUFFIXES) + r")")


def is_followup(question: str) -> bool:
    q = question.strip()
    return bool(_FOLLOWUP.match(q)) and (q.rstrip("?？ ").endswith("呢") or q.lower().startswith(
        ("what about", "how about", "and ")) or len(q) <= 12)


def resolve(question: str, previous: str | None) -> str:
    """The question to answer: a follow-up completed from the previous question, else itself."""
    if not previous or not is_followup(question):
        return question
    rest = _FOLLOWUP.match(question.strip())["rest"].rstrip("呢 ")
    rest_norm, prev_norm = normalize_question(rest), normalize_question(previous)
    new_dates, old_dates = find_dates(rest_norm), find_dates(prev_norm)
    if new_dates and old_dates:
        old = old_dates[0]
        return prev_norm[:old.start] + new_dates[0].text + prev_norm[old.end:]
    new_place = _PLACE.fullmatch(rest_norm)
    old_place = _PLACE.search(prev_norm)
    if new_place and old_place:
        return prev_norm[:old_place.start()] + rest_norm + prev_norm[old_place.end():]
    if new_dates:
        return new_dates[0].text + "," + prev_norm
    return rest_norm + " " + prev_norm
