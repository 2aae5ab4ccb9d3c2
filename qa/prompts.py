"""Reply phrasing, read from ``prompts/<lang>.toml`` so that it can be edited without code."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

REQUIRED = ("answer", "no_answer", "no_answer_reason_date", "related_heading", "sources_heading",
            "person", "list_separator", "empty_question", "error")


@lru_cache(maxsize=8)
def load_prompts(folder: Path, lang: str) -> dict[str, str]:
    """``<lang>.toml``; for ``zh-Hant`` without a file of its own, ``zh.toml`` in traditional characters."""
    path = Path(folder) / f"{lang}.toml"
    if lang == "zh-Hant" and not path.is_file():
        return _traditional(load_prompts(folder, "zh"))
    with open(path, "rb") as f:
        prompts = tomllib.load(f)
    missing = [k for k in REQUIRED if k not in prompts]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}")
    return prompts


def _traditional(value):
    from .script import to_traditional

    if isinstance(value, dict):
        return {k: _traditional(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_traditional(v) for v in value]
    return to_traditional(value) if isinstance(value, str) else value


def load_examples(folder: Path) -> list[str]:
    """Example questions for the UI: ``prompts/examples.txt``, one a line."""
    path = Path(folder) / "examples.txt"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
