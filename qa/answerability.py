"""When the corpus has no answer: hard constraints first, then the reader's learned margin.

A date the question names that no retrieved story mentions, or a person the corpus knows but
no retrieved story names, means no answer whatever the reader says. Otherwise the reader's best
span must beat its no-answer option by the threshold chosen on held-out data (stored with the
weights): a question is declined when no passage holds a span the reader believes in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .people import looks_like_name
from .question import Question
from .retrieve import StoryHit, name_in
from .tokenize import PLACE_SUFFIXES

STORIES_CHECKED = 5


@dataclass
class Decline:
    reason: str                      # "date", "person", "no_evidence", "not_found"
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


def best(spans: list, passages: list, prior: float | None = None):
    """The span to answer with: the reader's margin, plus a retrieval prior for its passage's story."""
    prior = RETRIEVAL_PRIOR if prior is None else prior
    if not spans:
        return None
    return max(spans, key=lambda s: s.margin + prior * (passages[s.passage].retrieval - 1.0))


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
