"""Evaluation: the project's question files and SQuAD-format sets such as CMRC 2018."""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


# ---------------------------------------------------------------- dev questions


@dataclass
class DevReport:
    n: int = 0
    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    answer_hit: int = 0
    complete: int = 0
    unanswerable: int = 0
    declined: int = 0
    latencies: list[float] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    @property
    def right(self) -> int:
        """Answerable questions answered right plus unanswerable ones declined."""
        return self.answer_hit + self.declined

    def summary(self) -> dict:
        a = self.answerable or 1
        return {
            "questions": self.n,
            "story_hit@1": round(self.hit1 / a, 3),
            "story_hit@3": round(self.hit3 / a, 3),
            "answer_hit": f"{self.answer_hit}/{self.answerable}",
            "answer_complete": f"{self.complete}/{self.answerable}",
            "no_answer_accuracy": f"{self.declined}/{self.unanswerable}",
            "latency_ms_p50": round(percentile(self.latencies, 50), 1),
            "latency_ms_p95": round(percentile(self.latencies, 95), 1),
            "right_by_kind": self.by_kind(),
        }

    def by_kind(self) -> dict[str, str]:
        """Right answers (a hit, or a decline where the corpus has no answer) per question kind."""
        kinds: dict[str, list[int]] = {}
        for row in self.rows:
            k = kinds.setdefault(row["kind"], [0, 0])
            k[0] += bool(row.get("ok"))
            k[1] += 1
        return {k: f"{a}/{b}" for k, (a, b) in sorted(kinds.items())}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _squash(text: str) -> str:
    return re.sub(r"\s", "", text)


def ranked_titles(answer, index) -> list[str]:
    """Story titles as the answer ranks them: cited stories first, then the rest retrieved."""
    ids = []
    for c in answer.citations:
        if c.story_id not in ids:
            ids.append(c.story_id)
    ids += [i for i in answer.retrieved if i not in ids]
    return [_squash(index.stories[i].title + index.stories[i].subtitle) for i in ids]


def eval_dev(answer_fn, index, path: Path) -> DevReport:
    report = DevReport()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        ans = answer_fn(item["q"])
        report.n += 1
        report.latencies.append(ans.elapsed_ms)
        row = {"id": item.get("id"), "q": item["q"], "found": ans.found, "answer": ans.answer,
               "kind": item.get("kind", item.get("type", ""))}
        if not item["stories"]:
            report.unanswerable += 1
            report.declined += not ans.found
            row["ok"] = not ans.found
        else:
            report.answerable += 1
            wanted = [_squash(s) for s in item["stories"]]
            titles = ranked_titles(ans, index)
            hits = [any(w in t for w in wanted) for t in titles]
            report.hit1 += any(hits[:1])
            report.hit3 += any(hits[:3])
            cited = " ".join(c.text for c in ans.citations)
            hit = any(a in ans.answer and a in cited for a in item["answers"])
            complete = all(a in ans.answer for a in item["answers"])
            report.answer_hit += hit
            report.complete += complete
            row.update(ok=hit, complete=complete, story_hit1=any(hits[:1]))
        report.rows.append(row)
    return report


# ---------------------------------------------------------------- SQuAD / CMRC 2018


def squad_stories(data: dict) -> tuple[list[dict], list[dict]]:
    """(stories, questions) of a SQuAD-format set; each passage becomes a story."""
    stories, questions = [], []
    for article in data["data"]:
        for p_i, para in enumerate(article["paragraphs"]):
            sid = para.get("id") or f"{article.get('id', article.get('title', 'a'))}-{p_i}"
            stories.append({"id": sid, "title": article.get("title", ""), "text": para["context"]})
            for qa in para["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append({"id": qa["id"], "q": qa["question"], "story": sid, "answers": answers})
    return stories, questions


def _segments(text: str) -> list[str]:
    """CMRC's mixed segmentation: every CJK character alone, Latin words and numbers whole."""
    return re.findall(r"[\u4e00-\u9fff]|[a-zA-Z0-9]+", text.lower())


def exact_match(prediction: str, answers: list[str]) -> float:
    p = _PUNCT.sub("", prediction.lower())
    return float(any(p == _PUNCT.sub("", a.lower()) for a in answers))


def f1_score(prediction: str, answers: list[str]) -> float:
    """Best over the answers of CMRC's F1: the longest common substring of segments."""
    pred = _segments(prediction)
    best = 0.0
    for a in answers:
        gold = _segments(a)
        lcs = _longest_common_substring(pred, gold)
        if lcs:
            precision, recall = lcs / len(pred), lcs / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def _longest_common_substring(a: list[str], b: list[str]) -> int:
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


@dataclass
class SquadReport:
    n: int = 0
    recall1: float = 0
    recall5: float = 0
    em: float = 0
    f1: float = 0
    first_citation: float = 0
    answered: int = 0
    latencies: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        n = self.n or 1
        return {"questions": self.n, "passage_recall@1": round(self.recall1 / n, 3),
                "passage_recall@5": round(self.recall5 / n, 3), "exact_match": round(self.em / n, 3),
                "f1": round(self.f1 / n, 3), "first_citation_has_answer": round(self.first_citation / n, 3),
                "answered": f"{self.answered}/{self.n}",
                "latency_ms_p50": round(percentile(self.latencies, 50), 1),
                "latency_ms_p95": round(percentile(self.latencies, 95), 1)}


def write_stories_file(stories: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "passages.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for s in stories:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    return path


def eval_squad(path: Path, make_pipeline, limit: int | None = None, progress=None) -> SquadReport:
    """Index the passages of ``path`` into a temporary index and ask every question."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    stories, questions = squad_stories(data)
    if limit:
        questions = questions[:limit]
    report = SquadReport()
    with tempfile.TemporaryDirectory(prefix="qa-squad-") as tmp:
        corpus = Path(tmp) / "corpus"
        write_stories_file(stories, corpus)
        pipeline = make_pipeline(corpus, Path(tmp) / "index")
        _ = pipeline.index  # build before timing
        for i, item in enumerate(questions):
            ans = pipeline.answer(item["q"])
            report.n += 1
            report.latencies.append(ans.elapsed_ms)
            report.recall1 += item["story"] in ans.retrieved[:1]
            report.recall5 += item["story"] in ans.retrieved[:5]
            report.em += exact_match(ans.answer, item["answers"])
            report.f1 += f1_score(ans.answer, item["answers"])
            report.answered += ans.found
            if ans.citations:
                report.first_citation += any(a in ans.citations[0].text for a in item["answers"])
            if progress:
                progress(i + 1, len(questions))
    return report
