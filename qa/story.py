"""The plain data objects that ingestion produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property

from .script import fold


@dataclass(frozen=True)
class DateMention:
    """A date a story mentions: the text as printed, its normalized form and where it is.

    Normalized forms (the corpus prints dates without a year): ``07-18``; with a year
    ``2023-05-30``; a range ``02-10/02-12``; a part of a month ``05-end`` (月底/月末/下旬),
    ``05-early`` (月初/上旬), ``05-mid`` (中旬); a month of a year ``2023-05``.
    """

    text: str
    norm: str
    start: int
    end: int


@dataclass(frozen=True)
class Byline:
    """Who wrote a story. ``lines`` keeps each printed byline line as it was."""

    lines: tuple[str, ...] = ()
    reporters: tuple[str, ...] = ()
    correspondents: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " / ".join(self.lines)

    @property
    def people(self) -> tuple[str, ...]:
        return self.reporters + self.correspondents


@dataclass
class Story:
    """One news story, with offsets that every later stage refers to.

    ``paragraphs`` are (start, end) character offsets into ``body``; paragraphs are joined
    with a single newline. ``lines`` is the 1-based inclusive line range in ``source``.
    """

    id: str
    title: str
    body: str
    source: str
    lines: tuple[int, int]
    subtitle: str = ""
    paragraphs: list[tuple[int, int]] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    byline: Byline = field(default_factory=Byline)
    date: str | None = None
    url: str | None = None

    @cached_property
    def folded(self) -> str:
        """Title, subtitle and body in simplified characters, for matching (:mod:`qa.script`)."""
        return fold(f"{self.title} {self.subtitle}\n{self.body}")

    @cached_property
    def folded_body(self) -> str:
        return fold(self.body)

    @property
    def display_title(self) -> str:
        """The title, or the start of the body for a story printed without one."""
        if self.title:
            return self.title
        first = self.body.split("\n", 1)[0]
        return first[:30] + ("…" if len(first) > 30 else "")

    def paragraph_texts(self) -> list[str]:
        return [self.body[s:e] for s, e in self.paragraphs]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lines"] = list(self.lines)
        d["paragraphs"] = [list(p) for p in self.paragraphs]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Story:
        d = dict(d)
        d["lines"] = tuple(d["lines"])
        d["paragraphs"] = [tuple(p) for p in d.get("paragraphs", [])]
        d["dates"] = [DateMention(**m) for m in d.get("dates", [])]
        b = d.get("byline") or {}
        d["byline"] = Byline(**{k: tuple(v) for k, v in b.items()})
        return cls(**d)
