"""Question latency with the reader, split by stage, on the seed corpus (and optionally the CMRC trial).

    python bench/bench_reader.py [--questions tests/data/dev_qa.jsonl] [--repeat 3] [--confident none]
                                 [--cross-reader off|fallback|on] [--hand-off none|SCORE] [--gap none|GAP] [--json]

Each question is asked ``repeat`` times after one warm-up round; the table gives p50/p95 of the
whole answer and of each stage (analysis, encode = the question's single forward pass,
retrieve, read = the reader over the chunks read). "Reader adds" is the read stage's p50:
without the reader, the other stages are unchanged (the question's forward pass is needed for
dense retrieval anyway). ``--confident none`` turns the scout's early exit off (every retrieved
story read; ``bench/early_exit.py``); ``--cross-reader`` picks the readers as ``qa ask`` does (default:
the product's); ``--hand-off`` sets the head's score under which the cross reader reads too (none: only
when the head declines). Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import latency_by_stage, optional_float  # noqa: E402  (bench/measure.py)

from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path, default=ROOT / "tests" / "data" / "dev_qa.jsonl")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--confident", default=None,
                    help="the scout's early-exit margin (default: the shipped one); none: read every story")
    ap.add_argument("--cross-reader", default=None, help="off, fallback or on (default: the product's)")
    ap.add_argument("--hand-off", default=None, help="Reader.hand_off (default: the shipped one); none: off")
    ap.add_argument("--gap", default=None, help="Reader.hand_off_gap (default: the shipped one); none: off")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(Settings.resolve({"corpus": args.corpus, "index": Path(tmp) / "index",  # None: as qa ask
                                          "cross_reader": args.cross_reader}), progress=False)
        reader = pipe.answerer.reader
        if args.confident is not None:
            reader.confident = optional_float(args.confident)
        if args.hand_off is not None:
            reader.hand_off = optional_float(args.hand_off)
        if args.gap is not None:
            reader.hand_off_gap = optional_float(args.gap)
        for q in questions:  # warm-up: jieba dictionaries, layouts, allocator
            pipe.answer(q)
        latency = latency_by_stage([pipe.answer(q) for _ in range(args.repeat) for q in questions])
        confident = reader.confident
    total = latency.pop("total")
    out = {"questions": len(questions), "repeat": args.repeat, "confident": confident,
           "cross_reader": str(pipe.settings.cross_reader), "hand_off": reader.hand_off,
           "hand_off_gap": reader.hand_off_gap,
           "total_ms": {"p50": total[0], "p95": total[1]},
           "stages_ms": {k: {"p50": v[0], "p95": v[1]} for k, v in latency.items()}}
    out["reader_adds_ms_p50"] = out["stages_ms"].get("read", {}).get("p50", 0.0)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{'stage':10s} {'p50 ms':>8s} {'p95 ms':>8s}")
        for k, v in out["stages_ms"].items():
            print(f"{k:10s} {v['p50']:8.1f} {v['p95']:8.1f}")
        print(f"{'total':10s} {total[0]:8.1f} {total[1]:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
