"""English questions glossed into the stories' Chinese words (qa/gloss.py): CC-CEDICT read
backwards, a sense's word chosen by the retrieved text, names spelt by sound."""

import pytest

from qa.gloss import IRREGULAR, choose, dictionary, gloss, spell
from qa.normalize import normalize_question

CONTEXT = ("7月18日，郑东新区召开防汛会商会议，区应急管理局局长刘焱中主持会议。区水务局局长王晓沛出席会议并讲话，"
           "要求各单位密切关注河道水情。会议在规划展览馆举行。")


def test_the_dictionary_reads_cc_cedict_backwards():
    d = dictionary()
    assert len(d.senses) > 50_000
    assert "出席" in dict(d.senses["attend"]) and "会议" in dict(d.senses["meeting"])
    assert "防汛" in dict(d.senses["flood control"])  # phrases are senses too
    assert {"liu"} <= d.readings["刘"] and "yan" in d.readings["焱"]


@pytest.mark.parametrize("question", ["谁主持了会议?", "Who hosted the 会议?", "7月18日的会议谁参加了?"])
def test_a_question_with_chinese_characters_is_never_glossed(question):
    assert gloss(question, CONTEXT) is None


def test_over_english_stories_the_question_is_read_as_asked():
    english = "Liu Yanzhong, director of the emergency bureau, hosted the flood-control meeting on July 21."
    assert gloss("Who hosted the meeting?", english) is None
    assert gloss("Who hosted the meeting?", english + CONTEXT + CONTEXT) is not None  # mostly Chinese


def test_a_senses_word_is_the_one_the_retrieved_text_prints():
    text = gloss("Who attended the meeting?", CONTEXT)
    assert text.startswith("谁") and "出席" in text and "会议" in text
    assert "上" not in text  # attend is 上's ninth sense, and 上 is printed everywhere
    # nothing printed: the most common word whose first or second sense it is
    assert choose((("枣", 1), ("日期", 0)), "", {"日期": 900, "枣": 300}.get) == "日期"
    # printed right after the word glossed before it wins: 二七 + 区, not 二七 + 区域
    assert choose((("区", 2), ("区域", 2)), "二七区召开会议，区域内", before="二七", frequency=lambda w: 0) == "区"


def test_names_are_spelt_by_sound_from_the_retrieved_text():
    readings = dictionary().readings
    assert spell("liuyanzhong", CONTEXT, readings) == "刘焱中"
    assert spell("wangxiaopei", CONTEXT, readings) == "王晓沛"
    assert spell("zhangsan", CONTEXT, readings) is None
    text = gloss("What did Yanzhong Liu say at the meeting?", CONTEXT)  # family name last, as English writes it
    assert "刘焱中" in text


def test_dates_numbers_and_verb_forms():
    assert IRREGULAR["held"] == "hold"
    text = gloss(normalize_question("Where was the meeting held on July 18?"), CONTEXT)
    assert "7月18日" in text and "举行" in text and text.startswith("哪里")
    assert gloss("the of and", CONTEXT) is None  # nothing but function words: nothing glossed
