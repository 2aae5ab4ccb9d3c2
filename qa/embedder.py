"""Sentence embeddings and token states for questions and passages (on the CPU).

One forward pass of the encoder gives both: the mean-pooled, normalized last layer is the
sentence embedding the dense index searches, and the hidden states of a few layers
(:data:`READER_LAYERS`) are what the reader reads. So the build that embeds a chunk also
leaves its token states for the reader, and the question's embedding pass leaves the question's.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from .model_store import model_key, resolve_model

log = logging.getLogger("qa.model")

READER_LAYERS = (6, 9, 12)  # hidden_states indices (0 = embeddings) concatenated for the reader
MAX_TOKENS = 512


@dataclass
class TokenStates:
    """One text's token states. ``offsets[i]`` is token i's (start, end) in the text given,
    without the model's prefix; (-1, -1) for special and prefix tokens."""

    states: np.ndarray   # (tokens, len(READER_LAYERS) * hidden) float16
    ids: np.ndarray      # (tokens,) int32 token ids
    offsets: np.ndarray  # (tokens, 2) int32

    def __len__(self) -> int:
        return len(self.ids)

    def shifted(self, n: int) -> TokenStates:
        """Offsets into the text after its first ``n`` characters (a chunk's text after its title);
        tokens before that point get (-1, -1)."""
        if not n:
            return self
        off = self.offsets.copy()
        valid = off[:, 0] >= 0
        off[valid] -= n
        off[off[:, 0] < 0] = -1
        return TokenStates(self.states, self.ids, off)


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
        self._torch = torch
        self.model_id = model_key(model)
        path, self.source = resolve_model(self.model_id)
        log.info("embedding model %s: %s", self.model_id, self.source)
        self._model = SentenceTransformer(path, device="cpu")
        self._model.max_seq_length = min(MAX_TOKENS, self._model.max_seq_length or MAX_TOKENS)
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = get_dim()
        self._e5 = "e5" in self.model_id.lower() or "e5" in path.lower()
        self._auto = self._model[0].auto_model
        self._tokenizer = self._model.tokenizer
        n_layers = self._auto.config.num_hidden_layers
        self.layers = tuple(min(layer, n_layers) for layer in READER_LAYERS)
        self.state_dim = len(self.layers) * self._auto.config.hidden_size

    @property
    def encoder_layers(self):
        """The transformer's layers (the reader's joint stage copies the top ones)."""
        return self._auto.encoder.layer

    def _prefix(self, kind: str) -> str:
        return (kind + ": ") if self._e5 else ""

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._prefix("query"))

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._prefix("passage"))

    # ------------------------------------------------------------ with token states

    def queries_with_states(self, texts: list[str]) -> tuple[np.ndarray, list[TokenStates]]:
        return self._with_states(texts, self._prefix("query"))

    def passages_with_states(self, texts: list[str]) -> tuple[np.ndarray, list[TokenStates]]:
        return self._with_states(texts, self._prefix("passage"))

    def _with_states(self, texts: list[str], prefix: str) -> tuple[np.ndarray, list[TokenStates]]:
        """Embeddings (as ``encode_*`` gives them) and token states, texts batched by length."""
        vectors = np.zeros((len(texts), self.dim), np.float32)
        states: list[TokenStates | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            vec, st = self._forward([texts[i] for i in idx], prefix)
            for j, i in enumerate(idx):
                vectors[i], states[i] = vec[j], st[j]
        return vectors, states

    def _forward(self, texts: list[str], prefix: str) -> tuple[np.ndarray, list[TokenStates]]:
        torch = self._torch
        enc = self._tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                              max_length=self._model.max_seq_length, return_offsets_mapping=True,
                              return_tensors="pt")
        offsets = enc.pop("offset_mapping").numpy().astype(np.int32)
        with torch.inference_mode():
            out = self._auto(**enc, output_hidden_states=True)
        mask = enc["attention_mask"].unsqueeze(-1).float()
        last = out.hidden_states[-1]
        pooled = (last * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        stacked = torch.cat([out.hidden_states[layer] for layer in self.layers], dim=-1)
        stacked = stacked.to(torch.float16).numpy()
        ids = enc["input_ids"].numpy().astype(np.int32)
        lengths = enc["attention_mask"].sum(1).numpy()
        result = []
        for j, n in enumerate(lengths):
            off = offsets[j, :n] - len(prefix)
            bad = (off[:, 1] <= 0) | (offsets[j, :n, 1] == offsets[j, :n, 0])
            off[bad] = -1
            off[:, 0] = np.maximum(off[:, 0], np.where(bad, -1, 0))
            result.append(TokenStates(np.ascontiguousarray(stacked[j, :n]), ids[j, :n].copy(), off))
        return pooled.astype(np.float32), result
