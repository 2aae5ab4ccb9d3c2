"""Token states of a reading set, computed once and cached on disk.

A set's folder holds, for passages and for questions alike, one float16 matrix of token
states (``*.f16``, memory-mapped), the token ids and character offsets, the sentence
embeddings, and where each text's tokens start. A second run finds the folder complete
(``done`` marker, keyed by the set's fingerprint and the model) and reads it instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import ReadingSet

log = logging.getLogger("qa.reader")

GROUP = 512  # texts encoded between two writes


@dataclass
class StateTable:
    """Token states of many texts: text i owns rows ``bounds[i]:bounds[i+1]``."""

    states: np.ndarray    # (tokens, dim) float16, memory-mapped
    ids: np.ndarray       # (tokens,) int32
    offsets: np.ndarray   # (tokens, 2) int32, into the text (-1: not a text position)
    bounds: np.ndarray    # (texts + 1,) int64
    vectors: np.ndarray   # (texts, embedding dim) float32

    def rows(self, i: int) -> slice:
        return slice(int(self.bounds[i]), int(self.bounds[i + 1]))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @classmethod
    def load(cls, folder: Path, name: str, dim: int) -> StateTable:
        meta = np.load(folder / f"{name}.npz")
        n = int(meta["bounds"][-1])
        states = np.memmap(folder / f"{name}.f16", dtype=np.float16, mode="r", shape=(n, dim))
        return cls(states, meta["ids"], meta["offsets"], meta["bounds"], meta["vectors"])


def encode_table(embedder, texts: list[str], folder: Path, name: str, kind: str,
                 shift: list[int] | None = None) -> StateTable:
    """Encode ``texts`` (kind "passage" or "query") into ``folder/name.*``.

    ``shift[i]`` is subtracted from text i's offsets (the title before a chunk's text), and
    tokens that then fall before the text get -1.
    """
    encode = embedder.passages_with_states if kind == "passage" else embedder.queries_with_states
    ids, offsets, bounds, vectors = [], [], [0], []
    t0 = time.perf_counter()
    with open(folder / f"{name}.f16", "wb") as out:
        for g in range(0, len(texts), GROUP):
            vec, states = encode(texts[g:g + GROUP])
            vectors.append(vec)
            for j, st in enumerate(states):
                if shift is not None:
                    st = st.shifted(shift[g + j])
                out.write(np.ascontiguousarray(st.states, dtype=np.float16).tobytes())
                ids.append(st.ids)
                offsets.append(st.offsets)
                bounds.append(bounds[-1] + len(st))
            done = min(g + GROUP, len(texts))
            rate = done / (time.perf_counter() - t0)
            log.info("%s: %d/%d texts encoded (%.1f/s)", name, done, len(texts), rate)
    np.savez(folder / f"{name}.npz", ids=np.concatenate(ids) if ids else np.zeros(0, np.int32),
             offsets=np.concatenate(offsets) if offsets else np.zeros((0, 2), np.int32),
             bounds=np.asarray(bounds, np.int64),
             vectors=np.vstack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32))
    return StateTable.load(folder, name, embedder.state_dim)


@dataclass
class SetFeatures:
    data: ReadingSet
    passages: StateTable
    questions: StateTable
    folder: Path          # where they are cached (one set, one model)


def cached_features(rs: ReadingSet, embedder_factory, cache: Path, model_id: str | None = None) -> SetFeatures:
    """The set's token states from ``cache``, encoding them first when missing; ``model_id``
    (other than the default model's) keeps another model's or encoder's states apart."""
    from ..settings import DEFAULT_MODEL

    variant = "" if model_id in (None, DEFAULT_MODEL) else "-" + hashlib.sha256(model_id.encode()).hexdigest()[:8]
    folder = Path(cache) / f"{rs.name}-{rs.fingerprint()}{variant}"
    marker = folder / "done.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        return SetFeatures(rs, StateTable.load(folder, "passages", info["dim"]),
                           StateTable.load(folder, "questions", info["dim"]), folder)
    folder.mkdir(parents=True, exist_ok=True)
    embedder = embedder_factory()
    log.info("encoding %s: %d passages, %d questions into %s", rs.name, len(rs.passages),
             len(rs.questions), folder)
    passages = encode_table(embedder, [p.embed_text for p in rs.passages], folder, "passages", "passage",
                            shift=[p.text_offset for p in rs.passages])
    questions = encode_table(embedder, [q.question for q in rs.questions], folder, "questions", "query")
    marker.write_text(json.dumps({"dim": embedder.state_dim, "model": embedder.model_id,
                                  "layers": list(embedder.layers)}))
    return SetFeatures(rs, passages, questions, folder)


def cached_queries(f: SetFeatures, texts: list[str], name: str, embedder_factory) -> StateTable:
    """Token states of more question texts of a set (``keywords.keyword_form``), cached in the
    set's own folder (so with the same model) as ``name``, and encoded again when the texts change."""
    marker = f.folder / f"{name}.json"
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    if marker.is_file() and json.loads(marker.read_text())["texts"] == key:
        return StateTable.load(f.folder, name, f.questions.states.shape[1])
    table = encode_table(embedder_factory(), texts, f.folder, name, "query")
    marker.write_text(json.dumps({"texts": key}))
    return table
