"""Hybrid retrieval: BM25 and dense results fused, then re-scored with the question's constraints.

Chunks are retrieved; stories are ranked. A story that mentions the date the question names
beats one that does not, and every name or place of the question the story contains counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .dates import covers
from .index import Index
from .question import Question
from .script import fold
from .story import Story
from .tokenize import PLACE_SUFFIXES

RRF_K = 60
CANDIDATES = 100  # chunks taken from each retriever
# What a satisfied constraint is worth: a first place in one ranking (RRF), or a tenth of a
# perfect score (weighted).
CONSTRAINT_VOTE = {"rrf": 1.0 / (RRF_K + 1), "weighted": 0.1}


@dataclass
class StoryHit:
    story: Story
    score: float
    chunks: list[tuple[int, float]] = field(default_factory=list)  # (chunk number, fused score)
    date_ok: bool | None = None  # None: the question names no date
    names_found: list[str] = field(default_factory=list)


def name_in(name: str, text: str) -> bool:
    """``name`` is in ``text``, also as a place written in full (管城区 in 管城回族区)."""
    if name in text:
        return True
    for suffix in PLACE_SUFFIXES:
        stem = name.removesuffix(suffix)
        if stem != name and len(stem) >= 2:
            return re.search(re.escape(stem) + r"[\u4e00-\u9fff]{0,3}" + re.escape(suffix), text) is not None
    return False


def story_mentions_date(story: Story, date_norms: list[str]) -> bool:
    return any(covers(m.norm, d) for d in date_norms for m in story.dates) or \
        any(story.date and covers(story.date, d) for d in date_norms)


def rank_fusion(rankings: list[np.ndarray], n: int) -> np.ndarray:
    """Reciprocal-rank fusion of several rankings (chunk numbers, best first)."""
    fused = np.zeros(n, dtype=np.float64)
    for ranking in rankings:
        fused[ranking] += 1.0 / (RRF_K + 1 + np.arange(len(ranking)))
    return fused


def weighted_fusion(bm25: np.ndarray, dense: dict[int, float], n: int, alpha: float = 0.5) -> np.ndarray:
    """alpha × dense cosine + (1 − alpha) × BM25 scaled to [0, 1]."""
    fused = np.zeros(n, dtype=np.float64)
    top = bm25.max()
    if top > 0:
        fused += (1 - alpha) * bm25 / top
    for i, s in dense.items():
        fused[i] += alpha * s
    return fused


def retrieve(index: Index, qvec: np.ndarray, q: Question, fusion: str = "weighted", limit: int = 10) -> list[StoryHit]:
    """Stories ranked for the question (``qvec``: its embedding), best first, each with its best chunks."""
    n = len(index.chunks)
    if n == 0:
        return []
    query_tokens = index.tokenizer(q.norm) + [k for k in q.keywords if k not in q.norm]
    bm25 = index.bm25.scores(query_tokens)
    k = min(CANDIDATES, n)
    bm25_top = np.argsort(-bm25, kind="stable")[:k]
    bm25_top = bm25_top[bm25[bm25_top] > 0]
    dense_scores, dense_top = index.dense.search(qvec, k)
    if fusion == "rrf":
        fused = rank_fusion([bm25_top, dense_top], n)
    else:
        fused = weighted_fusion(bm25, dict(zip(dense_top.tolist(), dense_scores.tolist())), n)

    hits: dict[str, StoryHit] = {}
    for i in np.nonzero(fused)[0]:
        chunk = index.chunks[i]
        hit = hits.get(chunk.story_id)
        if hit is None:
            hit = hits[chunk.story_id] = StoryHit(index.stories[chunk.story_id], 0.0)
        hit.chunks.append((int(i), float(fused[i])))
    for hit in hits.values():
        hit.chunks.sort(key=lambda c: -c[1])
        hit.score = hit.chunks[0][1] + 0.1 * sum(s for _, s in hit.chunks[1:3])
        _apply_constraints(hit, q, CONSTRAINT_VOTE[fusion])
    ranked = sorted(hits.values(), key=lambda h: -h.score)
    return ranked[:limit]


def _apply_constraints(hit: StoryHit, q: Question, vote: float) -> None:
    story = hit.story
    if q.dates:
        hit.date_ok = story_mentions_date(story, q.date_norms)
        hit.score += 2 * vote if hit.date_ok else -vote
    text = story.folded
    hit.names_found = [n for n in q.names if name_in(n, text)]
    hit.score += vote * len(hit.names_found)
    title = fold(story.title + story.subtitle)
    hit.score += 0.5 * vote * sum(1 for e in q.events if e in title)
