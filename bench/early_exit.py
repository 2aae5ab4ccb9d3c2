"""The scout's early exit: how confident in the best story before the others go unread.

    python bench/early_exit.py [--grid 0,2,4,...] [--data ../shared/train] [--limit N]
                               [--squad FILE] [--cross-reader off|fallback|on]
    python bench/early_exit.py --questions tests/data/*_qa.jsonl [--cross-reader off|fallback|on]

The scout reads the best story's chunks first; when its best span there beats no answer by a
margin of ``confident`` or more, the other stories' chunks are not read (``Reader.confident``).
Each question is answered twice, with no exit and with an exit always taken, and the scout's
best margin in the best story is kept: at a given ``confident`` the answer is the second when
that margin reaches it and the first otherwise, so one pass gives every grid value exactly.

Quality is the whole product, open domain, on CMRC 2018 train's held-out selection paragraphs
(indexed as stories; a development set), or on ``--squad FILE`` (a check after the choice: CMRC
2018 trial, DRCD); "exits" is the share of questions
whose other stories went unread, "same" the share answered as with no exit. Time is the read
stage on the seed corpus with the dev questions, as ``bench_reader.py`` measures it. With
``--questions``, the seed question files are answered over the seed corpus with no exit and with
the shipped one (``CONFIDENT``), scored as ``qa eval`` scores them, and the answers that changed
are counted. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cross_window import read_ms, scored, selection_squad  # noqa: E402  (bench/cross_window.py)

from qa.evaluate import eval_dev, squad_stories, write_stories_file  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.reader.reader import CONFIDENT, best_margin  # noqa: E402
from qa.settings import Settings, train_data  # noqa: E402


def both_ways(pipe: Pipeline, questions: list[dict]) -> list[dict]:
    """Each question answered with the exit never taken and always taken, and the scout's best
    margin in the best story (None when there was nothing to leave unread: too few chunks to
    scout, or one story). "Never" is ``confident = inf``, so a question reads in the same batches
    as one that does not exit at any grid value: the picked answers are the product's exactly."""
    reader = pipe.answerer.reader
    seen: list[float] = []
    scout = reader._scout

    def recording(pairs, texts, max_chars, first):
        got, found = scout(pairs, texts, max_chars, first)
        cut = reader._first_cut(len(pairs), first)
        seen.append(best_margin(found[:cut]) if cut < len(pairs) else None)
        return got, found

    reader._scout = recording
    rows = []
    try:
        for item in questions:
            reader.confident = math.inf
            full = scored(pipe.answer(item["q"]), item["answers"])
            seen.clear()
            reader.confident = -math.inf
            early = scored(pipe.answer(item["q"]), item["answers"])
            rows.append({"full": full, "early": early, "margin": seen[0] if seen else None})
    finally:
        reader._scout = scout
        reader.confident = CONFIDENT
    return rows


def at(rows: list[dict], confident: float | None) -> dict:
    n = max(1, len(rows))
    exited = [confident is not None and r["margin"] is not None and r["margin"] >= confident for r in rows]
    picked = [r["early"] if e else r["full"] for r, e in zip(rows, exited, strict=True)]
    exits = sum(exited)
    return {"em": 100 * sum(p["em"] for p in picked) / n, "f1": 100 * sum(p["f1"] for p in picked) / n,
            "first": sum(p["first"] for p in picked) / n, "answered": sum(p["found"] for p in picked),
            "exits": exits / n, "same": sum(p["text"] == r["full"]["text"] for p, r in zip(picked, rows)) / n}


def seed_files(paths: list[Path], cross_reader: str) -> None:
    """The seed question files with no exit against the shipped exit: right answers as ``qa eval``
    counts them (answered right of the answerable, declined of the unanswerable), changed answers."""
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(Settings(corpus=ROOT / "corpus", index=Path(tmp) / "index", cross_reader=cross_reader),
                        progress=False)
        reader, totals = pipe.answerer.reader, [0, 0, 0, 0]  # questions, right without, right with, changed
        print(f"{'file':24s} {'right, no exit':>22s} {f'right, exit at {CONFIDENT:g}':>22s} {'changed':>7s}")
        for path in paths:
            reports = []
            for confident in (None, CONFIDENT):
                reader.confident = confident
                reports.append(eval_dev(pipe.answer, pipe.index, path))
            changed = sum(a["answer"] != b["answer"] for a, b in zip(reports[0].rows, reports[1].rows, strict=True))
            right = [r.right for r in reports]
            shown = [f"{n}/{r.n} ({r.answer_hit}/{r.answerable}, {r.declined}/{r.unanswerable})"
                     for n, r in zip(right, reports, strict=True)]
            print(f"{path.name:24s} {shown[0]:>22s} {shown[1]:>22s} {changed:7d}", flush=True)
            for i, x in enumerate((reports[0].n, *right, changed)):
                totals[i] += x
        print(f"{'all':24s} {f'{totals[1]}/{totals[0]}':>22s} {f'{totals[2]}/{totals[0]}':>22s} {totals[3]:7d}")
        reader.confident = CONFIDENT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="0,2,4,6,8,10,12,14,16,18,20")
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--limit", type=int, default=None, help="ask only the first N selection questions")
    ap.add_argument("--squad", type=Path, default=None, help="a SQuAD-format file instead of the selection paragraphs")
    ap.add_argument("--cross-reader", default="off", help="off (the head alone), fallback or on (qa ask's choices)")
    ap.add_argument("--questions", type=Path, nargs="+", default=None,
                    help="seed question files: compare no exit with the shipped exit on them instead")
    ap.add_argument("--json", type=Path, default=None, help="also write the per-question rows here")
    args = ap.parse_args()
    if args.questions:
        seed_files(args.questions, args.cross_reader)
        return 0
    grid = [float(x) for x in args.grid.split(",")]
    data = json.loads(args.squad.read_text(encoding="utf-8")) if args.squad else selection_squad(args.data)
    stories, questions = squad_stories(data)
    questions = questions[:args.limit] if args.limit else questions
    dev = (ROOT / "tests" / "data" / "dev_qa.jsonl").read_text(encoding="utf-8")
    seed_qs = [json.loads(line)["q"] for line in dev.splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        write_stories_file(stories, Path(tmp) / "corpus")
        select = Pipeline(Settings(corpus=Path(tmp) / "corpus", index=Path(tmp) / "index",
                                   cross_reader=args.cross_reader), progress=False)
        seed = Pipeline(Settings(corpus=ROOT / "corpus", index=Path(tmp) / "seed-index",
                                 cross_reader=args.cross_reader), progress=False)
        rows = both_ways(select, questions)
        if args.json:
            args.json.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        asked = args.squad.name if args.squad else "selection"
        print(f"{len(questions)} {asked} questions, open domain; read stage on the seed corpus, "
              f"{len(seed_qs)} dev questions")
        print(f"{'confident':>9s} {'EM':>5s} {'F1':>5s} {'first cit.':>10s} {'answered':>8s} {'exits':>6s} "
              f"{'same':>6s} {'read p50':>8s} {'p95':>6s}")
        for confident in [None, *grid]:
            q = at(rows, confident)
            seed.answerer.reader.confident = confident
            ms = read_ms(seed, seed_qs)
            name = "no exit" if confident is None else f"{confident:g}"
            print(f"{name:>9s} {q['em']:5.1f} {q['f1']:5.1f} {q['first']:10.3f} {q['answered']:8d} {q['exits']:6.3f} "
                  f"{q['same']:6.3f} {ms[0]:8.1f} {ms[1]:6.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
