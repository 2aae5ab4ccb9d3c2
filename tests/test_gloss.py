"""English questions glossed into the stories' Chinese words (qa/gloss.py): CC-CEDICT read
backwards, a sense's word chosen by the retrieved text, names spelt by sound."""

import pytest

from qa.gloss import IRREGULAR, Sounds, _content_forms, applying, choose, dictionary, gloss, spell
from qa.normalize import normalize_question

CONTEXT = ("7月18日，郑东新区召开防汛会商会议，区应急管理局局长刘焱中主持会议。区水务局局长王晓沛出席会议并讲话，"
           "要求各单位密切关注河道水情。会议在规划展览馆举行。")


def test_the_dictionary_reads_cc_cedict_backwards():
    d = dictionary()
    assert len(d.senses) > 50_000
    assert "出席" in dict(d.senses["attend"]) and "会议" in dict(d.senses["meeting"])
    assert "防汛" in dict(d.senses["flood control"])  # phrases are senses too
    assert {"liu"} <= d.readings["刘"] and "yan" in d.readings["焱"]



def test_the_parsed_dictionary_is_cached_and_a_damaged_copy_is_parsed_again(tmp_path, monkeypatch):
    from qa import gloss as module

    monkeypatch.setenv("QA_MODEL_CACHE", str(tmp_path))
    module._dictionary.cache_clear()
    try:
        first = module._dictionary()
        (cached,) = tmp_path.glob("cedict-*.pickle")
        module._dictionary.cache_clear()
        assert module._dictionary() == first  # loaded from the copy
        cached.write_bytes(cached.read_bytes()[:1000])  # truncated
        module._dictionary.cache_clear()
        again = module._dictionary()
        assert again.senses == first.senses and again.verbs == first.verbs
        assert cached.stat().st_size > 1_000_000  # written again, whole
    finally:
        module._dictionary.cache_clear()

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


def test_a_name_the_retrieved_text_does_not_spell_is_spelt_from_the_corpus_words():
    # the corpus's words and how many chunks hold each (the lexical index's vocabulary)
    d = dictionary()
    vocabulary = {"管城": 12, "关城": 1, "管城区": 14, "会议": 30, "管": 40, "Zhang": 2, "严重": 50, "刘燕中": 99}
    sounds = Sounds(vocabulary, d.readings, d.common)
    assert sounds.spell("guancheng") == "管城"             # of the words that spell it, the commonest
    assert sounds.spell("guanchengqu") == "管城区"
    assert sounds.spell("guan") is None                    # one character is no name
    assert sounds.spell("zhang") is None                   # Latin words are not spellings
    assert sounds.spell("yanzhong") is None                # 严重 (serious) is a common word, not a name
    question = "When did Guancheng hold its review meeting?"
    assert "Guancheng" in gloss(question, CONTEXT)           # the retrieved text does not print it
    assert "管城" in gloss(question, CONTEXT, sounds=sounds)
    assert "刘焱中" in gloss("What did Liu Yanzhong say?", CONTEXT, sounds=sounds)  # the text first (not 刘燕中)


def test_dates_numbers_and_verb_forms():
    assert IRREGULAR["held"] == "hold"
    text = gloss(normalize_question("Where was the meeting held on July 18?"), CONTEXT)
    assert "7月18日" in text and "举行" in text and text.startswith("哪里")
    assert gloss("the of and", CONTEXT) is None  # nothing but function words: nothing glossed


def test_names_numbers_and_marks_are_kept_apart_and_whole():
    assert gloss("Xu Liyi attended the meeting between 2019 and 2020?", CONTEXT).startswith("Xu Liyi出席")
    assert "2019 2020" in gloss("Who attended the meeting between 2019 and 2020?", CONTEXT)
    assert "." not in gloss("Did Dr. Wang attend the meeting?", CONTEXT)
    # a name the chunks do not spell stays a name (not 丈, CC-CEDICT's zhang); a sense they print is taken
    assert "Zhang" in gloss("Did Zhang attend the meeting?", CONTEXT)
    assert "会议" in gloss("What did Meeting Liu say?", CONTEXT)
    # nothing but an interrogative glossed: read as asked
    assert gloss("Who is Liu?", CONTEXT) is None


def test_a_long_run_of_capitalized_words_is_spelt_a_few_at_a_time(monkeypatch):
    """Names are runs of at most MAX_NAME_WORDS words: a title-case question costs linear time."""
    import qa.gloss as g

    tried = []
    real = g.spell
    monkeypatch.setattr(g, "spell", lambda romanized, *a: tried.append(romanized) or real(romanized, *a))
    g.gloss(" ".join(["Zhang Wang Li"] * 20) + " attended?", CONTEXT)
    assert tried and max(len(t) for t in tried) <= len("zhangwangli") and len(tried) <= 60 * 2 * g.MAX_NAME_WORDS


def test_a_sense_whose_parentheses_name_the_questions_words_is_chosen():
    d = dictionary()
    assert "meeting" in d.notes["hold", "举行"]               # "to hold (a meeting, ceremony etc)"
    context = "管城区召开述职评议会，各单位把工作做好。"           # prints 把 (to hold; to grasp), not 举行
    assert "举行" in gloss("When did Guancheng hold its meeting?", context)
    assert "把" in gloss("Who will hold the flag?", context)   # nothing in the question picks a sense


def test_a_phrasal_verb_is_looked_up_with_its_verb_in_its_dictionary_form():
    assert "主持" in gloss("Who presided over the flood-control meeting?", CONTEXT)   # preside over -> 主持


def test_a_usage_label_in_parentheses_picks_no_sense():
    # 人犯 is "suspect (old)": the question's "old" is an adjective, not what the sense applies to
    found = {"人犯": 1, "可疑分子": 0}
    assert applying(found, ["suspect"], frozenset({"old", "case"}), dictionary()) == found
    assert "what" not in _content_forms(["What", "old", "case"]) and "case" in _content_forms(["case"])


def test_a_word_in_a_nouns_place_is_not_glossed_with_a_verbs_sense():
    assert ("plant", "种") in dictionary().verbs                  # 种: "to plant", only ever a verb here
    context = "海尔压缩机工厂在郑州种下一棵树。"
    noun = gloss("How much is the investment of the compressor plant in Zhengzhou?", context)
    assert "种" not in noun.replace("郑州", "")                    # "compressor plant in": a noun
    assert "种" in gloss("Where did they plant it?", context)    # after a pronoun: a verb
