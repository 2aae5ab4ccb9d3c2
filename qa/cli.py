"""``python -m qa``: the command line. Thin: it parses options and prints what the library returns."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .corpus import read_corpus
from .pipeline import Pipeline
from .prompts import load_prompts
from .render import answer_json, citation_url, reply_text
from .settings import Settings


def _add_corpus_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="corpus folder (default: $QA_CORPUS or ./corpus)")


def _add_index_options(p: argparse.ArgumentParser) -> None:
    _add_corpus_option(p)
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX or ./index)")
    p.add_argument("--model", help="embedding model: a hub name or a local folder "
                                   "(default: $QA_MODEL or intfloat/multilingual-e5-small)")
    p.add_argument("--fusion", choices=["rrf", "weighted"], help="how BM25 and dense results are fused")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description="Question answering over Chinese news stories.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stories", help="list the stories of the corpus")
    _add_corpus_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=cmd_stories)

    p = sub.add_parser("build", help="build or update the index (only changed files are re-embedded)")
    _add_index_options(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("ask", help="answer a question with citations")
    _add_index_options(p)
    p.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--jsonl", action="store_true", help="read one question a line from stdin, "
                                                         "write one JSON object a line")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="evaluate on a question file (or a SQuAD-format set with --squad)")
    _add_index_options(p)
    p.add_argument("file", type=Path)
    p.add_argument("--squad", action="store_true", help="FILE is SQuAD format (e.g. CMRC 2018)")
    p.add_argument("--limit", type=int, help="ask only the first N questions")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--show", action="store_true", help="print every question's result")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train-reader", help="train the reader on public reading-comprehension data",
                       description="Train the reader head (seeded) on CMRC 2018 train and DRCD dev; "
                                   "example: python -m qa train-reader --data ../shared/train "
                                   "--trial ../shared/eval/cmrc2018_trial.json")
    p.add_argument("--data", type=Path, default=Path("../shared/train"),
                   help="folder with cmrc2018_train.json and drcd_dev.json")
    p.add_argument("--trial", type=Path, help="CMRC 2018 trial set, measured (never trained on)")
    p.add_argument("--out", type=Path, help="weights file (default: the shipped qa/reader/weights/reader.safetensors)")
    p.add_argument("--cache", type=Path, help="feature cache (default: ~/.cache/qa-news/reader-features)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--cross", action=argparse.BooleanOptionalAction, default=True,
                   help="every head layer also attends over the question (default: on)")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.set_defaults(func=cmd_train_reader)

    p = sub.add_parser("eval-reader", help="the reader alone, given each question's gold passage",
                       description="EM and F1 of the reader on a SQuAD-format file, reading only the gold "
                                   "paragraph's chunks; example: python -m qa eval-reader "
                                   "tests/data/cmrc2018_trial.json")
    p.add_argument("file", type=Path)
    p.add_argument("--reader", type=Path, help="weights file (default: the shipped weights)")
    p.add_argument("--cache", type=Path, help="feature cache (default: ~/.cache/qa-news/reader-features)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_reader)
    return parser


def _feature_cache(path: Path | None) -> Path:
    from .model_store import cache_root

    return path or cache_root().parent / "reader-features"


def cmd_eval_reader(args: argparse.Namespace, settings: Settings) -> int:
    from .embedder import Embedder
    from .reader.data import load_squad
    from .reader.features import cached_features
    from .reader.reader import Reader
    from .reader.train import PairSource, read_gold

    rs = load_squad(args.file, args.file.stem.replace("_", "-"))
    src = PairSource(cached_features(rs, lambda: Embedder(settings.model), _feature_cache(args.cache)))
    report = read_gold(Reader.load(args.reader or settings.reader), src, list(range(len(rs.questions))))
    print(json.dumps(report, indent=1) if args.json else
          f"gold passage: EM {report['em']:.1f}  F1 {report['f1']:.1f}  ({report['questions']} questions)")
    return 0


def cmd_train_reader(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import torch

    from .embedder import Embedder
    from .reader import sets
    from .reader.reader import WEIGHTS
    from .reader.train import TrainConfig, run

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cfg = TrainConfig(epochs=args.epochs, seed=args.seed if args.seed is not None else sets.SEED, cross=args.cross)
    made = []

    def embedder():
        if not made:
            made.append(Embedder(settings.model))
        return made[0]

    cache = _feature_cache(args.cache)
    meta = run(args.data, args.trial, args.out or WEIGHTS, cache, cfg, embedder)
    print(json.dumps(meta["metrics"], ensure_ascii=False, indent=1))
    return 0


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = Pipeline(settings)
    report = pipeline.build()
    if report.up_to_date:
        print(report.summary())
        return 0
    print(report.summary())
    for name, reason in report.skipped.items():
        print(f"  skipped {name}: {reason}")
    if report.removed:
        print(f"  dropped {len(report.removed)} removed file(s): {', '.join(report.removed)}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = Pipeline(settings)
    if args.jsonl:
        pipeline.answerer  # load the model and the index once, before the first question
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            result = pipeline.answer(question)
            print(json.dumps(answer_json(result, load_prompts(settings.prompts, result.lang)), ensure_ascii=False),
                  flush=True)
        return 0
    if not args.question:
        print("error: give a question, or --jsonl to read questions from standard input", file=sys.stderr)
        return 2
    result = pipeline.answer(args.question)
    if args.json:
        print(json.dumps(answer_json(result, load_prompts(settings.prompts, result.lang)), ensure_ascii=False,
                         indent=1))
    else:
        print(format_text(result, load_prompts(settings.prompts, result.lang)))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluate import eval_dev, eval_squad

    if args.squad:
        def make(corpus: Path, index: Path) -> Pipeline:
            s = Settings(corpus=corpus, index=index, model=settings.model, prompts=settings.prompts,
                         fusion=settings.fusion)
            return Pipeline(s)

        def progress(i: int, n: int) -> None:
            if i % 100 == 0 or i == n:
                print(f"  {i}/{n} questions", file=sys.stderr)

        report = eval_squad(args.file, make, limit=args.limit, progress=progress)
        summary = report.summary()
    else:
        pipeline = Pipeline(settings)
        report = eval_dev(pipeline.answer, pipeline.index, args.file)
        summary = report.summary()
        if args.show:
            for row in report.rows:
                mark = "ok " if row.get("ok") else "BAD"
                print(f"{mark} {row['q']} => {row['answer'] or '(no answer)'}")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        for k, v in summary.items():
            print(f"{k:28s} {v}")
    return 0


def format_text(result, prompts: dict) -> str:
    """The answer and its numbered citations, for a terminal."""
    lines = []
    if result.found:
        marks = " ".join(f"[{c.n}]" for c in result.citations)
        lines.append(f"{reply_text(result, prompts)} {marks}".strip())
        lines.append("")
        lines.append(prompts["sources_heading"] + ":")
        for c in result.citations:
            lines += _citation_lines(c)
    else:
        lines.append(reply_text(result, prompts))
        if result.related:
            lines.append("")
            lines.append(prompts["related_heading"])
            for c in result.related:
                lines += _citation_lines(c)
    return "\n".join(lines)


def _citation_lines(c) -> list[str]:
    date = f" ({c.date})" if c.date else ""
    return [f"[{c.n}] {c.title}{date}  {c.source}:{c.lines[0]}-{c.lines[1]}  {citation_url(c)}",
            f"    「{c.text}」"]


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    stories = list(read_corpus(settings.corpus))
    if args.json:
        json.dump([s.to_dict() for s in stories], sys.stdout, ensure_ascii=False, indent=1)
        print()
        return 0
    for s in stories:
        dates = ",".join(d.norm for d in s.dates) or "-"
        byline = s.byline.text or "-"
        print(f"{s.id}  {s.display_title}")
        print(f"    dates {dates} | byline {byline} | {s.source}:{s.lines[0]}-{s.lines[1]} | {len(s.body)} chars")
    print(f"{len(stories)} stories", file=sys.stderr)
    return 0


def settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings()
    for name in ("corpus", "index", "model", "fusion"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("faiss", "faiss.loader", "sentence_transformers", "httpx", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args, settings_from(args))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
