"""The encoder's token states of every chunk, kept with the index for the reader.

The build's forward pass that embeds a chunk also yields its token states (three layers,
1,152 numbers a token); keeping them lets the reader answer without running the encoder on
passages at question time. Stored as int8 with one float16 scale per token and layer
(``states.i8`` + ``scales.f16``, memory-mapped), half the size of float16, which measured no
loss of reader F1 (see the README); token ids, character offsets into the chunk text and
each chunk's first row are in ``tokens.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .embedder import TokenStates

BLOCK = 384  # one scale per layer block of a token's states


def quantize(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(states, np.float32)
    n, d = x.shape
    blocks = x.reshape(n, d // BLOCK, BLOCK)
    scale = np.abs(blocks).max(axis=2) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(blocks / scale[:, :, None]), -127, 127).astype(np.int8)
    return q.reshape(n, d), scale.astype(np.float16)


def dequantize(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    n, d = q.shape
    return (q.reshape(n, d // BLOCK, BLOCK).astype(np.float32) * scale.astype(np.float32)[:, :, None]).reshape(n, d)


class TokenStore:
    """Read side: ``chunk(i)`` gives chunk i's states (float32), ids and offsets."""

    def __init__(self, q: np.ndarray, scales: np.ndarray, ids: np.ndarray, offsets: np.ndarray, bounds: np.ndarray):
        self.q, self.scales, self.ids, self.offsets, self.bounds = q, scales, ids, offsets, bounds

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @property
    def dim(self) -> int:
        return self.q.shape[1] if self.q.ndim == 2 else 0

    def chunk(self, i: int) -> TokenStates:
        s, e = int(self.bounds[i]), int(self.bounds[i + 1])
        return TokenStates(dequantize(np.asarray(self.q[s:e]), np.asarray(self.scales[s:e])),
                           self.ids[s:e], self.offsets[s:e])

    @classmethod
    def load(cls, folder: Path) -> TokenStore:
        meta = np.load(folder / "tokens.npz")
        n, dim = int(meta["bounds"][-1]), int(meta["dim"])
        if n == 0:
            return cls(np.zeros((0, dim), np.int8), np.zeros((0, max(1, dim // BLOCK)), np.float16),
                       meta["ids"], meta["offsets"], meta["bounds"])
        q = np.memmap(folder / "states.i8", dtype=np.int8, mode="r", shape=(n, dim))
        scales = np.memmap(folder / "scales.f16", dtype=np.float16, mode="r", shape=(n, dim // BLOCK))
        return cls(q, scales, meta["ids"], meta["offsets"], meta["bounds"])


def write_store(folder: Path, chunks: list[TokenStates], dim: int) -> None:
    """Write every chunk's states (float16/32 or already-quantized rows from an old store)."""
    bounds = [0]
    with open(folder / "states.i8", "wb") as fq, open(folder / "scales.f16", "wb") as fs:
        for st in chunks:
            q, scale = quantize(st.states) if len(st) else (np.zeros((0, dim), np.int8),
                                                             np.zeros((0, dim // BLOCK), np.float16))
            fq.write(q.tobytes())
            fs.write(scale.tobytes())
            bounds.append(bounds[-1] + len(st))
    ids = np.concatenate([c.ids for c in chunks]) if chunks else np.zeros(0, np.int32)
    offsets = np.concatenate([c.offsets for c in chunks]) if chunks else np.zeros((0, 2), np.int32)
    np.savez(folder / "tokens.npz", ids=ids.astype(np.int32), offsets=offsets.astype(np.int32),
             bounds=np.asarray(bounds, np.int64), dim=np.int64(dim))
