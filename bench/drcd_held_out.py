"""DRCD's held-out paragraphs (20%, never trained on), traditional questions as asked, gold passage,
read as the product reads (int8 token states; the readers ``--cross-reader`` names).

    python bench/drcd_held_out.py [--data ../shared/train] [--cross-reader off|fallback|on]

The training report (``train-reader``'s card) reads them with the torch encoder's states and the
head alone; this is the shipped configuration's number.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.cli import gold_reading  # noqa: E402
from qa.reader import sets  # noqa: E402
from qa.reader.train import read_gold  # noqa: E402
from qa.settings import Settings, train_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--cross-reader", default="fallback", help="off (the head alone), fallback or on")
    args = ap.parse_args()
    rs, src, reader = gold_reading(args.data / "drcd_dev.json", Settings(cross_reader=args.cross_reader))
    held = sets.splits(rs)[1]
    questions = rs.questions_in(held)
    report = read_gold(reader, src, questions)
    print(f"DRCD held out ({len(held)} paragraphs), gold passage, --cross-reader {args.cross_reader}: "
          f"EM {report['em']:.1f}  F1 {report['f1']:.1f}  ({report['questions']} questions)")


if __name__ == "__main__":
    main()
