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


def test_numbers_keep_latin_units_and_ranges():
    for text, expected in [("速度为4.7 GHz,是上一代的2倍", "4.7 GHz"), ("身高182CM", "182CM"),
                           ("生长于海拔400米至1,700米的地区", "400米至1,700米")]:
        assert expected in [text[a:b] for a, b in numbers(text)]


def test_the_interrogative_decides_the_granularity_of_a_time(ctx):
    s = "4月20日,经开区组织召开第一季度观摩点评会。"
    assert extract(analyze("观摩点评会是哪天召开的?", ctx.tokenizer), s, ctx).text == "4月20日"
    s = "该项目2024年上半年投产,6月18日举行了仪式。"
    assert extract(analyze("项目哪年投产?", ctx.tokenizer), s, ctx).text == "2024年上半年"


def test_howmuch_finds_the_measured_word_and_durations(ctx):
    s = "商都路党群服务中心是第二家区域型党群服务中心,辐射3个城市社区,服务群众5.8万余人、公共单位35家。"
    assert extract(analyze("服务中心服务多少群众?", ctx.tokenizer), s, ctx).text == "5.8万余人"
    s = "四要做好人员24小时值班值守工作,同时按照3项要求执行。"
    assert extract(analyze("值班要求多长时间?", ctx.tokenizer), s, ctx).text == "24小时"


def test_a_kind_of_head_noun_and_a_title_that_names_it(ctx):
    s = "2月10日,管城回族区产业园推介暨签约仪式在金融科创城商务服务中心举行。"
    assert extract(analyze("2月10日举行了什么活动?", ctx.tokenizer), s, ctx).text == "管城回族区产业园推介暨签约仪式"
    s = "他因参加综艺节目《奔跑吧兄弟》而走红。"
    assert extract(analyze("他因参加什么综艺节目而走红?", ctx.tokenizer), s, ctx).text == "《奔跑吧兄弟》"


def test_definitions_in_both_word_orders(ctx):
    s = "标准杆,是一个高尔夫球运动术语,用以定义挥杆次数。"
    for question in ["什么是标准杆?", "标准杆是什么?"]:
        assert extract(analyze(question, ctx.tokenizer), s, ctx).text.startswith("一个高尔夫球运动术语")
    s = "内台航路,或称内台航线,是台湾日治时期连结日本内地与台湾的海运航线。"
    assert extract(analyze("什么是内台航路?", ctx.tokenizer), s, ctx).text.startswith("台湾日治时期")


def test_an_answer_never_just_repeats_the_question(ctx):
    q = analyze("马飚毕业于哪所大学?", ctx.tokenizer)
    ex = extract(q, "马飚(),1960年生,中央民族学院政治系毕业。", ctx)
    assert ex is None or "马飚" != ex.text.strip("()")
    ex = extract(analyze("哪首歌是指定曲目?", ctx.tokenizer), "男子组指定演唱《童话》(原唱者", ctx)
    assert ex is None or ex.text.count("(") == ex.text.count(")")


def test_a_measure_question_wants_a_number_of_that_measure(ctx):
    for question, sentence, expected in [
        ("主跑道有多长?", "机场有三条跑道,主跑道长1,980米。", "1,980米"),
        ("学校总占地面积有多大?", "学校有两个校区,总占地面积1133.87亩。", "1133.87亩"),
        ("他的身高是多少?", "他身高182CM,体重70公斤。", "182CM"),
    ]:
        assert extract(analyze(question, ctx.tokenizer), sentence, ctx).text == expected
