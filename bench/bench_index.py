"""Index benchmark: build speed, size on disk, no-change build time, dense search at scale.

    python bench/bench_index.py [--cmrc ../shared/eval/cmrc2018_trial.json] [--json]

Not a test: numbers depend on the machine (the README quotes a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.evaluate import squad_stories, write_stories_file  # noqa: E402
from qa.index import build_index  # noqa: E402
from qa.settings import DEFAULT_MODEL  # noqa: E402


class Timed:
    """The embedder, timing only the embedding calls."""

    def __init__(self, embedder):
        self.embedder, self.seconds = embedder, 0.0
        self.source, self.dim = embedder.source, embedder.dim
        self.state_dim, self.layers = embedder.state_dim, embedder.layers

    def passages_with_states(self, texts):
        t = time.perf_counter()
        out = self.embedder.passages_with_states(texts)
        self.seconds += time.perf_counter() - t
        return out


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_build(name: str, corpus: Path, embedder, workdir: Path) -> dict:
    index = workdir / f"index-{name}"
    timed = Timed(embedder)
    report = build_index(corpus, index, embedder.model_id, lambda: timed, progress=False)
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(index)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    no_change = time.perf_counter() - t
    return {
        "corpus": name, "files": report.files, "stories": report.stories, "chunks": report.chunks,
        "build_seconds": round(report.seconds, 1), "embed_seconds": round(timed.seconds, 1),
        "chunks_per_second_embedding": round(report.chunks / timed.seconds, 1),
        "chunks_per_second_build": round(report.chunks / report.seconds, 1),
        "index_mb": round(folder_size(index) / 2**20, 2),
        "no_change_build_seconds": round(no_change, 2), "no_change_output": out,
    }


def bench_dense(sizes=(10_000, 50_000, 200_000), dim=384, queries=200) -> list[dict]:
    """Milliseconds a query for exact (flat) and HNSW search over random unit vectors."""
    from qa.dense import DenseIndex

    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        vectors = rng.standard_normal((n, dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        q = vectors[rng.choice(n, queries)] + 0.05 * rng.standard_normal((queries, dim), dtype=np.float32)
        row = {"vectors": n}
        for kind, threshold in (("flat", n + 1), ("hnsw", 0)):
            t = time.perf_counter()
            index = DenseIndex.build(vectors, hnsw_above=threshold)
            row[f"{kind}_build_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            found = [index.search(v, 10)[1] for v in q]
            row[f"{kind}_ms_per_query"] = round((time.perf_counter() - t) * 1000 / queries, 2)
            if kind == "flat":
                exact = found
            else:
                row["hnsw_recall@10"] = round(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, exact)]), 3)
        rows.append(row)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cmrc", type=Path, default=ROOT.parent / "shared" / "eval" / "cmrc2018_trial.json")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-dense", action="store_true", help="skip the synthetic dense-search benchmark")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from qa.embedder import Embedder

    t = time.perf_counter()
    embedder = Embedder(DEFAULT_MODEL)
    results = {"model_load_seconds": round(time.perf_counter() - t, 1), "model_source": embedder.source,
               "builds": []}
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        work = Path(tmp)
        results["builds"].append(bench_build("seed pages", ROOT / "corpus", embedder, work))
        if args.cmrc.is_file():
            stories, _ = squad_stories(json.loads(args.cmrc.read_text(encoding="utf-8")))
            corpus = work / "cmrc-corpus"
            write_stories_file(stories, corpus)
            results["builds"].append(bench_build("CMRC 2018 trial passages", corpus, embedder, work))
    if not args.no_dense:
        results["dense_search"] = bench_dense()
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
        return 0
    print(f"model load {results['model_load_seconds']} s ({results['model_source']})")
    for b in results["builds"]:
        print(f"{b['corpus']}: {b['files']} files, {b['stories']} stories, {b['chunks']} chunks; "
              f"build {b['build_seconds']} s, embedding {b['chunks_per_second_embedding']} chunks/s; "
              f"index {b['index_mb']} MB; no-change build {b['no_change_build_seconds']} s")
    for row in results.get("dense_search", []):
        print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
