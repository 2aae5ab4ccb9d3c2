"""Question normalization and analysis: dates in every form, counts, types, constraints."""

import pytest

from qa.normalize import normalize_question
from qa.question import analyze, without_dates
from qa.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(["牛瑞华", "马安庄"])


@pytest.mark.parametrize("asked", [
    "7月18日的会议谁参加了?", "七月十八日的会议谁参加了?", "7.18的会议谁参加了?", "7/18的会议谁参加了?",
    "July 18的会议谁参加了?", "18 July的会议谁参加了?", "7月18号的会议谁参加了?", "７月１８日的會議誰參加了？",
])
def test_every_date_form_becomes_the_corpus_form(asked):
    assert normalize_question(asked) == "7月18日的会议谁参加了?"


@pytest.mark.parametrize("asked, norm", [
    ("Who attended the meeting on July 18th?", "Who attended the meeting on 7月18日?"),
    ("2023-07-18召开了什么会?", "2023年7月18日召开了什么会?"),
    ("二十三个项目", "23个项目"),
    ("签约了四十五个项目", "签约了45个项目"),
    ("第二家服务中心", "第二家服务中心"),      # ordinals stay as printed
    ("二七区区长是谁", "二七区区长是谁"),        # a name is not a number
    ("服务群众5.8万余人", "服务群众5.8万余人"),  # a decimal is not a date
    ("鄭東新區召開防汛會商會議", "郑东新区召开防汛会商会议"),
])
def test_normalization(asked, norm):
    assert normalize_question(asked) == norm


@pytest.mark.parametrize("question, qtype", [
    ("7月18日的会议谁参加了?", "who"),
    ("郑东新区防汛会商会议由谁主持?", "who"),
    ("二七区专项债培训会请了哪些专家?", "who"),
    ("Who hosted the flood-control meeting?", "who"),
    ("海立·海尔压缩机项目一期什么时候投产?", "when"),
    ("When will the compressor plant start production?", "when"),
    ("郭宏力到哪个社区调研了网格化治理?", "where"),
    ("二七区招商小分队第三天考察了哪里?", "where"),
    ("商都路党群服务中心是第几家区域型党群服务中心?", "howmuch"),
    ("总投资多少?", "howmuch"),
    ("How many projects were signed?", "howmuch"),
    ("中交投资是由哪家公司设立的?", "what"),
    ("“五单工作法”是什么?", "what"),
    ("为什么要建设安置房?", "why"),
    ("海立项目是否已经开工?", "yesno"),
])
def test_question_types(question, qtype, tokenizer):
    assert analyze(question, tokenizer).type == qtype


def test_constraints(tokenizer):
    q = analyze("7月18日的会议谁参加了?", tokenizer)
    assert q.date_norms == ["07-18"]
    assert "会议" in q.events


def test_names(tokenizer):
    q = analyze("牛瑞华在郑东新区参加了什么会议?", tokenizer)
    assert "牛瑞华" in q.names and "郑东新区" in q.names


@pytest.mark.parametrize("question, place", [
    ("金水区区委书记是谁?", "金水区"),      # a noun to jieba's tagger
    ("登封市有哪些重点项目?", "登封市"),    # a verb to it
    ("金水區區委書記是誰?", "金水区"),      # traditional, folded
    ("二七区委书记是谁?", "二七区"),        # inside 二七区委
])
def test_places_a_question_names_come_from_the_gazetteer_too(tokenizer, question, place):
    assert place in analyze(question, tokenizer).names


@pytest.mark.parametrize("question", ["欢潭是哪座城市的文物保护单位?", "这座城市有多少人口?"])
def test_a_measure_word_or_pronoun_is_not_glued_to_a_place(tokenizer, question):
    names = analyze(question, tokenizer).names
    assert "城市" in names and not any(n.endswith("城市") and n != "城市" for n in names)


def test_the_gazetteer_holds_divisions_not_common_nouns():
    from qa.lexicons import words

    places = set(words("places"))
    assert {"金水区", "管城回族区", "郑州市", "河南省", "中牟县"} <= places
    assert not places & {"市辖区", "开发区", "新区", "社区", "城区"}


@pytest.mark.parametrize("question, byline", [
    ("这篇报道是哪位记者写的?", True), ("通讯员是谁?", True), ("Who wrote the story?", True),
    ("记者采访了谁?", False), ("7月18日的会议谁参加了?", False),
])
def test_byline_questions(question, byline):
    assert analyze(question).asks_byline is byline


def test_a_question_without_a_known_interrogative_is_typed_other():
    assert analyze("郑东新区防汛会商会议的主持人").type == "other"


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u00ad", "\ufeff", "\u2060", "\u200e"])
def test_invisible_characters_are_dropped(invisible):
    assert normalize_question(f"7月{invisible}18日的会议{invisible}谁参加了?") == "7月18日的会议谁参加了?"


@pytest.mark.parametrize("question, english", [
    ("<img src=x onerror=alert(1)>", False), ("12345 ???", False), ("Who hosted the meeting?", True),
    ("<b>Who hosted it?</b>", True), ("谁主持了会议?", False),
])
def test_a_question_without_chinese_or_english_words_gets_the_uis_language(question, english):
    from qa.normalize import is_english

    assert is_english(question) is english


@pytest.mark.parametrize("question, several", [
    ("二七区招商小分队考察了哪些企业?", True), ("胡坤率团去上海、苏州招商是哪几天?", True),
    ("Which companies were visited?", True), ("二七区区长是谁?", False), ("项目总投资多少亿元?", False),
])
def test_questions_that_ask_for_several_things(question, several):
    assert analyze(question).asks_list is several


@pytest.mark.parametrize("question, bare", [
    ("7月18日的会议谁参加了?", "会议谁参加了?"), ("2月10日至12日胡坤去了哪里", "胡坤去了哪里"),
    ("二七区区长是谁?", None), ("7月18日?", None),
])
def test_a_question_without_its_dates(question, bare):
    assert without_dates(analyze(question)) == bare


@pytest.mark.parametrize("question, read", [
    ("二七区委中心组集中学习是几号开的?", "二七区委中心组集中学习是哪一天开的?"),
    ("活动几号举行?", "活动哪一天举行?"),
    ("沙特雷站是巴黎地铁几号线的换乘站?", "沙特雷站是巴黎地铁几号线的换乘站?"),  # an ordinal before a noun
])
def test_a_colloquial_jihao_asking_a_day_is_read_as_which_day(tokenizer, question, read):
    q = analyze(question, tokenizer)
    assert q.norm == read
    assert (q.type == "when") is (read != question)
