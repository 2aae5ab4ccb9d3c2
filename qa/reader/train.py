"""Training the reader head: ``python -m qa train-reader`` (see the README and the model card).

Data: CMRC 2018 train and DRCD dev (traditional, and simplified with OpenCC), chunked as the
index chunks stories. Each answerable question gives its positive chunk and, every epoch, one
negative: another chunk of its paragraph or a chunk of another paragraph that dense retrieval
ranks high, never one that holds an answer string. Selection (best epoch, no-answer threshold,
calibration) uses held-out CMRC train paragraphs; DRCD's held-out paragraphs and the CMRC 2018
trial set are only reported. Seeded: the same data and seed give the same weights. The shipped
reader is an ensemble: ``members`` heads trained alike, member ``i`` from seed ``seed + i``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..embedder import model_id
from ..evaluate import exact_match, f1_score
from ..script import fold
from ..sentences import split_sentences
from ..settings import DEFAULT_MODEL, ENCODERS
from ..tokenize import NAME_TAGS, Tokenizer
from . import sets
from .batch import Pair, collate, head_inputs
from .chars import CharLayout, char_layout, is_punct, question_overlap
from .data import ReadingSet
from .features import SetFeatures, StateTable, cached_features, cached_queries
from .keywords import keyword_form
from .model import Ensemble, ReaderHead, span_loss, with_joint
from .reader import Reader

log = logging.getLogger("qa.reader")

NEGATIVES_RETRIEVED = 4


class PairSource:
    """(question, passage) pairs of one set, built from its cached token states."""

    def __init__(self, f: SetFeatures):
        self.f = f
        self.data: ReadingSet = f.data
        self._layouts: dict[int, CharLayout] = {}
        self.keyword_rows: dict[int, int] = {}  # question -> its keyword form's row in ``keywords``
        self.keyword_texts: list[str] = []
        self.keywords: StateTable | None = None
        self._cuts: dict[int, tuple[int, int] | None] = {}

    def with_keywords(self, embedder_factory) -> PairSource:
        """Load (encoding once, beside the set's features) the keyword forms of the questions
        that have one."""
        for i, q in enumerate(self.data.questions):
            form = keyword_form(q.question)
            if form:
                self.keyword_rows[i] = len(self.keyword_texts)
                self.keyword_texts.append(form)
        if self.keyword_texts:
            self.keywords = cached_queries(self.f, self.keyword_texts, "keywords", embedder_factory)
        return self

    @property
    def name(self) -> str:
        return self.data.name

    def layout(self, p: int) -> CharLayout:
        if p not in self._layouts:
            self._layouts[p] = char_layout(self.data.passages[p].text, self.f.passages.offsets[self.f.passages.rows(p)])
        return self._layouts[p]

    def _question(self, q: int, keyword: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """Question ``q``'s token states, ids, offsets and text (its keyword form's when ``keyword``)."""
        Q, row, text = self.f.questions, q, self.data.questions[q].question
        if keyword:
            Q, row = self.keywords, self.keyword_rows[q]
            text = self.keyword_texts[row]
        rows = Q.rows(row)
        return Q.states[rows], Q.ids[rows], Q.offsets[rows], text

    def pair(self, q: int, p: int, answer: bool, keyword: bool = False,
             hide: random.Random | None = None) -> Pair:
        """Question ``q`` (in keyword form when ``keyword``) with passage ``p``. With ``hide``, one
        word of two or more characters that the question shares with the passage, drawn with it,
        is not seen as repeated (see :func:`hide_word`): the question as if it had reworded it."""
        P = self.f.passages
        q_states, q_ids, q_offsets, text = self._question(q, keyword)
        passage = self.data.passages[p].text
        seen = text
        if hide is not None:
            q_ids, seen = hide_word(text, passage, q_ids, q_offsets, hide)
        target = self.target(q, p) if answer else (-1, -1)
        return Pair(P.states[P.rows(p)], P.ids[P.rows(p)], q_states, q_ids,
                    self.layout(p), target, question_overlap(passage, seen),
                    question=fold(text), title=fold(self.data.passages[p].title))

    def cut(self, q: int) -> tuple[int, int] | None:
        """The sentences of question ``q``'s gold chunk that hold its answer, as (start, end) in the
        chunk's text, when cutting them leaves a passage that still says something (20 characters)
        and holds no answer string; else None. See :meth:`cut_pair`."""
        if q not in self._cuts:
            self._cuts[q] = None
            item = self.data.questions[q]
            if item.chunk >= 0:
                text = self.data.passages[item.chunk].text
                a, b = item.span
                spans = [(s, e) for s, e in split_sentences(text) if s < b and e > a]
                if spans:
                    s, e = spans[0][0], spans[-1][1]
                    rest = text[:s] + text[e:]
                    if len(rest.strip()) >= 20 and not any(x and x in rest for x in item.answers):
                        self._cuts[q] = (s, e)
        return self._cuts[q]

    def cut_pair(self, q: int, keyword: bool = False) -> Pair:
        """Question ``q`` with its gold chunk, the sentences holding the answer cut out: a passage
        on the question's own subject, repeating its words, that lacks what it asks (no answer).
        The cut tokens' rows are dropped from the cached states; the others keep theirs (the
        encoder saw the whole chunk, so they carry a little of what was cut)."""
        p = self.data.questions[q].chunk
        s, e = self.cut(q)
        rows = self.f.passages.rows(p)
        offsets = np.asarray(self.f.passages.offsets[rows])
        starts = offsets[:, 0]
        keep = (starts < s) | (starts >= e)  # title tokens (-1) stay
        shifted = offsets[keep].copy()
        before, after = (shifted[:, 0] >= 0) & (shifted[:, 0] < s), shifted[:, 0] >= e
        shifted[before, 1] = np.minimum(shifted[before, 1], s)  # a piece running into the cut ends at it
        shifted[after] -= e - s
        text = self.data.passages[p].text
        text = text[:s] + text[e:]
        q_states, q_ids, _, question = self._question(q, keyword)
        return Pair(self.f.passages.states[rows][keep], self.f.passages.ids[rows][keep], q_states, q_ids,
                    char_layout(text, shifted), (-1, -1), question_overlap(text, question))

    def target(self, q: int, p: int) -> tuple[int, int]:
        """First and last answer character, moved inwards onto characters an answer may use."""
        a, b = self.data.questions[q].span
        valid = np.flatnonzero(self.layout(p).valid[a:b])
        return (a + int(valid[0]), a + int(valid[-1])) if len(valid) else (-1, -1)

    def passage_tokens(self, p: int) -> int:
        return int(self.f.passages.bounds[p + 1] - self.f.passages.bounds[p])

    def negatives(self, k: int = NEGATIVES_RETRIEVED) -> dict[int, tuple[list[int], list[int]]]:
        """Per question: (other chunks of its paragraph, top retrieved chunks of other paragraphs),
        none holding an answer string."""
        qv, pv = self.f.questions.vectors, self.f.passages.vectors
        out = {}
        for lo in range(0, len(qv), 1024):
            sims = qv[lo:lo + 1024] @ pv.T
            top = np.argsort(-sims, axis=1)[:, :k * 6]
            for j, row in enumerate(top):
                qi = lo + j
                q = self.data.questions[qi]
                clean = [p for p in row if not self._holds_answer(p, q.answers)]
                retrieved = [int(p) for p in clean if self.data.passages[p].paragraph != q.paragraph][:k]
                same = [p for p in self.data.paragraph_chunks[q.paragraph]
                        if p != q.chunk and not self._holds_answer(p, q.answers)]
                out[qi] = (same, retrieved)
        return out

    def _holds_answer(self, p: int, answers: list[str]) -> bool:
        text = self.data.passages[p].text
        return any(a and a in text for a in answers)


# ---------------------------------------------------------------- training


@dataclass
class TrainConfig:
    epochs: int = 6
    batch: int = 32
    lr: float = 1.5e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    seed: int = sets.SEED
    max_steps: int | None = None       # stop early (tests)
    dim: int = 128
    layers: int = 2
    cross: bool = True                 # every head layer also attends over the question (as shipped)
    overlap: bool = True               # question-overlap features (chars.question_overlap)
    members: int = 3                   # heads in the ensemble, member i seeded ``seed + i``
    joint: int = 0                     # top encoder layers fine-tuned jointly in a second stage
    joint_epochs: int = 2
    joint_lr: float = 1e-4             # for the encoder layers; the head gets joint_head_lr
    joint_head_lr: float = 5e-4
    init: str | None = None            # start from these trained head weights (skips stage 1)
    keyword_share: float = 0.4         # chance a question with a keyword form is read in it, per epoch
    # chance a question's negative is its own gold chunk with the answer's sentences cut out
    # (PairSource.cut_pair), instead of another chunk; 0 keeps the epochs exactly as before
    cut_share: float = 0.0
    # chance a training pair is read blind to what the question repeats (no token-id match flag, no
    # overlap features), as an English question over Chinese text always is; 0 keeps the epochs as before
    overlap_dropout: float = 0.0
    # chance a training pair hides one word the question shares with the passage (hide_word), as a
    # question that rewords it would; 0 keeps the epochs as before
    hide_share: float = 0.0
    # how the encoder runs for the training features. fp32 (torch), although the product reads int8
    # states: trained on int8 states, a head learned worse (README, fifth round of issue 9)
    encoder: str = "torch"

    def check(self) -> None:
        """Raise ValueError for settings that cannot train (before any slow work starts)."""
        if self.members < 1 or self.epochs < 1:
            raise ValueError("members and epochs must be at least 1")
        for name in ("keyword_share", "cut_share", "overlap_dropout", "hide_share"):  # chances
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, not {self.encoder!r}")
        if self.members > 1 and (self.joint or self.init):
            raise ValueError("an ensemble (members > 1) trains stage 1 only: --joint and --init need --members 1")


@dataclass
class Job:
    """A set and the questions of it that are trained on."""

    source: PairSource
    questions: list[int]
    negatives: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict)


def epoch_examples(jobs: list[Job], rng: random.Random, keyword_share: float = 0.0,
                   cut_share: float = 0.0) -> list[tuple[Job, int, int, bool, bool, bool]]:
    """(job, question, passage, holds the answer, question in keyword form, answer cut out) for
    one epoch: each answerable question's positive and one negative, both in keyword form with
    chance ``keyword_share`` when the question has one. With chance ``cut_share`` the negative is
    the positive chunk with the answer's sentences cut out (when that leaves a passage)."""
    out = []
    for job in jobs:
        for qi in job.questions:
            q = job.source.data.questions[qi]
            if q.chunk < 0:
                continue
            keyword = bool(keyword_share) and qi in job.source.keyword_rows and rng.random() < keyword_share
            out.append((job, qi, q.chunk, True, keyword, False))
            if cut_share and rng.random() < cut_share and job.source.cut(qi) is not None:
                out.append((job, qi, q.chunk, False, keyword, True))
                continue
            same, retrieved = job.negatives.get(qi, ([], []))
            pool = same if (same and (rng.random() < 0.5 or not retrieved)) else retrieved
            if pool:
                out.append((job, qi, rng.choice(pool), False, keyword, False))
    return out


def batches(examples: list, size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of similar passage lengths (less padding, same randomness per seed)."""
    rng.shuffle(examples)
    out = []
    group = size * 32
    for g in range(0, len(examples), group):
        block = sorted(examples[g:g + group], key=lambda x: x[0].source.passage_tokens(x[2]))
        out += [block[i:i + size] for i in range(0, len(block), size)]
    rng.shuffle(out)
    return out


REWORDED_POS = ("v", "n", "a")  # jieba tags of the words a question rewords: verbs, nouns, adjectives
# (but not NAME_TAGS: names, places and organisations stay as printed)


@lru_cache(maxsize=1)
def _tagger() -> Tokenizer:
    return Tokenizer()  # plain jieba, no corpus words: training data is not the corpus


def hide_word(question: str, passage: str, q_ids: np.ndarray, q_offsets: np.ndarray,
              rng: random.Random) -> tuple[np.ndarray, str]:
    """One word of ``question`` (jieba, two or more characters, no punctuation, a verb, noun or
    adjective but not a name, place or organisation) that ``passage`` also holds, drawn with
    ``rng``, hidden from the question-overlap signals: the question tokens over it get id -1 (they
    match nothing) and it is cut from the text the overlap features are computed from. Its token
    states stay: the encoder still read it, as it reads a synonym.
    Returns (ids, text for the overlap features); unchanged when no word qualifies."""
    words, s = set(), 0
    for word, flag in _tagger().tagged(question):
        e = s + len(word)
        if (e - s >= 2 and flag[:1] in REWORDED_POS and flag not in NAME_TAGS
                and not any(is_punct(c) for c in word) and word in passage):
            words.add((s, e))
        s = e
    words = sorted(words)
    if not words:
        return q_ids, question
    s, e = words[rng.randrange(len(words))]
    over = (q_offsets[:, 0] >= 0) & (q_offsets[:, 0] < e) & (q_offsets[:, 1] > s)
    ids = q_ids.copy()
    ids[over] = -1
    return ids, question[:s] + "，" + question[e:]  # a break, so no new two-character word forms


def blind(pair: Pair) -> Pair:
    """``pair`` without what the question repeats: no question token id matches a passage token and
    the overlap features are zero, as for a question in another script or language than the passage."""
    overlap = None if pair.overlap is None else np.zeros_like(pair.overlap)
    return replace(pair, q_ids=np.full_like(pair.q_ids, -1), overlap=overlap)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_head(jobs: list[Job], cfg: TrainConfig, in_dim: int, evaluate=None, log_every: int = 100,
               head: ReaderHead | None = None) -> tuple[ReaderHead, list[float], list[dict]]:
    """Fit a head; ``evaluate(head) -> dict with "f1"`` picks the best epoch when given.

    Without ``head``, a new head is trained for ``cfg.epochs`` at ``cfg.lr`` (stage 1). With a
    head that has joint layers (stage 2), it is trained on for ``cfg.joint_epochs``, the
    encoder layers at ``cfg.joint_lr`` and the rest at ``cfg.joint_head_lr``.
    Returns the head (best epoch's weights), the loss of every step, and the epoch reports.
    """
    seed_everything(cfg.seed)
    rng = random.Random(cfg.seed)
    blind_rng = random.Random(cfg.seed + 1)  # their own streams: the epochs stay as without them
    hide_rng = random.Random(cfg.seed + 2)
    if head is None:
        head = ReaderHead(in_dim=in_dim, dim=cfg.dim, layers=cfg.layers, cross=cfg.cross, overlap=cfg.overlap)
        groups = [{"params": list(head.parameters()), "lr": cfg.lr}]
        epochs = cfg.epochs
    else:
        enc = [p for n, p in head.named_parameters() if n.startswith("joint.")]
        rest = [p for n, p in head.named_parameters() if not n.startswith("joint.")]
        groups = [{"params": enc, "lr": cfg.joint_lr}, {"params": rest, "lr": cfg.joint_head_lr}]
        epochs = cfg.joint_epochs
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    per_epoch = math.ceil(len(epoch_examples(jobs, random.Random(0))) / cfg.batch)
    total = per_epoch * epochs if cfg.max_steps is None else min(cfg.max_steps, per_epoch * epochs)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    losses: list[float] = []
    reports: list[dict] = []
    best, best_state = -1.0, None
    step = 0
    for epoch in range(epochs):
        head.train()
        t0 = time.perf_counter()
        for batch in batches(epoch_examples(jobs, rng, cfg.keyword_share, cfg.cut_share), cfg.batch, rng):
            pairs = [job.source.cut_pair(qi, kw) if cut else
                     job.source.pair(qi, p, ans, kw,
                                     hide_rng if cfg.hide_share and hide_rng.random() < cfg.hide_share else None)
                     for job, qi, p, ans, kw, cut in batch]
            if cfg.overlap_dropout:
                pairs = [blind(x) if blind_rng.random() < cfg.overlap_dropout else x for x in pairs]
            inputs = collate(pairs)
            start, end, null = head(**head_inputs(inputs))
            loss = span_loss(start, end, null, inputs["char_mask"], inputs["targets"])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if step % log_every == 0:
                log.info("epoch %d step %d/%d loss %.3f (%.2f s/step)", epoch + 1, step, total,
                         float(np.mean(losses[-log_every:])),
                         (time.perf_counter() - t0) / max(1, step - epoch * per_epoch))
            if step >= total:
                break
        report = {"epoch": epoch + 1, "steps": step, "loss": round(float(np.mean(losses[-per_epoch:])), 4),
                  "minutes": round((time.perf_counter() - t0) / 60, 2)}
        if evaluate is not None:
            head.eval()
            report.update(evaluate(head))
            if report["f1"] > best:
                best, best_state = report["f1"], {k: v.clone() for k, v in head.state_dict().items()}
        reports.append(report)
        log.info("epoch %d: %s", epoch + 1, report)
        if step >= total:
            break
    if best_state is not None:
        head.load_state_dict(best_state)
    head.eval()
    return head, losses, reports


# ---------------------------------------------------------------- measuring


def read_best(reader: Reader, src: PairSource, qi: int, passages: list[int],
              keyword: bool = False, lists: bool = False) -> tuple[str, float] | None:
    """The reader's best span for question ``qi`` (in keyword form when ``keyword``; widened along
    its coordination when ``lists``) over ``passages``: (its text, its margin), or None."""
    spans = reader.read([src.pair(qi, p, False, keyword) for p in passages],
                        [src.data.passages[p].text for p in passages], k=1, lists=lists)
    if not spans:
        return None
    best = spans[0]
    return src.data.passages[passages[best.passage]].text[best.start:best.end], best.margin


def read_gold(reader: Reader, src: PairSource, questions: list[int], keyword: bool = False) -> dict:
    """EM and F1 (percent) with the gold paragraph's chunks as the only passages, and the share
    of questions whose best span clears the reader's threshold (answered)."""
    chunks = src.data.paragraph_chunks
    return gold_report(src.data, questions, reader.threshold,
                       lambda qi: read_best(reader, src, qi, chunks[src.data.questions[qi].paragraph], keyword))


def gold_report(data: ReadingSet, questions: list[int], threshold: float, best) -> dict:
    """EM and F1 (percent) of ``best(question)``'s span ((text, margin) or None) and the share
    of questions whose margin clears ``threshold`` (answered); any reader's gold-passage report."""
    em = f1 = answered = 0.0
    for qi in questions:
        q = data.questions[qi]
        found = best(qi)
        text = found[0] if found else ""
        em += exact_match(text, q.answers)
        f1 += f1_score(text, q.answers)
        answered += bool(found) and found[1] >= threshold
    n = max(1, len(questions))
    return {"em": round(100 * em / n, 2), "f1": round(100 * f1 / n, 2), "answered": round(answered / n, 3),
            "questions": len(questions)}


ANSWERABLE_SHARE = 0.75  # the product's prior: most questions asked of a news archive have an answer in it


def answerability(reader: Reader, src: PairSource, questions: list[int], negatives: dict) -> tuple[float, tuple, dict]:
    """Threshold and calibration from held-out questions: the gold paragraph (should answer)
    against the top retrieved wrong chunks (should decline); see :func:`threshold_from`."""
    threshold, calibration, stats, _ = threshold_from(
        src.data, questions, lambda qi, passages: read_best(reader, src, qi, passages),
        lambda qi: negatives.get(qi, ([], []))[1][:3])
    return threshold, calibration, stats


def threshold_from(data: ReadingSet, questions: list[int], best, wrong) -> tuple[float, tuple, dict, dict]:
    """Threshold, calibration and their statistics for any reader, from ``best(question,
    passages)`` ((text, margin) or None) on each question's gold paragraph (should answer) and on
    ``wrong(question)``, retrieved wrong chunks (should decline); also each question's best span on
    its gold paragraph.

    The threshold maximizes the expected score of a question, answerable with probability
    :data:`ANSWERABLE_SHARE`: the answer's F1 when answerable, 1 for declining when not.
    """
    pos, pos_f1, neg, gold = [], [], [], {}
    for qi in questions:
        q = data.questions[qi]
        found = gold[qi] = best(qi, data.paragraph_chunks[q.paragraph])
        if found:
            pos.append(found[1])
            pos_f1.append(f1_score(found[0], q.answers))
        passages = wrong(qi)
        found = best(qi, passages) if passages else None
        if found:
            neg.append(found[1])
    return (*choose_threshold(np.asarray(pos), np.asarray(pos_f1), np.asarray(neg)), gold)


def choose_threshold(pos_a: np.ndarray, f1_a: np.ndarray, neg_a: np.ndarray) -> tuple[float, tuple, dict]:
    """The threshold and calibration from the best spans' margins on gold paragraphs (``pos_a``,
    with their F1 ``f1_a``) and on wrong passages (``neg_a``); see :func:`threshold_from`."""
    candidates = np.unique(np.round(np.concatenate([pos_a, neg_a]), 2))
    value = [ANSWERABLE_SHARE * (f1_a * (pos_a >= t)).mean() + (1 - ANSWERABLE_SHARE) * (neg_a < t).mean()
             for t in candidates]
    threshold = float(candidates[int(np.argmax(value))])
    x = np.concatenate([pos_a, neg_a])
    y = np.concatenate([(f1_a >= 0.5).astype(float), np.zeros(len(neg_a))])
    calibration = platt(x, y)
    stats = {"threshold": round(threshold, 3), "answered_gold": round(float((pos_a >= threshold).mean()), 3),
             "declined_wrong": round(float((neg_a < threshold).mean()), 3),
             "expected_score": round(float(max(value)), 3), "answerable_share": ANSWERABLE_SHARE}
    return threshold, calibration, stats


def platt(x: np.ndarray, y: np.ndarray, steps: int = 100, l2: float = 1.0) -> tuple[float, float]:
    """Logistic calibration p = sigmoid(a x + b), fitted by damped Newton steps with a small L2
    penalty (keeps a separable sample from running off to infinity)."""
    a, b = 0.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(a * x + b, -30, 30)))
        w = p * (1 - p) + 1e-9
        g = np.array([((p - y) * x).sum() + l2 * a, (p - y).sum() + l2 * b])
        h = np.array([[(w * x * x).sum() + l2, (w * x).sum()], [(w * x).sum(), w.sum() + l2]])
        da, db = np.clip(np.linalg.solve(h, g), -5, 5)
        a, b = a - da, b - db
    return float(a), float(b)


# ---------------------------------------------------------------- the command


def joint_layers(embedder, head: ReaderHead, joint: int):
    """The encoder layers a joint stage copies: the ``joint`` layers after the input block's layer."""
    first = embedder.layers[head.config.get("joint_from", 1)]
    return embedder.encoder_layers[first:first + joint]


def run(data_dir: Path, trial: Path, out: Path, cache: Path, cfg: TrainConfig, embedder_factory) -> dict:
    """Cache features, train (stage 1: the head; stage 2, with ``cfg.joint``: the joint top
    layers), select, measure, and write the weights and the card."""
    cfg.check()
    t0 = time.perf_counter()
    variant = model_id(DEFAULT_MODEL, cfg.encoder)  # int8 states are cached apart from fp32 ones

    def features(rs):
        return PairSource(cached_features(rs, embedder_factory, cache, variant))

    cmrc = features(sets.cmrc_train(data_dir))
    drcd_t = features(sets.drcd(data_dir))
    drcd_s = features(sets.drcd(data_dir, simplified=True))
    trial_src = features(sets.cmrc_trial(trial)) if trial else None
    log.info("features ready in %.1f min", (time.perf_counter() - t0) / 60)

    cmrc_train_p, cmrc_select_p = sets.splits(cmrc.data)
    drcd_train_p, drcd_report_p = sets.splits(drcd_t.data)
    jobs = [Job(cmrc, cmrc.data.questions_in(cmrc_train_p)), Job(drcd_t, drcd_t.data.questions_in(drcd_train_p)),
            Job(drcd_s, drcd_s.data.questions_in(drcd_train_p))]
    if cfg.keyword_share:
        for src in (cmrc, drcd_t, drcd_s):
            src.with_keywords(embedder_factory)
        log.info("keyword forms ready: %s", {s.name: len(s.keyword_texts) for s in (cmrc, drcd_t, drcd_s)})
    for job in jobs:
        job.negatives = job.source.negatives()
    select = cmrc.data.questions_in(cmrc_select_p)
    select_negatives = jobs[0].negatives  # computed over every CMRC question, held-out ones included
    rng = random.Random(cfg.seed)
    select_eval = sorted(rng.sample(select, min(len(select), 400)))
    in_dim = cmrc.f.passages.states.shape[1]

    def evaluate(head):
        return read_gold(Reader(head), cmrc, select_eval)

    t1 = time.perf_counter()
    reports: list[dict] = []
    if cfg.init:
        head = Reader.load(cfg.init).head
        log.info("stage 1 skipped: head from %s", cfg.init)
    elif cfg.members > 1:
        heads = []
        for i in range(cfg.members):
            log.info("ensemble member %d of %d (seed %d)", i + 1, cfg.members, cfg.seed + i)
            member, _, member_reports = train_head(jobs, replace(cfg, seed=cfg.seed + i), in_dim, evaluate)
            heads.append(member)
            reports += [{**r, "member": i + 1} for r in member_reports]
        head = Ensemble(heads)
    else:
        head, _, reports = train_head(jobs, cfg, in_dim, evaluate)
    if cfg.joint:
        head = with_joint(head, joint_layers(embedder_factory(), head, cfg.joint))
        head, _, joint_reports = train_head(jobs, cfg, in_dim, evaluate, head=head)
        reports += [{**r, "stage": 2} for r in joint_reports]
    train_minutes = (time.perf_counter() - t1) / 60
    reader = Reader(head)
    threshold, calibration, stats = answerability(reader, cmrc, select, select_negatives)
    reader.threshold, reader.calibration = threshold, calibration
    params = sum(p.numel() for p in head.parameters())
    metrics = {"select_cmrc_train_heldout": read_gold(reader, cmrc, select),
               "drcd_heldout_traditional": read_gold(reader, drcd_t, drcd_t.data.questions_in(drcd_report_p)),
               "answerability_select": stats}
    if cmrc.keyword_rows:
        metrics["select_keyword_form"] = read_gold(reader, cmrc, [q for q in select if q in cmrc.keyword_rows],
                                                   keyword=True)
    if trial_src is not None:
        everything = list(range(len(trial_src.data.questions)))
        metrics["cmrc2018_trial_gold_passage"] = read_gold(reader, trial_src, everything)
    meta = {"encoder": "intfloat/multilingual-e5-small", "runtime": cfg.encoder,
            "layers": [6, 9, 12], "joint_layers": cfg.joint, "seed": cfg.seed, "epochs": cfg.epochs,
            "train_config": vars(cfg),
            "epoch_reports": reports, "metrics": metrics, "train_minutes": round(train_minutes, 1),
            "total_minutes": round((time.perf_counter() - t0) / 60, 1),
            "train_questions": {j.source.name: len(j.questions) for j in jobs},
            "parameters": params, "calibration": [round(c, 4) for c in calibration]}
    reader.meta = meta
    reader.save(out)
    write_card(meta, Path(out).with_name("MODEL_CARD.md"), Path(out).name)
    log.info("wrote %s: %s", out, metrics)
    return meta


def _calibration(meta: dict) -> str:
    a, b = meta.get("calibration") or (1.0, 0.0)
    return f"score = 1 / (1 + exp(-({a:.4g} × margin {'-' if b < 0 else '+'} {abs(b):.4g})))"


def write_card(meta: dict, path: Path, weights: str) -> None:
    """The model card next to the weights: data and licences, command, seed, metrics."""
    m = meta["metrics"]
    rows = "\n".join(f"| {r.get('member', 1)} | {r['epoch']} | {r['loss']} | {r.get('em', '')} | {r.get('f1', '')} "
                     f"| {r['minutes']} |" for r in meta["epoch_reports"])
    members = meta["train_config"].get("members", 1)
    what = (f"An ensemble of {members} span reader heads (trained alike, member *i* from seed + *i*; their "
            f"logits averaged; {meta['parameters']:,} parameters in all, float16)" if members > 1 else
            f"A span reader head ({meta['parameters']:,} parameters, float16)")
    a = m["answerability_select"]
    kw = m.get("select_keyword_form")
    keyword_row = (f"\n| the same, the {kw['questions']} questions that have a keyword form, asked in it "
                   f"({kw['answered']:.0%} answered at the threshold) | {kw['em']} | {kw['f1']} | {kw['questions']} |"
                   if kw else "")
    text = f"""# Reader weights: `{weights}`

{what} over the frozen token
states of `{meta["encoder"]}` (hidden layers {", ".join(map(str, meta["layers"]))} concatenated). It
scores answer start and end characters and a no-answer option; see `qa/reader/model.py`.

## Data and licences

A derived work of CC BY-SA data, shared under CC BY-SA 4.0:

| data | used for | source and licence |
| --- | --- | --- |
| CMRC 2018 train (2,403 paragraphs, 10,142 questions) | training; 8% of paragraphs held out for selection \
| ymcui/cmrc2018 via ymcui/expmrc; CC BY-SA 4.0 |
| DRCD dev (1,000 paragraphs, 3,524 questions), traditional as printed and converted to simplified \
with OpenCC t2s | training; 20% of paragraphs held out, only reported | DRCKnowledgeTeam/DRCD; CC BY-SA 3.0 |
| CMRC 2018 trial (256 paragraphs, 1,002 questions) | reported only, never trained or selected on \
| ymcui/cmrc2018; CC BY-SA 4.0 |

Questions trained on: {meta["train_questions"]}. Each answerable question gives its positive chunk and,
each epoch, one negative: another chunk of its paragraph or a retrieved chunk of another paragraph
that holds no answer string. A question that ends in its interrogative is read, with chance
`keyword_share` each epoch, in keyword form ("《ICO》主创者" for "《ICO》主创者是谁?").

## Command and seed

```bash
python -m qa train-reader --data ../shared/train --trial ../shared/eval/cmrc2018_trial.json
```

Seed {meta["seed"]}; configuration {json.dumps(meta["train_config"])}. Training took
{meta["train_minutes"]} minutes on two CPU cores, {meta["total_minutes"]} minutes in all with the
cached features (encoding the features once takes about 15 minutes more).

## Metrics (gold passage: the reader reads only the chunks of the question's own paragraph)

{sets.metrics_table(m, keyword_row)}

No-answer threshold {a["threshold"]} (margin of the best span over no answer), chosen on the selection
paragraphs to maximize the expected score when {a.get("answerable_share", 0.75):.0%} of questions have an
answer (F1 when answerable, 1 for declining when not): it answers {a["answered_gold"]:.0%} of questions
given their gold paragraph and declines {a["declined_wrong"]:.0%} given only retrieved wrong paragraphs.
Calibration (logistic on the margin, fitted on the same paragraphs): {_calibration(meta)}.

Epochs (selection F1 on 400 held-out questions picks each member's best):

| member | epoch | loss | EM | F1 | minutes |
| --- | --- | --- | --- | --- | --- |
{rows}
"""
    path.write_text(text, encoding="utf-8")
