"""What a damaged index still holds: the embeddings and token states of its intact chunks.

Embedding is the only slow part of a build; everything else (reading, chunking, BM25, the
FAISS graph) is rebuilt from the corpus in seconds. So when an index is damaged, the build
first collects from the broken generation every chunk whose embedding and token rows still
check out, by content key, and then embeds only the chunks that were lost.

Every piece is kept twice, so one damaged file loses nothing that can't be checked:
- content keys and token-row bounds: ``rows.npz``, and again from ``stories.jsonl`` +
  ``chunks.jsonl`` (the chunk texts and their token counts);
- embeddings: ``vectors.npy``, and again inside ``dense.faiss``;
- the checks themselves (a CRC-32 per chunk in ``rows.npz``), and the manifest's SHA-256 per
  file when ``rows.npz`` is the damaged one.
Token rows (``states.i8``, ``scales.f16``, ``tokens.i32``) are kept once: a chunk whose rows
were cut off or overwritten is embedded again, the others are reused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from .chunks import Chunk
from .embed_cache import content_key
from .embedder import TokenStates
from .story import Story
from .token_store import dequantize, row_check, row_files, vector_check

log = logging.getLogger("qa.index")

Salvaged = dict[str, tuple[np.ndarray, TokenStates]]


def salvage(gen: Path | None, model_id: str, manifest: dict | None = None, part_ok=None) -> Salvaged:
    """Content key -> (embedding, token states) of every chunk of ``gen`` that checks out.

    ``manifest`` is the generation's manifest when it could be read; ``part_ok(name)`` says
    whether a file matches the manifest's hash (None: unknown, the manifest itself is lost).
    Nothing is taken from an index of another model.
    """
    if gen is None or not gen.is_dir():
        return {}
    part_ok = part_ok or (lambda name: None)
    rows = _try(lambda: dict(np.load(gen / "rows.npz", allow_pickle=False)), "rows.npz")
    if rows is not None and part_ok("rows.npz") is False:
        rows = None  # its checks can't be trusted
    model = str(rows["model"]) if rows is not None else (manifest or {}).get("model", {}).get("id")
    if model != model_id:
        return {}
    if rows is not None:
        keys, bounds, dim = [k.decode("ascii") for k in rows["keys"]], rows["bounds"], int(rows["dim"])
    else:
        texts = _try(lambda: _chunk_texts(gen), "stories.jsonl/chunks.jsonl")
        if texts is None:
            return {}
        keys = [content_key(t) for t, _ in texts]
        bounds = np.concatenate([[0], np.cumsum([n for _, n in texts])]).astype(np.int64)
        dim = int(manifest["model"].get("state_dim") or 0)
    if not keys or not dim:
        return {}
    vectors = _vectors(gen, len(keys), rows, part_ok)
    q, scales, tok = row_files(gen, int(bounds[-1]), dim, strict=False)  # a missing file maps no rows
    rows_ok = all(part_ok(n) for n in ("states.i8", "scales.f16", "tokens.i32"))
    out: Salvaged = {}
    for i, key in enumerate(keys):
        s, e = int(bounds[i]), int(bounds[i + 1])
        if vectors[i] is None or e > min(len(q), len(scales), len(tok)):
            continue
        qi, si, ti = np.asarray(q[s:e]), np.asarray(scales[s:e]), np.asarray(tok[s:e])
        good = row_check(qi, si, ti) == int(rows["token_checks"][i]) if rows is not None else rows_ok
        if good:
            out[key] = (vectors[i], TokenStates(dequantize(qi, si), ti[:, 0].copy(), ti[:, 1:3].copy()))
    log.info("salvaged %d of %d embedded chunks from %s", len(out), len(keys), gen.name)
    return out


def _vectors(gen: Path, n: int, rows: dict | None, part_ok) -> list[np.ndarray | None]:
    """Each chunk's embedding from vectors.npy or, failing its check, from dense.faiss."""
    sources = []
    stored = _try(lambda: np.load(gen / "vectors.npy", allow_pickle=False), "vectors.npy")
    if stored is not None and stored.ndim == 2 and len(stored) == n:
        sources.append(("vectors.npy", stored))
    faiss_rows = _try(lambda: _faiss_vectors(gen / "dense.faiss"), "dense.faiss")
    if faiss_rows is not None and len(faiss_rows) == n:
        sources.append(("dense.faiss", faiss_rows))
    out: list[np.ndarray | None] = [None] * n
    for i in range(n):
        for name, matrix in sources:
            ok = vector_check(matrix[i]) == int(rows["vector_checks"][i]) if rows is not None else part_ok(name)
            if ok:
                out[i] = np.asarray(matrix[i], np.float32)
                break
    return out


def _faiss_vectors(path: Path) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(path))
    return index.reconstruct_n(0, index.ntotal)


def _chunk_texts(gen: Path) -> list[tuple[str, int]]:
    """(embed text, token count) of every chunk, from the stories and chunks files."""
    with open(gen / "stories.jsonl", encoding="utf-8") as f:
        stories = {s.id: s for s in (Story.from_dict(json.loads(line)) for line in f if line.strip())}
    with open(gen / "chunks.jsonl", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(Chunk.of(stories[story_id], start, end).embed_text, int(tokens))
            for story_id, start, end, tokens in rows]


def _try(read, what: str):
    try:
        return read()
    except Exception as e:  # damaged: this copy is lost, another may do
        log.info("salvage: %s unreadable (%s)", what, e)
        return None
