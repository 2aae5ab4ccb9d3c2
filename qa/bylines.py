"""Recognize bylines such as ``记者 马燕 通讯员 李盼 文/图``.

A byline closes a story. It stands on a line of its own, over two lines
(``记者 冉红政`` / ``通讯员 姜璞 文/图``), or at the end of the last paragraph
(``…作出积极努力和贡献。记者 景静``).
"""

from __future__ import annotations

import re

from .script import fold
from .story import Byline

_REPORTER = r"(?:本报)?(?:见习|实习|特约|首席)?记者"
_CORRESPONDENT = r"(?:通讯员|实习生)"
_ROLE = rf"(?:{_REPORTER}|{_CORRESPONDENT})"
_CREDIT = r"(?:文/图|文／图|图/文|/文|/图|文|图|摄影?|报道)"
_NAME = rf"(?!{_ROLE}|{_CREDIT}(?:\s|$))[\u4e00-\u9fff·]{{2,5}}"
_NAMES = rf"{_NAME}(?:[ \u3000、,，]+{_NAME})*"
_GROUP = rf"{_ROLE}[ \u3000:：]+{_NAMES}"
_BYLINE = rf"{_GROUP}(?:[ \u3000]+{_GROUP})*(?:[ \u3000]*{_CREDIT})?"

BYLINE_LINE = re.compile(rf"^[ \u3000]*{_BYLINE}[ \u3000]*$")
# A byline glued to the end of a paragraph, after the sentence that closes it.
TRAILING_BYLINE = re.compile(rf"(?<=[。！？!?”\"」』)）])[ \u3000]*(?P<byline>{_BYLINE})[ \u3000]*$")

_GROUP_RE = re.compile(rf"(?P<role>{_ROLE})[ \u3000:：]*(?P<names>{_NAMES})")
_SPLIT_NAMES = re.compile(r"[ \u3000、,，]+")


def is_byline(line: str) -> bool:
    return bool(BYLINE_LINE.match(fold(line)))


def split_trailing_byline(line: str) -> tuple[str, str] | None:
    """``(text, byline)`` when ``line`` ends with a byline after a closed sentence."""
    m = TRAILING_BYLINE.search(fold(line))  # matched in simplified, cut from the printed line
    if not m:
        return None
    return line[: m.start()].rstrip(), line[m.start("byline"):m.end("byline")].strip()


def parse_bylines(lines: list[str]) -> Byline:
    """Reporters and correspondents named by the byline lines of one story, each once."""
    reporters: list[str] = []
    correspondents: list[str] = []
    for line in lines:
        for m in _GROUP_RE.finditer(fold(line)):
            target = correspondents if re.fullmatch(_CORRESPONDENT, m["role"]) else reporters
            for name in _SPLIT_NAMES.split(line[m.start("names"):m.end("names")].strip()):
                if name and name not in target:
                    target.append(name)
    return Byline(tuple(lines), tuple(reporters), tuple(correspondents))
