"""Where chunks are searched: one small interface, two implementations.

Retrieval asks a store two things: the ``k`` best chunks for the question's BM25 tokens, and
the ``k`` nearest chunks to its embedding (inner product), each optionally within metadata
(:class:`Where`: a source file, a date range). Both return ``(scores, chunk numbers)``, best first.

- :class:`EmbeddedStore`, the default: the FAISS and bm25s files of the index generation, in
  this process.
- :class:`MilvusStore` (``--store milvus --milvus-uri URI``): one Milvus collection holding every
  chunk with its story, offsets, text, vector, date and source; a file path runs Milvus Lite,
  ``http://host:19530`` a Milvus server or cluster, with the same code. Its BM25 is Milvus's own
  full-text search (a BM25 function over an analyzed field) fed the product's jieba tokens, so the
  corpus lexicon (names, dates) tokenizes as it does for the embedded store: Milvus's built-in
  ``jieba`` analyzer knows no lexicon and ranked differently. Each token is written as a short
  hash word, which the ``standard`` analyzer keeps whole.

The index files stay the source of truth (stories, token states for the reader, salvage); the
Milvus collection is made from a generation and named after its content, so a new build makes a
new collection and drops the old one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("qa.store")


@dataclass(frozen=True)
class Where:
    """Metadata a search is restricted to (None: any). Dates are ISO ``YYYY-MM-DD``, inclusive."""

    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def admits(self, source: str, date: str | None) -> bool:
        if self.source is not None and source != self.source:
            return False
        if (self.date_from or self.date_to) and not date:
            return False
        return not ((self.date_from and date < self.date_from) or (self.date_to and date > self.date_to))

    def expression(self) -> str:
        """The same restriction as a Milvus filter expression."""
        parts = []
        if self.source is not None:
            parts.append(f"source == {_quote(self.source)}")
        if self.date_from:
            parts.append(f'date >= {_quote(self.date_from)} and date != ""')
        if self.date_to:
            parts.append(f'date <= {_quote(self.date_to)} and date != ""')
        return " and ".join(parts)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _best(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``scores`` (ties by chunk number), positive scores only."""
    if k < len(scores):
        part = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))
    scores, ids = scores[order], ids[order]
    keep = scores > 0
    return scores[keep].astype(np.float32), ids[keep].astype(np.int64)


class EmbeddedStore:
    """FAISS (dense) and bm25s (lexical) files of the index, searched in this process."""

    kind = "embedded"

    def __init__(self, index):
        self.index = index
        self._masks: dict[Where, np.ndarray] = {}

    def _mask(self, where: Where) -> np.ndarray:
        if where not in self._masks:
            stories = self.index.stories
            self._masks[where] = np.array([where.admits(stories[c.story_id].source, stories[c.story_id].date)
                                           for c in self.index.chunks], bool)
        return self._masks[where]

    def lexical(self, tokens: list[str], k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        scores = self.index.bm25.scores(tokens)
        if len(scores) == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if where is not None:
            scores = np.where(self._mask(where), scores, 0)
        return _best(scores, np.arange(len(scores)), min(k, len(scores)))

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        if where is None:
            return self.index.dense.search(vector, k)
        ids = np.flatnonzero(self._mask(where))
        if len(ids) == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = self.index.vectors[ids] @ np.asarray(vector, np.float32)
        top = np.argsort(-scores, kind="stable")[:k]
        return scores[top].astype(np.float32), ids[top].astype(np.int64)


def token_word(token: str) -> str:
    """A token as one ASCII word (Milvus's ``standard`` analyzer keeps it whole)."""
    return "t" + hashlib.blake2b(token.encode("utf-8"), digest_size=8).hexdigest()


class MilvusStore:
    """The chunks of one index generation in a Milvus collection."""

    kind = "milvus"
    BATCH = 1000

    def __init__(self, client, collection: str):
        self.client, self.collection = client, collection

    @classmethod
    def open(cls, uri: str, index) -> MilvusStore:
        """The collection of ``index``'s live generation at ``uri``, created and filled when missing
        (other generations' collections of the same index are dropped)."""
        from pymilvus import MilvusClient

        if not uri.startswith(("http://", "https://", "tcp://", "unix:")):
            Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        client = MilvusClient(uri)
        family = "qa_" + hashlib.sha256(str(Path(index.folder).resolve()).encode()).hexdigest()[:10]
        content = hashlib.sha256(repr(sorted(index.manifest.get("parts", {}).items())).encode()).hexdigest()[:12]
        name = f"{family}_{content}"
        if not client.has_collection(name):
            cls._create(client, name, index)
        for other in client.list_collections():
            if other.startswith(family + "_") and other != name:
                client.drop_collection(other)
        client.load_collection(name)
        return cls(client, name)

    @classmethod
    def _create(cls, client, name: str, index) -> None:
        from pymilvus import DataType, Function, FunctionType

        log.info("filling Milvus collection %s with %d chunks", name, len(index.chunks))
        schema = client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)  # the chunk number in the index
        schema.add_field("story_id", DataType.VARCHAR, max_length=512)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=8192)
        schema.add_field("tokens", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(index.vectors.shape[1]))
        schema.add_field("date", DataType.VARCHAR, max_length=32)
        schema.add_field("source", DataType.VARCHAR, max_length=1024)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["tokens"], output_field_names=["sparse"]))
        params = client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")  # exact, as the embedded store
        params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": 1.2, "bm25_b": 0.75})
        client.create_collection(name, schema=schema, index_params=params)
        rows = []
        for i, chunk in enumerate(index.chunks):
            story = index.stories[chunk.story_id]
            rows.append({"id": i, "story_id": chunk.story_id, "start": chunk.start, "end": chunk.end,
                         "text": chunk.text, "tokens": " ".join(map(token_word, index.tokenizer(chunk.embed_text)))
                         or "t", "vector": index.vectors[i].tolist(), "date": story.date or "",
                         "source": story.source})
            if len(rows) == cls.BATCH:
                client.insert(name, rows)
                rows = []
        if rows:
            client.insert(name, rows)

    def _search(self, data, field: str, metric: str, k: int, where: Where | None):
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        hits = self.client.search(self.collection, data=[data], anns_field=field, limit=k,
                                  filter=where.expression() if where else "", output_fields=["id"],
                                  search_params={"metric_type": metric})[0]
        # Milvus Lite reports BM25 scores negated (smaller is better); a server reports them as is
        scores = np.array([abs(h["distance"]) if metric == "BM25" else h["distance"] for h in hits], np.float32)
        ids = np.array([h["id"] for h in hits], np.int64)
        return scores, ids

    def lexical(self, tokens: list[str], k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        if not tokens:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self._search(" ".join(map(token_word, tokens)), "sparse", "BM25", k, where)
        return _best(scores, ids, len(scores)) if len(scores) else (scores, ids)

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self._search(np.asarray(vector, np.float32).tolist(), "vector", "IP", k, where)
