"""How many chunks the cross reader reads, and how much of each: quality against time.

    python bench/cross_window.py [--configs 2x320,1x128,1x96] [--data ../shared/train] [--limit N]

Each config is ``keep x window``: the cross reader reads the ``keep`` chunks the head's scout
ranks best, each as a window of at most ``window`` tokens (question and title included) centred
on the scout's best span. Quality is the whole product, open domain, on CMRC 2018 train's
held-out selection paragraphs (indexed as stories; never the trial set); time is the read stage
on the seed corpus with the dev questions, as ``bench_reader.py`` measures it. The head alone
(cross reader off) is the first row. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import latency_by_stage  # noqa: E402  (bench/measure.py)

from qa.evaluate import exact_match, f1_score, squad_stories, write_stories_file  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.reader import sets  # noqa: E402
from qa.settings import Settings, train_data  # noqa: E402


def selection_squad(data: Path) -> dict:
    """CMRC 2018 train's selection paragraphs (:func:`qa.reader.sets.splits`) as a SQuAD dict."""
    held_out = sets.splits(sets.cmrc_train(data))[1]
    articles, p = [], 0
    for article in json.loads((data / "cmrc2018_train.json").read_text(encoding="utf-8"))["data"]:
        kept = []
        for para in article["paragraphs"]:
            if p in held_out:
                kept.append(para)
            p += 1
        if kept:
            articles.append({"title": article.get("title", ""), "paragraphs": kept})
    return {"data": articles}


def configure(pipe: Pipeline, keep: int, window: int) -> None:
    """The cross reader alone (no hand-over to the head: the eleventh round measured it so),
    reading ``keep`` chunks of ``window`` tokens."""
    reader = pipe.answerer.reader
    reader.keep, reader.cross.window, reader.second = keep, window, None


def scored(answer, golds: list[str]) -> dict:
    """One answer against its golds: its text, EM, F1, whether it answered, and whether its first
    citation holds a gold answer."""
    return {"text": answer.answer, "em": exact_match(answer.answer, golds), "f1": f1_score(answer.answer, golds),
            "found": answer.found,
            "first": bool(answer.citations) and any(g in answer.citations[0].text for g in golds)}


def quality(pipe: Pipeline, questions: list[dict]) -> dict:
    rows = [scored(pipe.answer(item["q"]), item["answers"]) for item in questions]
    n = max(1, len(questions))
    return {"em": round(100 * sum(r["em"] for r in rows) / n, 1), "f1": round(100 * sum(r["f1"] for r in rows) / n, 1),
            "answered": sum(r["found"] for r in rows), "first_citation": round(sum(r["first"] for r in rows) / n, 3)}


def read_ms(pipe: Pipeline, questions: list[str], repeat: int = 3) -> list[float]:
    for q in questions:  # warm-up
        pipe.answer(q)
    return latency_by_stage([pipe.answer(q) for _ in range(repeat) for q in questions])["read"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="2x320,1x320,1x160,1x128,1x96,2x128,2x96")
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--limit", type=int, default=None, help="ask only the first N selection questions")
    args = ap.parse_args()
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    stories, questions = squad_stories(selection_squad(args.data))
    questions = questions[:args.limit] if args.limit else questions
    dev = (ROOT / "tests" / "data" / "dev_qa.jsonl").read_text(encoding="utf-8")
    seed_qs = [json.loads(line)["q"] for line in dev.splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        write_stories_file(stories, Path(tmp) / "corpus")
        pipes = {}
        for cross in ("off", "on"):
            pipes[cross] = (Pipeline(Settings(corpus=Path(tmp) / "corpus", index=Path(tmp) / "index",
                                              cross_reader=cross), progress=False),
                            Pipeline(Settings(corpus=ROOT / "corpus", index=Path(tmp) / "seed-index",
                                              cross_reader=cross), progress=False))
        print(f"{len(questions)} selection questions; read stage on the seed corpus, {len(seed_qs)} dev questions")
        print(f"{'config':12s} {'EM':>5s} {'F1':>5s} {'answered':>8s} {'first cit.':>10s} {'read p50':>8s} {'p95':>6s}")
        for keep, window in [(0, 0), *configs]:
            select, seed = pipes["off" if keep == 0 else "on"]
            if keep:
                configure(select, keep, window)
                configure(seed, keep, window)
            q, ms = quality(select, questions), read_ms(seed, seed_qs)
            name = "head alone" if keep == 0 else f"{keep}x{window}"
            print(f"{name:12s} {q['em']:5.1f} {q['f1']:5.1f} {q['answered']:8d} {q['first_citation']:10.3f} "
                  f"{ms[0]:8.1f} {ms[1]:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
