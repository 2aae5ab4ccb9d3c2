"""EM and F1 by the gold answer's length: the reader alone with the gold passage, as the product
reads (int8 token states; the head alone by default, or the readers ``--cross-reader`` names:
fallback, the head and the cross reader where it declines; on, the other way round).

    python bench/em_by_length.py [--cross-reader off|fallback|on] [FILE]   # default: the CMRC 2018 trial set
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.cli import gold_reading  # noqa: E402
from qa.evaluate import exact_match, f1_score  # noqa: E402
from qa.reader.train import read_best  # noqa: E402
from qa.settings import Settings  # noqa: E402

BUCKETS = [(0, 5), (5, 10), (10, 20), (20, 40), (40, None)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", type=Path, default=Path("tests/data/cmrc2018_trial.json"))
    ap.add_argument("--cross-reader", default="off", help="off (the head alone), fallback or on")
    args = ap.parse_args()
    rs, src, reader = gold_reading(args.file, Settings(cross_reader=args.cross_reader))
    rows = []
    for qi, q in enumerate(rs.questions):
        found = read_best(reader, src, qi, rs.paragraph_chunks[q.paragraph])
        text = found[0] if found else ""
        rows.append((len(q.answers[0]), exact_match(text, q.answers), f1_score(text, q.answers)))
    print("| gold length (characters) | questions | EM | F1 |\n|---|---|---|---|")
    for lo, hi in [*BUCKETS, (0, None)]:
        b = [r for r in rows if lo <= r[0] and (hi is None or r[0] < hi)]
        label = "all" if (lo, hi) == (0, None) else f"{lo}–{hi - 1}" if hi else f"{lo} or more"
        if b:
            print(f"| {label} | {len(b)} | {100 * sum(r[1] for r in b) / len(b):.1f} | "
                  f"{100 * sum(r[2] for r in b) / len(b):.1f} |")


if __name__ == "__main__":
    main()
