"""The answer layer's parts on hand-made stories: list expansion, bylines, constraints, span choice."""

from types import SimpleNamespace as NS

import pytest

from qa import answerability
from qa.expand import byline_people, people_list
from qa.question import analyze
from qa.story import Byline, Story

BODY = ("7月18日，郑东新区党工委扩大会议召开。郑东新区党工委副书记、管委会常务副主任牛瑞华，"
        "党工委副书记马安庄等出席会议。会议强调，要加快建设。")


def _story(body=BODY, byline=None):
    return Story(id="s1", title="郑东新区党工委扩大会议召开", body=body, source="page.txt", lines=(1, 3),
                 byline=byline or Byline())


def test_a_person_in_a_coordination_brings_the_whole_list_with_roles():
    story = _story()
    start = BODY.index("马安庄")
    pieces = people_list(story, start, start + 3, frozenset())
    assert [p.name for p in pieces] == ["牛瑞华", "马安庄"]
    assert pieces[0].role.endswith("常务副主任") and pieces[1].role == "党工委副书记"
    for p in pieces:
        assert BODY[p.start:p.end] == p.text and p.text.endswith(p.name)
    first = BODY.index("牛瑞华")  # from the first person, the list grows rightwards too
    assert [p.name for p in people_list(story, first, first + 3, frozenset())] == ["牛瑞华", "马安庄"]


def test_a_span_without_people_is_not_widened():
    story = _story()
    start = BODY.index("加快建设")
    assert people_list(story, start, start + 4, frozenset()) == []


def test_people_in_another_clause_are_not_joined():
    body = "主任张伟主持会议，会上听取了副主任李强的汇报。"
    story = _story(body)
    pieces = people_list(story, body.index("张伟"), body.index("张伟") + 2, frozenset())
    assert [p.name for p in pieces] == ["张伟"]


def test_byline_answers_pick_what_is_asked():
    story = _story(byline=Byline(("记者 马燕 通讯员 李盼 文/图",), ("马燕",), ("李盼",)))
    assert [p.text for p in byline_people(story, "这篇报道的记者是谁")] == ["马燕"]
    assert [p.text for p in byline_people(story, "通讯员是谁")] == ["李盼"]
    assert [p.text for p in byline_people(story, "谁写的")] == ["马燕", "李盼"]
    assert byline_people(_story(), "记者是谁") == []


def _hit(story, date_ok=None):
    return NS(story=story, date_ok=date_ok, score=1.0, chunks=[(0, 1.0)])


def test_a_date_no_story_mentions_is_an_unmet_constraint():
    q = analyze("6月1日的会议谁参加了?")
    decline = answerability.unmet_constraint(q, [_hit(_story(), date_ok=False)], frozenset())
    assert decline.reason == "date" and "6月1日" in decline.detail["date"]
    assert answerability.unmet_constraint(analyze("7月18日的会议谁参加了?"), [_hit(_story(), True)],
                                          frozenset()) is None


def test_a_known_person_no_retrieved_story_names_is_an_unmet_constraint():
    q = analyze("王小明参加了什么会议?")
    q.names = ["王小明"]
    assert answerability.unmet_constraint(q, [_hit(_story())], frozenset({"王小明"})).reason == "person"
    assert answerability.unmet_constraint(q, [_hit(_story())], frozenset()) is None  # unknown: the reader decides


def test_the_reader_margin_decides_and_the_prior_breaks_near_ties():
    spans = [NS(passage=0, margin=2.0), NS(passage=1, margin=2.3)]
    passages = [NS(retrieval=1.0), NS(retrieval=0.5)]
    assert answerability.best(spans, passages, prior=0.0).passage == 1
    assert answerability.best(spans, passages, prior=1.0).passage == 0
    assert answerability.accept(0.5, 0.4) and not answerability.accept(0.3, 0.4)


def test_a_place_the_answers_story_does_not_mention_is_an_unmet_constraint():
    q = analyze("谁主持了二七区防汛会商会议?")
    q.names = ["二七区"]
    assert answerability.missing_place(q, _story()).reason == "place"
    q.names = ["郑东新区"]
    assert answerability.missing_place(q, _story()) is None


@pytest.mark.parametrize("name, place", [
    ("二七区", True), ("郑东新区", True), ("管城回族区", True), ("金水社区", True),
    ("城市", False), ("小镇", False), ("新区", False), ("全县", False), ("社区", False), ("街道", False),
])
def test_only_a_proper_name_before_a_place_suffix_is_a_place_the_story_must_mention(name, place):
    assert answerability.place_name(name) is place
    if not place:  # a common noun the story does not print is no reason to decline
        q = analyze("这里是哪个地方?")
        q.names = [name]
        assert answerability.missing_place(q, _story(body="会议在会议室召开。")) is None


def test_a_decline_says_what_the_stories_lack_where_the_prompts_phrase_it():
    from qa.answer import Answer
    from qa.render import reply_text

    prompts = {"no_answer": "无", "no_answer_reason_place": "没有提到{place}"}
    none = Answer("金水区区委书记是谁?", "", False, "who", reason="place", detail={"place": "金水区"})
    assert reply_text(none, prompts) == "没有提到金水区"
    none.lang = "zh-Hant"  # asked in traditional characters: the folded name goes back to them
    assert reply_text(none, prompts) == "没有提到金水區"
    none.reason, none.detail = "person", {"name": "张伟"}  # no phrasing for it here
    assert reply_text(none, prompts) == "无"
    prompts["no_answer_reason_person"] = "没有提到{who}"  # an edited phrasing naming a field it does not get
    assert reply_text(none, prompts) == "无"


def test_a_span_that_cuts_a_name_is_widened_to_the_name():
    from qa.expand import cuts_a_name

    story = _story()
    start = BODY.index("马安庄")
    people = people_list(story, start, start + 2, frozenset())  # 马安 of 马安庄
    assert cuts_a_name(start, start + 2, people)
    assert not cuts_a_name(start, start + 3, people)


def test_the_title_a_who_question_asks_for():
    assert answerability.asked_title(analyze("管城回族区区长是谁?")) == "区长"
    assert answerability.asked_title(analyze("经开区党工委书记是哪位？")) == "书记"
    assert answerability.asked_title(analyze("7月18日的会议谁参加了?")) is None  # no title before the interrogative
    assert answerability.asked_title(analyze("区长在会上说了什么?")) is None  # not a who question


def test_an_answer_whose_printed_roles_all_lack_the_asked_title_contradicts_it():
    story = _story()
    start = BODY.index("马安庄")
    people = people_list(story, start, start + 3, frozenset())  # 牛瑞华 (…常务副主任), 马安庄 (党工委副书记)
    assert answerability.contradicts_title("区长", people)
    assert not answerability.contradicts_title("副书记", people)  # 马安庄's role holds it
    assert not answerability.contradicts_title("区长", [])  # no people: nothing printed to contradict
    assert not answerability.contradicts_title("区长", [NS(role="")])  # a person without a printed role


def test_a_title_asked_for_its_holders_name_makes_a_who_question():
    for question, title in [("粤浦科技公司负责人叫什么名字", "负责人"), ("该项目负责人的姓名是什么?", "负责人"),
                            ("第二巡察组组长叫什么?", "组长")]:
        q = analyze(question)
        assert q.type == "who" and answerability.asked_title(q) == title, question
    assert analyze("这家公司叫什么名字?").type != "who"  # a company's name, not a person's


def test_of_several_holders_of_a_title_those_of_the_organisation_asked_about_are_kept():
    body = "推介会上,郑地科创总经理吉献亮、郑州郑报置业有限公司总经理杨帆等作了项目推介。"
    story = _story(body)
    start = body.index("杨帆")
    people = people_list(story, start, start + 2, frozenset())
    assert [(p.name, p.role) for p in people] == [("吉献亮", "郑地科创总经理"), ("杨帆", "郑州郑报置业有限公司总经理")]
    assert [p.name for p in answerability.holders("总经理", people, "郑州郑报置业有限公司总经理叫什么名字")] == ["杨帆"]
    assert len(answerability.holders("总经理", people, "总经理是谁")) == 2  # the question names neither


def test_an_answer_names_a_person_by_jiebas_tags_or_in_latin_script():
    from qa.tokenize import Tokenizer

    tokenizer = Tokenizer()
    assert answerability.names_a_person("美国总统特朗普", tokenizer)  # no listed surname; jieba tags nr
    assert answerability.names_a_person("Mārcis Auziņš教授", tokenizer)  # Latin script
    assert not answerability.names_a_person("上海粤浦科技有限公司", tokenizer)
    assert not answerability.names_a_person("IBM公司", tokenizer)  # capitals only: an acronym, not a name


def test_the_asked_title_is_widened_to_the_roles_the_stories_print():
    roles = ["区委常委、组织部长、社治委主任", "区委常委、统战部长、区委办主任", "区委副书记、区长"]
    assert answerability.widen_title(analyze("二七区委统战部长是谁?"), "部长", roles) == "统战部长"
    assert answerability.widen_title(analyze("管城回族区区长是谁?"), "区长", roles) == "区长"  # no role prints 区区长
    assert answerability.widen_title(analyze("二七区委统战部长是谁?"), "部长", []) == "部长"
    people = [NS(role="区委常委、组织部长、社治委主任")]
    assert answerability.contradicts_title("统战部长", people) and not answerability.contradicts_title("部长", people)


@pytest.fixture(scope="module")
def tokenizer():
    from qa.tokenize import Tokenizer

    return Tokenizer()


@pytest.mark.parametrize("answer, question, echo", [
    ("郑东新区", "郑东新区防汛会商会议在哪里开的?", True),     # the question's own words
    ("新郑市", "新郑那个座谈会是在哪开的?", True),             # its place by the stem
    ("管城回族区", "管城区述职评议会在什么地方开的?", True),    # ... or by a shorter form
    ("上海市", "二七区招商小分队去了哪个城市?", False),
    ("金水区", "二七区的会在哪开的?", False),
    ("牛瑞华、马安庄", "7月18日的会议谁参加了?", False),
    ("下午", "推进会是上午开的还是下午开的?", False),      # alternatives offered: the answer is one
    ("淡水湖泊", "琵琶湖是淡水湖泊或者咸水湖泊?", False),
    ("新加坡", "新加坡和香港近十五年的人均GDP表现中，何者较优异?", False),   # a choice between named things
    ("金水区", "管城区与金水区哪个区人口多?", False),
    ("和平区", "和平区属于哪个城市?", True),                   # 和 inside a name offers no choice
    ("中华人民共和国", "中华人民共和国哪个部门负责外交?", True),
    ("可以", "机关手枪可不可以连发?", False),                  # yes/no, in its A-not-A form
    ("是", "冥府行星是一种假设中的天体类型吗?", False),
    ("角龙亚科", "开角龙亚科又叫什么?", False),                # another name shares characters
    ("苏丹", "苏丹航空是哪个国家的航空公司?", True),           # none of these kinds: still an echo
])
def test_an_answer_that_only_repeats_the_question_is_an_echo(answer, question, echo, tokenizer):
    assert answerability.echoes(answer, analyze(question, tokenizer)) is echo


def test_a_span_that_echoes_the_question_or_misses_its_place_does_not_fit():
    story = _story()
    q = analyze("郑东新区的会议在哪里开的?")
    assert answerability.unfit(q, story, "郑东新区").reason == "echo"
    assert answerability.unfit(q, story, "会议室") is None
    q.names = ["二七区"]
    assert answerability.unfit(q, story, "会议室").reason == "place"
