"""Read a corpus file as text: UTF-8 (with or without BOM) or GB18030/GBK."""

from __future__ import annotations

from pathlib import Path

ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(Exception):
    """A corpus file that cannot be used; the message says why."""


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 or GB18030, or raise :class:`UnreadableFile` saying why."""
    if not data.strip():
        raise UnreadableFile("empty file")
    if b"\x00" in data:
        raise UnreadableFile("not a text file (contains NUL bytes)")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _mostly_control(text):
            raise UnreadableFile("not a text file (mostly control characters)")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise UnreadableFile("not text in UTF-8 or GB18030")


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"cannot read: {e.strerror or e}") from e
    text = decode(data)
    if not text.strip():
        raise UnreadableFile("empty file")
    return text


def _mostly_control(text: str) -> bool:
    sample = text[:4096]
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f\v")
    return bad > max(8, len(sample) // 20)
