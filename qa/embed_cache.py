"""Embeddings and token states by content hash, checkpointed in batches while a build runs.

A build writes each embedded batch here before going on, so a build that is killed halfway
continues where it stopped instead of starting over; identical passages (the same page
dropped in twice) are embedded once. The cache lives beside the index, per model, and is
emptied when a build commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from .embedder import TokenStates

log = logging.getLogger("qa.index")


def content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbedCache:
    def __init__(self, index_folder: Path, model_id: str):
        self.folder = Path(index_folder) / "embed-cache" / content_key(model_id)[:16]
        self._mem: dict[str, tuple[np.ndarray, TokenStates]] = {}
        self.source = ""
        for path in sorted(self.folder.glob("batch-*.npz")) if self.folder.is_dir() else []:
            try:
                self._load(path)
            except Exception as e:  # a batch cut short by a kill: embed it again
                log.warning("ignoring a damaged embedding checkpoint %s (%s)", path.name, e)
        meta = self.folder / "meta.json"
        if meta.is_file():
            self.source = json.loads(meta.read_text(encoding="utf-8")).get("source", "")
        if self._mem:
            log.info("resuming: %d embedded chunks found in %s", len(self._mem), self.folder)

    def __contains__(self, key: str) -> bool:
        return key in self._mem

    def __len__(self) -> int:
        return len(self._mem)

    def get(self, key: str) -> tuple[np.ndarray, TokenStates]:
        return self._mem[key]

    def _load(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as z:
            keys = [str(k) for k in z["keys"]]
            vectors, states, ids, offsets, bounds = z["vectors"], z["states"], z["ids"], z["offsets"], z["bounds"]
        for i, key in enumerate(keys):
            s, e = int(bounds[i]), int(bounds[i + 1])
            self._mem[key] = (vectors[i], TokenStates(states[s:e], ids[s:e], offsets[s:e]))

    def put(self, keys: list[str], vectors: np.ndarray, states: list[TokenStates], source: str) -> None:
        """Record one embedded batch, durably, before the build goes on."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if source and source != self.source:
            self.source = source
            (self.folder / "meta.json").write_text(json.dumps({"source": source}), encoding="utf-8")
        bounds = np.cumsum([0] + [len(s) for s in states])
        name = f"batch-{content_key(''.join(keys))[:20]}"
        tmp = self.folder / f"{name}.tmp.npz"
        np.savez(tmp, keys=np.asarray(keys), vectors=vectors,
                 states=np.concatenate([s.states for s in states]).astype(np.float16),
                 ids=np.concatenate([s.ids for s in states]), offsets=np.concatenate([s.offsets for s in states]),
                 bounds=bounds)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        tmp.replace(self.folder / f"{name}.npz")
        for i, key in enumerate(keys):
            self._mem[key] = (vectors[i], states[i])

    def adopt(self, entries: dict[str, tuple[np.ndarray, TokenStates]]) -> None:
        """Take embeddings salvaged from a damaged index (kept in memory only)."""
        for key, value in entries.items():
            self._mem.setdefault(key, value)

    def clear(self) -> None:
        shutil.rmtree(self.folder.parent, ignore_errors=True)
