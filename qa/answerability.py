"""When the corpus has no answer: hard constraints first, then the reader's learned margin.

A date the question names that no retrieved story mentions, or a person the corpus knows but
no retrieved story names, means no answer whatever the reader says; so does an answer whose
people all carry printed roles without the title the question asks for (区长是谁 answered with a
区委书记). Otherwise the reader's best
span must beat its no-answer option by the threshold chosen on held-out data (stored with the
weights): a question is declined when no passage holds a span the reader believes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .people import PERSON_TITLES, looks_like_name
from .question import Question
from .retrieve import StoryHit, name_in
from .tokenize import PLACE_SUFFIXES

STORIES_CHECKED = 5


@dataclass
class Decline:
    reason: str                      # "date", "person", "place", "title", "no_evidence", "not_found"
    detail: dict = field(default_factory=dict)


def unmet_constraint(q: Question, hits: list[StoryHit], known_people: frozenset[str]) -> Decline | None:
    """Why the corpus cannot answer, judged from the stories found, or None."""
    if not hits:
        return Decline("no_evidence")
    top = hits[:STORIES_CHECKED]
    if q.dates and not any(h.date_ok for h in top):
        return Decline("date", {"date": "、".join(d.text for d in q.dates)})
    for name in q.names:
        if looks_like_name(name) and name in known_people and not any(name in h.story.folded_body for h in top):
            return Decline("person", {"name": name})
    return None


RETRIEVAL_PRIOR = 0.0  # margin points a span gains per unit of its story's relative retrieval score


def ranked(spans: list, passages: list, prior: float | None = None) -> list:
    """Spans, best first: the reader's margin, plus a retrieval prior for its passage's story."""
    prior = RETRIEVAL_PRIOR if prior is None else prior
    return sorted(spans, key=lambda s: s.margin + prior * (passages[s.passage].retrieval - 1.0), reverse=True)


def best(spans: list, passages: list, prior: float | None = None):
    """The span to answer with (the first of :func:`ranked`), or None."""
    order = ranked(spans, passages, prior)
    return order[0] if order else None


def missing_place(q: Question, story) -> Decline | None:
    """A place the question names (二七区) that the answer's story never mentions."""
    text = story.folded
    for name in q.names:
        if name.endswith(PLACE_SUFFIXES) and not name_in(name, text):
            return Decline("place", {"place": name})
    return None


def accept(margin: float, threshold: float) -> bool:
    """The reader's best span is an answer when it beats "no answer" by the threshold."""
    return margin >= threshold


# a title right before the interrogative of a who question: 区长是谁, 书记是哪位, 主任叫什么名字
_ASKED_TITLE = re.compile(rf"({'|'.join(PERSON_TITLES)})(?:是|为|叫)?(?:谁|哪位|哪一位|何人|什么人|什么名字)")


def asked_title(q: Question) -> str | None:
    """The title a who question asks the holder of (区长 in 管城回族区区长是谁?), or None."""
    if q.type != "who":
        return None
    m = _ASKED_TITLE.search(q.norm)
    return m.group(1) if m else None


def holders(title: str, people: list) -> list:
    """The people whose printed role holds ``title``."""
    return [p for p in people if p.role and title in p.role]


def contradicts_title(title: str, people: list) -> bool:
    """Every person of an answer carries a printed role, and none of those roles holds ``title``."""
    return bool(people) and all(p.role and title not in p.role for p in people)
