"""The thirteen seed-page question files, the whole product, summed: the gate the reader rounds use.

    python bench/seed_files.py [--files dev,absent,...] [--json FILE]

Each file is ``tests/data/NAME_qa.jsonl``, asked as ``python -m qa eval`` asks it (one pipeline
over the default corpus and index, loaded once); a file's score is its answerable questions
answered right plus its unanswerable ones declined, and the total is what the README and
``bench/reader_rounds.md`` quote as "the thirteen seed files, N of 375". These files are
development sets: the held-out ones (``twentyfirst_qa``, ``thirtysixth_qa``; ``thirtyfirst_qa``, ``spare_qa`` and
``nineteenth_qa`` were) are left out on purpose, so a round can ask them once. Not a test: the
numbers are a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.evaluate import eval_dev  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import Settings  # noqa: E402

FILES = ("absent", "blind", "cross", "crosslingual", "dev", "everyday", "fresh", "heldout", "keyword", "mixed",
         "paraphrase", "sentence", "when")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", default=",".join(FILES), help="file names without _qa.jsonl, comma-separated")
    ap.add_argument("--json", type=Path, default=None, help="also write each file's rows here")
    args = ap.parse_args()
    pipe = Pipeline(Settings(), progress=False)
    total = asked = 0
    rows = {}
    for name in args.files.split(","):
        report = eval_dev(pipe.answer, pipe.index, ROOT / "tests" / "data" / f"{name}_qa.jsonl")
        total, asked = total + report.right, asked + report.n
        rows[name] = report.rows
        print(f"{name:>13s} {report.right:3d}/{report.n:<3d} (answered right {report.answer_hit}/{report.answerable}, "
              f"declined {report.declined}/{report.unanswerable})", flush=True)
    print(f"{'total':>13s} {total:3d}/{asked}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
