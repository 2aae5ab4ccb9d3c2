"""The hybrid index: FAISS over embeddings plus BM25 over jieba tokens, persisted with a manifest.

``build_index`` re-embeds only the corpus files that were added or changed since the last
build and drops removed ones; ``load_index`` opens the live generation. The manifest records
the model, the chunker and tokenizer versions and a content hash per corpus file; an index
built with another model or chunker is rebuilt, never mixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import generations
from .chunks import CHUNKER_VERSION, Chunk, chunk_story
from .corpus import corpus_files, read_file
from .dense import DenseIndex
from .embed_cache import EmbedCache, content_key
from .embedder import READER_LAYERS
from .lexical import BM25Index
from .salvage import salvage
from .script import fold
from .store import EmbeddedStore
from .story import Story
from .textfile import UnreadableFile
from .token_store import TokenStore, write_store
from .tokenize import TOKENIZER_VERSION, Tokenizer

log = logging.getLogger("qa.index")

FORMAT = 3  # 2: token states for the reader; 3: per-chunk checks and keys (rows.npz)
EMBED_BATCH = 64


class IndexUnreadable(Exception):
    """The index on disk is missing, corrupt or from another model; it must be rebuilt."""


@dataclass
class FileRecord:
    sha256: str
    stories: list[str] = field(default_factory=list)  # story ids, in page order
    skipped: str | None = None  # why the file gave no stories


@dataclass
class BuildReport:
    files: int = 0
    stories: int = 0
    chunks: int = 0
    embedded: int = 0
    salvaged: int = 0  # chunks a damaged index still held, reused instead of embedded again
    seconds: float = 0.0
    up_to_date: bool = False
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    rebuilt_because: str | None = None

    @property
    def chunks_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        if self.up_to_date:
            return f"index is up to date: {self.files} files, {self.stories} stories, {self.chunks} chunks"
        kept = f", {self.salvaged} recovered from the damaged index" if self.salvaged else ""
        return (f"indexed {self.files} files, {self.stories} stories, {self.chunks} chunks "
                f"({self.embedded} embedded{kept}) in {self.seconds:.1f} s, "
                f"{self.chunks_per_second:.1f} chunks/s")


class Index:
    """A loaded index: stories, chunks, vectors, and the two searchers over the chunks."""

    def __init__(self, folder: Path, manifest: dict, stories: list[Story], chunks: list[Chunk],
                 vectors: np.ndarray, dense: DenseIndex, bm25: BM25Index, tokenizer: Tokenizer,
                 tokens: TokenStore):
        self.folder = folder
        self.manifest = manifest
        self.stories = {s.id: s for s in stories}
        self.chunks = chunks
        self.vectors = vectors
        self.dense = dense
        self.bm25 = bm25
        self.tokenizer = tokenizer
        self.tokens = tokens  # the reader's token states of every chunk
        self.search = EmbeddedStore(self)  # where retrieval searches (qa.store): these files, or Milvus

    @property
    def model_id(self) -> str:
        return self.manifest["model"]["id"]

    def story(self, story_id: str) -> Story | None:
        return self.stories.get(story_id)


def file_hash(path: Path) -> str:
    """SHA-256 of a file, read in blocks (index parts can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- reading


def read_manifest(folder: Path) -> dict:
    try:
        gen = generations.current(folder)
    except (OSError, ValueError) as e:
        raise IndexUnreadable(str(e)) from e
    if gen is None:
        raise IndexUnreadable(f"no index in {folder}")
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise IndexUnreadable(f"cannot read {gen / 'manifest.json'}: {e}") from e
    if manifest.get("format") != FORMAT:
        raise IndexUnreadable(f"index format {manifest.get('format')!r}, expected {FORMAT}")
    manifest["_generation"] = str(gen)
    return manifest


def part_hashes(gen: Path) -> dict[str, str]:
    """SHA-256 of every file of a generation but the manifest (relative path -> hex digest)."""
    return {path.relative_to(gen).as_posix(): file_hash(path) for path in sorted(gen.rglob("*"))
            if path.is_file() and path.name != "manifest.json"}


def damaged_parts(gen: Path, manifest: dict) -> list[str]:
    """The files whose content no longer matches the manifest (missing, truncated, overwritten)."""
    recorded = manifest.get("parts")
    if recorded is None:
        return []
    actual = part_hashes(gen)
    return sorted(name for name, digest in recorded.items() if actual.get(name) != digest)


def load_index(folder: Path) -> Index:
    """Open the live index in ``folder``; :class:`IndexUnreadable` if it is broken.

    Every file is checked against the SHA-256 the manifest recorded. A damaged FAISS file alone
    is rebuilt from the stored vectors on the spot (no re-embedding); any other damage means the
    index must be rebuilt from the corpus.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    gen = Path(manifest["_generation"])
    damaged = damaged_parts(gen, manifest)
    if damaged == ["dense.faiss"]:
        _repair_dense(gen, manifest)
    elif damaged:
        raise IndexUnreadable(f"index in {gen} is damaged: {', '.join(damaged)} changed since the build")
    try:
        stories, chunks, vectors, tokens = _read_parts(gen)
        dense = DenseIndex.load(gen / "dense.faiss")
        bm25 = BM25Index.load(gen / "bm25")
        lexicon = (gen / "lexicon.txt").read_text(encoding="utf-8").split("\n")
    except Exception as e:  # any damage to any part means: rebuild
        raise IndexUnreadable(f"index in {gen} is damaged: {type(e).__name__}: {e}") from e
    if not (len(chunks) == len(vectors) == len(tokens) == dense.size == manifest["counts"]["chunks"]):
        raise IndexUnreadable(f"index in {gen} is damaged: chunk, vector, token and FAISS counts differ")
    return Index(folder, manifest, stories, chunks, vectors, dense, bm25, Tokenizer(lexicon), tokens)


def _repair_dense(gen: Path, manifest: dict) -> None:
    log.warning("the FAISS file in %s is damaged; rebuilding it from the stored vectors (no re-embedding)", gen)
    try:
        vectors = np.load(gen / "vectors.npy", allow_pickle=False)
    except Exception as e:
        raise IndexUnreadable(f"index in {gen} is damaged: dense.faiss and vectors.npy: {e}") from e
    tmp = gen / "dense.faiss.tmp"
    DenseIndex.build(vectors).save(tmp)
    tmp.replace(gen / "dense.faiss")
    manifest = {k: v for k, v in manifest.items() if k != "_generation"}
    manifest["parts"]["dense.faiss"] = file_hash(gen / "dense.faiss")
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")


def _read_parts(gen: Path) -> tuple[list[Story], list[Chunk], np.ndarray, TokenStore]:
    with open(gen / "stories.jsonl", encoding="utf-8") as f:
        stories = [Story.from_dict(json.loads(line)) for line in f if line.strip()]
    by_id = {s.id: s for s in stories}
    with open(gen / "chunks.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    chunks = [Chunk.of(by_id[story_id], start, end) for story_id, start, end, *_ in rows]
    vectors = np.load(gen / "vectors.npy", allow_pickle=False)
    return stories, chunks, vectors, TokenStore.load(gen)


# ---------------------------------------------------------------- building


def _compatible(manifest: dict | None, model_id: str) -> str | None:
    """Why an old index cannot be reused for this build, or None when it can."""
    if manifest is None:
        return "no index yet"
    if manifest["model"]["id"] != model_id:
        return f"it was built with model {manifest['model']['id']}, not {model_id}"
    if manifest["chunker"] != CHUNKER_VERSION:
        return f"it was built with chunker {manifest['chunker']}, not {CHUNKER_VERSION}"
    return None


def _lexical_stale(manifest: dict | None) -> bool:
    """The BM25 side was built with another tokenizer: re-tokenize, but keep the embeddings."""
    return manifest is not None and manifest.get("tokenizer") != TOKENIZER_VERSION


def index_status(corpus: Path, folder: Path, model_id: str) -> tuple[dict | None, dict[str, str], str | None]:
    """(old manifest or None, current file hashes, why a full rebuild is needed or None)."""
    hashes = {p.relative_to(corpus).as_posix(): file_hash(p) for p in corpus_files(corpus)}
    try:
        manifest = read_manifest(folder)
    except IndexUnreadable as e:
        return None, hashes, str(e)
    return manifest, hashes, _compatible(manifest, model_id)


def is_up_to_date(corpus: Path, folder: Path, model_id: str) -> bool:
    manifest, hashes, why = index_status(Path(corpus), Path(folder), model_id)
    return why is None and not _lexical_stale(manifest) and \
        {k: v["sha256"] for k, v in manifest["files"].items()} == hashes


def read_and_chunk(corpus: Path, rels: list[str]) -> dict[str, list[tuple[Story, list[Chunk]]] | str]:
    """Each corpus file's stories with their chunks, or why the file was skipped (here, in this
    process; ``qa build --ray`` spreads the same work over a cluster, :mod:`qa.distributed`)."""
    out: dict[str, list[tuple[Story, list[Chunk]]] | str] = {}
    for rel in rels:
        try:
            out[rel] = [(s, chunk_story(s)) for s in read_file(corpus / rel, corpus)]
        except UnreadableFile as e:
            out[rel] = str(e)
    return out


def build_index(corpus: Path, folder: Path, model_id: str, embedder_factory: Callable[[], object],
                progress: bool = True, settings: dict | None = None, repair: bool = False,
                reader: Callable[[Path, list[str]], dict] = read_and_chunk) -> BuildReport:
    """Bring the index in ``folder`` up to date with ``corpus``, re-embedding only what changed.

    ``embedder_factory`` is called only when something must be embedded, so a build with
    nothing to do does not load the model. ``reader`` reads and chunks the changed files
    (:func:`read_and_chunk`, or the Ray version). With ``repair`` (the live index failed its checks),
    everything is rebuilt from the corpus, but every chunk the damaged index still holds
    intact is reused (:mod:`qa.salvage`): only lost chunks are embedded again.
    """
    t0 = time.perf_counter()
    corpus, folder = Path(corpus), Path(folder)
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus}")
    manifest, hashes, why = index_status(corpus, folder, model_id)
    if repair:
        manifest, why = None, "the index is damaged"
    report = BuildReport(files=len(hashes))
    if why and manifest is None and why != "no index yet" and "no index in" not in why:
        log.warning("the index is unreadable (%s); rebuilding it from the corpus", why)
    elif why and manifest is not None:
        log.warning("rebuilding the whole index: %s", why)
    report.rebuilt_because = why
    old_files = {} if why else {k: FileRecord(**v) for k, v in manifest["files"].items()}

    if not why and _lexical_stale(manifest):
        log.warning("re-tokenizing the BM25 index (tokenizer %s, now %s); embeddings are kept",
                    manifest.get("tokenizer"), TOKENIZER_VERSION)
    elif not why and {k: v.sha256 for k, v in old_files.items()} == hashes:
        counts = manifest["counts"]
        report.stories, report.chunks, report.up_to_date = counts["stories"], counts["chunks"], True
        report.skipped = {k: v.skipped for k, v in old_files.items() if v.skipped}
        for name, reason in report.skipped.items():
            log.warning("skipped %s: %s", name, reason)
        report.seconds = time.perf_counter() - t0
        return report

    old = _OldParts.load(manifest) if not why else _OldParts.empty()
    files: dict[str, FileRecord] = {}
    stories: list[Story] = []
    chunks: list[Chunk] = []
    vectors: list[np.ndarray | None] = []  # None: still to embed
    states: list = []  # the reader's token states, parallel to vectors

    def add(story: Story, story_chunks: list[Chunk], story_vectors: list, story_states: list) -> bool:
        if story.id in seen:
            log.warning("skipped story %s in %s: another story has that id", story.id, story.source)
            return False
        seen.add(story.id)
        stories.append(story)
        chunks.extend(story_chunks)
        vectors.extend(story_vectors)
        states.extend(story_states)
        return True

    def reusable(rel: str) -> bool:
        record = old_files.get(rel)
        return bool(record and record.sha256 == hashes[rel] and all(i in old.stories for i in record.stories))

    seen: set[str] = set()
    parsed = reader(corpus, [rel for rel in hashes if not reusable(rel)])
    for rel, sha in hashes.items():
        record = old_files.get(rel)
        if reusable(rel):
            if record.skipped:
                log.warning("skipped %s: %s", rel, record.skipped)
                report.skipped[rel] = record.skipped
            kept = [old.stories[i] for i in record.stories]
            ids = [s.id for s in kept
                   if add(s, [old.chunks[c] for c in old.chunks_of.get(s.id, [])],
                          [old.vectors[c] for c in old.chunks_of.get(s.id, [])],
                          [old.tokens.chunk(c) for c in old.chunks_of.get(s.id, [])])]
            files[rel] = FileRecord(sha, ids, record.skipped)
            continue
        report.changed.append(rel)
        new = parsed[rel]
        if isinstance(new, str):
            log.warning("skipped %s: %s", rel, new)
            files[rel] = FileRecord(sha, skipped=new)
            report.skipped[rel] = new
            continue
        ids = [s.id for s, c in new if add(s, c, [None] * len(c), [None] * len(c))]
        files[rel] = FileRecord(sha, ids)
    report.removed = sorted(set(old_files) - set(hashes))

    todo = [i for i, v in enumerate(vectors) if v is None]
    cache = EmbedCache(folder, model_id)
    # an unreadable or damaged index gives back what it still holds; an index of another model
    # or chunker is rebuilt from scratch on purpose
    salvaged = _salvage(folder, model_id) if why and todo and manifest is None else {}
    cache.adopt(salvaged)
    keys = {i: content_key(chunks[i].embed_text) for i in todo}
    missing: dict[str, int] = {}  # content key -> first chunk with it: identical passages embed once
    for i in todo:
        if keys[i] not in cache and keys[i] not in missing:
            missing[keys[i]] = i
    embedder = embedder_factory() if missing else None
    if embedder is not None:
        _embed(embedder, [chunks[i] for i in missing.values()], list(missing), cache, progress)
    for i in todo:
        vectors[i], states[i] = cache.get(keys[i])
    if todo:
        old_model = (manifest or {}).get("model", {})
        model = {"id": model_id,
                 "source": embedder.source if embedder else (cache.source or old_model.get("source")
                                                             or "recovered from a damaged index"),
                 "dim": int(vectors[todo[0]].shape[0]), "state_dim": int(states[todo[0]].states.shape[1]),
                 "layers": list(embedder.layers) if embedder else old_model.get("layers", list(READER_LAYERS))}
    else:
        model = dict(manifest["model"]) if manifest else {"id": model_id, "source": "", "dim": 0}
    dim = model["dim"]
    matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
    report.embedded = len(missing)
    report.salvaged = len(set(keys.values()) & salvaged.keys())

    _write(folder, files, stories, chunks, matrix, states, model, settings or {})
    cache.clear()
    report.stories, report.chunks = len(stories), len(chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _salvage(folder: Path, model_id: str) -> dict:
    """Intact chunks of the live (or, when ``CURRENT`` is broken, the newest) generation."""
    try:
        gen = generations.current(folder)
    except (OSError, ValueError):
        gen = None
    gen = gen or generations.newest(folder)
    if gen is None:
        return {}
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        recorded = manifest["parts"]
    except Exception:
        manifest = recorded = None
    checked: dict[str, bool] = {}

    def part_ok(name: str) -> bool | None:
        if recorded is None:
            return None
        if name not in checked:
            path = gen / name
            checked[name] = path.is_file() and recorded.get(name) == file_hash(path)
        return checked[name]

    return salvage(gen, model_id, manifest, part_ok)


class _OldParts:
    """The previous generation's stories, chunks and vectors, for reuse by file."""

    def __init__(self, stories: list[Story], chunks: list[Chunk], vectors: np.ndarray, tokens: TokenStore | None):
        self.stories = {s.id: s for s in stories}
        self.chunks = chunks
        self.vectors = vectors
        self.tokens = tokens
        self.chunks_of: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            self.chunks_of.setdefault(c.story_id, []).append(i)

    @classmethod
    def empty(cls) -> _OldParts:
        return cls([], [], np.zeros((0, 0), np.float32), None)

    @classmethod
    def load(cls, manifest: dict) -> _OldParts:
        try:
            return cls(*_read_parts(Path(manifest["_generation"])))
        except Exception as e:  # damaged: nothing to reuse
            log.warning("cannot reuse the old index (%s); re-embedding everything", e)
            return cls.empty()


def _embed(embedder, chunks: list[Chunk], keys: list[str], cache: EmbedCache, progress: bool) -> None:
    """Embed ``chunks`` in batches, each checkpointed in ``cache`` (offsets into each chunk's text).
    Chunks go shortest first, so each forward pass pads little."""
    from tqdm import tqdm

    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].embed_text))
    chunks, keys = [chunks[i] for i in order], [keys[i] for i in order]
    step = getattr(embedder, "checkpoint_every", EMBED_BATCH)  # a cluster embeds more between checkpoints
    with tqdm(total=len(chunks), desc="embedding", unit="chunk", disable=not progress) as bar:
        for i in range(0, len(chunks), step):
            batch = chunks[i:i + step]
            vectors, batch_states = embedder.passages_with_states([c.embed_text for c in batch])
            batch_states = [st.shifted(len(c.embed_text) - len(c.text)) for c, st in zip(batch, batch_states)]
            cache.put(keys[i:i + step], vectors, batch_states, embedder.source)
            bar.update(len(batch))


def _write(folder: Path, files: dict[str, FileRecord], stories: list[Story], chunks: list[Chunk],
           vectors: np.ndarray, states: list, model: dict, settings: dict) -> Path:
    tokenizer = Tokenizer()
    tokenizer.add_words(lexicon(stories, tokenizer))
    bm25 = BM25Index.build([tokenizer(c.embed_text) for c in chunks])
    dense = DenseIndex.build(vectors)
    tmp = generations.start(folder)
    with open(tmp / "stories.jsonl", "w", encoding="utf-8") as f:
        for s in stories:
            f.write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c, st in zip(chunks, states, strict=True):
            f.write(json.dumps([c.story_id, c.start, c.end, len(st)], ensure_ascii=False) + "\n")
    np.save(tmp / "vectors.npy", vectors)
    dense.save(tmp / "dense.faiss")
    write_store(tmp, states, int(model.get("state_dim") or 0), vectors,
                [content_key(c.embed_text) for c in chunks], model["id"])
    bm25.save(tmp / "bm25")
    (tmp / "lexicon.txt").write_text("\n".join(sorted(tokenizer.words)), encoding="utf-8")
    manifest = {
        "format": FORMAT,
        "model": model,
        "chunker": CHUNKER_VERSION,
        "tokenizer": TOKENIZER_VERSION,
        "dense": dense.kind,
        "settings": settings,
        "counts": {"files": len(files), "stories": len(stories), "chunks": len(chunks)},
        "files": {k: vars(v) for k, v in sorted(files.items())},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "parts": part_hashes(tmp),
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return generations.commit(tmp)


def lexicon(stories: list[Story], tokenizer: Tokenizer) -> set[str]:
    """Names to keep whole: the people of bylines and the names jieba tags in titles."""
    words = {fold(p) for s in stories for p in s.byline.people}
    for s in stories:
        words.update(tokenizer.names_in(fold(f"{s.title} {s.subtitle}")))
    return words
