"""The cross reader's gold-passage report for a weights file, as its card gives it.

    python bench/cross_report.py [WEIGHTS] [--data ../shared/train] [--trial FILE] [--threads N]

The report ``train-cross-reader`` writes on its card (``qa.reader.cross_train.measure``, torch,
fp32): the no-answer threshold chosen again on the selection questions, then CMRC 2018 train's
selection paragraphs, DRCD's held-out paragraphs (traditional questions as asked), the selection
questions in keyword form and, with ``--trial``, the CMRC 2018 trial set. WEIGHTS defaults to the
shipped file. For judging a kept candidate again, or the shipped weights on another machine,
without training. The file holds the tuned layers in int8 rows, so the numbers can differ from the
card's (read from the fp32 model at the end of training) by a little. Not a test: the numbers are
a measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.settings import Settings, train_data  # noqa: E402


def main() -> int:
    from qa.reader.reader import CROSS_WEIGHTS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path, nargs="?", default=CROSS_WEIGHTS)
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--trial", type=Path, default=None, help="also report this SQuAD-format set (the CMRC trial)")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import torch
    from transformers import AutoTokenizer

    from qa.model_store import resolve_model
    from qa.reader.cross import load_model
    from qa.reader.cross_train import held_out, measure

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    t0 = time.perf_counter()
    encoder = resolve_model(Settings().model)[0]
    model, info = load_model(args.weights, encoder)
    h = held_out(args.data, args.trial, AutoTokenizer.from_pretrained(encoder))
    threshold, calibration, metrics = measure(model, h)
    out = {"weights": str(args.weights), "sha256": hashlib.sha256(args.weights.read_bytes()).hexdigest()[:16],
           "card_threshold": info.get("threshold"), "threshold": threshold, "calibration": list(calibration),
           "metrics": metrics, "minutes": round((time.perf_counter() - t0) / 60, 1)}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
