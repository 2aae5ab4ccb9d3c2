"""``python -m qa``: the command line. Thin: it parses options and prints what the library returns."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .corpus import read_corpus
from .settings import Settings


def _add_corpus_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", type=Path, help="corpus folder (default: $QA_CORPUS or ./corpus)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m qa", description="Question answering over Chinese news stories.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stories", help="list the stories of the corpus")
    _add_corpus_option(p)
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=cmd_stories)
    return parser


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
    for name in ("corpus", "index", "model"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    return settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return args.func(args, settings_from(args))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
