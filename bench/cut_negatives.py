"""How often the reader declines a passage on the question's own subject that lacks its answer.

For each held-out question (CMRC 2018 train's selection paragraphs, DRCD's held-out paragraphs),
the gold chunk is read twice: as it is, and with the sentences holding the answer cut out
(``PairSource.cut_pair``, the negatives ``train-reader --cut-share`` trains on). Prints, at the
reader's threshold, the share of cut passages declined and of whole ones answered. Reads the
features ``train-reader`` caches. README, eighth round of issue 9.

    python bench/cut_negatives.py --data ../shared/train [--reader WEIGHTS]
"""

from __future__ import annotations

from held_out import held_out_sets, parser  # bench/held_out.py

from qa.reader.reader import Reader


def margin(reader: Reader, pair, text: str) -> float:
    spans = reader.read([pair], [text], k=1)
    return spans[0].margin if spans else float("-inf")


def main() -> None:
    args = parser(__doc__).parse_args()
    reader = Reader.load(args.reader)
    for name, src, held in held_out_sets(args):
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
