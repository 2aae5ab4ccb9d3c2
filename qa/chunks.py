"""Sentence-aware chunks of a story, each knowing its story and its offsets in the body."""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def embed_text(self) -> str:
        """What is embedded and tokenized: title and text, folded to simplified characters
        (same length, so offsets into it are offsets into the printed text)."""
        return fold(f"{self.title}\n{self.text}" if self.title else self.text)


def chunk_story(story: Story, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Whole sentences packed into chunks of at most ``max_chars`` characters.

    A sentence longer than that is cut at semicolons, then commas. Chunks do not overlap;
    they may span a paragraph break.
    """
    pieces = [p for span in split_sentences(story.body) for p in split_long(story.body, span, max_chars)]
    title = " ".join(t for t in (story.title, story.subtitle) if t)
    chunks: list[Chunk] = []
    start = end = None
    for s, e in pieces:
        if start is not None and e - start > max_chars:
            chunks.append(Chunk(story.id, start, end, story.body[start:end], title))
            start = None
        if start is None:
            start = s
        end = e
    if start is not None:
        chunks.append(Chunk(story.id, start, end, story.body[start:end], title))
    return chunks
