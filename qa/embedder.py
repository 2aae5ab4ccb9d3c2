"""Sentence embeddings and token states for questions and passages (on the CPU).

One forward pass of the encoder gives both: the mean-pooled, normalized last layer is the
sentence embedding the dense index searches, and the hidden states of a few layers
(:data:`READER_LAYERS`) are what the reader reads. So the build that embeds a chunk also
leaves its token states for the reader, and the question's embedding pass leaves the question's.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model_store import model_key, resolve_model

log = logging.getLogger("qa.model")

READER_LAYERS = (6, 9, 12)  # hidden_states indices (0 = embeddings) concatenated for the reader
MAX_TOKENS = 512
# Texts per forward pass, by measurement on 2 cores (texts are sorted by length first). int8
# goes one text at a time: its activations are quantized with one scale per batch, so a text's
# vector would depend on the texts batched with it; alone, it is as fast (66 against 66 texts/s).
BATCH = {"torch": 8, "onnx": 4, "onnx-int8": 1}


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
    """Normalized embeddings; e5 models get their ``query: `` and ``passage: `` prefixes.

    ``encoder`` says how the encoder runs (see :mod:`qa.onnx_encoder`): ``torch``, ``onnx``
    (the same numbers, fused) or ``onnx-int8`` (quantized: about twice as fast, slightly
    different vectors, so it is part of :attr:`model_id` and an index built one way is
    rebuilt, not mixed, when the other is asked for).
    """

    def __init__(self, model: str | None = None, batch_size: int | None = None, encoder: str | None = None,
                 threads: int | None = None):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import transformers

        from .settings import DEFAULT_ENCODER, ENCODERS

        encoder = encoder or DEFAULT_ENCODER
        if encoder not in ENCODERS:
            raise ValueError(f"encoder {encoder!r}: use one of {', '.join(ENCODERS)}")
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.encoder = encoder
        self.model_id = model_id(model, encoder)
        self.path, self.source = resolve_model(model_key(model))
        log.info("embedding model %s (%s): %s", model_key(model), encoder, self.source)
        config = model_config(self.path)
        self._tokenizer = load_tokenizer(self.path)
        self.max_tokens = min(MAX_TOKENS, self._tokenizer.model_max_length or MAX_TOKENS,
                              getattr(config, "max_position_embeddings", MAX_TOKENS + 2) - 2)
        self.batch_size = batch_size or BATCH[encoder]
        self._e5 = "e5" in self.model_id.lower() or "e5" in self.path.lower()
        self.dim, self.layers, self.state_dim = model_shape(config)
        self.threads = threads or max(1, os.cpu_count() or 1)
        self._torch_model = None
        self._onnx = None
        if encoder == "torch":
            self._load_torch()
        else:
            from .onnx_encoder import OnnxEncoder, onnx_file

            self._onnx = OnnxEncoder(onnx_file(self.path, self.layers, encoder), self.threads)

    @property
    def tokenizer(self):
        """The model's tokenizer (the cross reader tokenizes question and passage with it)."""
        return self._tokenizer

    def _load_torch(self):
        if self._torch_model is None:
            import torch
            from transformers import AutoModel

            torch.set_num_threads(self.threads)
            self._torch_model = AutoModel.from_pretrained(self.path).eval()
        return self._torch_model

    @property
    def encoder_layers(self):
        """The transformer's layers (the reader's joint stage copies the top ones)."""
        return self._load_torch().encoder.layer

    def _prefix(self, kind: str) -> str:
        return (kind + ": ") if self._e5 else ""

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        return self._with_states(texts, prefix)[0]

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
        """Embeddings (as ``encode_*`` gives them) and token states, texts batched by length.

        Tokenizing happens here, in this thread; the forward passes of several batches run in
        parallel when the encoder offers it (ONNX: one single-threaded session per core, which
        measured 83 texts/s against 70 for one two-threaded session)."""
        vectors = np.zeros((len(texts), self.dim), np.float32)
        states: list[TokenStates | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[b:b + self.batch_size] for b in range(0, len(order), self.batch_size)]
        encoded = [self._tokenize([texts[i] for i in idx], prefix) for idx in batches]
        if self._onnx is not None and len(batches) > 1:
            outputs = self._onnx.run_many([(enc["input_ids"], enc["attention_mask"]) for enc, _ in encoded])
        else:
            outputs = [self._run(enc) for enc, _ in encoded]
        for idx, (enc, offsets), (last, stacked) in zip(batches, encoded, outputs, strict=True):
            vec, st = self._finish(enc, offsets, prefix, last, stacked)
            for j, i in enumerate(idx):
                vectors[i], states[i] = vec[j], st[j]
        return vectors, states

    def _tokenize(self, texts: list[str], prefix: str):
        enc = self._tokenizer([prefix + t for t in texts], padding=True, truncation=True,
                              max_length=self.max_tokens, return_offsets_mapping=True, return_tensors="np")
        return enc, enc.pop("offset_mapping").astype(np.int32)

    def _finish(self, enc, offsets: np.ndarray, prefix: str, last: np.ndarray,
                stacked: np.ndarray) -> tuple[np.ndarray, list[TokenStates]]:
        """Mean-pooled normalized embeddings (as e5 is trained) and each text's token states."""
        mask = enc["attention_mask"]
        m = mask[:, :, None].astype(np.float32)
        pooled = (last * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        stacked = stacked.astype(np.float16)
        ids = enc["input_ids"].astype(np.int32)
        result = []
        for j, n in enumerate(mask.sum(1)):
            off = offsets[j, :n] - len(prefix)
            bad = (off[:, 1] <= 0) | (offsets[j, :n, 1] == offsets[j, :n, 0])
            off[bad] = -1
            off[:, 0] = np.maximum(off[:, 0], np.where(bad, -1, 0))
            result.append(TokenStates(np.ascontiguousarray(stacked[j, :n]), ids[j, :n].copy(), off))
        return pooled.astype(np.float32), result

    def _run(self, enc) -> tuple[np.ndarray, np.ndarray]:
        """(last layer, reader layers concatenated) of a tokenized batch, float32."""
        if self._onnx is not None:
            return self._onnx.run(enc["input_ids"], enc["attention_mask"])
        import torch

        inputs = {k: torch.from_numpy(np.asarray(v, dtype=np.int64)) for k, v in enc.items()}
        with torch.inference_mode():
            hidden = self._load_torch()(**inputs, output_hidden_states=True).hidden_states
        return hidden[-1].numpy(), torch.cat([hidden[i] for i in self.layers], dim=-1).numpy()


def model_config(path: str):
    """The model's shape (hidden size, layers, positions): its ``config.json`` read directly when
    it is a folder (AutoConfig imports half of transformers' model classes: 0.9 s)."""
    from types import SimpleNamespace

    file = Path(path) / "config.json"
    if file.is_file():
        return SimpleNamespace(**json.loads(file.read_text(encoding="utf-8")))
    import transformers

    return transformers.AutoConfig.from_pretrained(path)


def model_shape(config) -> tuple[int, tuple[int, ...], int]:
    """(embedding size, the layers the reader reads, token-state size) of a model's config."""
    layers = tuple(min(layer, config.num_hidden_layers) for layer in READER_LAYERS)
    return config.hidden_size, layers, len(layers) * config.hidden_size


def load_tokenizer(path: str):
    """The model's tokenizer, from a pickled copy kept in the model cache after the first load
    (``AutoTokenizer`` takes 2-3 s for XLM-R's 250k-piece vocabulary, the copy 0.8 s)."""
    import hashlib
    import pickle

    import transformers

    from .settings import model_cache

    folder = Path(path)
    if not folder.is_dir():  # a hub name: loaded as usual
        return transformers.AutoTokenizer.from_pretrained(path)
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob("*token*"))
    stamp = json.dumps([str(folder.resolve()), files, transformers.__version__])
    cached = model_cache() / f"tokenizer-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.pickle"
    try:
        with open(cached, "rb") as f:
            return pickle.load(f)  # our own cache folder, written below
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(tokenizer))
        os.replace(tmp, cached)
    except OSError as e:
        log.debug("tokenizer not cached: %s", e)
    return tokenizer


def model_id(model: str | None, encoder: str) -> str:
    """The identity an index is built under: the model, and ``@int8`` when it runs quantized
    (torch and fp32 ONNX give the same vectors, so they share an index)."""
    from .onnx_encoder import quantized

    return model_key(model) + ("@int8" if quantized(encoder) else "")
