"""One object from settings to a ready index; the CLI, the API and the UI all go through it."""

from __future__ import annotations

import logging
import shutil
from functools import cached_property

from .index import BuildReport, Index, IndexUnreadable, build_index, is_up_to_date, load_index
from .settings import Settings

log = logging.getLogger("qa.pipeline")


class Pipeline:
    def __init__(self, settings: Settings | None = None, progress: bool = True):
        self.settings = settings or Settings()
        self.progress = progress
        self._index: Index | None = None

    @cached_property
    def embedder(self):
        from .embedder import Embedder

        return Embedder(self.settings.model)

    @property
    def model_id(self) -> str:
        from .model_store import model_key

        return model_key(self.settings.model)

    def build(self) -> BuildReport:
        """Bring the index up to date with the corpus (a no-op when it already is)."""
        report = build_index(self.settings.corpus, self.settings.index, self.model_id,
                             lambda: self.embedder, progress=self.progress,
                             settings=self.settings.shaping_the_index())
        self._index = None
        return report

    def is_up_to_date(self) -> bool:
        return is_up_to_date(self.settings.corpus, self.settings.index, self.model_id)

    @cached_property
    def answerer(self):
        from .answer import Answerer, load_reader

        return Answerer(self.index, self.embedder, load_reader(self.settings.reader), fusion=self.settings.fusion)

    def answer(self, question: str):
        """The one answer function behind the CLI, the API and the UI."""
        return self.answerer.answer(question)

    @property
    def index(self) -> Index:
        """The index, built first when it is missing or stale, rebuilt when it is broken."""
        if self._index is None:
            self.build()
            try:
                self._index = load_index(self.settings.index)
            except IndexUnreadable as e:
                log.warning("the index is damaged (%s); rebuilding it from the corpus", e)
                shutil.rmtree(self.settings.index, ignore_errors=True)
                self.build()
                self._index = load_index(self.settings.index)
        return self._index
