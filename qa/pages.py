"""Split a newspaper page (plain text or Markdown) into stories and repair its layout damage.

A page holds several stories. A story starts at a headline: a Markdown heading, or a short
line without closing punctuation at the top of the page, after a byline, or just above a
lead such as ``本报讯``. A ``###`` line or a second headline line right under a headline is
its subtitle. A byline closes a story. Column breaks cut paragraphs mid-word
(``政`` / blank line / ``企校三方负责人…``): a piece of body text that does not end a
sentence continues in the next piece, joined without a space. Headlines and bylines are
never glued to body text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .bylines import is_byline, split_trailing_byline

HEADING = re.compile(r"^(#{1,6})[ \t\u3000]*(.*?)[ \t\u3000#]*$")
LEAD = re.compile(r"^(?:本报讯|本报[\u4e00-\u9fff]{1,8}电|新华社|【[^】]{1,20}】|据[^,，。]{1,20}(?:报道|消息))")
SENTENCE_END = re.compile(r"(?:[。！？!?]|……|…)[”’\"'」』）)】]*$")
MAX_TITLE_CHARS = 64
_NOT_TITLE_END = tuple("，,、：:；;（(“‘《")


@dataclass
class DraftStory:
    """A story while the page is being read; ``pages`` turns it into a :class:`Story`."""

    first_line: int
    title: str = ""
    subtitle: str = ""
    paragraphs: list[str] = field(default_factory=list)
    bylines: list[str] = field(default_factory=list)
    last_line: int = 0
    open_paragraph: bool = False  # the last paragraph does not end a sentence yet

    @property
    def closed(self) -> bool:
        return bool(self.bylines)

    @property
    def has_text(self) -> bool:
        return bool(self.paragraphs or self.bylines)

    def add_text(self, text: str, line: int) -> None:
        if self.open_paragraph:
            self.paragraphs[-1] += text
        else:
            self.paragraphs.append(text)
        self.open_paragraph = not ends_sentence(text)
        self.last_line = line

    def add_byline(self, text: str, line: int) -> None:
        self.bylines.append(text)
        self.open_paragraph = False
        self.last_line = line


def ends_sentence(text: str) -> bool:
    return bool(SENTENCE_END.search(text))


def is_title_like(line: str) -> bool:
    """Short, no full stop, not a lead, not a byline: could be a plain-text headline."""
    return (
        0 < len(line) <= MAX_TITLE_CHARS
        and "。" not in line
        and not ends_sentence(line)
        and not line.endswith(_NOT_TITLE_END)
        and not LEAD.match(line)
        and not is_byline(line)
    )


def _clean(line: str) -> str:
    return line.strip(" \t\u3000\ufeff")


def split_page(text: str) -> list[DraftStory]:
    """Split the text of one page into draft stories, in page order."""
    lines = [(n, _clean(raw)) for n, raw in enumerate(text.split("\n"), start=1)]
    lines = [(n, line) for n, line in lines if line]
    stories: list[DraftStory] = []
    current: DraftStory | None = None

    def start(n: int, title: str = "") -> DraftStory:
        story = DraftStory(first_line=n, title=title, last_line=n)
        stories.append(story)
        return story

    for i, (n, line) in enumerate(lines):
        after = [ln for _, ln in lines[i + 1 : i + 3]]
        heading = HEADING.match(line)
        if heading:
            title = heading.group(2)
            if not title:
                continue  # a bare '#': markup only
            if current and _wants_subtitle(current):
                current.subtitle, current.last_line = title, n
            elif current and current.paragraphs and not current.closed and len(heading.group(1)) >= 3:
                current.open_paragraph = False  # a section heading inside a story
                current.add_text(title, n)
                current.open_paragraph = False
            else:
                current = start(n, title)
            continue
        if is_byline(line):
            current = current or start(n)
            current.add_byline(line, n)
            continue
        if current and _wants_subtitle(current) and is_title_like(line) and after \
                and not is_byline(after[0]) and not _breaks_a_lead(line, after):
            current.subtitle, current.last_line = line, n
            continue
        if _starts_story(current, line, after):
            current = start(n, line)
            continue
        if current is None or (current.closed and not current.open_paragraph):
            current = start(n)
        trailing = split_trailing_byline(line)
        if trailing:
            body, byline = trailing
            current.add_text(body, n)
            current.add_byline(byline, n)
        else:
            current.add_text(line, n)
    return stories


def _wants_subtitle(story: DraftStory) -> bool:
    return bool(story.title) and not story.subtitle and not story.has_text


def _breaks_a_lead(line: str, after: list[str]) -> bool:
    """``本`` / ``报讯 …``: a lead cut by a column break, not a headline."""
    return bool(LEAD.match(line + "".join(after)))


def _starts_story(current: DraftStory | None, line: str, after: list[str]) -> bool:
    """Whether a plain line is the headline of a new story."""
    if not is_title_like(line) or not after or is_byline(after[0]) or _breaks_a_lead(line, after):
        return False
    lead_follows = bool(LEAD.match(after[0])) or (
        len(after) > 1 and is_title_like(after[0]) and bool(LEAD.match(after[1]))
    )
    if lead_follows:
        return True
    if current is None or current.closed:
        return True
    return False
