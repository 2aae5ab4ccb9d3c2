"""Extraction from sentences: people with roles, lists, spans; never a word that is not there."""

import pytest

from qa.extract import Context, extract
from qa.people import find_people
from qa.question import analyze
from qa.spans import noun_phrases, numbers, time_expressions
from qa.tokenize import Tokenizer


@pytest.fixture(scope="module")
def ctx():
    return Context(Tokenizer())


def names(text, known=frozenset()):
    return [(p.name, p.role) for p in find_people(text, known)]


def test_people_after_titles_with_their_roles():
    assert names("郑东新区党工委副书记、管委会常务副主任牛瑞华,党工委副书记马安庄等出席会议。") == [
        ("牛瑞华", "郑东新区党工委副书记、管委会常务副主任"), ("马安庄", "党工委副书记")]
    assert names("二七区委副书记、区长虎荣鑫表示。") == [("虎荣鑫", "二七区委副书记、区长")]
    assert names("郑州市委组织部“两新”处处长宋紫谦到会指导。") == [("宋紫谦", "郑州市委组织部“两新”处处长")]


def test_people_in_lists_joined_by_dunhao():
    got = [n for n, _ in names("会上,周定友、陈平山、司秒争、李艳春、蒋琳琳、何洪涛、郝飞等结合各自分管领域发言。")]
    assert got == ["周定友", "陈平山", "司秒争", "李艳春", "蒋琳琳", "何洪涛", "郝飞"]
    assert [n for n, _ in names("活动现场,马安庄、张俊忠一同为服务中心揭牌。")] == ["马安庄", "张俊忠"]


def test_places_in_lists_are_not_people():
    assert names("新建路、新华路、辛店镇、薛店镇、梨河镇等12个单位作现场工作汇报。") == []


def test_who_answers_all_people_of_the_predicate_with_roles(ctx):
    q = analyze("7月18日的会议谁参加了?", ctx.tokenizer)
    s = "郑东新区党工委副书记、管委会常务副主任牛瑞华,党工委副书记马安庄等出席会议。"
    ex = extract(q, s, ctx)
    assert ex.text == "牛瑞华(郑东新区党工委副书记、管委会常务副主任)、马安庄(党工委副书记)等出席会议"
    start, end = ex.pieces[0]
    assert s[start:end] == "郑东新区党工委副书记、管委会常务副主任牛瑞华,党工委副书记马安庄等出席会议"


def test_who_takes_the_subject_of_the_asked_predicate_only(ctx):
    s = "郑东新区应急管理局局长刘焱中主持会议,郑东新区水务局局长王晓沛及各局分管领导参加会议。"
    assert extract(analyze("会议由谁主持?", ctx.tokenizer), s, ctx).text.startswith("刘焱中(")
    assert extract(analyze("谁参加了会议?", ctx.tokenizer), s, ctx).text.startswith("王晓沛(")


def test_role_question_skips_deputies(ctx):
    s = "区委常委、常务副区长屈连武强调,区委副书记、区长虎荣鑫表示。"
    assert extract(analyze("二七区区长是谁?", ctx.tokenizer), s, ctx).text == "虎荣鑫(区委副书记、区长)"


def test_noun_phrases_end_with_the_head(ctx):
    tok = ctx.tokenizer
    s = "下午,小分队赴上海实地考察了均和集团,并与均和集团负责人就均和云谷郑州智慧港项目进行了座谈。"
    assert [s[a:b] for a, b in noun_phrases(s, "项目", tok)] == ["均和云谷郑州智慧港项目"]
    s = "二七区邀请国家发改委专家库专家、国家财政部专家库专家到二七区。"
    assert [s[a:b] for a, b in noun_phrases(s, "专家", tok)] == ["国家发改委专家库专家", "国家财政部专家库专家"]
    s = "郭宏力带队到区级平台建设现场和蝶湖社区调研指导。"
    assert [s[a:b] for a, b in noun_phrases(s, "社区", tok)] == ["蝶湖社区"]


def test_times_and_numbers():
    s = "整体规划年产1500万台空调压缩机,一期预计2024年上半年投产,总投资达220亿元,服务群众5.8万余人。"
    assert [s[a:b] for a, b in time_expressions(s)] == ["2024年上半年"]
    assert {"1500万台", "220亿元", "5.8万余人"} <= {s[a:b] for a, b in numbers(s)}


def test_when_and_howmuch(ctx):
    s = "该项目负责人说,整体规划年产1500万台空调压缩机,一期预计2024年上半年投产。"
    assert extract(analyze("一期什么时候投产?", ctx.tokenizer), s, ctx).text == "2024年上半年"
    s = "商都路党群服务中心是郑东新区建成投用的第二家区域型党群服务中心,辐射周边3个城市社区。"
    assert extract(analyze("商都路党群服务中心是第几家区域型党群服务中心?", ctx.tokenizer), s, ctx).text == "第二家"
    assert extract(analyze("辐射周边多少个城市社区?", ctx.tokenizer), s, ctx).text == "3个"


def test_extraction_never_invents(ctx):
    sentences = ["郑东新区党工委副书记、管委会常务副主任牛瑞华,党工委副书记马安庄等出席会议。",
                 "下午,小分队赴上海实地考察了均和集团,并与均和集团负责人就均和云谷郑州智慧港项目进行了座谈。"]
    for question in ["谁参加了?", "谈了什么项目?", "去了哪里?", "什么时候?", "多少人?"]:
        q = analyze(question, ctx.tokenizer)
        for s in sentences:
            ex = extract(q, s, ctx)
            if ex:
                for a, b in ex.pieces:
                    assert s[a:b] and s[a:b] in s
