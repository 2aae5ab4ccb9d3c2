"""Other document formats turned into page text, so one page reader serves them all.

An HTML page, a Word ``.docx`` file or a PDF with a text layer becomes text in the seed pages'
shape: one block a paragraph, blank lines between blocks, headings as ``#`` lines.
:func:`qa.pages.split_page` then finds the stories in it. HTML and Word need only the standard
library; PDF is read with pdfminer.six (its layout analysis and character sizes).
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser
from io import BytesIO
from xml.etree import ElementTree

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

# A line set this much larger than the body text is a headline; pdfminer gives each character's size.
_DISPLAY = 1.15


def pdf_to_page(data: bytes) -> str:
    """The text of a PDF with a text layer, in the page text shape: pdfminer's layout analysis
    gives text boxes in reading order and each character's size; a box is a block, and its lines
    set larger than the body text are headlines (``#``, and ``###`` for a smaller one right under
    one), a wrapped headline's lines joined. Body lines stay as the PDF wraps them: the page
    reader joins lines cut mid-sentence, as it does a newspaper page's column breaks."""
    if not data.strip():
        raise UnreadableFile("empty file")
    lines = _pdf_lines(data)
    if not any(text for text, _ in lines):
        raise UnreadableFile("no text in the PDF (a scanned page has none: run OCR on it first)")
    sizes: dict[float, int] = {}
    for text, size in lines:
        if size:
            sizes[size] = sizes.get(size, 0) + len(text)
    body = max(sizes, key=sizes.get) if sizes else 0.0
    out: list[str] = []
    run: list[tuple[str, float]] = []  # the display lines being gathered

    def flush() -> None:
        while run:
            size = run[0][1]
            parts = []
            while run and abs(run[0][1] - size) < 0.5:
                parts.append(run.pop(0)[0])
            heading = "#" if not out or not out[-1].startswith("#") else "###"
            out.append(f"{heading} {_joined(parts)}")

    for text, size in lines:
        if not text:  # a box ends
            flush()
            if out and out[-1]:
                out.append("")
        elif body and size >= body * _DISPLAY:
            run.append((text, size))
        else:
            flush()
            out.append(text)
    flush()
    return "\n".join(out).strip() + "\n"


def _pdf_lines(data: bytes) -> list[tuple[str, float]]:
    """(line text, its characters' largest size) in reading order, with ("", 0) after each box."""
    import logging

    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTChar, LTTextBox
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font warnings about every page
    lines: list[tuple[str, float]] = []
    try:
        for page in extract_pages(BytesIO(data), laparams=LAParams()):
            boxes = [box for box in page if isinstance(box, LTTextBox)]
            sizes = sorted(c.size for box in boxes for line in box for c in line if isinstance(c, LTChar))
            for box in _reading_order(boxes, 4 * sizes[len(sizes) // 2] if sizes else 40.0):
                for line in box:
                    text = re.sub(r"\s+", " ", line.get_text()).strip()
                    chars = [c.size for c in line if isinstance(c, LTChar) and c.get_text().strip()]
                    if text:
                        lines.append((text, round(max(chars), 1) if chars else 0.0))
                lines.append(("", 0.0))
    except (PDFPasswordIncorrect, PDFEncryptionError) as e:
        raise UnreadableFile(f"an encrypted PDF ({e.__class__.__name__}): save an unprotected copy") from e
    except (PDFSyntaxError, PSException) as e:
        raise UnreadableFile(f"not a readable PDF ({e.__class__.__name__}: {e})") from e
    except Exception as e:  # noqa: BLE001  a damaged file can break the parser anywhere: skip it, say why
        raise UnreadableFile(f"not a readable PDF ({e.__class__.__name__}: {e})") from e
    return lines


def _reading_order(boxes: list, gap: float) -> list:
    """Column by column, left to right, and top to bottom within a column: a column is a run of
    boxes whose left edges lie within ``gap`` of its first one's (four characters of body text,
    so a paragraph's indent stays in its column). pdfminer's own order reads a two-column page
    across the columns and splits its stories. On a one-column page this is top to bottom."""
    columns: list[list] = []
    for box in sorted(boxes, key=lambda b: b.x0):
        if not columns or box.x0 - columns[-1][0].x0 > gap:
            columns.append([])
        columns[-1].append(box)
    return [box for column in columns for box in sorted(column, key=lambda b: -b.y1)]


def _joined(parts: list[str]) -> str:
    """A wrapped headline's lines as one: no space between Chinese characters, one between words."""
    text = parts[0]
    for part in parts[1:]:
        wide = re.match(r"[\u3000-\u9fff\uff00-\uffef]", part) and re.search(r"[\u3000-\u9fff\uff00-\uffef]$", text)
        text += part if wide else f" {part}"
    return text
