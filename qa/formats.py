"""Other document formats turned into page text, so one page reader serves them all.

An HTML page or a Word ``.docx`` file becomes text in the seed pages' shape: one block a
paragraph, blank lines between blocks, headings as ``#`` lines. :func:`qa.pages.split_page`
then finds the stories in it. Only the standard library is used.
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
