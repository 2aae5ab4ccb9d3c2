"""The cross reader's gold-passage report for a weights file, or for several averaged tensor by
tensor (a uniform "model soup" of runs of the same configuration).

    python bench/cross_average.py WEIGHTS [WEIGHTS ...] [--data ../shared/train] [--trial FILE]
                                  [--out FILE] [--threads N]

The report is the one ``train-cross-reader`` writes on its card (``qa.reader.cross_train.measure``,
torch, fp32): the no-answer threshold chosen again on the selection questions, then CMRC 2018
train's selection paragraphs, DRCD's held-out paragraphs (traditional questions as asked), the
selection questions in keyword form and, with ``--trial``, the CMRC 2018 trial set. Runs of one
configuration start from the same weights (the encoder's, and the scorer's default torch draw),
so their average is a model of the same shape that costs nothing more to run. ``--out`` saves it
(with this report as its metadata) for the product to read. Not a test: the numbers are a
measurement.
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
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights", type=Path, nargs="+")
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--trial", type=Path, default=None, help="also report this SQuAD-format set (the CMRC trial)")
    ap.add_argument("--out", type=Path, default=None, help="save the averaged weights here")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import torch
    from transformers import AutoTokenizer

    from qa.model_store import resolve_model
    from qa.reader.cross import build_model, read_info, save
    from qa.reader.cross_train import average, held_out, measure

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    t0 = time.perf_counter()
    encoder = resolve_model(Settings().model)[0]
    state = average(args.weights)
    model = build_model(encoder, read_info(args.weights[0])["config"]["trainable"])
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(model.tuned_state()) & set(missing):
        raise SystemExit(f"error: the weights do not fit the cross model ({unexpected[:3]}, {missing[:3]})")
    model.eval()
    h = held_out(args.data, args.trial, AutoTokenizer.from_pretrained(encoder))
    threshold, calibration, metrics = measure(model, h)
    sources = [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()[:16]} for p in args.weights]
    out = {"averaged": sources, "threshold": threshold, "calibration": list(calibration), "metrics": metrics,
           "minutes": round((time.perf_counter() - t0) / 60, 1)}
    if args.out:
        first = read_info(args.weights[0])
        save(model, args.out, {**first, **{k: out[k] for k in ("threshold", "calibration", "metrics", "averaged")}})
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
