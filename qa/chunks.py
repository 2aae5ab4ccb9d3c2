"""Sentence-aware chunks of a story, each knowing its story and its offsets in the body."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .script import fold
from .sentences import split_long, split_sentences
from .story import Story

CHUNKER_VERSION = "1"
MAX_CHARS = 240


@dataclass(frozen=True)
class Chunk:
    """``story.body[start:end] == text``. ``embed_text`` gives the embedder the title too."""

    story_id: str
    start: int
    end: int
    text: str
    title: str = ""

    @cached_property
    def embed_text(self) -> str:
        """What is embedded and tokenized: title and text, folded to simplified characters
        (same length, so offsets into it are offsets into the printed text)."""
        return fold(f"{self.title}\n{self.text}" if self.title else self.text)

    @classmethod
    def of(cls, story: Story, start: int, end: int) -> Chunk:
        """The chunk of ``story.body[start:end]``, titled with the story's title and subtitle."""
        title = " ".join(t for t in (story.title, story.subtitle) if t)
        return cls(story.id, start, end, story.body[start:end], title)


def chunk_story(story: Story, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Whole sentences packed into chunks of at most ``max_chars`` characters.

    A sentence longer than that is cut at semicolons, then commas. Chunks do not overlap;
    they may span a paragraph break.
    """
    pieces = [p for span in split_sentences(story.body) for p in split_long(story.body, span, max_chars)]
    chunks: list[Chunk] = []
    start = end = None
    for s, e in pieces:
        if start is not None and e - start > max_chars:
            chunks.append(Chunk.of(story, start, end))
            start = None
        if start is None:
            start = s
        end = e
    if start is not None:
        chunks.append(Chunk.of(story, start, end))
    return chunks
