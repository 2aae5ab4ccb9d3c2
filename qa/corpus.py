"""Read a corpus folder, recursively, into stories.

Newspaper pages (``.txt``, ``.md``) hold several stories each (see :mod:`qa.pages`);
stories files (``.jsonl``) hold one story a line; HTML pages, Word ``.docx`` files and PDFs with a
text layer are turned into page text first (:mod:`qa.formats`). A file that cannot be used is skipped
with a warning that names it and says why; nothing else is dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .bylines import parse_bylines
from .dates import find_dates
from .formats import docx_to_page, html_to_page, pdf_to_page
from .pages import DraftStory, split_page
from .story import Story
from .textfile import UnreadableFile, decode, read_text

log = logging.getLogger("qa.corpus")

PAGE_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
STORIES_SUFFIXES = {".jsonl"}
CONVERTED_SUFFIXES = {".html", ".htm", ".docx", ".pdf"}  # turned into page text first (qa.formats)
SUFFIXES = PAGE_SUFFIXES | STORIES_SUFFIXES | CONVERTED_SUFFIXES


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def corpus_files(root: Path) -> list[Path]:
    """Every file under ``root`` (hidden ones aside), in a stable order."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def read_corpus(root: Path, skipped: list[Skipped] | None = None) -> Iterator[Story]:
    """Yield the stories of every usable file under ``root``, file by file, in page order."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    for path in corpus_files(root):
        try:
            yield from read_file(path, root)
        except UnreadableFile as e:
            rel = path.relative_to(root).as_posix()
            log.warning("skipped %s: %s", rel, e)
            if skipped is not None:
                skipped.append(Skipped(rel, str(e)))


def read_file(path: Path, root: Path) -> list[Story]:
    """The stories of one corpus file; raises :class:`UnreadableFile` when it has none to give."""
    rel = path.relative_to(root).as_posix()
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableFile(f"unsupported file type {suffix or '(no extension)'}; "
                             f"use one of {', '.join(sorted(SUFFIXES))}")
    if suffix == ".docx":
        stories = read_page(docx_to_page(_read_bytes(path)), rel)
    elif suffix == ".pdf":
        stories = read_page(pdf_to_page(_read_bytes(path)), rel)
    elif suffix in (".html", ".htm"):
        stories = read_page(html_to_page(read_text(path)), rel)
    elif suffix in STORIES_SUFFIXES:
        stories = read_stories_file(read_text(path), rel)
    else:
        stories = read_page(read_text(path), rel)
    if not stories:
        raise UnreadableFile("no stories found")
    return stories


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"cannot read: {e.strerror or e}") from e


def read_page(text: str, source: str) -> list[Story]:
    """The stories of one newspaper page."""
    return [_from_draft(d, source, n) for n, d in enumerate(split_page(text))]


def _from_draft(draft: DraftStory, source: str, ordinal: int) -> Story:
    body, spans = join_paragraphs(draft.paragraphs)
    byline = parse_bylines(draft.bylines)
    return make_story(
        story_id=stable_id(source, ordinal, draft.title, body),
        title=draft.title, subtitle=draft.subtitle, body=body, paragraphs=spans,
        source=source, lines=(draft.first_line, draft.last_line), byline=byline,
    )


def read_stories_file(text: str, source: str) -> list[Story]:
    """Stories from JSON lines: ``id``, ``title``, ``text``; optional ``date``, ``source``, ``url``.

    A bad line is skipped with a warning naming the file and line; the rest are kept.
    """
    stories = []
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            stories.append(_from_json(json.loads(line), source, n))
        except (ValueError, TypeError, KeyError) as e:
            log.warning("skipped %s line %d: %s", source, n, _reason(e))
    return stories


def _reason(e: Exception) -> str:
    if isinstance(e, KeyError):
        return f"missing field {e.args[0]!r}"
    return str(e) or type(e).__name__


def _from_json(obj: dict, source: str, line: int) -> Story:
    if not isinstance(obj, dict):
        raise TypeError("not a JSON object")
    story_id = str(obj["id"]).strip()
    if not story_id:
        raise ValueError("empty id")
    text = obj["text"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty text")
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n") if p.strip()]
    body, spans = join_paragraphs(paragraphs)
    return make_story(
        story_id=story_id, title=str(obj.get("title") or "").strip(), body=body,
        paragraphs=spans, source=str(obj.get("source") or source), lines=(line, line),
        date=obj.get("date"), url=obj.get("url"),
    )


def make_story(*, story_id: str, title: str, body: str, paragraphs: list[tuple[int, int]],
               source: str, lines: tuple[int, int], subtitle: str = "", byline=None,
               date: str | None = None, url: str | None = None) -> Story:
    """A :class:`Story` with its date mentions found and its main date chosen."""
    dates = find_dates(body)
    if date is None and paragraphs:
        date = lead_date(body, paragraphs[0][1], dates)
    story = Story(id=story_id, title=title, subtitle=subtitle, body=body, paragraphs=paragraphs,
                  dates=dates, source=source, lines=lines, date=date, url=url)
    if byline is not None:
        story.byline = byline
    return story


_EVENT_DATE_FOLLOWER = re.compile(r"[,，、 ]|上午|下午|晚|凌晨|中午|早|起|当天|以来")


def lead_date(body: str, lead_end: int, dates: list) -> str | None:
    """The date of the event a story reports: a date of the lead that starts a clause
    (``2月7日下午新郑市召开…``) rather than one that modifies a noun (``2月1日组织的活动``)."""
    in_lead = [d for d in dates if d.start < lead_end]
    for d in in_lead:
        if _EVENT_DATE_FOLLOWER.match(body, d.end):
            return d.norm
    return in_lead[0].norm if in_lead else None


def join_paragraphs(paragraphs: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The body (paragraphs joined by newlines) and each paragraph's offsets in it."""
    spans, pos = [], 0
    for p in paragraphs:
        spans.append((pos, pos + len(p)))
        pos += len(p) + 1
    return "\n".join(paragraphs), spans


def stable_id(source: str, ordinal: int, title: str, body: str) -> str:
    """The same id on every run for the same content at the same place."""
    key = f"{source}\n{ordinal}\n{title}\n{body}".encode()
    return hashlib.sha1(key).hexdigest()[:12]


__all__ = ["Skipped", "read_corpus", "read_file", "read_page", "read_stories_file",
           "corpus_files", "decode", "stable_id"]
