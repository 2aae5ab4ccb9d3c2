"""Other document formats turned into page text, so one page reader serves them all.

An HTML page, a Word ``.docx`` file or a PDF with a text layer becomes text in the seed pages'
shape: one block a paragraph, blank lines between blocks, headings as ``#`` lines.
:func:`qa.pages.split_page` then finds the stories in it. HTML and Word need only the standard
library; PDF is read with pdfminer.six (its layout analysis and character sizes).
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO
from itertools import groupby
from xml.etree import ElementTree

from .pages import MAX_TITLE_CHARS, SENTENCE_END
from .textfile import UnreadableFile

# ---------------------------------------------------------------- HTML

_BLOCKS = {"p", "div", "br", "li", "tr", "section", "article", "blockquote", "pre", "table", "ul", "ol",
           "header", "footer", "main", "figure", "figcaption", "dd", "dt", "hr"}
_HEADINGS = {"h1": "#", "h2": "##", "h3": "###", "h4": "###", "h5": "###", "h6": "###"}
_SKIP = {"script", "style", "noscript", "template", "nav", "svg", "iframe", "head"}


class _PageText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.prefix = ""
        self.skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self._in_title = True
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _HEADINGS:
            self._flush()
            self.prefix = _HEADINGS[tag] + " "
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _HEADINGS or tag in _BLOCKS:
            self._flush()

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self._flush()

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if not self.skipping:
            self.current.append(data)

    def _flush(self):
        text = re.sub(r"\s+", " ", "".join(self.current)).strip()
        if text:
            self.blocks.append(self.prefix + text)
        self.current, self.prefix = [], ""


def html_to_page(html: str) -> str:
    """The text of an HTML page, headings as ``#`` lines; the ``<title>`` when it has no heading."""
    parser = _PageText()
    parser.feed(html)
    parser.close()
    parser._flush()
    blocks = parser.blocks
    title = re.sub(r"\s+", " ", parser.title).strip()
    if title and not any(b.startswith("#") for b in blocks):
        blocks.insert(0, "# " + title)
    if not any(not b.startswith("#") for b in blocks):
        raise UnreadableFile("no text in the HTML page")
    return "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------- Word .docx

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_to_page(data: bytes) -> str:
    """The paragraphs of a ``.docx`` file; paragraphs styled as a title or heading become ``#`` lines."""
    if not data.strip():
        raise UnreadableFile("empty file")
    try:
        with zipfile.ZipFile(BytesIO(data)) as z:
            xml = z.read("word/document.xml")
        root = ElementTree.fromstring(xml)
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as e:
        raise UnreadableFile(f"not a readable .docx file ({e})") from e
    blocks = []
    for p in root.iter(f"{_W}p"):
        text = "".join(_run_text(node) for node in p.iter()).strip()
        if not text:
            continue
        style = p.find(f"{_W}pPr/{_W}pStyle")
        name = (style.get(f"{_W}val") or "").lower() if style is not None else ""
        if name.startswith("subtitle") or name == "副标题":
            text = f"### {text}"
        elif name.startswith(("title", "heading", "标题")):
            text = f"# {text}"
        blocks.append(text)
    if not blocks:
        raise UnreadableFile("no text in the .docx file")
    return "\n\n".join(blocks) + "\n"


def _run_text(node) -> str:
    if node.tag == f"{_W}t":
        return node.text or ""
    if node.tag == f"{_W}tab":
        return " "
    return ""


# ---------------------------------------------------------------- PDF

# A line set this much larger than the body text is a headline; pdfminer gives each character's size
# (rounded to half a point). A larger run longer than a title (pages.MAX_TITLE_CHARS), or holding a
# full stop, is a lead paragraph set large, not a headline.
_DISPLAY = 1.15


@dataclass
class _Line:
    text: str
    size: float      # the size most of its characters are set in
    x0: float
    x1: float


@dataclass
class _Box:
    x0: float
    x1: float
    y1: float        # its top (PDF coordinates grow upwards)
    lines: list[_Line]


def pdf_to_page(data: bytes) -> str:
    """The text of a PDF with a text layer, in the page text shape. pdfminer finds the text boxes
    and each character's size; the boxes are read column by column (:func:`_reading_order`).
    Lines set larger than the body text are headlines: the largest of a run is the ``#`` line (a
    smaller one before it, a kicker, joins it; smaller ones after it are ``###`` subtitles), a
    wrapped headline's lines joined. A box's body lines are joined into paragraphs, a paragraph
    ending at an indented line or after a short line that ends a sentence. The page reader then
    joins paragraphs cut mid-sentence between boxes, as it does a newspaper page's column breaks."""
    if not data.strip():
        raise UnreadableFile("empty file")
    pages = _pdf_boxes(data)
    if not pages:
        raise UnreadableFile("no pages in the PDF")
    counts: dict[float, int] = {}
    for line in (line for page in pages for box in page for line in box.lines):
        counts[line.size] = counts.get(line.size, 0) + len(line.text)
    if not counts:
        raise UnreadableFile("no text in the PDF (a scanned page has none: run OCR on it first)")
    body = max(counts, key=counts.get)
    blocks: list[str] = []
    run: list[_Line] = []  # display lines gathered across boxes until body text comes

    def close_run() -> list[_Line]:
        """The run's headlines written out; its lines from a lead set large on, returned as body."""
        headlines, lead = _split_lead(run)
        if headlines:
            blocks.extend(_headlines(headlines))
        run.clear()
        return lead

    def emit(lines: list[_Line]) -> None:
        if lines:
            blocks.append(_joined([x.text for x in lines]))

    for page in pages:
        for box in _reading_order(page, body):
            paragraph: list[_Line] = []
            for line in box.lines:
                if line.size >= body * _DISPLAY:
                    emit(paragraph)
                    paragraph = []
                    run.append(line)
                    continue
                if run:
                    paragraph = close_run()
                if paragraph and _starts_paragraph(paragraph[-1], line, box, body):
                    emit(paragraph)
                    paragraph = []
                paragraph.append(line)
            emit(paragraph)
    emit(close_run())
    return "\n\n".join(blocks).strip() + "\n"


def _size_groups(run: list[_Line]) -> list[list[_Line]]:
    """Neighbouring lines of one size together."""
    return [list(group) for _, group in groupby(run, key=lambda line: line.size)]


def _split_lead(run: list[_Line]) -> tuple[list[_Line], list[_Line]]:
    """A run of larger lines as (headlines, lead): the lead from its first group of one size that
    is longer than a title or holds a full stop (a lead paragraph set large) on."""
    done = 0
    for group in _size_groups(run):
        text = "".join(line.text for line in group)
        if len(text) > MAX_TITLE_CHARS or "。" in text or text.endswith("."):
            break
        done += len(group)
    return run[:done], run[done:]


def _headlines(run: list[_Line]) -> list[str]:
    """A run of larger lines as page-text headline lines: same-size neighbours joined, the largest
    group the ``#`` title with any smaller group before it (a kicker) in front, later groups ``###``."""
    groups = _size_groups(run)
    texts = [_joined([x.text for x in g]) for g in groups]
    top = max(range(len(groups)), key=lambda i: groups[i][0].size)
    return ["# " + " ".join(texts[: top + 1])] + [f"### {text}" for text in texts[top + 1:]]


def _starts_paragraph(previous: _Line, line: _Line, box: _Box, size: float) -> bool:
    """A new paragraph inside one box: an indented line, or a line after one that ends a sentence
    well short of the box's right edge."""
    if line.x0 >= box.x0 + 1.5 * size:
        return True
    return SENTENCE_END.search(previous.text) is not None and previous.x1 <= box.x1 - 2 * size


def _reading_order(boxes: list[_Box], size: float) -> list[_Box]:
    """Column by column, left to right, and top to bottom within a column. Columns start where
    the left edges of boxes holding at least a sixth of the page's text gather (within four
    characters, so an indent stays in its column); every other box (a centred headline, a
    right-aligned byline) belongs to the column it starts in. pdfminer's own order reads a
    two-column page across the columns and splits its stories. A headline that spans columns
    is read with the first one (README, Known limits)."""
    groups: list[list[_Box]] = []
    for box in sorted(boxes, key=lambda b: b.x0):
        if not groups or box.x0 - groups[-1][0].x0 > 4 * size:
            groups.append([])
        groups[-1].append(box)
    text = sum(len(line.text) for box in boxes for line in box.lines) or 1
    starts = [g[0].x0 for g in groups if sum(len(line.text) for b in g for line in b.lines) * 6 >= text]
    if not starts and groups:
        starts = [groups[0][0].x0]

    def column(box: _Box) -> int:
        return max((i for i, start in enumerate(starts) if start <= box.x0 + size), default=0)

    return sorted(boxes, key=lambda b: (column(b), -b.y1))


def _pdf_boxes(data: bytes) -> list[list[_Box]]:
    """Each page's text boxes, read by pdfminer; characters not set upright (a rotated sidebar)
    are left out."""
    import logging

    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextBox
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    quiet = logging.getLogger("pdfminer")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.ERROR)  # font warnings about every page, unless the host chose a level
    pages: list[list[_Box]] = []
    try:
        # boxes_flow=None: no box ordering by pdfminer (slow on busy pages; _reading_order orders them)
        for page in extract_pages(BytesIO(data), laparams=LAParams(boxes_flow=None)):
            boxes = []
            for box in page:
                if not isinstance(box, LTTextBox):
                    continue
                lines = []
                for line in box:
                    chars = [c for c in line if not isinstance(c, LTChar) or c.upright]
                    text = re.sub(r"\s+", " ", "".join(c.get_text() for c in chars)).strip()
                    sizes = Counter(round(c.size * 2) / 2 for c in chars
                                    if isinstance(c, LTChar) and c.get_text().strip())
                    if text and sizes:
                        lines.append(_Line(text, sizes.most_common(1)[0][0], line.x0, line.x1))
                if lines:
                    boxes.append(_Box(box.x0, box.x1, box.y1, lines))
            pages.append(boxes)
    except (PDFPasswordIncorrect, PDFEncryptionError) as e:
        raise UnreadableFile(f"an encrypted PDF ({e.__class__.__name__}): save an unprotected copy") from e
    except Exception as e:  # noqa: BLE001  a damaged file can break the parser anywhere: skip it, say why
        raise UnreadableFile(f"not a readable PDF ({e.__class__.__name__}: {e})") from e
    return pages


def _joined(parts: list[str]) -> str:
    """Wrapped lines as one: a space only where English text wrapped (between two Latin letters or
    digits, or after a word's punctuation before a word), none in Chinese."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        latin = (re.search(r"[A-Za-z0-9]$", text) and re.match(r"[A-Za-z0-9]", part)) or \
            (re.search(r"[A-Za-z][,.;:!?]$", text) and re.match(r"[A-Za-z]", part))
        text += f" {part}" if latin else part
    return text
