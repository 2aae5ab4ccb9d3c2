"""Inner-product search over normalized embeddings with FAISS.

Exact (``IndexFlatIP``) up to :data:`HNSW_ABOVE` chunks, approximate (HNSW, M 32) above. Chosen
by measurement on two cores (``python bench/run.py``, scale part): one exact query takes 14 ms
over 100,000 vectors and grows linearly (about 29 ms at 200,000), while HNSW answers in 0.3 ms
with recall@10 0.999 against exact search on real embeddings (22k passage and question vectors,
efSearch 256; 0.996 at 100,000) but costs about 10 s per 100,000 vectors at every build, which
rebuilds the graph. Exact search stays under 30 ms, a fifth of the 150 ms question budget, until
200,000 chunks; above, HNSW.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HNSW_ABOVE = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 256


def _faiss():
    import faiss

    return faiss


class DenseIndex:
    def __init__(self, index):
        self._index = index

    @property
    def size(self) -> int:
        return self._index.ntotal

    @property
    def kind(self) -> str:
        return "hnsw" if "HNSW" in type(self._index).__name__ else "flat"

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_above: int = HNSW_ABOVE) -> DenseIndex:
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if len(vectors) > hnsw_above:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(vectors)
        return cls(index)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, chunk numbers) of the ``k`` nearest chunks, best first."""
        k = min(k, self.size)
        if k == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def save(self, path: Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(_faiss().read_index(str(path)))
