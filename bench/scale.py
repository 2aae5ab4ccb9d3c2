"""Scale: the whole answer path over 100,000 chunks, BM25 at 1,000,000, exact vs HNSW search.

    python bench/scale.py [--chunks 100000] [--bm25-million] [--json]

The corpus is made from real passages: the paragraphs of CMRC 2018 train and DRCD dev
(``../shared/train``, or ``--data``), cut by the product's chunker (about 9,700 chunks), with
their embeddings and token states from the encoder (cached with the reader's training
features, so a second run does not encode again). It is completed to ``--chunks`` with copies:
a copy keeps its chunk's text (BM25 then sees each term as many times more often as there are
copies) and shares its token-state rows (they are not written again), and its vector is the
original's plus Gaussian noise (sigma 0.01 a dimension, cosine to the original about 0.98),
normalized. So BM25, the dense search, fusion and ranking run over 100,000 distinct vectors and
chunks, and the reader reads real token states.

Measured: the index assembled in memory (BM25 build, FAISS build), question latency p50/p95 by
stage for 200 CMRC train questions whose paragraphs are in the corpus, the process's peak RSS;
exact search against HNSW (recall@10 of HNSW against exact, query time) on *real* embeddings
only (every passage and question vector, 500 questions held out as queries) and at full size;
BM25 query time and memory at 1,000,000 chunks (``--bm25-million``, a process of its own).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import latency_by_stage, p50_p95, rss_mb  # noqa: E402  (bench/measure.py)

from qa.evaluate import percentile  # noqa: E402
from qa.settings import train_data  # noqa: E402

NOISE = 0.01


def serving_rss() -> float:
    """Resident memory once the build's temporaries are freed and returned to the system: what a
    process holding the index, the models and the searchers keeps while it answers."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return rss_mb("VmRSS")


def real_sets(data: Path):
    """The real passages with their cached features (encoded once by the torch encoder)."""
    from qa.embedder import Embedder
    from qa.reader import sets
    from qa.reader.features import cached_features
    from qa.settings import model_cache

    cache = model_cache().parent / "reader-features"
    made = []

    def embedder():
        if not made:
            made.append(Embedder(encoder="torch"))
        return made[0]

    return [cached_features(rs, embedder, cache) for rs in (sets.cmrc_train(data), sets.drcd(data))]


class SharedRows:
    """The token store's read side over the cached features: copies read their original's rows."""

    def __init__(self, tables, origin: list[tuple[int, int]]):
        self.tables, self.origin = tables, origin

    def __len__(self) -> int:
        return len(self.origin)

    def chunk(self, i: int):
        from qa.embedder import TokenStates

        t, p = self.origin[i]
        table = self.tables[t]
        rows = table.rows(p)
        return TokenStates(np.asarray(table.states[rows], np.float32), table.ids[rows], table.offsets[rows])


def assemble(features, total: int, rng: np.random.Generator) -> tuple[object, dict]:
    """An index of ``total`` chunks: the real ones, then noisy copies."""
    from qa.chunks import Chunk
    from qa.dense import DenseIndex
    from qa.index import Index, lexicon
    from qa.lexical import BM25Index
    from qa.story import Story
    from qa.tokenize import Tokenizer

    stories, chunks, origin, vectors = [], [], [], []
    for t, f in enumerate(features):
        bodies: dict[int, str] = {}
        for p in f.data.passages:  # paragraph bodies from their chunks (chunks tile the paragraph)
            bodies[p.paragraph] = bodies.get(p.paragraph, "") + " " * (p.start - len(bodies.get(p.paragraph, ""))) \
                + p.text
        made = {}
        for para, body in bodies.items():
            title = f.data.passages[f.data.paragraph_chunks[para][0]].title
            made[para] = Story(id=f"{f.data.name}-{para}", title=title, body=body, source=f.data.name, lines=(1, 1))
        stories += made.values()
        for i, p in enumerate(f.data.passages):
            chunks.append(Chunk.of(made[p.paragraph], p.start, p.start + len(p.text)))
            origin.append((t, i))
        vectors.append(np.asarray(f.passages.vectors, np.float32))
    real = len(chunks)
    base = np.vstack(vectors)
    t0 = time.perf_counter()
    tokenizer = Tokenizer()
    tokenizer.add_words(lexicon(stories, tokenizer))
    real_tokens = [tokenizer(c.embed_text) for c in chunks]
    tokenize_s = time.perf_counter() - t0
    copies = max(0, total - real)
    pick = rng.integers(0, real, copies)
    by_id = {s.id: s for s in stories}
    for n, i in enumerate(pick.tolist()):
        c = chunks[i]
        story = by_id[c.story_id]
        copy_id = f"{story.id}~{n}"
        copy = Story(id=copy_id, title=story.title, body=story.body, source=story.source, lines=(1, 1))
        stories.append(copy)
        chunks.append(Chunk.of(copy, c.start, c.end))
        origin.append(origin[i])
    noisy = base[pick] + rng.normal(0, NOISE, (copies, base.shape[1])).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    matrix = np.vstack([base, noisy]).astype(np.float32)
    token_lists = real_tokens + [real_tokens[i] for i in pick.tolist()]
    t0 = time.perf_counter()
    bm25 = BM25Index.build(token_lists)
    bm25_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dense = DenseIndex.build(matrix)
    dense_s = time.perf_counter() - t0
    tables = [f.passages for f in features]
    index = Index(Path("."), {"model": {"id": "bench"}}, stories, chunks, matrix, dense, bm25, tokenizer,
                  SharedRows(tables, origin))
    info = {"chunks": len(chunks), "real_chunks": real, "stories": len(stories), "dense": dense.kind,
            "tokenize_real_s": round(tokenize_s, 1), "bm25_build_s": round(bm25_s, 1),
            "dense_build_s": round(dense_s, 1)}
    return index, info


def latency(index, features, n: int, rng: np.random.Generator) -> dict:
    from qa.answer import Answerer
    from qa.embedder import Embedder
    from qa.pipeline import load_reader
    from qa.settings import Settings

    t0 = time.perf_counter()
    embedder = Embedder()
    # the readers the product answers with (QA_CROSS_READER, default: the head, and the cross
    # reader where it declines or is unsure)
    answerer = Answerer(index, embedder, load_reader(Settings(), embedder, runtime="onnx"))
    load_s = time.perf_counter() - t0
    qs = [(q.question, f"{f.data.name}-{q.paragraph}") for f in features for q in f.data.questions]
    chosen = [qs[i] for i in rng.choice(len(qs), n, replace=False)]
    for q, _ in chosen[:10]:
        answerer.answer(q)
    answers = [answerer.answer(q) for q, _ in chosen]
    hit = sum(bool(r.retrieved) and r.retrieved[0].split("~")[0] == sid
              for r, (_, sid) in zip(answers, chosen, strict=True))
    return {"questions": n, "answerer_load_s": round(load_s, 1), "story_recall@1": round(hit / n, 3),
            "latency_ms": latency_by_stage(answers)}


def search_compare(db: np.ndarray, queries: np.ndarray, label: str) -> dict:
    """Exact inner product against HNSW (M 32, efConstruction 80) at a few efSearch values."""
    import faiss

    exact = faiss.IndexFlatIP(db.shape[1])
    exact.add(db)
    t = time.perf_counter()
    _, truth = exact.search(queries, 10)
    exact_ms = (time.perf_counter() - t) * 1000 / len(queries)
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(db.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(db)
    build_s = time.perf_counter() - t
    rows = {}
    for ef in (32, 64, 128, 256):
        hnsw.hnsw.efSearch = ef
        t = time.perf_counter()
        _, got = hnsw.search(queries, 10)
        ms = (time.perf_counter() - t) * 1000 / len(queries)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got, strict=True)])
        rows[f"ef{ef}"] = {"recall@10": round(float(recall), 4), "ms": round(ms, 2)}
    return {"vectors": label, "size": len(db), "exact_ms": round(exact_ms, 2), "hnsw_build_s": round(build_s, 1),
            "hnsw": rows}


def one_query_at_a_time(index_matrix: np.ndarray, queries: np.ndarray) -> float:
    """Exact search as the product runs it: one question at a time (ms, p50)."""
    import faiss

    exact = faiss.IndexFlatIP(index_matrix.shape[1])
    exact.add(index_matrix)
    times = []
    for q in queries[:100]:
        t = time.perf_counter()
        exact.search(q[None, :], 100)
        times.append((time.perf_counter() - t) * 1000)
    return round(percentile(times, 50), 2)


def bm25_million(data: Path, total: int) -> dict:
    """BM25 over ``total`` chunks (real token lists repeated), build time, query time and memory."""
    from qa.lexical import BM25Index
    from qa.tokenize import Tokenizer

    features = real_sets(data)
    tokenizer = Tokenizer()
    lists = [tokenizer(p.embed_text) for f in features for p in f.data.passages]
    questions = [tokenizer(q.question) for f in features for q in f.data.questions[:300]]
    before = rss_mb("VmRSS")
    t = time.perf_counter()
    bm25 = BM25Index.build([lists[i % len(lists)] for i in range(total)])
    build_s = time.perf_counter() - t
    after = rss_mb("VmRSS")
    times = []
    for q in questions:
        t = time.perf_counter()
        s = bm25.scores(q)
        np.argpartition(-s, 100)[:100]
        times.append((time.perf_counter() - t) * 1000)
    return {"chunks": total, "build_s": round(build_s, 1), "query_ms": p50_p95(times),
            "rss_added_mb": round(after - before, 1), "peak_rss_mb": rss_mb()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--bm25-only", type=int, help="only BM25 at this many chunks (run in its own process)")
    ap.add_argument("--skip-million", action="store_true", help="leave out BM25 at 1,000,000 chunks")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.bm25_only:
        print(json.dumps(bm25_million(args.data, args.bm25_only)))
        return 0
    rng = np.random.default_rng(20261124)
    features = real_sets(args.data)
    index, info = assemble(features, args.chunks, rng)
    res = {"corpus": info, "latency": latency(index, features, args.questions, rng)}
    res["peak_rss_mb"] = rss_mb()  # this process's peak, building the 100,000-chunk index included
    res["rss_serving_mb"] = serving_rss()
    real_db = np.vstack([f.passages.vectors for f in features] + [f.questions.vectors for f in features])
    real_db = np.ascontiguousarray(real_db, np.float32)
    held = rng.choice(len(real_db), 500, replace=False)
    keep = np.setdiff1d(np.arange(len(real_db)), held)
    res["search_real"] = search_compare(real_db[keep], real_db[held], "real passage and question embeddings")
    queries = np.ascontiguousarray(np.vstack([f.questions.vectors[:250] for f in features]), np.float32)
    res["search_full"] = search_compare(index.vectors, queries, f"{len(index.vectors)} vectors (real + noisy copies)")
    res["search_full"]["exact_one_query_p50_ms"] = one_query_at_a_time(index.vectors, queries)
    del index
    for n in (args.chunks,) if args.skip_million else (args.chunks, 1_000_000):
        out = subprocess.run([sys.executable, __file__, "--data", str(args.data), "--bm25-only", str(n)],
                             capture_output=True, text=True)
        res[f"bm25_{n}"] = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-1500:]}
    print(json.dumps(res, indent=None if args.json else 1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
