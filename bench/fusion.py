"""After a hand-off, both readers' logits fused (``Reader.fuse``) against the surer answer.

    python bench/fusion.py [--variants none,fused,either,either:0.7] [--hand-offs 0.5,0.6] [--keyword-forms]
                           [--gap none|G] [--data ../shared/train] [--limit N] [--squad FILE] [--json FILE]

The whole product, open domain, the default readers (the head leading, the cross reader after a
hand-off), on CMRC 2018 train's held-out selection paragraphs indexed as stories (a development
set), or on ``--squad FILE``; each variant (``Reader.fuse``, and after a colon the head's weight,
``Reader.fuse_weight``, 0.5 when left out) answers every question over the same index. With
``--keyword-forms`` only the questions that have a keyword form are asked, in it
(``qa.reader.keywords.keyword_form``: the final interrogative dropped). With ``--hand-offs``, every
variant is asked at each of those hand-off scores (``Reader.hand_off``; default: the shipped one).
"changed" counts answers that differ from the first variant's. Not a test: the numbers are a
measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cross_window import scored, selection_squad  # noqa: E402  (bench/cross_window.py)
from measure import optional_float  # noqa: E402  (bench/measure.py)

from qa.evaluate import squad_stories, write_stories_file  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.reader.keywords import keyword_form  # noqa: E402
from qa.settings import Settings, train_data  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="none,fused,either")
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--limit", type=int, default=None, help="ask only the first N questions")
    ap.add_argument("--squad", type=Path, default=None, help="a SQuAD-format file instead of the selection paragraphs")
    ap.add_argument("--json", type=Path, default=None, help="also write the per-question rows here")
    ap.add_argument("--keyword-forms", action="store_true", help="ask the questions that have one in keyword form")
    ap.add_argument("--hand-offs", default=None, help="hand-off scores to ask each variant at, comma-separated")
    ap.add_argument("--gap", default=None,
                    help="Reader.hand_off_gap for every variant (default: the shipped one); none: off")
    args = ap.parse_args()
    data = json.loads(args.squad.read_text(encoding="utf-8")) if args.squad else selection_squad(args.data)
    stories, questions = squad_stories(data)
    if args.keyword_forms:
        questions = [{**q, "q": form} for q in questions if (form := keyword_form(q["q"]))]
    questions = questions[:args.limit] if args.limit else questions
    variants = args.variants.split(",")
    if args.hand_offs:
        variants = [f"{v}@{float(h):g}" for h in args.hand_offs.split(",") for v in variants]
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_stories_file(stories, Path(tmp) / "corpus")
        pipe = Pipeline(Settings(corpus=Path(tmp) / "corpus", index=Path(tmp) / "index"), progress=False)
        reader = pipe.answerer.reader
        if args.gap is not None:
            reader.hand_off_gap = optional_float(args.gap)
        asked = (args.squad.name if args.squad else "selection") + (" (keyword forms)" if args.keyword_forms else "")
        print(f"{len(questions)} {asked} questions, open domain")
        print(f"{'fuse':>15s} {'EM':>5s} {'F1':>5s} {'first cit.':>10s} {'answered':>8s} {'changed':>7s}")
        for v in variants:
            spec, _, hand_off = v.partition("@")
            if hand_off:
                reader.hand_off = float(hand_off)
            fuse, _, weight = spec.partition(":")
            reader.fuse, reader.fuse_weight = None if fuse == "none" else fuse, float(weight or 0.5)
            got = rows[v] = [scored(pipe.answer(item["q"]), item["answers"]) for item in questions]
            base = rows[variants[0]]
            n = max(1, len(got))
            em, f1 = (100 * sum(r[key] for r in got) / n for key in ("em", "f1"))
            print(f"{v:>15s} {em:5.1f} {f1:5.1f} "
                  f"{sum(r['first'] for r in got) / n:10.3f} {sum(r['found'] for r in got):8d} "
                  f"{sum(a['text'] != b['text'] for a, b in zip(got, base, strict=True)):7d}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
