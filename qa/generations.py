"""Crash-safe index folders: each build writes a new generation, then swaps a pointer.

``index/CURRENT`` names the live generation folder (``gen-000007``). A build writes
``gen-000008.tmp``, renames it to ``gen-000008`` when complete, and only then replaces
``CURRENT`` atomically. A build killed at any point leaves the previous generation live;
leftovers are removed by the next build.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

POINTER = "CURRENT"
_GEN = re.compile(r"^gen-(\d{6})(\.tmp)?$")


def current(folder: Path) -> Path | None:
    """The live generation folder, or None when there is no index here."""
    pointer = folder / POINTER
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not _GEN.match(name) or name.endswith(".tmp"):
        raise ValueError(f"{pointer} names no generation ({name!r})")
    return folder / name


def newest(folder: Path) -> Path | None:
    """The newest complete generation folder, whatever ``CURRENT`` says (it may be damaged)."""
    gens = sorted(p for p in folder.iterdir() if p.is_dir() and (m := _GEN.match(p.name)) and not m.group(2)) \
        if folder.is_dir() else []
    return gens[-1] if gens else None


def start(folder: Path) -> Path:
    """A fresh, empty temporary folder for the next generation."""
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := _GEN.match(p.name))]
    tmp = folder / f"gen-{max(numbers, default=0) + 1:06d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def commit(tmp: Path) -> Path:
    """Make a finished temporary generation the live one, then drop the older ones."""
    folder = tmp.parent
    final = tmp.with_name(tmp.name.removesuffix(".tmp"))
    _fsync_tree(tmp)
    tmp.rename(final)
    pointer_tmp = folder / f"{POINTER}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as f:
        f.write(final.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer_tmp, folder / POINTER)
    for p in folder.iterdir():
        if p.is_dir() and _GEN.match(p.name) and p != final:
            shutil.rmtree(p, ignore_errors=True)
    return final


def _fsync_tree(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())
