"""Structure on top of the reader's span: a list of people with their roles, a byline.

The reader points at one span; when a who-question's span names a person who stands in a
coordination (``管委会主任牛瑞华、副主任马安庄等出席``), the answer is the whole coordination,
each person with the role the text gives them. Bylines are not in the story body: "which
reporter wrote it" is answered from the story's byline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .citations import sentence_range
from .people import find_people
from .script import fold
from .story import Story

_COORDINATION = re.compile(r"[、，,和及与\s]{0,2}")


@dataclass
class Piece:
    """One part of an answer: ``story.body[start:end]``; for a person, name and role apart."""

    start: int
    end: int
    text: str
    name: str = ""
    role: str = ""


def people_list(story: Story, start: int, end: int, known: frozenset[str]) -> list[Piece]:
    """The coordinated people around body[start:end] (role + name each), or [] if it names none."""
    s0, e0 = sentence_range(story, start, end)
    sentence = story.body[s0:e0]
    people = find_people(fold(sentence), known)  # matched in simplified, quoted as printed
    a, b = start - s0, end - s0
    hit = [i for i, p in enumerate(people) if _left(p) < b and p.end > a]
    if not hit:
        return []
    lo, hi = min(hit), max(hit)
    while lo > 0 and _coordinated(sentence, people[lo - 1], people[lo]):
        lo -= 1
    while hi + 1 < len(people) and _coordinated(sentence, people[hi], people[hi + 1]):
        hi += 1
    out = []
    for p in people[lo:hi + 1]:
        left = _left(p)
        role = sentence[p.role_start:p.start] if p.role else ""
        out.append(Piece(s0 + left, s0 + p.end, sentence[left:p.end], sentence[p.start:p.end], role))
    return out


def cuts_a_name(start: int, end: int, people: list[Piece]) -> bool:
    """Whether body[start:end] begins or ends inside one of the names (刘焱 of 刘焱中)."""
    for p in people:
        name_start = p.end - len(p.name)
        if name_start < start < p.end or name_start < end < p.end:
            return True
    return False


def _left(p) -> int:
    return p.role_start if p.role_start is not None else p.start


def _coordinated(sentence: str, first, second) -> bool:
    gap = sentence[first.end:_left(second)]
    return _COORDINATION.fullmatch(gap) is not None


_REPORTER_Q = re.compile(r"记者|reporter", re.I)
_CORRESPONDENT_Q = re.compile(r"通讯员|correspondent", re.I)


def byline_people(story: Story, question: str) -> list[Piece]:
    """The people of a story's byline the question asks for (reporters, correspondents, or all)."""
    by = story.byline
    if not by.lines:
        return []
    reporters = _REPORTER_Q.search(question) and not _CORRESPONDENT_Q.search(question)
    correspondents = _CORRESPONDENT_Q.search(question) and not _REPORTER_Q.search(question)
    names = by.reporters if reporters else by.correspondents if correspondents else by.people
    end = len(story.body)
    return [Piece(end, end, n, n, "") for n in names]
