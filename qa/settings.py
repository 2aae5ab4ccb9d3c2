"""Where things are: plain data read from the environment, overridable by CLI options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "intfloat/multilingual-e5-small"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


@dataclass
class Settings:
    corpus: Path = field(default_factory=lambda: _env_path("QA_CORPUS", PROJECT_ROOT / "corpus"))
    index: Path = field(default_factory=lambda: _env_path("QA_INDEX", PROJECT_ROOT / "index"))
    model: str = field(default_factory=lambda: os.environ.get("QA_MODEL", DEFAULT_MODEL))
    prompts: Path = field(default_factory=lambda: _env_path("QA_PROMPTS", PROJECT_ROOT / "prompts"))
    fusion: str = field(default_factory=lambda: os.environ.get("QA_FUSION", "weighted"))
    reader: Path | None = field(default_factory=lambda: _env_path("QA_READER", None))  # None: the shipped weights
