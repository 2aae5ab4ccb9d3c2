"""Evidence ranking: which chunks of the retrieved stories the reader reads, best first.

Retrieval ranks stories (with the question's constraints already weighed in); the reader then
reads the best chunks of the best stories. A story that fails a date the question names is
not read at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from .index import Index
from .retrieve import StoryHit
from .story import Story

STORIES_READ = 3       # stories whose chunks the reader reads
CHUNKS_PER_STORY = 4   # best chunks read per story (measured on held-out CMRC train paragraphs)


@dataclass
class Passage:
    chunk: int         # chunk number in the index
    story: Story
    start: int         # the chunk's offsets in the story body
    end: int
    retrieval: float   # its story's retrieval score over the best story's (0..1]
    rank: int          # its story's rank

    @property
    def text(self) -> str:
        return self.story.body[self.start:self.end]


def passages(index: Index, hits: list[StoryHit], stories: int = STORIES_READ,
             per_story: int = CHUNKS_PER_STORY) -> list[Passage]:
    readable = [h for h in hits if h.date_ok is not False][:stories]
    if not readable:
        return []
    top = readable[0].score or 1.0
    out = []
    for rank, hit in enumerate(readable):
        for number, _ in hit.chunks[:per_story]:
            c = index.chunks[number]
            out.append(Passage(number, hit.story, c.start, c.end, max(hit.score, 0.0) / top, rank))
    return out


def best_story_chunks(passages: list[Passage]) -> int:
    """How many of ``passages`` lead the list as the best story's (its chunks come first, together)."""
    return next((i for i, p in enumerate(passages) if p.rank != 0), len(passages))
