"""List widening measured where it was chosen: gold passage, questions that ask for several things.

Reads the reader's cached features of CMRC 2018 train's held-out (selection) paragraphs and DRCD's
held-out paragraphs (written by ``python -m qa train-reader``), and prints EM and F1 for the
questions :data:`qa.question.LIST_QUESTION` matches, with the reader's span as it is and widened
along its coordination (``Reader.read(..., lists=True)``). README, seventh round of issue 9.

    python bench/list_widening.py --data ../shared/train
"""

from __future__ import annotations

from held_out import held_out_sets, parser  # bench/held_out.py

from qa.evaluate import exact_match, f1_score
from qa.question import LIST_QUESTION
from qa.reader.reader import Reader
from qa.reader.train import read_best


def main() -> None:
    args = parser(__doc__).parse_args()
    reader = Reader.load(args.reader)
    for name, src, held in held_out_sets(args):
        qs = [i for i, q in enumerate(src.data.questions) if q.paragraph in held and LIST_QUESTION.search(q.question)]
        for lists in (False, True):
            em = f1 = 0.0
            for qi in qs:
                q = src.data.questions[qi]
                found = read_best(reader, src, qi, src.data.paragraph_chunks[q.paragraph], lists=lists)
                text = found[0] if found else ""
                em += exact_match(text, q.answers)
                f1 += f1_score(text, q.answers)
            n = max(1, len(qs))
            print(f"{name}: {len(qs)} questions, {'widened' if lists else 'as read'}: "
                  f"EM {100 * em / n:.1f}  F1 {100 * f1 / n:.1f}")


if __name__ == "__main__":
    main()
