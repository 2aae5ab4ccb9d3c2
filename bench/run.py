"""The benchmark suite, one command: encoders, builds, question latency by stage, cold start,
peak memory, and the 100,000-chunk scale run.

    python bench/run.py [--skip-scale] [--json bench/results.json]

Sections:
- encoders: the same 400 CMRC trial chunks embedded by plain sentence-transformers (torch fp32,
  batch 32: the baseline), and by the product's encoder run three ways (torch, onnx, onnx-int8),
  with each one's lowest cosine to the baseline's vectors;
- full builds of the CMRC trial passages, one per encoder;
- corpora (seed pages, CMRC 2018 trial passages), with the default encoder: full build,
  incremental build after one file changed, no-change ``qa build`` (a fresh process), index size,
  question latency p50/p95 by stage, app cold start with the prebuilt index (process start to
  the first answer served over HTTP) and that process's peak RSS;
- scale: ``bench/scale.py`` in a process of its own (100,000 and 1,000,000 chunks; see there).

Not a test: the numbers depend on the machine (the README quotes a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import latency_by_stage, rss_mb  # noqa: E402  (bench/measure.py)

from qa.evaluate import squad_stories, write_stories_file  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import ENCODERS, Settings  # noqa: E402

TRIAL = ROOT / "tests" / "data" / "cmrc2018_trial.json"


def folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


# ---------------------------------------------------------------- encoders


def encoders(texts: list[str]) -> list[dict]:
    from sentence_transformers import SentenceTransformer

    from qa.embedder import Embedder
    from qa.model_store import resolve_model

    st = SentenceTransformer(resolve_model(None)[0], device="cpu")
    prefixed = ["passage: " + t for t in texts]
    st.encode(prefixed[:8], batch_size=32)
    t = time.perf_counter()
    ref = st.encode(prefixed, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    base = len(texts) / (time.perf_counter() - t)
    rows = [{"encoder": "sentence-transformers (baseline)", "batch": 32, "chunks_per_s": round(base, 1),
             "speedup": 1.0, "min_cosine": 1.0}]
    del st
    for name in ENCODERS:
        e = Embedder(encoder=name)
        e.passages_with_states(texts[:8])
        t = time.perf_counter()
        vectors, _ = e.passages_with_states(texts)
        rate = len(texts) / (time.perf_counter() - t)
        rows.append({"encoder": name, "batch": e.batch_size, "chunks_per_s": round(rate, 1),
                     "speedup": round(rate / base, 2),
                     "min_cosine": round(float(np.sum(vectors * ref, axis=1).min()), 4)})
        del e
    return rows


def encoder_builds(corpus: Path, work: Path) -> list[dict]:
    """Full builds of the same corpus, one per encoder, each into a fresh index."""
    rows = []
    for name in ENCODERS:
        pipe = Pipeline(Settings(corpus=corpus, index=work / f"index-build-{name}", encoder=name), progress=False)
        report = pipe.build()
        rows.append({"encoder": name, "chunks": report.chunks, "full_build_s": round(report.seconds, 1),
                     "chunks_per_s": round(report.chunks_per_second, 1)})
        del pipe
    return rows


# ---------------------------------------------------------------- one corpus


def corpus_run(name: str, corpus: Path, questions: list[str], work: Path, repeat: int) -> dict:
    index = work / f"index-{name}"
    settings = Settings(corpus=corpus, index=index)
    pipe = Pipeline(settings, progress=False)
    full = pipe.build()
    out = {"corpus": name, "stories": full.stories, "chunks": full.chunks,
           "full_build_s": round(full.seconds, 1), "build_chunks_per_s": round(full.chunks_per_second, 1)}
    changed = sorted(p for p in corpus.iterdir() if p.is_file())[0]
    original = changed.read_bytes()
    extra = "本报讯 这是基准测试追加的一段话，用来测增量建索引。"
    if changed.suffix == ".jsonl":
        extra = json.dumps({"id": "bench-extra", "title": "基准", "text": extra}, ensure_ascii=False)
    changed.write_text(original.decode("utf-8").rstrip("\n") + "\n\n" + extra + "\n", encoding="utf-8")
    t = time.perf_counter()
    inc = pipe.build()
    out["incremental_build_s"] = round(time.perf_counter() - t, 2)
    out["incremental_embedded"] = inc.embedded
    changed.write_bytes(original)
    pipe.build()
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "build", "--corpus", str(corpus), "--index", str(index)],
                   cwd=ROOT, capture_output=True, check=True)
    out["no_change_build_s"] = round(time.perf_counter() - t, 2)
    out["index_mb"] = folder_mb(index)
    pipe = Pipeline(settings, progress=False)
    for q in questions[:10]:  # warm-up
        pipe.answer(q)
    answers = [pipe.answer(q) for _ in range(repeat) for q in questions]
    out["questions"] = len(answers)
    out["latency_ms"] = latency_by_stage(answers)
    out.update(cold_start(corpus, index, questions[0]))
    return out


def cold_start(corpus: Path, index: Path, question: str) -> dict:
    """Start ``app.py`` on a prebuilt index; seconds until the first answer comes back over HTTP."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--corpus", str(corpus), "--index", str(index),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api/ask?q=" + urllib.parse.quote(question)
    try:
        while True:
            if proc.poll() is not None:
                return {"cold_start_s": None, "app_peak_rss_mb": None}
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        seconds = time.perf_counter() - t
        rss = rss_mb(pid=proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"cold_start_s": round(seconds, 1), "app_peak_rss_mb": rss}


def questions_of(path: Path) -> list[str]:
    return [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- output


def print_tables(res: dict) -> None:
    if "encoders" in res:
        print("\nencoders (400 CMRC trial chunks)")
        print(f"{'encoder':34s} {'batch':>5s} {'chunks/s':>9s} {'speedup':>8s} {'min cos':>8s}")
        for r in res["encoders"]:
            print(f"{r['encoder']:34s} {r['batch']:5d} {r['chunks_per_s']:9.1f} {r['speedup']:8.2f} "
                  f"{r['min_cosine']:8.4f}")
    if "full_builds" in res:
        print("\nfull builds of the CMRC trial passages, by encoder (model loading included)")
        for r in res["full_builds"]:
            print(f"  {r['encoder']:10s} {r['chunks']} chunks in {r['full_build_s']} s: {r['chunks_per_s']} chunks/s")
    for c in res.get("corpora", []):
        print(f"\n{c['corpus']}: {c['stories']} stories, {c['chunks']} chunks, index {c['index_mb']} MB")
        print(f"  full build {c['full_build_s']} s ({c['build_chunks_per_s']} chunks/s), one file changed "
              f"{c['incremental_build_s']} s ({c['incremental_embedded']} embedded), no change "
              f"{c['no_change_build_s']} s")
        print(f"  app cold start {c['cold_start_s']} s, peak RSS {c['app_peak_rss_mb']} MB")
        print("  latency ms p50/p95 over", c["questions"], "questions: " +
              ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in c["latency_ms"].items()))
    if "scale" in res:
        print("\nscale (bench/scale.py)")
        print(json.dumps(res["scale"], indent=1, ensure_ascii=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-scale", action="store_true", help="leave out the 100,000-chunk run")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the seed questions (default 3)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    res: dict = {"machine": {"cores": __import__("os").cpu_count()}, "when": time.strftime("%Y-%m-%d")}
    trial = json.loads(TRIAL.read_text(encoding="utf-8"))
    stories, trial_q = squad_stories(trial)
    from qa.reader.data import load_squad

    res["encoders"] = encoders([p.embed_text for p in load_squad(TRIAL, "trial").passages[:400]])
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        work = Path(tmp)
        seed = work / "seed"
        shutil.copytree(ROOT / "corpus", seed)
        cmrc = work / "cmrc"
        half = len(stories) // 2
        write_stories_file(stories[:half], cmrc).rename(cmrc / "passages-1.jsonl")
        write_stories_file(stories[half:], cmrc).rename(cmrc / "passages-2.jsonl")
        res["full_builds"] = encoder_builds(cmrc, work)
        res["corpora"] = [
            corpus_run("seed pages", seed, questions_of(ROOT / "tests" / "data" / "dev_qa.jsonl"), work,
                       args.repeat),
            corpus_run("CMRC 2018 trial", cmrc, [q["q"] for q in trial_q[:200]], work, 1),
        ]
    if not args.skip_scale:
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "scale.py"), "--json"], cwd=ROOT,
                             capture_output=True, text=True)
        res["scale"] = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-2000:]}
    print_tables(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
