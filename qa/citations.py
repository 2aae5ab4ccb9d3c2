"""Citations: the sentence an answer came from, with offsets into its story, as plain data.

Presentation (links, phrasing) is left to ``render`` and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sentences import split_sentences
from .story import Story

MAX_CITATIONS = 3


@dataclass
class Citation:
    n: int
    story_id: str
    title: str
    date: str | None
    source: str
    lines: list[int]
    text: str                 # the cited sentence(s): story.body[start:end]
    start: int
    end: int
    answer_start: int | None  # the answer inside the story body, when it is in the cited text
    answer_end: int | None
    score: float


def sentence_range(story: Story, start: int, end: int) -> tuple[int, int]:
    """The sentences of ``story`` that hold body[start:end]."""
    spans = [(s, e) for s, e in split_sentences(story.body) if s < max(end, start + 1) and e > start]
    if not spans:
        return start, end
    return min(s for s, _ in spans), max(e for _, e in spans)


def cite(n: int, story: Story, start: int, end: int, pieces: list[tuple[int, int]], score: float) -> Citation:
    a_start = min((s for s, _ in pieces), default=None)
    a_end = max((e for _, e in pieces), default=None)
    return Citation(n=n, story_id=story.id, title=story.display_title, date=story.date, source=story.source,
                    lines=list(story.lines), text=story.body[start:end], start=start, end=end,
                    answer_start=a_start, answer_end=a_end, score=round(float(score), 4))


def cite_answer(n: int, story: Story, pieces: list[tuple[int, int]], score: float) -> Citation:
    """The sentences holding the answer pieces, with the answer marked."""
    start, end = sentence_range(story, min(s for s, _ in pieces), max(e for _, e in pieces))
    return cite(n, story, start, end, pieces, score)


def also_in(stories: list[Story], answer: str, first: Citation, score: float) -> list[Citation]:
    """Further citations: other stories read that print the same answer (one each, no repeats)."""
    out: list[Citation] = []
    seen = {first.text}
    for story in stories:
        if len(out) + 1 >= MAX_CITATIONS:
            break
        if story.id == first.story_id or not answer:
            continue
        pos = story.body.find(answer)
        if pos < 0:
            continue
        c = cite_answer(len(out) + 2, story, [(pos, pos + len(answer))], score)
        if c.text not in seen:
            seen.add(c.text)
            out.append(c)
    return out


def lead_sentence(n: int, story: Story, start: int, end: int, score: float) -> Citation:
    """A passage's first sentence, cited without an answer mark (for "possibly related")."""
    first = split_sentences(story.body, start, end)[:1]
    s, e = first[0] if first else (start, end)
    return cite(n, story, s, e, [], score)
