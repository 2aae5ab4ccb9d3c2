"""The reader at question time: spans with margins and calibrated scores for (question, passage) pairs.

Weights ship in ``qa/reader/weights/reader.safetensors`` (float16, with its configuration,
the no-answer threshold and the calibration in the file's metadata); ``MODEL_CARD.md`` next
to it says how they were trained. The head runs on the token states the encoder already
computed, so reading a few passages costs milliseconds. For answering it runs through ONNX
Runtime (:mod:`qa.reader.onnx_head`, exported once per weights file), so the app never imports
torch; training and ``eval-reader`` use the torch head.

The shipped head is an ensemble (:class:`~qa.reader.model.Ensemble`: three members, logits
averaged). Reading every retrieved chunk with all three would triple the reader's time, so the
first member scouts: it reads the chunks, and the others read only the ``keep`` chunks where
the scout found its best spans (measured in the README: the same answers as reading all). The
scout reads the best story's chunks first and the other stories' only when nothing there beats
"no answer" by :data:`CONFIDENT` (the thirteenth round: most questions stop after the best story).

With the cross reader (:mod:`qa.reader.cross`) there are two readers, and one *leads*: it answers
when its best span beats its own threshold. When it declines, the other reads the same kept chunks
and answers if its best span beats *its* threshold; the question is declined only when both
decline (the fourteenth round: each catches answers the other misses). The head leads by default,
so the cross reader costs time only on the questions the head declines or answers with a
calibrated score under :data:`HAND_OFF`, or whose best other answer scores within
:data:`HAND_OFF_GAP` of its best (the twenty-seventh round); when both answer, the surer answer by
calibrated score stands (:data:`ARBITRATE`, the seventeenth round). With :attr:`Reader.fuse`
(:data:`FUSE`, "either" by default since the twenty-ninth round; the nineteenth and twentieth rounds
built it) both readers' character logits are fused after a hand-off instead, on the calibrated
scale, the head weighing :data:`FUSE_WEIGHT`.
``--cross-reader on`` lets the cross reader lead.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .batch import Pair, arrays, head_inputs
from .decode import MAX_ANSWER_CHARS, best_spans, coordination

if TYPE_CHECKING:
    from .cross import CrossReader
    from .model import Ensemble, ReaderHead

log = logging.getLogger("qa.reader")

WEIGHTS = Path(__file__).resolve().parent / "weights" / "reader.safetensors"
CROSS_WEIGHTS = WEIGHTS.with_name("cross.safetensors")  # the cross reader (qa.reader.cross)
BATCH = 32
# the scout's margin in the best story from which the other stories go unread (Reader.confident).
# A margin is a span's score minus "no answer"'s, so 0 means the same for any weights: the scout
# itself would answer. Chosen for the shipped head on CMRC train's held-out selection paragraphs
# (a development set), open domain (bench/early_exit.py, README thirteenth round): at 0, 91% of
# questions stop after the best story, with the same EM and F1 as reading all (99% of answers the same)
CONFIDENT: float | None = 0.0
# with the head leading, the calibrated score under which the cross reader reads too although the
# head answers; None: only when the head declines. 0.5: the value a rule chose on CMRC train's
# selection paragraphs (a development set: at most 30% of questions read twice) with ARBITRATE
# (README, seventeenth round; the fifteenth round's 0.45 without it cost the headline question
# its attendees)
HAND_OFF: float | None = 0.5
# with the head leading and answering at HAND_OFF or more, the cross reader reads too when the
# head's best other answer scores within this much of its best (Reader._runner_up); None: never.
# 0.1, fixed by a rule before its numbers: selection F1 67.1 -> 68.0, first citation 0.870 -> 0.874,
# read stage 25.3 -> 35.7 ms p50 (bench/reader_rounds.md, twenty-seventh round)
HAND_OFF_GAP: float | None = 0.1
# when both readers answer (after a hand-off), the answer with the higher calibrated score (True);
# False: the cross reader's whenever it beats its own threshold (the fifteenth round's rule)
ARBITRATE = True
# after a hand-off, the two readers' logits fused on the calibrated scale (Reader.fuse): None (the
# surer answer, ARBITRATE), "fused" (the fused span must beat the fused threshold) or "either" (it
# answers when either reader answers alone). "either" at 0.7 ships with the twenty-ninth round's
# cross reader (bench/reader_rounds.md): with the earlier weights it gained on CMRC train's
# selection paragraphs (a development set) but lost the keyword query the suite guards
FUSE: str | None = "either"
# the head's weight in that fusion, the cross reader's 1 minus it: 0.7, the value the twentieth
# round's rule chose on the selection paragraphs from 0.6, 0.7 and 0.8
FUSE_WEIGHT = 0.7
# chunks the cross reader reads after the head (on a decline or a hand-off); 1 cost selection F1
# 0.4 and first citation 0.004 (README, eighteenth round: not shipped)
SECOND_KEEP = 2
KEEP = 2  # chunks every ensemble member reads, chosen by the first member (the scout); saved with new weights


@dataclass
class ReadSpan:
    """A span the reader found: ``text[start:end]`` of passage ``passage`` (index in the input)."""

    passage: int
    start: int
    end: int
    margin: float   # span score minus no-answer score
    score: float    # calibrated probability that the span answers the question


class Reader:
    def __init__(self, head: ReaderHead | Ensemble | None, threshold: float = 0.0,
                 calibration: tuple[float, float] = (1.0, 0.0), meta: dict | None = None, onnx=None,
                 overlap: bool = False, keep: int | None = None, cross: CrossReader | None = None,
                 lead: str = "cross"):
        self.head = head.eval() if head is not None else None  # the torch head, or None with ``onnx``
        # one runner per ensemble member (numpy inputs -> start, end, null logits)
        if onnx is not None:
            self.members = list(onnx) if isinstance(onnx, (list, tuple)) else [onnx]
        else:
            self.members = [_TorchRunner(m) for m in getattr(head, "members", [head])]
        self.onnx = onnx
        # whether the head reads the question-overlap features (pairs without them read as zeros)
        self.overlap = bool(head.config.get("overlap")) if head is not None else overlap
        # the cross reader (qa.reader.cross), when there is one, reads the chunks the head scouts.
        # One reader leads (answers first; its threshold and calibration are the reader's), the
        # other, ``second``, reads when the lead declines (None: nobody does)
        self.cross = cross
        if lead not in ("head", "cross"):
            raise ValueError(f"lead must be head or cross, not {lead!r}")
        self.lead = lead if cross is not None else "head"
        self.second: str | None = None if cross is None else "head" if self.lead == "cross" else "cross"
        own = {"head": (threshold, tuple(calibration))}
        if cross is not None:
            own["cross"] = (cross.threshold, tuple(cross.calibration))
        self.threshold, self.calibration = own[self.lead]
        self.second_threshold, self.second_calibration = own[self.second] if self.second else (None, None)
        # the lead's calibrated score under which the second reader reads although the lead answers
        # (None: only when it declines)
        self.hand_off: float | None = HAND_OFF if self.second == "cross" else None
        # when the head leads and answers: the cross reader also reads when the head's best other
        # answer (:meth:`_runner_up`) scores within this much of its best (None: never)
        self.hand_off_gap: float | None = HAND_OFF_GAP if self.second == "cross" else None
        # when both readers answer (after a hand-off), the answer with the higher calibrated score;
        # False: the second reader's
        self.arbitrate: bool = ARBITRATE
        # after a hand-off, both readers' logits fused (:meth:`_fused`) instead of one reader's
        # answer: None (off), "fused" (the fused span must beat the fused threshold) or "either"
        # (it answers when either reader answers alone)
        self.fuse: str | None = FUSE
        # the head's weight in the fusion (the cross reader's is 1 minus it)
        self.fuse_weight: float = FUSE_WEIGHT
        # how many of the pairs the scout ranks best the cross reader reads when it follows the head
        self.second_keep: int = SECOND_KEEP
        self.meta = meta or {}
        self.keep = KEEP if keep is None else keep
        # the scout's margin in the best story from which the other stories are not read
        # (``first`` in :meth:`read`); None: always read them all
        self.confident: float | None = CONFIDENT
        if self.keep < 1:
            raise ValueError(f"keep must be at least 1, not {self.keep}")

    # ------------------------------------------------------------ persistence

    @classmethod
    def load(cls, path: Path | str | None = None, runtime: str = "torch", cross: CrossReader | None = None,
             lead: str = "cross") -> Reader:
        """The reader in ``path`` (default: the shipped weights). ``runtime="onnx"`` runs the head
        through ONNX Runtime (exported on first use; torch only if the export must be made or
        fails). With ``cross``, the head scouts, and ``lead`` (head or cross) answers first."""
        from safetensors import safe_open

        path = Path(path or WEIGHTS)
        with safe_open(str(path), "numpy") as f:
            info = json.loads((f.metadata() or {}).get("reader", "{}"))
        settings = (info.get("threshold", 0.0), tuple(info.get("calibration", (1.0, 0.0))),
                    {k: v for k, v in info.items() if k not in ("config", "threshold", "calibration", "keep")})
        keep = info.get("keep")  # chunks the whole ensemble (or the cross reader) reads, saved with the weights
        if runtime == "onnx" and not info["config"].get("joint"):
            try:
                from .onnx_head import OnnxHead, export, head_files, prune, touch

                files = head_files(path, info["config"].get("members", 1))
                if not all(f.is_file() for f in files):
                    log.info("exporting the reader head to ONNX (once): %s", files[0].parent)
                    head = cls._torch_head(path, info)
                    for f, member in zip(files, getattr(head, "members", [head]), strict=True):
                        export(member, f)
                    prune(files)  # other weights files' exports, all but the latest few
                else:
                    touch(files)
                return cls(None, *settings, onnx=[OnnxHead(f) for f in files],
                           overlap=bool(info["config"].get("overlap")), keep=keep, cross=cross, lead=lead)
            except Exception as e:  # noqa: BLE001 - the torch head answers the same
                log.warning("reading through ONNX Runtime is not available (%s); using torch", e)
        return cls(cls._torch_head(path, info), *settings, keep=keep, cross=cross, lead=lead)

    @staticmethod
    def _torch_head(path: Path, info: dict) -> ReaderHead | Ensemble:
        from safetensors.torch import load_file

        from .model import build_head

        head = build_head(info["config"])
        head.load_state_dict({k: v.float() for k, v in load_file(str(path)).items()})
        return head.eval()

    def save(self, path: Path | str, **extra) -> Path:
        import torch
        from safetensors.torch import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        threshold, calibration = ((self.threshold, self.calibration) if self.lead == "head"
                                  else (self.second_threshold, self.second_calibration))  # the head's own
        info = {**self.meta, **extra, "config": self.head.config, "threshold": threshold,
                "calibration": list(calibration), "keep": self.keep}
        state = {k: v.detach().to(torch.float16).contiguous() for k, v in self.head.state_dict().items()}
        save_file(state, str(path), metadata={"reader": json.dumps(info, ensure_ascii=False)})
        return path

    # ------------------------------------------------------------ reading

    def probability(self, margin: float) -> float:
        return _probability(margin, self.calibration)

    def margin_at(self, score: float) -> float:
        """The margin whose calibrated score (:meth:`probability`) is ``score``, 0 < score < 1."""
        return _margin_at(score, self.calibration)

    def answer_from(self, score: float) -> None:
        """Answer only spans whose calibrated score is at least ``score`` (0 < score < 1): each
        reader's threshold becomes its own margin for that score."""
        self.threshold = _margin_at(score, self.calibration)
        if self.second is not None:
            self.second_threshold = _margin_at(score, self.second_calibration)

    def scores(self, pairs: Sequence[Pair], members: list | None = None) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(start, end, null) logits of each pair, characters in the passage's text: the mean over
        ``members`` (default: every member of the ensemble)."""
        members = members or self.members
        out = []
        for i in range(0, len(pairs), BATCH):
            chunk = pairs[i:i + BATCH]
            batch = head_inputs(arrays(chunk))
            runs = [m(**batch) for m in members]
            start, end, null = (np.mean([r[j] for r in runs], axis=0) for j in range(3))
            for j, p in enumerate(chunk):
                n = len(p.layout.token)
                out.append((np.asarray(start[j, :n]), np.asarray(end[j, :n]), float(null[j])))
        return out

    def read(self, pairs: Sequence[Pair], texts: list[str], k: int = 3,
             max_chars: int = MAX_ANSWER_CHARS, lists: bool = False, first: int | None = None) -> list[ReadSpan]:
        """The best spans over all pairs, best first (``k`` per pair at most); with ``lists`` (the
        question asks for several things), each widened to the coordination it stands in
        (:func:`~qa.reader.decode.coordination`), keeping its margin.

        With more than ``keep`` pairs and a second reader (the cross reader, or the ensemble's
        other members), the first member scouts: it scores the pairs, and only the ``keep``
        pairs where it found its best spans are read again, and answer. With the cross reader it
        always scouts: the cross reader reads each kept pair around the scout's best span when
        the pair is longer than its input (:meth:`~qa.reader.cross.CrossReader.input`).

        ``first``: the pairs come best source first, and the first ``first`` of them are the best
        source's (the best story's chunks). The scout reads those first; when its best span there
        beats no answer by :attr:`confident` or more, the other pairs are not read at all
        (:meth:`_scout`). A single head without the cross reader has no scout and reads every pair.

        With the cross reader, :attr:`lead` answers; when its best span misses :attr:`threshold`
        (or its calibrated score is below :attr:`hand_off`, when that is set, or, with the head
        leading, its best other answer scores within :attr:`hand_off_gap` of it), :attr:`second`
        reads the ``keep`` pairs the scout ranks best among those it read (after an early exit,
        the best story's only), and its spans answer if the best beats :attr:`second_threshold`
        (margins shifted onto the lead's scale, scores its own); else the lead's spans stand. When
        both answer, with :attr:`arbitrate` the one with the higher calibrated score stands. Set
        :attr:`second` to None for the lead alone.
        """
        # the first member scouts when another reader reads after it: the cross reader when it
        # leads, or the ensemble's other members when there are more pairs than they read
        order, found, scout = list(range(len(pairs))), [None] * len(pairs), None
        if self.lead == "cross" or (len(self.members) > 1 and len(pairs) > self.keep):
            scout, found = self._scout(pairs, texts, max_chars, first)
            order = self._kept(found)
        if self.lead == "head":
            head = self._head_scores(pairs, order, scout)
            spans = self._decode(head, [pairs[i].layout.valid for i in order], order, texts, k, max_chars, lists,
                                 self.calibration)
        else:
            spans = self._cross_spans(pairs, texts, order, found, k, max_chars, lists)
        # the lead answers (the answerer's test, answerability.accept, on the best span: the same
        # span while answerability.RETRIEVAL_PRIOR is 0) with a score of at least ``hand_off``, or
        # there is nobody after it
        answers = bool(spans) and spans[0].margin >= self.threshold
        sure = answers and (self.hand_off is None or spans[0].score >= self.hand_off)
        if sure and self.hand_off_gap is not None and self.lead == "head":
            sure = spans[0].score - self._runner_up(spans, head, order, pairs, texts, max_chars) >= self.hand_off_gap
        if self.second is None or sure:
            return spans
        if self.second == "cross":
            if scout is None:  # the head read every pair (``order`` is all of them): its best spans
                found = _best_each(head, pairs, texts, max_chars)  # choose and centre the cross reader's
            order2 = self._kept(found, self.second_keep)
            cross, valids = self._cross_scores(pairs, texts, order2, found)
            other = self._decode(cross, valids, order2, texts, k, max_chars, lists, self.cross.calibration)
            if self.fuse:
                second_answers = bool(other) and other[0].margin >= self.second_threshold
                return self._fused(dict(zip(order, head, strict=True)), cross, valids, order2, pairs, texts,
                                   k, max_chars, lists, answers or second_answers)
        else:
            other = self._decode(self._head_scores(pairs, order, scout), [pairs[i].layout.valid for i in order],
                                 order, texts, k, max_chars, lists, self.second_calibration)
        # the second reader's margins on the lead's scale: beating ``threshold`` there is beating
        # its own ``second_threshold``; its scores stay its own
        shift = self.threshold - self.second_threshold
        shifted = [ReadSpan(r.passage, r.start, r.end, r.margin + shift, r.score) for r in other]
        second_answers = bool(other) and other[0].margin >= self.second_threshold
        if answers and second_answers and self.arbitrate and spans[0].score >= other[0].score:
            return spans  # both answer: the surer one, by calibrated score
        if not spans or second_answers:
            return shifted
        return spans  # the second declines: the lead's spans (an answer if they beat its threshold)

    def _runner_up(self, spans: list[ReadSpan], scored, order, pairs, texts, max_chars) -> float:
        """The calibrated score of the lead's best other answer: the best span whose text neither
        holds nor is held by the best one's, among the best span of every other pair read and the
        best spans before and after the best one in its own pair (0 when there is none)."""
        best = spans[0]
        text = texts[best.passage][best.start:best.end]

        def other(t: str) -> bool:
            return bool(t) and t not in text and text not in t

        scores = [r.score for r in spans[1:] if other(texts[r.passage][r.start:r.end])]
        s, e, null = scored[order.index(best.passage)]
        valid = pairs[best.passage].layout.valid
        at = np.arange(len(valid))
        for side in (at < best.start, at >= best.end):
            for a, b, margin in best_spans(s, e, null, valid & side, texts[best.passage], max_chars, 1):
                if other(texts[best.passage][a:b]):
                    scores.append(_probability(margin, self.calibration))
        return max(scores, default=0.0)

    def _kept(self, found: list, n: int | None = None) -> list[int]:
        """The ``n`` (default ``keep``) pairs where the scout found its best spans, in input order."""
        best = [f[2] if f else -np.inf for f in found]
        return sorted(np.argsort(-np.asarray(best), kind="stable")[:n or self.keep].tolist())

    def _cross_spans(self, pairs, texts, order, found, k, max_chars, lists) -> list[ReadSpan]:
        """The cross reader's best spans in the pairs ``order``, each read around the scout's span."""
        scored, valids = self._cross_scores(pairs, texts, order, found)
        return self._decode(scored, valids, order, texts, k, max_chars, lists, self.cross.calibration)

    def _cross_scores(self, pairs, texts, order, found) -> tuple[list, list[np.ndarray]]:
        """The cross reader's (start, end, null) logits of the pairs ``order``, each read around the
        scout's span, and which characters it read."""
        inputs = [self.cross.input(pairs[i].question, pairs[i].title, texts[i], found[i][:2] if found[i] else None)
                  for i in order]
        return self.cross.scores(inputs), [x.layout.valid for x in inputs]

    def _fused(self, head: dict, cross, valids, order, pairs, texts, k, max_chars, lists,
               either_answers: bool) -> list[ReadSpan]:
        """Spans from both readers' logits averaged on the calibrated log-odds scale, for the
        pairs ``order`` the cross reader read (the head read them too: they are the scout's best).

        A span's calibrated log-odds is ``a * margin + b`` for each reader's (a, b), and a margin is
        ``start + end - 2 * null``. So each reader's logits are scaled by its ``a`` and averaged,
        weighted by :attr:`fuse_weight` (the head's share): a fused span's margin is the weighted
        mean of the two readers' scaled margins, the fused calibration (1, the weighted mean of the
        b's), the fused threshold the weighted mean of the two scaled thresholds. The margins
        returned are on the head's scale (beating :attr:`threshold` is beating the fused
        threshold); with :attr:`fuse` ``"either"``, the best fused span answers whenever
        ``either_answers`` (either reader answered alone)."""
        w = self.fuse_weight
        (a_h, b_h), (a_c, b_c) = self.calibration, self.second_calibration
        a_h, a_c = w * a_h, (1 - w) * a_c
        scored, valid, read = [], [], []
        for i, (s, e, null), v in zip(order, cross, valids, strict=True):
            if i not in head:
                continue
            hs, he, hn = head[i]
            scored.append((a_h * hs + a_c * s, a_h * he + a_c * e, a_h * hn + a_c * null))
            valid.append(pairs[i].layout.valid & v)
            read.append(i)
        spans = self._decode(scored, valid, read, texts, k, max_chars, lists, (1.0, w * b_h + (1 - w) * b_c))
        shift = self.threshold - (a_h * self.threshold + a_c * self.second_threshold)
        if spans and self.fuse == "either" and either_answers:
            shift = max(shift, self.threshold - spans[0].margin)
        return [ReadSpan(r.passage, r.start, r.end, r.margin + shift, r.score) for r in spans]

    @staticmethod
    def _decode(scored, valids, order, texts, k, max_chars, lists, calibration) -> list[ReadSpan]:
        """Spans from (start, end, null) logits of the pairs ``order``, best first, scored with
        ``calibration``."""
        spans = []
        for i, (s, e, null), valid in zip(order, scored, valids, strict=True):
            for a, b, margin in best_spans(s, e, null, valid, texts[i], max_chars, k):
                if lists:
                    a, b = coordination(s, e, valid, texts[i], a, b)
                spans.append(ReadSpan(i, a, b, margin, _probability(margin, calibration)))
        spans.sort(key=lambda r: -r.margin)
        return spans

    def _head_scores(self, pairs, order, scout) -> list:
        """The whole head's (start, end, null) logits for the pairs ``order``: without a scout, every
        member reads them; with one, the other members do and the mean takes in the scout's."""
        if scout is None:
            return self.scores([pairs[i] for i in order])
        if len(self.members) == 1:
            return [scout[i] for i in order]
        rest = self.scores([pairs[i] for i in order], self.members[1:])
        n = len(self.members)  # the mean over all members, from the scout's and the others' means
        return [tuple((a + (n - 1) * b) / n for a, b in zip(scout[i], r, strict=True))
                for i, r in zip(order, rest, strict=True)]

    def _scout(self, pairs: Sequence[Pair], texts: list[str], max_chars: int, first: int | None):
        """The scout's (start, end, null) logits and best span for the pairs it read: all of them,
        or only the first ``first`` when its best span among them has a margin of at least
        :attr:`confident` (the pairs after them are then not read, and not returned)."""
        cut = self._first_cut(len(pairs), first)
        scout, found = self._scout_part(pairs[:cut], texts[:cut], max_chars)
        if cut < len(pairs) and best_margin(found) < self.confident:  # not confident in the best source
            more, more_found = self._scout_part(pairs[cut:], texts[cut:], max_chars)
            scout, found = scout + more, found + more_found
        return scout, found

    def _scout_part(self, pairs: Sequence[Pair], texts: list[str], max_chars: int):
        got = self.scores(pairs, self.members[:1])
        return got, _best_each(got, pairs, texts, max_chars)

    def _first_cut(self, n: int, first: int | None) -> int:
        """How many of ``n`` pairs the scout reads before it decides on the rest: ``first``, or all
        of them when there is no exit (``confident`` None, ``first`` missing, 0, or ``n`` or more)."""
        if self.confident is None or first is None or not 0 < first < n:
            return n
        return first


def _best_each(scored: list, pairs: Sequence[Pair], texts: list[str], max_chars: int) -> list:
    """The best span (start, end, margin), or None, in each pair from its (start, end, null) logits."""
    return [next(iter(best_spans(s, e, null, p.layout.valid, text, max_chars, 1)), None)
            for (s, e, null), p, text in zip(scored, pairs, texts, strict=True)]


def _probability(margin: float, calibration) -> float:
    a, b = calibration
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, a * margin + b))))


def _margin_at(score: float, calibration) -> float:
    a, b = calibration
    return (math.log(score / (1.0 - score)) - b) / a


def best_margin(found: list) -> float:
    """The best margin among the scout's best spans (``(start, end, margin)`` or None per pair)."""
    return max((f[2] for f in found if f), default=-np.inf)


class _TorchRunner:
    """A torch head called like :class:`~qa.reader.onnx_head.OnnxHead`: numpy in, numpy out."""

    def __init__(self, head):
        self.head = head

    def __call__(self, **batch: np.ndarray):
        import torch

        with torch.inference_mode():
            start, end, null = self.head(**{k: torch.from_numpy(v) for k, v in batch.items()})
        return start.numpy(), end.numpy(), null.numpy()
