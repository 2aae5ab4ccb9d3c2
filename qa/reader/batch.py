"""Padding (question, passage) pairs into the tensors the head reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chars import CHAR_FEATURES, OVERLAP_FEATURES, CharLayout


@dataclass
class Pair:
    p_states: np.ndarray   # (tokens, dim) float16/32
    p_ids: np.ndarray
    q_states: np.ndarray
    q_ids: np.ndarray
    layout: CharLayout
    target: tuple[int, int] = (-1, -1)  # first and last answer character, or no answer
    overlap: np.ndarray | None = None   # (chars, 2) what the question repeats (chars.question_overlap)
    question: str = ""                  # the question and the passage's title as text, for the cross
    title: str = ""                     # reader (qa.reader.cross), which reads them with the passage


class LazyPairs(Sequence):
    """Pairs made when the reader first reads them, by ``make(i)``: with the scout's early exit
    (:attr:`~qa.reader.reader.Reader.confident`) most questions read only the best story's chunks,
    and the other chunks' states need not be unpacked."""

    def __init__(self, n: int, make: Callable[[int], Pair]):
        self._made: list[Pair | None] = [None] * n
        self._make = make

    def __len__(self) -> int:
        return len(self._made)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = range(len(self))[i]  # IndexError past the end, as a list
        if self._made[i] is None:
            self._made[i] = self._make(i)
        return self._made[i]

    def made(self) -> int:
        """How many pairs have been made so far."""
        return sum(p is not None for p in self._made)


def random_pair(rng: np.random.Generator, tp: int, tq: int, chars: int, dim: int = 1152) -> Pair:
    """A pair of random states and features of the given sizes (tracing the head for export; tests)."""
    layout = CharLayout(np.sort(rng.integers(0, tp, chars)), rng.random((chars, CHAR_FEATURES), dtype=np.float32),
                        np.ones(chars, bool))
    return Pair(rng.standard_normal((tp, dim)).astype(np.float32), rng.integers(5, 999, tp),
                rng.standard_normal((tq, dim)).astype(np.float32), rng.integers(5, 999, tq), layout,
                overlap=(rng.random((chars, OVERLAP_FEATURES)) > 0.5).astype(np.float32))


def collate(pairs: list[Pair]) -> dict:
    """The padded batch as torch tensors (training, and the torch head)."""
    import torch

    return {k: torch.from_numpy(v) for k, v in arrays(pairs).items()}


def arrays(pairs: list[Pair]) -> dict[str, np.ndarray]:
    """The padded batch as numpy arrays (the head's inputs and the training targets)."""
    b = len(pairs)
    tp = max(len(p.p_ids) for p in pairs)
    tq = max(len(p.q_ids) for p in pairs)
    tc = max(max(len(p.layout.token) for p in pairs), 1)
    dim = pairs[0].p_states.shape[1]
    p_states = np.zeros((b, tp, dim), np.float32)
    q_states = np.zeros((b, tq, dim), np.float32)
    p_ids = np.full((b, tp), 1, np.int64)
    q_ids = np.full((b, tq), 1, np.int64)
    p_mask = np.zeros((b, tp), bool)
    q_mask = np.zeros((b, tq), bool)
    char_tok = np.zeros((b, tc), np.int64)
    char_feats = np.zeros((b, tc, CHAR_FEATURES + OVERLAP_FEATURES), np.float32)  # layout, then overlap
    char_mask = np.zeros((b, tc), bool)
    targets = np.full((b, 2), -1, np.int64)
    for i, p in enumerate(pairs):
        n, m, c = len(p.p_ids), len(p.q_ids), len(p.layout.token)
        p_states[i, :n] = p.p_states
        q_states[i, :m] = p.q_states
        p_ids[i, :n], q_ids[i, :m] = p.p_ids, p.q_ids
        p_mask[i, :n], q_mask[i, :m] = True, True
        if c:
            char_tok[i, :c] = p.layout.token
            char_feats[i, :c, :CHAR_FEATURES] = p.layout.features
            if p.overlap is not None:
                char_feats[i, :c, CHAR_FEATURES:] = p.overlap
            char_mask[i, :c] = p.layout.valid
        targets[i] = p.target
    return dict(p_states=p_states, p_mask=p_mask, p_ids=p_ids, q_states=q_states, q_mask=q_mask, q_ids=q_ids,
                char_tok=char_tok, char_feats=char_feats, char_mask=char_mask, targets=targets)


def head_inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k != "targets"}
