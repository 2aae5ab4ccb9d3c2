"""Sentence embeddings for questions and passages (sentence-transformers, on the CPU)."""

from __future__ import annotations

import logging
import os

import numpy as np

from .model_store import model_key, resolve_model

log = logging.getLogger("qa.model")


class Embedder:
    """Normalized embeddings; e5 models get their ``query: `` and ``passage: `` prefixes."""

    def __init__(self, model: str | None = None, batch_size: int = 32):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        self.model_id = model_key(model)
        path, self.source = resolve_model(self.model_id)
        log.info("embedding model %s from %s", self.model_id, self.source)
        self._model = SentenceTransformer(path, device="cpu")
        self._model.max_seq_length = min(512, self._model.max_seq_length or 512)
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = get_dim()
        self._e5 = "e5" in self.model_id.lower() or "e5" in path.lower()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self._e5:
            texts = [prefix + t for t in texts]
        vectors = self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")
