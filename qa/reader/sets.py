"""The public reading-comprehension sets the reader is trained, selected and measured on.

Training and selection: CMRC 2018 train (held-out paragraphs for selection) and DRCD dev, as
printed (traditional) and converted to simplified with OpenCC; a fixed share of DRCD's
paragraphs is held out in both scripts and never trained on (reported). Report: the CMRC 2018
trial set, never trained on or selected on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .data import ReadingSet, load_squad, split_paragraphs

SEED = 20261124
CMRC_SELECT_SHARE = 0.08   # CMRC train paragraphs held out for model selection
DRCD_REPORT_SHARE = 0.2    # DRCD paragraphs held out for the DRCD report


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s").convert


def cmrc_train(folder: Path) -> ReadingSet:
    return load_squad(Path(folder) / "cmrc2018_train.json", "cmrc2018-train")


def drcd(folder: Path, simplified: bool = False) -> ReadingSet:
    if simplified:
        return load_squad(Path(folder) / "drcd_dev.json", "drcd-dev-simplified", convert=_t2s())
    return load_squad(Path(folder) / "drcd_dev.json", "drcd-dev")


def cmrc_trial(path: Path) -> ReadingSet:
    return load_squad(Path(path), "cmrc2018-trial")


def splits(rs: ReadingSet) -> tuple[set[int], set[int]]:
    """(train, held-out) paragraphs of a set: selection for CMRC, report for DRCD."""
    share = DRCD_REPORT_SHARE if rs.name.startswith("drcd") else CMRC_SELECT_SHARE
    return split_paragraphs(len(rs.paragraph_chunks), share, SEED)


def metrics_table(metrics: dict, extra_row: str = "") -> str:
    """A card's table of the three reports (trial, DRCD held out, selection), ``extra_row`` after them."""
    trial = metrics.get("cmrc2018_trial_gold_passage", {})
    drcd, sel = metrics["drcd_heldout_traditional"], metrics["select_cmrc_train_heldout"]
    return f"""| set | EM | F1 | questions |
| --- | --- | --- | --- |
| CMRC 2018 trial (held out) | {trial.get("em", "")} | {trial.get("f1", "")} | {trial.get("questions", "")} |
| DRCD held-out paragraphs, traditional questions as asked | {drcd["em"]} | {drcd["f1"]} | {drcd["questions"]} |
| CMRC 2018 train, held-out paragraphs (selection) | {sel["em"]} | {sel["f1"]} | {sel["questions"]} |{extra_row}"""
