"""The encoder's token states of every chunk, kept with the index for the reader.

The build's forward pass that embeds a chunk also yields its token states (three layers,
1,152 numbers a token); keeping them lets the reader answer without running the encoder on
passages at question time. Stored as int8 with one float16 scale per token and layer
(``states.i8`` + ``scales.f16``, memory-mapped), half the size of float16, which measured no
loss of reader F1 (see the README); token ids and character offsets into the chunk text are
rows of ``tokens.i32`` (id, start, end). ``rows.npz`` says where each chunk's rows start and
holds a CRC-32 per chunk (of its token rows, and of its embedding), with each chunk's content
key and the model: after damage, every chunk whose rows still check out is reused and only the
rest is embedded again (see :mod:`qa.salvage`).
"""

from __future__ import annotations

import zlib
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
        meta = np.load(folder / "rows.npz")
        n, dim = int(meta["bounds"][-1]), int(meta["dim"])
        q, scales, tok = row_files(folder, n, dim, strict=True)
        return cls(q, scales, tok[:, 0], tok[:, 1:3], meta["bounds"])


def row_files(folder: Path, n: int, dim: int, strict: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three row files memory-mapped: states, scales, (id, start, end) per token. With
    ``strict`` a file of the wrong size is an error; without, a short file maps what it holds."""
    if n == 0 or dim == 0:  # an empty index
        return np.zeros((0, dim), np.int8), np.zeros((0, max(1, dim // BLOCK)), np.float16), np.zeros((0, 3), np.int32)
    out = []
    for name, dtype, width in (("states.i8", np.int8, dim), ("scales.f16", np.float16, max(1, dim // BLOCK)),
                               ("tokens.i32", np.int32, 3)):
        path = folder / name
        if not strict and not path.is_file():
            size = 0
        else:
            size = path.stat().st_size // (np.dtype(dtype).itemsize * width)
        if strict and size != n:
            raise ValueError(f"{name} holds {size} token rows, expected {n}")
        rows = min(n, size)
        out.append(np.memmap(path, dtype=dtype, mode="r", shape=(rows, width)) if rows
                   else np.zeros((0, width), dtype))
    return out[0], out[1], out[2]


def row_check(q: np.ndarray, scales: np.ndarray, tok: np.ndarray) -> int:
    """CRC-32 of one chunk's token rows."""
    return zlib.crc32(tok.tobytes(), zlib.crc32(scales.tobytes(), zlib.crc32(q.tobytes())))


def vector_check(vector: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(vector, np.float32).tobytes())


def write_store(folder: Path, chunks: list[TokenStates], dim: int, vectors: np.ndarray,
                keys: list[str], model_id: str) -> None:
    """Write every chunk's states (float16/32 or already-quantized rows from an old store) and
    the per-chunk rows, checks and content keys."""
    bounds, checks = [0], []
    with open(folder / "states.i8", "wb") as fq, open(folder / "scales.f16", "wb") as fs, \
            open(folder / "tokens.i32", "wb") as ft:
        for st in chunks:
            q, scale = quantize(st.states) if len(st) else (np.zeros((0, dim), np.int8),
                                                             np.zeros((0, dim // BLOCK), np.float16))
            tok = np.column_stack([st.ids, st.offsets]).astype(np.int32) if len(st) else np.zeros((0, 3), np.int32)
            fq.write(q.tobytes())
            fs.write(scale.tobytes())
            ft.write(tok.tobytes())
            checks.append(row_check(q, scale, tok))
            bounds.append(bounds[-1] + len(st))
    np.savez(folder / "rows.npz", bounds=np.asarray(bounds, np.int64), dim=np.int64(dim),
             keys=np.asarray([k.encode("ascii") for k in keys], dtype="S64"),
             token_checks=np.asarray(checks, np.uint32),
             vector_checks=np.asarray([vector_check(v) for v in vectors], np.uint32),
             model=np.asarray(model_id))
