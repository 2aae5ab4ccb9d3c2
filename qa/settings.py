"""Every setting, read and validated in one place.

Precedence, highest first: a command-line option, then the ``QA_*`` environment variable, then
the default below. Paths default to the *current folder* (``./corpus``, ``./index``,
``./prompts``), never to the installed package's folder; the reply phrasing falls back to the
copy of ``prompts/`` shipped inside the package when the current folder has none. A bad value
raises :class:`SettingError`, whose message names the setting and what it accepts; the CLI and
``app.py`` print it as one line and exit with status 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
FUSIONS = ("weighted", "rrf")
ENCODERS = ("torch", "onnx", "onnx-int8")  # how the encoder runs: see qa/onnx_encoder.py
STORES = ("embedded", "milvus")  # where chunks are searched: see qa/store.py
DEFAULT_ENCODER = "onnx-int8"  # measured: twice as fast, recall and reader F1 within bounds (README)


class SettingError(ValueError):
    """A setting has a value it cannot take; the message names it and the allowed values."""


def packaged_prompts() -> Path:
    """The default phrasing shipped with the package (the repository's ``prompts/``)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("qa.default_prompts")
    except ModuleNotFoundError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parent.parent / "prompts"  # a source checkout, not installed


def _default_prompts() -> Path:
    here = Path.cwd() / "prompts"
    return here if (here / "zh.toml").is_file() else packaged_prompts()


# name: (environment variable, default factory, help)
SPEC: dict[str, tuple[str, object, str]] = {
    "corpus": ("QA_CORPUS", lambda: Path.cwd() / "corpus", "corpus folder"),
    "index": ("QA_INDEX", lambda: Path.cwd() / "index", "index folder"),
    "model": ("QA_MODEL", lambda: DEFAULT_MODEL, "embedding model: a hub name or a local folder"),
    "prompts": ("QA_PROMPTS", _default_prompts, "reply phrasing folder"),
    "encoder": ("QA_ENCODER", lambda: DEFAULT_ENCODER, "how the encoder runs: torch, onnx or onnx-int8"),
    "store": ("QA_STORE", lambda: "embedded", "where chunks are searched: embedded (index files) or milvus"),
    "milvus_uri": ("QA_MILVUS_URI", lambda: None, "Milvus: a file (Milvus Lite) or http://host:19530 "
                   "(default: milvus.db in the index folder)"),
    "fusion": ("QA_FUSION", lambda: "weighted", "how BM25 and dense results are fused"),
    "reader": ("QA_READER", lambda: None, "reader weights file (default: the shipped weights)"),
    "cross_reader": ("QA_CROSS_READER", lambda: "fallback", "the cross reader: off (the head answers alone), "
                     "fallback (the head answers, the cross reader when the head declines or is unsure), on (the cross "
                     "reader answers, the head when it declines) or a weights file (as on; default: fallback)"),
    "min_score": ("QA_MIN_SCORE", lambda: None, "lowest calibrated score answered, between 0 and 1 "
                  "(default: each reader's own threshold)"),
    "host": ("QA_HOST", lambda: "127.0.0.1", "address the app listens on"),
    "port": ("QA_PORT", lambda: 7860, "port the app listens on"),
    "max_question": ("QA_MAX_QUESTION", lambda: 500, "longest question answered, in characters (longer: trimmed)"),
}


CROSS_CHOICES = ("off", "fallback", "on")  # besides a weights file (read as on)


def model_cache() -> Path:
    """Where the embedding model rebuilt from packages is kept: $QA_MODEL_CACHE or ~/.cache/qa-news/models."""
    return Path(os.environ.get("QA_MODEL_CACHE") or Path.home() / ".cache" / "qa-news" / "models")


def train_data() -> Path:
    """Where the training sets are when no ``--data`` is given (the training commands and the bench
    scripts): $QA_TRAIN_DATA, else ../shared/train from the working directory."""
    return Path(os.environ.get("QA_TRAIN_DATA") or "../shared/train")


def _from_env(name: str):
    var, default, _ = SPEC[name]
    value = os.environ.get(var)
    return default() if value in (None, "") else value


@dataclass
class Settings:
    corpus: Path = field(default_factory=lambda: _from_env("corpus"))
    index: Path = field(default_factory=lambda: _from_env("index"))
    model: str = field(default_factory=lambda: _from_env("model"))
    prompts: Path = field(default_factory=lambda: _from_env("prompts"))
    encoder: str = field(default_factory=lambda: _from_env("encoder"))
    store: str = field(default_factory=lambda: _from_env("store"))
    milvus_uri: str | None = field(default_factory=lambda: _from_env("milvus_uri"))
    fusion: str = field(default_factory=lambda: _from_env("fusion"))
    reader: Path | None = field(default_factory=lambda: _from_env("reader"))
    cross_reader: Path | str | None = field(default_factory=lambda: _from_env("cross_reader"))
    min_score: float | None = field(default_factory=lambda: _from_env("min_score"))
    host: str = field(default_factory=lambda: _from_env("host"))
    port: int = field(default_factory=lambda: _from_env("port"))
    max_question: int = field(default_factory=lambda: _from_env("max_question"))

    def __post_init__(self):
        self.validate()

    def validate(self) -> Settings:
        """Coerce and check every value; :class:`SettingError` names the first bad one."""
        self.corpus, self.index, self.prompts = Path(self.corpus), Path(self.index), Path(self.prompts)
        if self.encoder not in ENCODERS:
            raise SettingError(_bad("encoder", self.encoder, ", ".join(ENCODERS)))
        if self.store not in STORES:
            raise SettingError(_bad("store", self.store, " or ".join(STORES)))
        if self.fusion not in FUSIONS:
            raise SettingError(_bad("fusion", self.fusion, " or ".join(FUSIONS)))
        try:
            self.port = int(self.port)
        except (TypeError, ValueError):
            raise SettingError(_bad("port", self.port, "a whole number from 1 to 65535")) from None
        if not 1 <= self.port <= 65535:
            raise SettingError(_bad("port", self.port, "a whole number from 1 to 65535"))
        try:
            self.max_question = int(self.max_question)
        except (TypeError, ValueError):
            self.max_question = 0
        if not 1 <= self.max_question <= 100_000:
            raise SettingError(_bad("max_question", self.max_question, "a whole number from 1 to 100000"))
        if not (self.prompts / "zh.toml").is_file():
            raise SettingError(_bad("prompts", self.prompts, "a folder holding zh.toml and en.toml"))
        if self.reader is not None:
            self.reader = Path(self.reader)
            if not self.reader.is_file():
                raise SettingError(_bad("reader", self.reader, "an existing reader weights file"))
        if self.cross_reader is None:
            self.cross_reader = "fallback"
        if str(self.cross_reader) not in CROSS_CHOICES:
            self.cross_reader = Path(self.cross_reader)
            if not self.cross_reader.is_file():
                raise SettingError(_bad("cross_reader", self.cross_reader,
                                        "off, fallback, on or an existing cross reader weights file"))
        if self.min_score is not None:
            try:
                self.min_score = float(self.min_score)
            except (TypeError, ValueError):
                raise SettingError(_bad("min_score", self.min_score, "a number between 0 and 1")) from None
            if not 0.0 < self.min_score < 1.0:
                raise SettingError(_bad("min_score", self.min_score, "a number between 0 and 1"))
        if not str(self.model).strip():
            raise SettingError(_bad("model", self.model, "a hub name or a local folder"))
        return self

    def require_corpus(self) -> Settings:
        """For commands that read the corpus: it must be an existing folder."""
        if not self.corpus.is_dir():
            raise SettingError(_bad("corpus", self.corpus, "an existing folder"))
        return self

    @classmethod
    def resolve(cls, options: dict | None = None) -> Settings:
        """Settings from command-line ``options`` (None = not given) over the environment."""
        given = {k: v for k, v in (options or {}).items() if v is not None and k in _NAMES}
        return cls(**given)

    def shaping_the_index(self) -> dict:
        """The settings an index is built with, saved in its manifest."""
        return {"model": self.model, "encoder": self.encoder, "fusion_default": self.fusion}


_NAMES = {f.name for f in fields(Settings)}


def _bad(name: str, value, allowed: str) -> str:
    var = SPEC[name][0]
    return f"{var} / --{name.replace('_', '-')} = '{value}' is not valid: use {allowed}"
