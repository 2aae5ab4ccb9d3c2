"""SQuAD-format reading-comprehension sets as the product sees them: chunks and questions.

Every paragraph is cut with the product's own chunker (title + chunk text, as the index embeds
it), so the reader is trained on the same kind of passage it reads at question time. A
question's positive chunk is the one holding its first answer; answers that cross a chunk
boundary leave the question without a positive (it still serves as a no-answer example).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from ..chunks import chunk_story
from ..story import Story


@dataclass
class Passage:
    paragraph: int          # index of the paragraph in the set
    title: str
    text: str               # the chunk text
    start: int              # chunk start in the paragraph

    @property
    def embed_text(self) -> str:
        return f"{self.title}\n{self.text}" if self.title else self.text

    @property
    def text_offset(self) -> int:
        """Where ``text`` starts inside ``embed_text``."""
        return len(self.title) + 1 if self.title else 0


@dataclass
class QA:
    id: str
    question: str
    paragraph: int
    answers: list[str]
    chunk: int = -1                 # positive passage index, -1 if none
    span: tuple[int, int] = (-1, -1)  # answer offsets in that chunk's text
    extra: dict = field(default_factory=dict)


@dataclass
class ReadingSet:
    name: str
    passages: list[Passage]
    questions: list[QA]
    paragraph_chunks: list[list[int]]  # passage indices of each paragraph

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for p in self.passages:
            h.update(p.embed_text.encode())
        for q in self.questions:
            h.update(q.question.encode())
        return h.hexdigest()[:16]

    def questions_in(self, paragraphs: set[int]) -> list[int]:
        """Indices of the questions asked of those paragraphs (a split's side, :func:`split_paragraphs`)."""
        return [i for i, q in enumerate(self.questions) if q.paragraph in paragraphs]


def load_squad(path: Path, name: str, convert=None) -> ReadingSet:
    """A SQuAD-format file as chunks and questions; ``convert`` maps text (e.g. OpenCC t2s)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    passages: list[Passage] = []
    questions: list[QA] = []
    paragraph_chunks: list[list[int]] = []
    for article in data:
        title = article.get("title", "") or ""
        if convert:
            title = convert(title)
        for para in article["paragraphs"]:
            context = para["context"]
            conv = convert(context) if convert else context
            p_idx = len(paragraph_chunks)
            story = Story(id=f"{name}-{p_idx}", title=title, body=conv, source=name, lines=(1, 1))
            ids = []
            for c in chunk_story(story):
                ids.append(len(passages))
                passages.append(Passage(p_idx, title, c.text, c.start))
            paragraph_chunks.append(ids)
            for qa in para["qas"]:
                answers = [a["text"] for a in qa.get("answers", []) if a.get("text")]
                if convert:
                    answers = [convert(a) for a in answers]
                question = convert(qa["question"]) if convert else qa["question"]
                item = QA(qa["id"], question, p_idx, answers)
                first = qa.get("answers", [None])[0] if qa.get("answers") else None
                if first is not None:
                    a_start = _locate(conv, answers[0], first["answer_start"], len(conv) != len(context))
                    if a_start is not None:
                        a_end = a_start + len(answers[0])
                        for ci in ids:
                            p = passages[ci]
                            if p.start <= a_start and a_end <= p.start + len(p.text):
                                item.chunk, item.span = ci, (a_start - p.start, a_end - p.start)
                                break
                questions.append(item)
    return ReadingSet(name, passages, questions, paragraph_chunks)


def _locate(context: str, answer: str, start: int, shifted: bool) -> int | None:
    """The answer's offset: as given, or (when conversion changed lengths) the nearest match."""
    if context[start:start + len(answer)] == answer:
        return start
    best, pos = None, context.find(answer)
    while pos >= 0:
        if best is None or abs(pos - start) < abs(best - start):
            best = pos
        pos = context.find(answer, pos + 1)
    return best


def split_paragraphs(n: int, held_out: float, seed: int) -> tuple[set[int], set[int]]:
    """(train, held-out) paragraph indices, a seeded split by paragraph."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = int(round(n * held_out))
    return set(order[cut:]), set(order[:cut])
