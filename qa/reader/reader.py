"""The reader at question time: spans with margins and calibrated scores for (question, passage) pairs.

Weights ship in ``qa/reader/weights/reader.safetensors`` (float16, with its configuration,
the no-answer threshold and the calibration in the file's metadata); ``MODEL_CARD.md`` next
to it says how they were trained. The head runs on the token states the encoder already
computed, so reading a few passages costs milliseconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .batch import Pair, collate, head_inputs
from .decode import MAX_ANSWER_CHARS, best_spans
from .model import ReaderHead

WEIGHTS = Path(__file__).resolve().parent / "weights" / "reader.safetensors"
BATCH = 32


@dataclass
class ReadSpan:
    """A span the reader found: ``text[start:end]`` of passage ``passage`` (index in the input)."""

    passage: int
    start: int
    end: int
    margin: float   # span score minus no-answer score
    score: float    # calibrated probability that the span answers the question


class Reader:
    def __init__(self, head: ReaderHead, threshold: float = 0.0, calibration: tuple[float, float] = (1.0, 0.0),
                 meta: dict | None = None):
        self.head = head.eval()
        self.threshold = threshold
        self.calibration = calibration
        self.meta = meta or {}

    # ------------------------------------------------------------ persistence

    @classmethod
    def load(cls, path: Path | str | None = None) -> Reader:
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path or WEIGHTS)
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        info = json.loads(meta.get("reader", "{}"))
        head = ReaderHead(**info["config"])
        state = {k: v.float() for k, v in load_file(str(path)).items()}
        head.load_state_dict(state)
        meta = {k: v for k, v in info.items() if k not in ("config", "threshold", "calibration")}
        return cls(head, info.get("threshold", 0.0), tuple(info.get("calibration", (1.0, 0.0))), meta)

    def save(self, path: Path | str, **extra) -> Path:
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {**self.meta, **extra, "config": self.head.config, "threshold": self.threshold,
                "calibration": list(self.calibration)}
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(path), metadata={"reader": json.dumps(info, ensure_ascii=False)})
        return path

    # ------------------------------------------------------------ reading

    def probability(self, margin: float) -> float:
        a, b = self.calibration
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, a * margin + b))))

    def scores(self, pairs: list[Pair]) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(start, end, null) logits of each pair, characters in the passage's text."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(pairs), BATCH):
                chunk = pairs[i:i + BATCH]
                start, end, null = self.head(**head_inputs(collate(chunk)))
                for j, p in enumerate(chunk):
                    n = len(p.layout.token)
                    out.append((start[j, :n].numpy(), end[j, :n].numpy(), float(null[j])))
        return out

    def read(self, pairs: list[Pair], texts: list[str], k: int = 3,
             max_chars: int = MAX_ANSWER_CHARS) -> list[ReadSpan]:
        """The best spans over all pairs, best first (``k`` per pair at most)."""
        spans = []
        for i, ((s, e, null), p, text) in enumerate(zip(self.scores(pairs), pairs, texts)):
            for a, b, margin in best_spans(s, e, null, p.layout.valid, text, max_chars, k):
                spans.append(ReadSpan(i, a, b, margin, self.probability(margin)))
        spans.sort(key=lambda r: -r.margin)
        return spans
