"""Training the cross reader (:mod:`qa.reader.cross`): ``python -m qa train-cross-reader``.

Data as for the head (:mod:`qa.reader.sets`): CMRC 2018 train (8% of its paragraphs held out
for selection) and DRCD dev converted to simplified (the product folds every text to simplified
before reading; 20% of its paragraphs held out and only reported, with the traditional
questions as asked, folded as the product folds them). Each answerable question gives its
positive chunk; with chance ``negative_share`` each epoch it also gives a negative: a chunk BM25
retrieves for it from another paragraph, or another chunk of its own paragraph, that holds no
answer string. The CMRC 2018 trial set is only measured.

Seeded; no features to cache (the encoder runs in every step), so a second run costs the same.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..script import fold
from . import sets
from .cross import collate, join, passage_part, question_ids
from .data import ReadingSet
from .decode import best_spans
from .keywords import keyword_form

log = logging.getLogger("qa.reader")

NEGATIVES_RETRIEVED = 3


@dataclass
class CrossConfig:
    seed: int = 20261204
    epochs: int = 2
    trainable: int = 10         # top encoder layers fine-tuned (of 12; 8 until issue 9's round 31b)
    lr: float = 1e-4            # encoder layers; the scorer learns 10x faster
    batch: int = 16
    warmup: float = 0.06
    negative_share: float = 0.25
    max_train: int = 0          # 0: every training question (tests use a few)
    max_steps: int = 0          # 0: every epoch's batches (tests stop early)
    select_size: int = 400
    keyword_share: float = 0.0  # chance, per epoch, a question with a keyword form is read in it (as the head's)
    ema: float = 0.0            # decay of a moving average of the weights, a second candidate each epoch; 0: off


class Source:
    """A reading set tokenized for the cross reader: passages once, questions once."""

    def __init__(self, rs: ReadingSet, tokenizer, fold_questions: bool = False):
        self.data, self.tokenizer = rs, tokenizer
        self.parts = [passage_part(tokenizer, fold(p.title), fold(p.text)) for p in rs.passages]
        self.q_ids = [question_ids(tokenizer, fold(q.question) if fold_questions else q.question)
                      for q in rs.questions]
        self.keyword_ids: dict[int, list[int]] = {}  # question -> its keyword form's tokens (keywords.py)
        for i, q in enumerate(rs.questions):
            form = keyword_form(q.question)
            if form:
                self.keyword_ids[i] = question_ids(tokenizer, fold(form) if fold_questions else form)

    def input(self, q: int, p: int, keyword: bool = False):
        """Question ``q`` (its keyword form when ``keyword``) with passage ``p``."""
        return join(self.tokenizer, self.keyword_ids[q] if keyword else self.q_ids[q], self.parts[p])

    def target(self, q: int) -> tuple[int, int]:
        """First and last answer character in the positive chunk, moved inwards onto valid ones."""
        item = self.data.questions[q]
        a, b = item.span
        valid = np.flatnonzero(self.parts[item.chunk].layout.valid[a:b])
        return (a + int(valid[0]), a + int(valid[-1])) if len(valid) else (-1, -1)

    def holds_answer(self, p: int, answers: list[str]) -> bool:
        text = self.data.passages[p].text
        return any(a and a in text for a in answers)

    def negatives(self, questions: list[int], k: int = NEGATIVES_RETRIEVED) -> dict[int, list[int]]:
        """Per question: BM25's best chunks of other paragraphs, then other chunks of its own,
        none holding an answer string."""
        from ..lexical import BM25Index
        from ..tokenize import Tokenizer

        tok = Tokenizer()
        bm25 = BM25Index.build([tok(fold(p.text)) for p in self.data.passages])
        out = {}
        for qi in questions:
            q = self.data.questions[qi]
            scores = bm25.scores(tok(fold(q.question)))
            order = np.argsort(-scores)[:k * 8]
            retrieved = [int(p) for p in order if self.data.passages[p].paragraph != q.paragraph
                         and not self.holds_answer(int(p), q.answers)][:k]
            same = [p for p in self.data.paragraph_chunks[q.paragraph]
                    if p != q.chunk and not self.holds_answer(p, q.answers)]
            out[qi] = retrieved + same
        return out


def _batches(examples: list, size: int, rng: random.Random, length) -> list[list]:
    """Batches of similar length (less padding), in random order."""
    rng.shuffle(examples)
    out = []
    pool = size * 50
    for i in range(0, len(examples), pool):
        group = sorted(examples[i:i + pool], key=length)
        out += [group[j:j + size] for j in range(0, len(group), size)]
    rng.shuffle(out)
    return out


class WeightAverage:
    """An exponential moving average of the tuned weights, updated after every step; its decay
    rises from 0 towards ``decay`` as ``(1 + n) / (10 + n)`` after n updates, so the start's
    untrained scorer soon weighs nothing."""

    def __init__(self, model, decay: float):
        self.decay, self.updates = decay, 0
        self.state = {k: v.detach().clone().float() for k, v in model.tuned_state().items()}

    def update(self, model) -> None:
        import torch

        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():  # the tuned layers and the scorer hold float tensors only
            for k, v in model.tuned_state().items():
                self.state[k].mul_(d).add_(v.detach().float(), alpha=1 - d)


def train(model, jobs: list[tuple[Source, list[int], dict]], cfg: CrossConfig, evaluate=None,
          log_every: int = 50) -> tuple[object, list[dict], list[float]]:
    """Fine-tune ``model`` on ``jobs`` ((source, questions, negatives) each); keep the epoch
    whose ``evaluate`` F1 is best. With ``cfg.ema`` the weights' exponential moving average
    (:class:`WeightAverage`) is evaluated too at each epoch's end, and kept where it reads better.
    Returns the model, per-epoch reports and every step's loss."""
    import torch

    from .model import span_loss

    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed % 2**32)
    encoder_params = [p for layer in model.tuned_layers() for p in layer.parameters()]
    head_params = list(model.scorer.parameters()) + list(model.null.parameters())
    opt = torch.optim.AdamW([{"params": encoder_params, "lr": cfg.lr},
                             {"params": head_params, "lr": cfg.lr * 10}], weight_decay=0.01)
    positives = [(j, qi) for j, (src, qs, _) in enumerate(jobs) for qi in qs if src.target(qi)[0] >= 0]
    per_epoch = len(positives) * (1 + cfg.negative_share)
    total = max(1, math.ceil(per_epoch / cfg.batch) * cfg.epochs)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warm = max(1, int(total * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    best, best_state, reports, step, every = -1.0, None, [], 0, []
    average = WeightAverage(model, cfg.ema) if cfg.ema and evaluate is not None else None  # read only to choose
    t0 = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        examples = []
        for j, qi in positives:
            src, _, negs = jobs[j]
            # the draw happens only when keyword forms are on, so runs without them stay as they were
            kw = bool(cfg.keyword_share) and qi in src.keyword_ids and rng.random() < cfg.keyword_share
            examples.append((j, qi, src.data.questions[qi].chunk, kw, src.target(qi)))
            if negs.get(qi) and rng.random() < cfg.negative_share:
                examples.append((j, qi, rng.choice(negs[qi]), kw, (-1, -1)))
        batches = _batches(examples, cfg.batch, rng,
                           lambda e: len(jobs[e[0]][0].parts[e[2]].ids) + len(jobs[e[0]][0].q_ids[e[1]]))
        losses = []
        for batch in batches:
            if cfg.max_steps and step >= cfg.max_steps:
                break
            inputs = [jobs[j][0].input(qi, p, kw) for j, qi, p, kw, _ in batch]
            arr = collate(inputs)
            valid = np.zeros_like(arr["char_mask"])
            for i, x in enumerate(inputs):
                valid[i, :len(x.layout.valid)] = x.layout.valid
            t = {k: torch.from_numpy(v) for k, v in arr.items() if k != "char_mask"}
            start, end, null = model(**t)
            targets = torch.tensor([tgt for *_, tgt in batch], dtype=torch.long)
            loss = span_loss(start, end, null, torch.from_numpy(valid), targets)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], 1.0)
            opt.step()
            sched.step()
            step += 1
            if average is not None:
                average.update(model)
            losses.append(loss.item())
            every.append(losses[-1])
            if step % log_every == 0:
                log.info("epoch %d step %d/%d loss %.3f (%.1f min)", epoch, step, total,
                         float(np.mean(losses[-log_every:])), (time.perf_counter() - t0) / 60)
        if not losses:
            break
        report = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4),
                  "minutes": round((time.perf_counter() - t0) / 60, 1)}
        if evaluate is not None:
            model.eval()
            report.update(evaluate(model))
            trained = {k: v.detach().clone() for k, v in model.tuned_state().items()}
            candidates = [("weights", report["f1"], trained)]
            if average is not None:
                model.load_state_dict(average.state, strict=False)
                ema = evaluate(model)
                report.update({"ema_em": ema["em"], "ema_f1": ema["f1"]})
                model.load_state_dict(trained, strict=False)  # training goes on from the weights
                candidates.append(("ema", ema["f1"], {k: v.clone() for k, v in average.state.items()}))
            kind, f1, state = max(candidates, key=lambda c: c[1])  # a tie keeps the weights
            if f1 > best:
                best, best_state = f1, state  # copies, apart from the live model and the running average
                for r in reports:
                    r.pop("kept", None)
                report["kept"] = kind
        reports.append(report)
        log.info("epoch %d: %s", epoch, report)
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    return model.eval(), reports, every


# ---------------------------------------------------------------- reading held-out questions


def scores(model, inputs: list, batch: int = 16) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """(start, end, null) logits of each input, characters in its passage's text."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(inputs), batch):
            chunk = inputs[i:i + batch]
            arr = collate(chunk)
            start, end, null = model(**{k: torch.from_numpy(v) for k, v in arr.items() if k != "char_mask"})
            for j, x in enumerate(chunk):
                n = len(x.layout.token)
                out.append((start[j, :n].numpy(), end[j, :n].numpy(), float(null[j])))
    return out


def read_best(model, src: Source, qi: int, passages: list[int], keyword: bool = False) -> tuple[str, float] | None:
    """The best span for question ``qi`` (its keyword form when ``keyword``) over ``passages``:
    (its text, its margin), or None."""
    inputs = [src.input(qi, p, keyword) for p in passages]
    best = None
    for p, x, (s, e, null) in zip(passages, inputs, scores(model, inputs)):
        text = src.data.passages[p].text
        for a, b, margin in best_spans(s, e, null, x.layout.valid, fold(text), k=1):
            if best is None or margin > best[1]:
                best = (text[a:b], margin)
    return best


def read_gold(model, src: Source, questions: list[int], threshold: float = 0.0, found: dict | None = None,
              keyword: bool = False) -> dict:
    """EM and F1 (percent) reading the gold paragraph's chunks, and the share answered;
    ``found`` holds best spans already read (question -> (text, margin) or None); ``keyword``
    asks the questions in keyword form."""
    from .train import gold_report

    chunks = src.data.paragraph_chunks
    return gold_report(src.data, questions, threshold, found.get if found is not None else
                       lambda qi: read_best(model, src, qi, chunks[src.data.questions[qi].paragraph], keyword))


def answerability(model, src: Source, questions: list[int], negatives: dict):
    """Threshold, calibration, statistics and the gold paragraphs' best spans, chosen as for the
    head (:func:`qa.reader.train.threshold_from`)."""
    from .train import threshold_from

    return threshold_from(src.data, questions, lambda qi, passages: read_best(model, src, qi, passages),
                          lambda qi: negatives.get(qi, [])[:NEGATIVES_RETRIEVED])


# ---------------------------------------------------------------- measuring a cross reader


@dataclass
class HeldOut:
    """What every cross reader is measured on: CMRC 2018 train's selection questions (and BM25's
    wrong chunks for them), DRCD's held-out questions as asked (traditional) and, when given, the
    CMRC 2018 trial set."""
    cmrc: Source
    select: list[int]
    select_negatives: dict
    drcd_t: Source
    drcd_report: list[int]
    trial: Source | None = None


def held_out(data_dir: Path, trial: Path | None, tokenizer, cmrc: Source | None = None) -> HeldOut:
    """The held-out sets of ``data_dir`` (``cmrc``: CMRC 2018 train, when already tokenized)."""
    cmrc = cmrc or Source(sets.cmrc_train(data_dir), tokenizer)
    drcd_t = Source(sets.drcd(data_dir), tokenizer, fold_questions=True)
    select = cmrc.data.questions_in(sets.splits(cmrc.data)[1])
    return HeldOut(cmrc, select, cmrc.negatives(select), drcd_t, drcd_t.data.questions_in(sets.splits(drcd_t.data)[1]),
                   Source(sets.cmrc_trial(trial), tokenizer) if trial else None)


def measure(model, h: HeldOut) -> tuple[float, tuple, dict]:
    """The no-answer threshold and calibration chosen on the selection questions, and the report:
    selection, DRCD held-out, selection in keyword form, and the trial set when ``h`` has it."""
    threshold, calibration, stats, gold = answerability(model, h.cmrc, h.select, h.select_negatives)
    metrics = {"select_cmrc_train_heldout": read_gold(model, h.cmrc, h.select, threshold, gold),
               "drcd_heldout_traditional": read_gold(model, h.drcd_t, h.drcd_report, threshold),
               "answerability_select": stats,
               # the selection questions that have a keyword form, asked in it (any reader; see keywords.py)
               "select_keyword_form": read_gold(model, h.cmrc, [q for q in h.select if q in h.cmrc.keyword_ids],
                                                threshold, keyword=True)}
    if h.trial is not None:
        metrics["cmrc2018_trial_gold_passage"] = read_gold(model, h.trial, list(range(len(h.trial.data.questions))),
                                                           threshold)
    return threshold, calibration, metrics


# ---------------------------------------------------------------- the command


def new_model(encoder_path: str, cfg: CrossConfig):
    """The cross model before training: the encoder's weights and a scorer drawn from ``cfg.seed``,
    so that a run's seed reproduces its start as well as its batches."""
    import torch

    from .cross import build_model

    torch.manual_seed(cfg.seed)
    return build_model(encoder_path, cfg.trainable)


def run(data_dir: Path, trial: Path | None, out: Path, cfg: CrossConfig, encoder_path: str) -> dict:
    """Train, select, measure; write the weights and the card."""
    from transformers import AutoTokenizer

    from .cross import save

    t0 = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(encoder_path)
    cmrc = Source(sets.cmrc_train(data_dir), tokenizer)
    drcd_s = Source(sets.drcd(data_dir, simplified=True), tokenizer)
    h = held_out(data_dir, trial, tokenizer, cmrc)
    rng = random.Random(cfg.seed)
    train_q = [cmrc.data.questions_in(sets.splits(cmrc.data)[0]), drcd_s.data.questions_in(sets.splits(drcd_s.data)[0])]
    if cfg.max_train:
        train_q = [sorted(rng.sample(qs, min(len(qs), cfg.max_train))) for qs in train_q]
    jobs = [(cmrc, train_q[0], cmrc.negatives(train_q[0])), (drcd_s, train_q[1], drcd_s.negatives(train_q[1]))]
    select_eval = sorted(rng.sample(h.select, min(len(h.select), cfg.select_size)))
    log.info("data ready in %.1f min: %s", (time.perf_counter() - t0) / 60, [len(q) for q in train_q])

    model = new_model(encoder_path, cfg)
    t1 = time.perf_counter()
    model, reports, _ = train(model, jobs, cfg, lambda m: read_gold(m, cmrc, select_eval))
    train_minutes = (time.perf_counter() - t1) / 60
    threshold, calibration, metrics = measure(model, h)
    info = {"encoder": "intfloat/multilingual-e5-small", "config": {"trainable": cfg.trainable},
            "train_config": asdict(cfg), "threshold": threshold, "calibration": list(calibration),
            "epoch_reports": reports, "metrics": metrics, "train_minutes": round(train_minutes, 1),
            "total_minutes": round((time.perf_counter() - t0) / 60, 1),
            "train_questions": {"cmrc2018-train": len(train_q[0]), "drcd-dev-simplified": len(train_q[1])}}
    save(model, out, info)
    write_card(info, Path(out).with_name("CROSS_MODEL_CARD.md"), Path(out).name)
    log.info("wrote %s: %s", out, metrics)
    return info


# the configuration ``train-cross-reader`` takes on its command line, and the flag for each
_FLAGS = {"seed": "--seed", "epochs": "--epochs", "trainable": "--trainable", "keyword_share": "--keyword-share",
          "ema": "--ema"}


def command_flags(cfg: dict) -> str:
    """The command-line flags that reproduce ``cfg`` (a :class:`CrossConfig` as a dict): one for
    each setting the command takes that differs from its default."""
    default = asdict(CrossConfig())
    return "".join(f" {flag} {format(cfg[key], 'g') if isinstance(cfg[key], float) else cfg[key]}"
                   for key, flag in _FLAGS.items() if key in cfg and cfg[key] != default[key])


_KEPT = {"weights": "these weights", "ema": "their moving average"}


def write_card(info: dict, path: Path, weights: str) -> None:
    """The cross reader's card next to its weights: data and licences, command, seed, metrics."""
    m = info["metrics"]
    a = m["answerability_select"]
    ema = any("ema_f1" in r for r in info["epoch_reports"])
    rows = "\n".join(f"| {r['epoch']} | {r['loss']} | {r.get('em', '')} | {r.get('f1', '')} |"
                     + (f" {r.get('ema_em', '')} | {r.get('ema_f1', '')} |" if ema else "")
                     + f" {r['minutes']} | {_KEPT.get(r.get('kept'), '')} |" for r in info["epoch_reports"])
    head = ("| epoch | loss | EM | F1 |" + (" moving average EM | moving average F1 |" if ema else "")
            + " minutes | kept |")
    rule = "|" + " --- |" * (head.count("|") - 1)
    cfg = info["train_config"]
    a_, b_ = info["calibration"]
    flags = command_flags(cfg)
    kw = m.get("select_keyword_form")
    kw_row = (f"\n| the same selection questions in keyword form (final interrogative dropped) "
              f"| {kw['em']} | {kw['f1']} | {kw['questions']} |") if kw else ""
    text = f"""# Cross reader weights: `{weights}`

`{info["encoder"]}` with its top {cfg["trainable"]} of 12 layers fine-tuned to read the question and a
passage together (`<s> question </s></s> title\\n passage </s>`), and a scorer that gives every
character of the passage a start and an end logit (from its token's last-layer state and its
boundary features) and the input a no-answer logit (from the first token). The file holds only
what training changed: those layers (2-D weights int8 with a float16 scale per row, the rest
float16) and the scorer; the embeddings and lower layers are the encoder's own. See
`qa/reader/cross.py`.

## Data and licences

A derived work of CC BY-SA data, shared under CC BY-SA 4.0:

| data | used for | source and licence |
| --- | --- | --- |
| CMRC 2018 train (2,403 paragraphs, 10,142 questions) | training; 8% of paragraphs held out for selection \
| ymcui/cmrc2018 via ymcui/expmrc; CC BY-SA 4.0 |
| DRCD dev (1,000 paragraphs, 3,524 questions), converted to simplified with OpenCC t2s (the product \
reads every text folded to simplified) | training; 20% of paragraphs held out, only reported (traditional \
questions as asked, folded as the product folds them) | DRCKnowledgeTeam/DRCD; CC BY-SA 3.0 |
| CMRC 2018 trial (256 paragraphs, 1,002 questions) | reported only, never trained or selected on \
| ymcui/cmrc2018; CC BY-SA 4.0 |

Questions trained on: {info["train_questions"]}. Each gives its positive chunk (the product's own
chunker) and, with chance {cfg["negative_share"]} each epoch, a negative: a chunk BM25 retrieves for it
from another paragraph, or another chunk of its paragraph, holding no answer string.

## Command and seed

```bash
python -m qa train-cross-reader --data ../shared/train --trial tests/data/cmrc2018_trial.json{flags}
```

Seed {cfg["seed"]}; configuration {json.dumps(cfg)}. Training took {info["train_minutes"]} minutes on
two CPU cores, {info["total_minutes"]} minutes in all (no features are cached: every step runs the
encoder).

## Metrics (gold passage: reading only the chunks of the question's own paragraph; torch, fp32)

{sets.metrics_table(m, kw_row)}

No-answer threshold {a["threshold"]} (margin of the best span over no answer), chosen on the selection
paragraphs as for the head (`qa.reader.train.choose_threshold`): it answers {a["answered_gold"]:.0%} of
questions given their gold paragraph and declines {a["declined_wrong"]:.0%} given only retrieved wrong
chunks. Calibration: score = 1 / (1 + exp(-({a_:.4g} × margin {'-' if b_ < 0 else '+'} {abs(b_):.4g}))).

Epochs (selection F1 on {cfg["select_size"]} held-out questions picks the best{
" of the weights and their moving average" if ema else ""}):

{head}
{rule}
{rows}
"""
    path.write_text(text, encoding="utf-8")
