"""Small parts with no tests before: scorers, fusions, date coverage, follow-ups, the chat handler."""

import numpy as np
import pytest

from qa.dates import covers
from qa.evaluate import exact_match, f1_score
from qa.followup import resolve
from qa.retrieve import rank_fusion, weighted_fusion

# (prediction, gold answers, EM, F1) worked out by hand with the official CMRC 2018 scorer's rules:
# lower-case, punctuation removed for EM; F1 from the longest common run of segments, where each
# CJK character is a segment and a run of Latin letters or digits is one.
SCORED = [
    ("1963年", ["1963年"], 1.0, 1.0),
    ("1963年被任为主教", ["1963年"], 0.0, 4 / 9),       # LCS 2 of 7 and 2: P 2/7, R 1
    ("《三体》", ["三体"], 1.0, 1.0),                    # punctuation does not count
    ("Summer分手", ["summer"], 0.0, 0.5),               # 3 segments, 1 shared
    ("", ["任何"], 0.0, 0.0),
    ("北京大学", ["清华大学", "北京"], 0.0, 2 * (2 / 4) * 1 / (2 / 4 + 1)),  # best over the answers
]


@pytest.mark.parametrize("prediction, answers, em, f1", SCORED)
def test_scorers_agree_with_the_official_rules(prediction, answers, em, f1):
    assert exact_match(prediction, answers) == em
    assert f1_score(prediction, answers) == pytest.approx(f1)


def test_rank_fusion_rewards_agreement():
    fused = rank_fusion([np.array([3, 1, 2]), np.array([1, 3, 0])], 4)
    assert set(np.argsort(-fused)[:2]) == {1, 3}
    assert fused[1] == fused[3] > fused[2] > 0 and fused[0] > 0
    assert fused[3] == pytest.approx(1 / 61 + 1 / 62) and fused[2] == pytest.approx(1 / 63)
    single = rank_fusion([np.array([5, 6])], 7)
    assert single[5] > single[6] > 0 == single[0]  # a higher rank is worth more


def test_weighted_fusion_mixes_scaled_bm25_and_cosine():
    fused = weighted_fusion(np.array([0.0, 10.0, 5.0]), {0: 0.9, 2: 0.2}, 3, alpha=0.5)
    assert fused == pytest.approx([0.45, 0.5, 0.35])
    assert weighted_fusion(np.zeros(2), {}, 2).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("mention, asked, expected", [
    ("07-18", "07-18", True),
    ("07-18", "07-19", False),
    ("02-10/02-12", "02-11", True),
    ("02-10/02-12", "02-13", False),
    ("05-end", "05-30", True),
    ("05-end", "05-05", False),
    ("2023-05-30", "2024-05-30", False),
    ("2023-05-30", "05-30", True),   # the corpus prints no year: compare years only when both give one
    ("2008-09-06/09-17", "2008-09-06/09-17", True),  # a range asked: both its ends covered
    ("02-10/02-12", "02-11/02-12", True),
    ("02-10/02-12", "02-11/02-13", False),
    ("02-10", "02-10/02-12", False),
])
def test_date_coverage(mention, asked, expected):
    assert covers(mention, asked) is expected


@pytest.mark.parametrize("question, previous, expected", [
    ("那7月20日呢?", "7月18日的会议谁参加了?", "7月20日的会议谁参加了?"),
    ("二七区区长是谁?", "7月18日的会议谁参加了?", "二七区区长是谁?"),  # not a follow-up
    ("那7月20日呢?", None, "那7月20日呢?"),                              # nothing to follow
    ("那二七区呢?", "谁主持了郑东新区防汛会商会议?", "谁主持了二七区防汛会商会议?"),  # the question word stays
    ("What about July 20?", "Who attended the meeting on July 18?", "Who attended the meeting on July 20?"),
])
def test_followups(question, previous, expected):
    assert resolve(question, previous) == expected


class _FakePipeline:
    def __init__(self, fail=False):
        from qa.settings import Settings

        self.settings = Settings()
        self.stale = False
        self.fail = fail
        self.asked = []

    def answer(self, question):
        from qa.answer import Answer

        self.asked.append(question)
        if self.fail:
            raise RuntimeError("secret internal detail")
        return Answer(question, "", False, "who", reason="not_found")


def test_chat_handler_resolves_followups_and_never_raises():
    from qa.web import ChatHandler

    ok = ChatHandler(_FakePipeline())
    html, asked = ok.reply("那7月20日呢?", "7月18日的会议谁参加了?")
    assert asked == "7月20日的会议谁参加了?" and ok.pipeline.asked == [asked] and "qa-none" in html
    broken = ChatHandler(_FakePipeline(fail=True))
    html, _ = broken.reply("二七区区长是谁?", None)
    assert "qa-error" in html and "secret internal detail" not in html and "Traceback" not in html
    reply = broken.ask("二七区区长是谁?")
    assert "error" in reply and "secret" not in reply["error"]
    assert ok.reply("   ", None)[1] == ""


@pytest.mark.parametrize("norm, shown", [
    ("07-18", "7月18日"), ("05-end", "5月底"), ("05-early", "5月初"), ("2023-05-30", "2023年5月30日"),
    ("02-10/02-12", "2月10日至2月12日"), ("2023-05", "2023年5月"), (None, ""),
])
def test_dates_are_shown_as_readers_write_them(norm, shown):
    from qa.dates import display

    assert display(norm) == shown


def test_citations_show_the_page_and_keep_the_file_name_in_a_tooltip():
    from qa.citations import Citation
    from qa.render import citation_html

    c = Citation(1, "s1", "标题", "05-end", "002_e713b7ff9e0ddada.txt", [3, 21], "引文。", 0, 3, None, None, 0.5)
    html = citation_html(c)
    assert "5月底" in html and "05-end" not in html
    assert "版面 002" in html and 'title="002_e713b7ff9e0ddada.txt:3-21"' in html


def test_the_lexical_vocabulary_counts_the_chunks_that_hold_each_token():
    from qa.lexical import BM25Index

    index = BM25Index.build([["管城", "管城", "会议"], ["管城", "签约"], []])
    vocabulary = index.vocabulary()
    assert vocabulary["管城"] == 2 and vocabulary["会议"] == 1 and vocabulary["签约"] == 1  # chunks, not uses
    assert BM25Index(None).vocabulary() == {}
