"""The held-out reading sets the reader benches read, from the features ``train-reader`` caches:
CMRC 2018 train's selection paragraphs and DRCD's held-out paragraphs (traditional)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from qa.reader import sets
from qa.reader.features import cached_features
from qa.reader.train import PairSource
from qa.settings import train_data


def parser(doc: str) -> argparse.ArgumentParser:
    """``--data``, ``--cache`` and ``--reader``, described by the first line of ``doc``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--data", type=Path, default=train_data())
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache/qa-news/reader-features")
    ap.add_argument("--reader", type=Path, default=None, help="weights file (default: the shipped one)")
    return ap


def held_out_sets(args: argparse.Namespace) -> Iterator[tuple[str, PairSource, set[int]]]:
    """Each held-out set as (name, its pairs, its held-out paragraphs)."""
    for name, rs in (("CMRC train, selection", sets.cmrc_train(args.data)),
                     ("DRCD held out", sets.drcd(args.data))):
        src = PairSource(cached_features(rs, None, args.cache))
        yield name, src, sets.splits(src.data)[1]
