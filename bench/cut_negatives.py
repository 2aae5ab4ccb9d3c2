"""How often the reader declines a passage on the question's own subject that lacks its answer.

For each held-out question (CMRC 2018 train's selection paragraphs, DRCD's held-out paragraphs),
the gold chunk is read twice: as it is, and with the sentences holding the answer cut out
(``PairSource.cut_pair``, the negatives ``train-reader --cut-share`` trains on). Prints, at the
reader's threshold, the share of cut passages declined and of whole ones answered. Reads the
features ``train-reader`` caches. README, eighth round of issue 9.

    python bench/cut_negatives.py --data ../shared/train [--reader WEIGHTS]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from qa.reader import sets
from qa.reader.features import cached_features
from qa.reader.reader import Reader
from qa.reader.train import PairSource


def margin(reader: Reader, pair, text: str) -> float:
    spans = reader.read([pair], [text], k=1)
    return spans[0].margin if spans else float("-inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/train"))
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/qa-news/reader-features")
    ap.add_argument("--reader", type=Path, default=None, help="weights file (default: the shipped one)")
    args = ap.parse_args()
    reader = Reader.load(args.reader)
    for name, rs in (("CMRC train, selection", sets.cmrc_train(args.data)), ("DRCD held out", sets.drcd(args.data))):
        src = PairSource(cached_features(rs, None, args.cache))
        _, held = sets.splits(src.data)
        qs = [i for i, q in enumerate(src.data.questions) if q.paragraph in held and src.cut(i)]
        declined = answered = 0
        for qi in qs:
            q = src.data.questions[qi]
            text = src.data.passages[q.chunk].text
            s, e = src.cut(qi)
            declined += margin(reader, src.cut_pair(qi), text[:s] + text[e:]) < reader.threshold
            answered += margin(reader, src.pair(qi, q.chunk, False), text) >= reader.threshold
        n = max(1, len(qs))
        print(f"{name}: {len(qs)} questions; answer cut out: {100 * declined / n:.1f}% declined; "
              f"whole passage: {100 * answered / n:.1f}% answered")


if __name__ == "__main__":
    main()
