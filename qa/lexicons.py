"""The word lists the code still needs, read from ``qa/data/*.txt`` (each file says where it comes from).

Lines starting with ``#`` are comments; every other line holds one entry (``surnames.txt``:
a row of single characters).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@cache
def words(name: str) -> tuple[str, ...]:
    lines = (DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def surnames() -> frozenset[str]:
    return frozenset("".join(words("surnames")))
