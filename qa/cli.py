"""``python -m qa``: the command line. Thin: it parses options and prints what the library returns."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from .corpus import read_corpus
from .logs import configure as configure_logging
from .pipeline import Pipeline
from .prompts import load_prompts
from .render import answer_json, citation_url, read_as_text, reply_text
from .settings import ENCODERS, SettingError, Settings, train_data


def _add_corpus_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="corpus folder (default: $QA_CORPUS or ./corpus)")


def _add_training_options(p: argparse.ArgumentParser, weights: str) -> None:
    """What both training commands take: the data, the trial set reported on, where the weights
    go, the seed and the threads."""
    p.add_argument("--data", type=Path, default=train_data(),
                   help="folder with cmrc2018_train.json and drcd_dev.json "
                        "(default: $QA_TRAIN_DATA, else ../shared/train)")
    p.add_argument("--trial", type=Path, help="CMRC 2018 trial set, measured (never trained on)")
    p.add_argument("--out", type=Path, help=f"weights file (default: the shipped qa/reader/weights/{weights})")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")


CROSS_READER_HELP = ("the cross reader: off (the head alone), fallback (it reads when the head declines or is "
                     "unsure), on (it answers, the head when it declines) or a weights file "
                     "(default: $QA_CROSS_READER or fallback)")


def add_index_options(p: argparse.ArgumentParser) -> None:
    """The options that say which corpus, index, model, encoder, store and reader (the CLI's
    commands and ``app.py`` alike)."""
    _add_corpus_option(p)
    p.add_argument("--index", type=Path, help="index folder (default: $QA_INDEX or ./index)")
    p.add_argument("--model", help="embedding model: a hub name or a local folder "
                                   "(default: $QA_MODEL or intfloat/multilingual-e5-small)")
    p.add_argument("--encoder", help="how the encoder runs: torch, onnx or onnx-int8 "
                                     "(default: $QA_ENCODER or onnx-int8)")
    p.add_argument("--store", help="where chunks are searched: embedded (the index files) or milvus "
                                   "(default: $QA_STORE or embedded)")
    p.add_argument("--milvus-uri", help="Milvus: a file path runs Milvus Lite, http://host:19530 a server "
                                        "(default: $QA_MILVUS_URI or milvus.db in the index folder)")
    p.add_argument("--fusion", help="how BM25 and dense results are fused: weighted or rrf "
                                    "(default: $QA_FUSION or weighted)")
    p.add_argument("--reader", type=Path, help="reader weights (default: $QA_READER or the shipped weights)")
    p.add_argument("--cross-reader", help=CROSS_READER_HELP)
    p.add_argument("--min-score", help="lowest calibrated answer score (0-1) answered instead of declined "
                                       "(default: $QA_MIN_SCORE or each reader's own threshold)")


def _command(sub, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=summary, description=f"{summary}.", epilog=f"example: {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Question answering with citations over Chinese "
                                     "news stories.", epilog='example: qa ask "7月18日的会议谁参加了?"')
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = _command(sub, "stories", "List the stories the corpus files give", "qa stories --corpus corpus --json")
    _add_corpus_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=cmd_stories, needs_corpus=True)

    p = _command(sub, "build", "Build or update the index (only changed files are re-embedded)",
                 "qa build --corpus corpus --index index")
    add_index_options(p)
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="read, chunk and embed on a Ray cluster (ADDRESS, e.g. ray://host:10001; "
                        "none: a local Ray instance); needs `pip install -e .[scale]`")
    p.set_defaults(func=cmd_build, needs_corpus=True)

    p = _command(sub, "info", "Show the index: corpus, path, model and its source, stories, chunks, when built",
                 "qa info --index index")
    add_index_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info, needs_corpus=False)

    p = _command(sub, "ask", "Answer a question with numbered citations", 'qa ask "二七区区长是谁?" --json')
    add_index_options(p)
    p.add_argument("question", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--jsonl", action="store_true", help="read one question a line from stdin, "
                                                         "write one JSON object a line")
    p.add_argument("--rebuild", action="store_true", help="rebuild a stale index first (default: answer from "
                                                           "the last build, with a warning)")
    p.set_defaults(func=cmd_ask, needs_corpus=True)

    p = _command(sub, "eval", "Evaluate on a question file, or on a SQuAD-format set with --squad",
                 "qa eval tests/data/dev_qa.jsonl; qa eval --squad tests/data/cmrc2018_trial.json")
    add_index_options(p)
    p.add_argument("file", type=Path)
    p.add_argument("--squad", action="store_true", help="FILE is SQuAD format (e.g. CMRC 2018)")
    p.add_argument("--limit", type=int, help="ask only the first N questions")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--show", action="store_true", help="print every question's result")
    p.set_defaults(func=cmd_eval, needs_corpus=False)

    p = _command(sub, "train-reader", "Train the reader (seeded) on CMRC 2018 train and DRCD dev",
                 "qa train-reader --data ../shared/train --trial tests/data/cmrc2018_trial.json")
    _add_training_options(p, "reader.safetensors")
    p.add_argument("--cache", type=Path, help="feature cache (default: ~/.cache/qa-news/reader-features)")
    p.add_argument("--epochs", type=int, default=6, help="stage 1 epochs: the head alone (default: 6)")
    p.add_argument("--members", type=int, default=3,
                   help="heads in the ensemble, each trained from its own seed (default: 3)")
    p.add_argument("--cross", action=argparse.BooleanOptionalAction, default=True,
                   help="every head layer also attends over the question (default: on)")
    p.add_argument("--dim", type=int, default=128, help="the head's width (default: 128)")
    p.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=True,
                   help="give the head which passage characters the question repeats (default: on)")
    p.add_argument("--joint", type=int, default=0,
                   help="experimental stage 2: fine-tune this many top encoder layers over question and "
                        "passage together (default: 0, off; 3 measured +0.9 F1 at 4x the reading time, "
                        "see the README; needs --members 1)")
    p.add_argument("--joint-epochs", type=int, default=2, help="stage 2 epochs (default: 2)")
    p.add_argument("--init", type=Path, help="start stage 2 from these single-head stage-1 weights instead of "
                                             "training stage 1 (needs --members 1)")
    for option, default, chance in (  # training chances, each between 0 and 1
            ("--keyword-share", 0.4, "chance, per epoch, that a question ending in its interrogative is read "
                                     "in keyword form (\"X的主持人\" for \"X的主持人是谁?\"; default: 0.4, 0 "
                                     "turns it off)"),
            ("--cut-share", 0.0, "chance, per epoch, that a question's negative is its own passage with the "
                                 "sentences holding the answer cut out (default: 0, off)"),
            ("--overlap-dropout", 0.0, "chance that a training pair hides what the question repeats (match flag "
                                       "and overlap features), as for an English question over Chinese text "
                                       "(default: 0, off)"),
            ("--hide-share", 0.0, "chance that a training pair hides one word the question shares with the "
                                  "passage from the overlap signals, as a question rewording it would "
                                  "(default: 0, off)")):
        p.add_argument(option, type=float, default=default, help=chance)
    p.add_argument("--encoder", default="torch", choices=ENCODERS,
                   help="how the encoder runs for the training features (default: torch, fp32; heads trained "
                        "on onnx-int8 states learned worse, see the README)")
    p.set_defaults(func=cmd_train_reader, needs_corpus=False)

    p = _command(sub, "train-cross-reader", "Train the cross reader (seeded): the encoder's top layers "
                 "fine-tuned to read question and passage together",
                 "qa train-cross-reader --data ../shared/train --trial tests/data/cmrc2018_trial.json")
    _add_training_options(p, "cross.safetensors")
    p.add_argument("--epochs", type=int, default=2, help="epochs (default: 2)")
    p.add_argument("--trainable", type=int, default=10, help="top encoder layers fine-tuned (default: 10 of 12)")
    p.add_argument("--keyword-share", type=float, default=0.0,
                   help="chance, per epoch, that a question ending in its interrogative is read in keyword form, "
                        "as train-reader's (default: 0, as the shipped cross reader was trained)")
    p.add_argument("--ema", type=float, default=0.0,
                   help="decay of a moving average of the weights, evaluated beside them at each epoch's end and "
                        "kept where it reads better, e.g. 0.998 (default: 0, off)")
    p.set_defaults(func=cmd_train_cross_reader, needs_corpus=False)

    p = _command(sub, "eval-reader", "EM and F1 of the readers alone (no retrieval) on each question's gold paragraph",
                 "qa eval-reader tests/data/cmrc2018_trial.json")
    p.add_argument("file", type=Path)
    p.add_argument("--reader", type=Path, help="weights file (default: $QA_READER or the shipped weights)")
    p.add_argument("--cross-reader", help=CROSS_READER_HELP)
    p.add_argument("--encoder", help="how the encoder runs: torch, onnx or onnx-int8 "
                                     "(default: $QA_ENCODER or onnx-int8)")
    p.add_argument("--cache", type=Path, help="feature cache (default: ~/.cache/qa-news/reader-features)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval_reader, needs_corpus=False)
    return parser


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    from .index import IndexUnreadable, read_manifest

    try:
        manifest = read_manifest(settings.index)
    except IndexUnreadable as e:
        print(f"error: no readable index at {settings.index} ({e}); run: qa build", file=sys.stderr)
        return 2
    info = {"corpus": str(settings.corpus), "index": str(settings.index), "generation": manifest["_generation"],
            "model": manifest["model"].get("id"), "model_source": manifest["model"].get("source"),
            "settings": manifest.get("settings", {}), "chunker": manifest.get("chunker"),
            "tokenizer": manifest.get("tokenizer"), "dense": manifest.get("dense"),
            "files": manifest["counts"]["files"], "stories": manifest["counts"]["stories"],
            "chunks": manifest["counts"]["chunks"], "built_at": manifest.get("built_at")}
    _print_fields(info, args.json)
    return 0


def _print_fields(fields: dict, as_json: bool) -> None:
    """A flat report: one JSON object, or one aligned ``name value`` line each."""
    if as_json:
        print(json.dumps(fields, ensure_ascii=False, indent=1))
        return
    width = max(map(len, fields), default=0) + 2
    for k, v in fields.items():
        print(f"{k:{width}s}{v}")


def _feature_cache(path: Path | None) -> Path:
    from .model_store import cache_root

    return path or cache_root().parent / "reader-features"


def gold_reading(file: Path, settings: Settings, reader: Path | None = None, cache: Path | None = None):
    """(questions, their passages' token states, the reader) of a SQuAD-format set, as the
    product reads them (its encoder, the head, the cross reader when ``settings`` asks for it)."""
    from .embedder import Embedder, model_id
    from .pipeline import load_reader
    from .reader.data import load_squad
    from .reader.features import cached_features
    from .reader.train import PairSource

    rs = load_squad(file, file.stem.replace("_", "-"))
    embedder = Embedder(settings.model, encoder=settings.encoder)
    src = PairSource(cached_features(rs, lambda: embedder, _feature_cache(cache),
                                     model_id(settings.model, settings.encoder)))
    return rs, src, load_reader(settings, embedder, path=reader)


def cmd_eval_reader(args: argparse.Namespace, settings: Settings) -> int:
    from .reader.train import read_gold

    rs, src, reader = gold_reading(args.file, settings, args.reader, args.cache)
    report = read_gold(reader, src, list(range(len(rs.questions))))
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
    cfg = TrainConfig(epochs=args.epochs, seed=args.seed if args.seed is not None else sets.SEED, cross=args.cross,
                      dim=args.dim, overlap=args.overlap, members=args.members, joint=args.joint,
                      joint_epochs=args.joint_epochs, keyword_share=args.keyword_share,
                      cut_share=args.cut_share, overlap_dropout=args.overlap_dropout,
                      hide_share=args.hide_share, encoder=args.encoder,
                      init=str(args.init) if args.init else None)
    try:
        cfg.check()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    made = []

    def embedder():
        if not made:
            made.append(Embedder(settings.model, encoder=cfg.encoder))
        return made[0]

    cache = _feature_cache(args.cache)
    meta = run(args.data, args.trial, args.out or WEIGHTS, cache, cfg, embedder)
    print(json.dumps(meta["metrics"], ensure_ascii=False, indent=1))
    return 0


def cmd_train_cross_reader(args: argparse.Namespace, settings: Settings) -> int:
    import os

    import torch

    from .model_store import resolve_model
    from .reader.cross_train import CrossConfig, run
    from .reader.reader import CROSS_WEIGHTS

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cfg = CrossConfig(epochs=args.epochs, trainable=args.trainable, keyword_share=args.keyword_share, ema=args.ema)
    if args.seed is not None:
        cfg.seed = args.seed
    if not 1 <= cfg.trainable <= 12 or cfg.epochs < 1 or not 0 <= cfg.keyword_share <= 1 or not 0 <= cfg.ema < 1:
        print("error: --trainable takes 1 to 12 layers, --epochs at least 1, --keyword-share 0 to 1 and --ema "
              "0 (off) to under 1", file=sys.stderr)
        return 2
    info = run(args.data, args.trial, args.out or CROSS_WEIGHTS, cfg, resolve_model(settings.model)[0])
    print(json.dumps(info["metrics"], ensure_ascii=False, indent=1))
    return 0


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    pipeline = Pipeline(settings)
    report = pipeline.build(ray=args.ray)
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
    pipeline.open(rebuild=args.rebuild)
    if args.jsonl:
        _ = pipeline.answerer  # load the model and the index once, before the first question
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
            return Pipeline(replace(settings, corpus=corpus, index=index))  # every other setting as given

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
    _print_fields(summary, args.json)
    return 0


def format_text(result, prompts: dict) -> str:
    """The answer and its numbered citations, for a terminal."""
    lines = []
    read_as = read_as_text(result, prompts)
    if result.found:
        marks = " ".join(f"[{c.n}]" for c in result.citations)
        lines.append(f"{reply_text(result, prompts)} {marks}".strip())
        lines += [read_as] if read_as else []
        lines.append("")
        lines.append(prompts["sources_heading"] + ":")
        for c in result.citations:
            lines += _citation_lines(c)
    else:
        lines.append(reply_text(result, prompts))
        lines += [read_as] if read_as else []
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
    settings = Settings.resolve(vars(args))
    return settings.require_corpus() if getattr(args, "needs_corpus", False) else settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return args.func(args, settings_from(args))
    except SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (| head): not an error
        sys.stderr.close()
        return 0
