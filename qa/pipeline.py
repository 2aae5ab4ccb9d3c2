"""One object from settings to a ready index; the CLI, the API and the UI all go through it.

A missing or broken index is built before the first answer. A *stale* one (the corpus changed
since the build) is still answered from: ``open(rebuild=False)`` keeps it and says so (the
CLI's default; ``qa ask --rebuild`` rebuilds first), and the app rebuilds it in a background
thread while it keeps answering from the last good index, then swaps to the new one.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path

from .index import BuildReport, Index, IndexUnreadable, build_index, is_up_to_date, load_index, read_and_chunk
from .settings import CROSS_CHOICES, Settings

log = logging.getLogger("qa.pipeline")


class Pipeline:
    def __init__(self, settings: Settings | None = None, progress: bool = True):
        self.settings = settings or Settings()
        self.progress = progress
        self._index: Index | None = None
        self._lock = threading.Lock()
        self.stale = False        # answering from an index older than the corpus
        self.rebuilding = False   # a background rebuild is running

    @cached_property
    def embedder(self):
        from .embedder import Embedder

        return Embedder(self.settings.model, encoder=self.settings.encoder)

    @property
    def model_id(self) -> str:
        from .embedder import model_id

        return model_id(self.settings.model, self.settings.encoder)

    def build(self, repair: bool = False, ray: str | None = None) -> BuildReport:
        """Bring the index up to date with the corpus (a no-op when it already is); with
        ``repair``, rebuild a damaged index, embedding again only the chunks it lost. With
        ``ray`` (a cluster address, or "" for a local Ray instance), reading, chunking and
        embedding run on Ray (:mod:`qa.distributed`)."""
        embedder, reader = (lambda: self.embedder), read_and_chunk
        if ray is not None:
            from .distributed import RayEmbedder, read_and_chunk_on_ray

            address = ray or None
            reader = read_and_chunk_on_ray(address)
            embedder = lambda: RayEmbedder(address, self.settings.model, self.settings.encoder)  # noqa: E731
        report = build_index(self.settings.corpus, self.settings.index, self.model_id, embedder,
                             progress=self.progress, settings=self.settings.shaping_the_index(), repair=repair,
                             reader=reader)
        if report.salvaged or repair:
            log.warning("repaired the index: %s", report.summary())
        return report

    def is_up_to_date(self) -> bool:
        return is_up_to_date(self.settings.corpus, self.settings.index, self.model_id)

    @cached_property
    def reader(self):
        reader = load_reader(self.settings, self.embedder, runtime="onnx")
        if self.settings.min_score is not None:  # the user's trade of answers against declines
            reader.answer_from(self.settings.min_score)
        return reader

    @property
    def answerer(self):
        with self._lock:
            current = self.__dict__.get("_answerer")
            if current is None or current.index is not self.index:
                from .answer import Answerer

                current = self.__dict__["_answerer"] = Answerer(self.index, self.embedder, self.reader,
                                                                fusion=self.settings.fusion)
            return current

    def warm_up(self) -> None:
        """Load the encoder, the reader and the word dictionaries now, by answering a throwaway
        question, so the first real question does not wait for them. Done before the app builds
        its UI, not beside it: on two cores the two loads in parallel took 8 s to the first
        answer, one after the other 7.4 s (``python bench/run.py``, cold start). The dictionary
        English questions are glossed with (``qa.gloss``) loads on the first English question
        instead: loading it here in a background thread held the GIL while Gradio loaded, and
        cost 1.6-2.4 s of cold start and 70 MB (8.8 against 7.2 s and 9.8 against 7.4 s, two sets
        of three runs each, 2026-12-06, ``bench/reader_rounds.md``); from
        its cached copy it loads in about 0.2 s."""
        self.answer("预热")

    def answer(self, question: str):
        """The one answer function behind the CLI, the API and the UI."""
        return self.answerer.answer(question)

    def open(self, rebuild: bool = True) -> Index:
        """Load the index: build it when missing or broken; when stale, rebuild it first only if
        ``rebuild``, else answer from it and set :attr:`stale`."""
        if not rebuild:
            try:
                self._index = self._load()
                self.stale = not self.is_up_to_date()
                if self.stale:
                    log.warning("the corpus changed since the index was built; answering from the last "
                                "build (run `qa build`, or pass --rebuild)")
                return self._index
            except IndexUnreadable:
                pass  # nothing usable: build it below
        self.build()
        try:
            self._index = self._load()
        except IndexUnreadable as e:
            log.warning("the index is damaged (%s); rebuilding it from the corpus", e)
            self.build(repair=True)
            self._index = self._load()
        self.stale = False
        return self._index

    def _load(self) -> Index:
        """The live index, searched through the configured store (see :mod:`qa.store`)."""
        index = load_index(self.settings.index)
        if self.settings.store == "milvus":
            from .store import MilvusStore

            index.search = MilvusStore.open(str(self.settings.milvus_uri or self.settings.index / "milvus.db"),
                                            index)
        return index

    def rebuild_in_background(self) -> threading.Thread | None:
        """When stale, rebuild in a thread; answers come from the last good index meanwhile."""
        if not self.stale or self.rebuilding:
            return None
        self.rebuilding = True

        def work():
            try:
                self.build()
                fresh = self._load()
                with self._lock:
                    self._index, self.stale = fresh, False
                log.info("the index is rebuilt; answering from the new one")
            except Exception:  # the old index keeps serving
                log.exception("the background rebuild failed; still answering from the last good index")
            finally:
                self.rebuilding = False

        thread = threading.Thread(target=work, name="qa-rebuild", daemon=True)
        thread.start()
        return thread

    @property
    def index(self) -> Index:
        """The index, built first when it is missing or stale, rebuilt when it is broken."""
        if self._index is None:
            self.open(rebuild=True)
        return self._index


def load_reader(settings: Settings, embedder, runtime: str = "torch", path: Path | None = None):
    """The reader ``settings`` ask for (weights ``path`` or ``settings.reader``): the head, with the
    cross reader leading (``on``, a weights file) or reading when the head declines or is unsure
    (``fallback``)."""
    from .reader.reader import Reader

    lead = "head" if str(settings.cross_reader) == "fallback" else "cross"
    return Reader.load(path or settings.reader, runtime=runtime, cross=cross_reader(settings, embedder), lead=lead)


def cross_reader(settings: Settings, embedder):
    """The cross reader (:mod:`qa.reader.cross`) over ``embedder``'s encoder, or None when it is
    off. It reads better than the head but costs about 100–120 ms a question (README tenth round), so
    by default (``fallback``) it reads only when the head declines or answers with a low score
    (fourteenth and seventeenth rounds); ``on`` and
    ``fallback`` take the shipped weights. It runs as the encoder does: torch with ``--encoder
    torch``, else ONNX Runtime, int8."""
    from .reader.reader import CROSS_WEIGHTS

    choice = settings.cross_reader
    if str(choice) == "off":
        return None
    from .reader.cross import CrossReader

    runtime = "torch" if settings.encoder == "torch" else "onnx"
    weights = CROSS_WEIGHTS if str(choice) in CROSS_CHOICES else Path(choice)  # on, fallback: the shipped ones
    return CrossReader(weights, embedder.path, embedder.tokenizer, runtime)
