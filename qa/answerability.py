"""When the corpus has no answer: hard constraints first, then the reader's learned margin.

A date the question names that no retrieved story mentions, or a person the corpus knows but
no retrieved story names, means no answer whatever the reader says; so does an answer whose
people all carry printed roles without the title the question asks for (区长是谁 answered with a
区委书记), or that names no person at all (负责人叫什么名字 answered with a company). A span whose
story misses a place the question names, or that only repeats the question (郑东新区 for
郑东新区的会议在哪开的), is passed over for the next (:func:`unfit`). Otherwise the reader's best span
must beat its no-answer option by the threshold chosen on held-out data (stored with the weights): a
question is declined when no passage holds a span the reader believes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .lexicons import words
from .people import looks_like_name
from .question import ASKED_TITLE, Question
from .retrieve import StoryHit, name_in
from .tokenize import PERSON_TAGS, place_parts

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


def place_name(name: str) -> bool:
    """Whether ``name`` names a place: a suffix after at least two characters (二七区, 郑东新区). One
    character and a suffix (城市, 小镇, 新区, 全县) or a suffix alone (社区) is a common noun."""
    return place_parts(name) is not None


def missing_place(q: Question, story) -> Decline | None:
    """A place the question names (二七区) that the answer's story never mentions."""
    text = story.folded
    for name in q.names:
        if place_name(name) and not name_in(name, text):
            return Decline("place", {"place": name})
    return None


_NOT_TEXT = re.compile(r"[\W_]+")
# Questions whose right answer may repeat them (the forty-third and forty-sixth rounds, counted in the
# training data): one offering alternatives (上午还是下午) or a choice between things it names (A和B哪个
# 早) is answered with one of them; a yes/no question, also in its A-not-A form (可不可以), restates
# itself; another name (又称什么) shares characters with the name asked about.
_ALTERNATIVES = re.compile(r"还是|或者|或是|\bor\b", re.I)
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])不\1")
_OTHER_NAMES = words("other_names")
assert _OTHER_NAMES, "qa/data/other_names.txt is empty"
_OTHER_NAME = re.compile("|".join(map(re.escape, _OTHER_NAMES)))


def repeats_itself(q: Question) -> bool:
    """Whether a right answer to ``q`` may sit inside it (see above): no echo check for it. The
    choice between named things is the analyser's (``Question.offers_choice``, by jieba's tags)."""
    return bool(q.type == "yesno" or q.offers_choice or _ALTERNATIVES.search(q.norm)
                or _A_NOT_A.search(q.norm) or _OTHER_NAME.search(q.norm))


def echoes(text: str, q: Question) -> bool:
    """Whether an answer only repeats the question: its text (punctuation aside) is in the question,
    or it is a place the question names by its stem or a shorter form (新郑市 for 新郑, 管城回族区 for
    管城区, as :func:`qa.retrieve.name_in` matches them). Never for a question whose right answer may
    repeat it (:func:`repeats_itself`)."""
    bare = _NOT_TEXT.sub("", text)
    if not bare or repeats_itself(q):
        return False
    if bare in _NOT_TEXT.sub("", q.norm):
        return True
    parts = place_parts(bare)
    if parts is None:
        return False
    stem, suffix = parts
    return stem in q.norm or any(stem[:k] + suffix in q.norm for k in range(2, len(stem)))


def unfit(q: Question, story, text: str) -> Decline | None:
    """Why a span of ``story`` reading ``text`` cannot answer ``q``: a place the question names that
    the story never mentions, or an answer that only repeats the question; None when it can."""
    decline = missing_place(q, story)
    if decline:
        return decline
    if echoes(text, q):
        return Decline("echo", {"answer": text})
    return None


def accept(margin: float, threshold: float) -> bool:
    """The reader's best span is an answer when it beats "no answer" by the threshold."""
    return margin >= threshold


def asked_title(q: Question) -> str | None:
    """The title a who question asks the holder of (区长 in 管城回族区区长是谁?), or None."""
    if q.type != "who":
        return None
    m = ASKED_TITLE.search(q.norm)
    return m.group(1) if m else None


# a capitalised word of Latin letters (Mārcis, Auziņš; not IBM): a name jieba's tags do not see
_LATIN_NAME = re.compile(r"[A-Z][^\W\d_A-Z\u3400-\u9fff]+")


def names_a_person(text: str, tokenizer) -> bool:
    """Whether an answer's text names someone the people finder may not know: a word jieba tags as a
    person (特朗普; 荣鑫 of 虎荣鑫, whose surname the list lacks) or a name in Latin script."""
    return bool(_LATIN_NAME.search(text) or tokenizer.names_in(text, PERSON_TAGS))


def widen_title(q: Question, title: str, roles: list[str], most: int = 4) -> str:
    """``title`` with the question's characters before it, one at a time and at most ``most``, while
    the widened string still occurs in one of ``roles`` (those the stories print): 部长 of
    二七区委统战部长是谁 becomes 统战部长 where a story prints 区委常委、统战部长; 区长 of 管城回族区区长是谁
    stays 区长 unless some role prints 区区长."""
    m = ASKED_TITLE.search(q.norm)
    if not m or m.group(1) != title:
        return title
    start, widened = m.start(1), title
    for k in range(1, most + 1):
        if start - k < 0 or not any(q.norm[start - k:start] + title in r for r in roles):
            break
        widened = q.norm[start - k:start] + title
    return widened


def holders(title: str, people: list, question: str = "") -> list:
    """The people whose printed role holds ``title``; of several, those whose role names, before
    the title, something ``question`` names too (郑州郑报置业有限公司总经理, asked 郑州郑报置业有限公司
    总经理叫什么名字, over 郑地科创总经理), if any."""
    held = [p for p in people if p.role and title in p.role]
    named = [p for p in held if (qualifier := _qualifier(p.role, title)) and qualifier in question]
    return named or held


def _qualifier(role: str, title: str) -> str:
    """What a role names before its title: 郑州郑报置业有限公司 of 郑州郑报置业有限公司总经理."""
    return role[:role.rfind(title)].rsplit("、", 1)[-1]


def contradicts_title(title: str, people: list) -> bool:
    """Every person of an answer carries a printed role, and none of those roles holds ``title``."""
    return bool(people) and all(p.role and title not in p.role for p in people)
