"""Answers: right stories, right spans, honest citations, and 'no answer' when the corpus has none.

These assert answer fields (spans, names, citations, reasons), not reply wording, which lives
in ``prompts/`` and may change.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from qa import evidence
from qa.evaluate import eval_dev
from qa.question import analyze
from qa.render import answer_json, citation_url
from qa.retrieve import retrieve
from tests.conftest import ROOT

pytestmark = pytest.mark.model
DEV = ROOT / "tests" / "data" / "dev_qa.jsonl"


KNOWN_SHORTFALL = ("issue 9: the trained readers answered 10 to 13 of the 15 answerable dev questions, by CPU and "
                   "shipped weights (the old rules, written on them, 15); 14 since the thirty-second round on the "
                   "AVX-512 VNNI machine, not yet measured on an AVX2 one, whose int8 kernels round differently")


@pytest.mark.xfail(strict=False, reason=KNOWN_SHORTFALL)
def test_dev_questions(pipeline):
    report = eval_dev(pipeline.answer, pipeline.index, DEV)
    assert report.hit1 == report.answerable, [r for r in report.rows if not r.get("story_hit1", True)]
    assert report.answer_hit >= report.answerable - 1, [r for r in report.rows if not r["ok"]]
    assert report.declined == report.unanswerable


def _check_citations(pipeline, result):
    for c in result.citations + result.related:
        story = pipeline.index.story(c.story_id)
        if c.start < len(story.body):
            assert story.body[c.start:c.end] == c.text
        assert c.title == story.display_title and c.source == story.source
        assert citation_url(c).startswith(f"/story/{c.story_id}?start={c.start}&end={c.end}")
        if c.answer_start is not None:
            assert c.start <= c.answer_start < c.answer_end <= c.end


@pytest.mark.parametrize("question", [
    "7月18日的会议谁参加了?", "二七区招商小分队第三天考察了哪里?", "海立·海尔压缩机项目一期什么时候投产?",
    "管城回族区区长是谁?", "6月1日的会议谁参加了?", "商都路党群服务中心服务群众多少人?",
])
def test_spans_and_citations_point_at_the_story_text(pipeline, question):
    result = pipeline.answer(question)
    _check_citations(pipeline, result)
    for span in result.spans:
        body = pipeline.index.story(span.story_id).body
        if span.kind != "byline":
            assert span.text in body[span.start:span.end]
        assert 0.0 <= span.score <= 1.0
    if result.found:
        first = result.citations[0]
        assert first.answer_start is not None
        assert result.spans[0].story_id == first.story_id


def test_who_lists_every_person_with_roles(pipeline):
    result = pipeline.answer("7月18日的会议谁参加了?")
    assert result.type == "who" and result.found
    people = {s.text: s.role for s in result.spans if s.kind == "person"}
    assert {"牛瑞华", "马安庄"} <= set(people), result.spans
    assert people["牛瑞华"] and people["马安庄"], "each with the role the story gives"
    assert result.citations[0].title.startswith("加快中原科技城核心板块建设")


@pytest.mark.parametrize("question", ["6月1日的会议谁参加了?", "8月1日的会议谁参加了?", "12月3日举行了什么签约仪式?"])
def test_a_date_the_corpus_never_mentions_gets_no_answer(pipeline, question):
    result = pipeline.answer(question)
    assert not result.found and result.answer == "" and result.citations == [] and result.spans == []
    assert result.reason == "date"
    assert result.related, "the nearest passages are offered as possibly related"


def test_a_storys_own_date_is_not_read_as_a_cue_inside_it(pipeline):
    """7月18日 is the story's date (its lead's): it chose the story, and inside the story the reader
    reads the question without it, so the lead sentence that repeats it does not win."""
    story = next(s for s in pipeline.index.stories.values() if s.title.startswith("加快中原科技城核心板块建设"))
    assert story.date == "07-18"
    asked = pipeline.answerer
    q = analyze("7月18日的会议谁参加了?", pipeline.index.tokenizer)
    vectors, states = asked.embedder.queries_with_states([q.norm])
    passages = [p for p in evidence.passages(pipeline.index, retrieve(pipeline.index, vectors[0], q))
                if p.story.id == story.id]
    assert passages
    pairs = asked._pairs(q, states[0], passages)
    bare = asked.embedder.queries_with_states(["会议谁参加了?"])[1][0]
    assert all(p.q_states.shape == bare.states.shape for p in pairs)
    assert all(np.allclose(p.q_states, bare.states, atol=1e-4) for p in pairs)


def test_pairs_are_made_only_when_read_and_the_dateless_question_encoded_once(pipeline, monkeypatch):
    """The reader may stop after the best story (its early exit), so a pair is made when it is
    first read, and the question without its date is encoded only for a dated story's chunk."""
    story = next(s for s in pipeline.index.stories.values() if s.title.startswith("加快中原科技城核心板块建设"))
    asked = pipeline.answerer
    q = analyze("7月18日的会议谁参加了?", pipeline.index.tokenizer)
    vectors, states = asked.embedder.queries_with_states([q.norm])
    passages = evidence.passages(pipeline.index, retrieve(pipeline.index, vectors[0], q))
    elsewhere = analyze("二七区区长是谁?", pipeline.index.tokenizer)  # chunks of other stories too
    passages += evidence.passages(pipeline.index, retrieve(
        pipeline.index, asked.embedder.queries_with_states([elsewhere.norm])[0][0], elsewhere))
    dated = [i for i, p in enumerate(passages) if p.story.id == story.id]
    other = [i for i, p in enumerate(passages) if p.story.id != story.id]
    assert dated and other
    calls = []
    encode = asked.embedder.queries_with_states
    monkeypatch.setattr(asked.embedder, "queries_with_states", lambda texts: (calls.append(texts), encode(texts))[1])
    pairs = asked._pairs(q, states[0], passages)
    assert pairs.made() == 0 and not calls
    assert pairs[other[0]].question == q.norm and not calls
    for i in dated:
        assert pairs[i].question != q.norm
    assert len(calls) == 1 and pairs.made() == 1 + len(dated)


def test_the_date_decides_which_meeting(pipeline):
    """Two meeting stories of the same week: the question's date ranks its own story first, and
    an answer cites it. (Whether the reader answers "7月20日的会议谁参加了?" rides on its margin,
    which int8 arithmetic moves across CPUs: answered by earlier CI machines, declined (score
    0.124 against 0.136) on an AVX2-only one.)"""
    for question, title in (("7月20日的会议谁参加了?", "双改"), ("7月21日的会议由谁主持?", "防汛")):
        result = pipeline.answer(question)
        assert title in pipeline.index.stories[result.retrieved[0]].title, question
        assert all(title in c.title for c in result.citations[:1]), question


@pytest.mark.parametrize("question", ["张三在哪里工作?", "火星基地什么时候建成?", "<img src=x onerror=alert(1)>"])
def test_questions_the_corpus_cannot_answer(pipeline, question):
    assert not pipeline.answer(question).found


def test_same_answer_in_traditional_characters_and_other_date_forms(pipeline):
    simplified = pipeline.answer("7月18日的会议谁参加了?").answer
    assert pipeline.answer("七月十八日的會議誰參加了？").answer == simplified
    assert pipeline.answer("7/18的会议谁参加了?").answer == simplified


def test_a_byline_question_is_answered_from_the_byline(pipeline):
    result = pipeline.answer("郑东新区防汛会商会议那篇报道的记者是谁?")
    assert result.found and [s.kind for s in result.spans] == ["byline"]
    story = pipeline.index.story(result.spans[0].story_id)
    assert "防汛" in story.title + story.subtitle
    assert result.answer == "、".join(story.byline.reporters)


def test_an_unknown_question_type_does_not_stop_the_reader(pipeline):
    """No interrogative the analyser knows, yet the story holds the answer (the reader was
    trained on questions in keyword form too)."""
    result = pipeline.answer("郑东新区防汛会商会议的主持人")
    assert result.type == "other"
    assert result.found and "刘焱中" in result.answer


def test_an_english_question_is_read_in_the_stories_words(pipeline):
    """The readers were trained on Chinese questions: an English one is glossed into the words of
    the chunks retrieved for it (qa/gloss.py), retrieved again and read in them."""
    result = pipeline.answer("Who hosted the flood-control meeting in Zhengdong New District?")
    assert result.lang == "en"
    assert all(w in result.analysis["read_as"] for w in ("谁", "主持", "防汛", "郑东"))
    assert result.found and "刘焱中" in result.answer
    story = pipeline.index.story(result.citations[0].story_id)
    assert "防汛" in story.title
    assert pipeline.answer("谁主持了郑东新区防汛会商会议?").analysis["read_as"] == ""  # Chinese: as asked
    from qa.prompts import load_prompts
    from qa.render import answer_html

    shown = answer_html(result, load_prompts(ROOT / "prompts", "en"))  # the reply says how it was read
    assert 'class="qa-read-as"' in shown and result.analysis["read_as"] in shown


def test_a_keyword_query_finds_what_its_question_finds(pipeline):
    """The bare phrase and the question it stands for cite the same sentence."""
    bare, asked = pipeline.answer("郑东新区防汛会商会议的主持人"), pipeline.answer("郑东新区防汛会商会议的主持人是谁?")
    assert bare.found and asked.found
    first = [(a.citations[0].story_id, a.citations[0].text) for a in (bare, asked)]
    assert first[0] == first[1]


def test_answer_json_interface(tmp_path):
    out = subprocess.run([sys.executable, "-m", "qa", "ask", "--json", "--index", str(tmp_path / "index"),
                          "郑东新区防汛会商会议由谁主持?"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    obj = json.loads(out)
    assert {"question", "answer", "found", "type", "elapsed_ms", "spans", "citations", "message"} <= set(obj)
    assert obj["found"] and "刘焱中" in obj["answer"]
    c = obj["citations"][0]
    assert {"n", "story_id", "title", "date", "source", "lines", "text", "start", "end",
            "answer_start", "answer_end", "score", "url"} <= set(c)
    s = obj["spans"][0]
    assert {"story_id", "start", "end", "text", "score"} <= set(s)


def test_answer_jsonl_keeps_order(tmp_path):
    questions = ["7月18日的会议谁参加了?", "6月1日的会议谁参加了?", "二七区区长是谁?"]
    out = subprocess.run([sys.executable, "-m", "qa", "ask", "--jsonl", "--index", str(tmp_path / "index")],
                         input="\n".join(questions) + "\n", cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["question"] for o in objs] == questions
    assert [o["found"] for o in objs] == [True, False, True]


def test_who_lists_every_person_with_roles_when_the_verb_is_the_storys(pipeline):
    result = pipeline.answer("7月18日的会议有哪些人出席?")
    people = {s.text: s.role for s in result.spans if s.kind == "person"}
    assert {"牛瑞华", "马安庄"} <= set(people) and people["牛瑞华"] and people["马安庄"], result.spans


def test_presentation_adds_links_and_phrasing_without_changing_the_data(pipeline):
    result = pipeline.answer("二七区区长是谁?")
    d = answer_json(result, {"answer": "<{answer}>", "no_answer": "-", "no_answer_reason_date": "-",
                             "person": "{name}/{role}", "list_separator": "|"})
    assert d["message"].startswith("<") and d["answer"] == result.answer
    assert d["citations"][0]["url"] == citation_url(result.citations[0])


def test_a_page_dropped_in_twice_gives_one_citation_per_quote(tmp_path, embedder):
    import shutil

    from qa.pipeline import Pipeline
    from qa.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "002_e713b7ff9e0ddada.txt", corpus / "a.txt")
    shutil.copy(ROOT / "corpus" / "002_e713b7ff9e0ddada.txt", corpus / "b.txt")
    pipe = Pipeline(Settings(corpus=corpus, index=tmp_path / "index"), progress=False)
    pipe.__dict__["embedder"] = embedder
    result = pipe.answer("郑东新区防汛会商会议由谁主持?")
    assert result.found
    texts = [c.text for c in result.citations]
    assert len(texts) == len(set(texts))


WHO = ["7月20日的会议谁参加了?", "7月18日的会议谁参加了?", "谁主持了郑东新区防汛会商会议?"]
# the stories that answer these name their people; the 7月20日 meeting's attendees are groups
# ("管委会班子成员、…主要负责人参加会议"), so its answer need not be a name
NAMED = WHO[1:]


@pytest.mark.parametrize("question", WHO)
def test_a_who_question_is_answered_by_people_never_by_a_cut_word(pipeline, question):
    """Issue 11: "7月20日的会议谁参加了?" was answered "室组织召开…", a span starting inside 会议室."""
    import jieba

    result = pipeline.answer(question)
    if not result.found:
        return
    for span in result.spans:
        if span.kind in ("person", "byline"):
            continue
        body = pipeline.index.story(span.story_id).body
        edges, at = {0}, 0
        for word in jieba.cut(body):
            at += len(word)
            edges.add(at)
        assert span.start in edges and span.end in edges, body[span.start - 3:span.end + 3]
    people = result.spans[0].kind == "person" or result.answer in pipeline.index.tokenizer.names_in(result.answer)
    assert people or question not in NAMED, result.answer


def test_min_score_trades_answers_for_declines(pipeline):
    """QA_MIN_SCORE moves the no-answer threshold to a calibrated score: a strict one declines what
    the default answers; a loose one answers what the default declines when the reader found a span."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    def with_min(score):
        p = Pipeline(Settings(corpus=pipeline.settings.corpus, index=pipeline.settings.index, min_score=score),
                     progress=False)
        p.__dict__["embedder"] = pipeline.embedder
        return p

    default = pipeline.reader
    assert abs(default.probability(default.margin_at(0.3)) - 0.3) < 1e-9
    strict, loose = with_min(0.999), with_min(0.001)
    assert strict.reader.threshold > default.threshold > loose.reader.threshold
    if default.second is not None:  # the reader after the lead moves by its own calibration
        assert strict.reader.second_threshold > default.second_threshold > loose.reader.second_threshold
        assert strict.reader.probability(strict.reader.threshold) == pytest.approx(0.999)
    q = "7月18日的会议谁参加了?"
    answered = pipeline.answer(q)
    assert answered.found and not strict.answer(q).found
    assert loose.answer(q).answer == answered.answer


def test_a_district_the_pages_never_mention_is_declined_and_named_in_the_reply(pipeline):
    """everyday_qa's 金水区 question: jieba's tags miss 金水区; the gazetteer finds it, and no story has it."""
    from qa.prompts import load_prompts
    from qa.render import reply_text
    from qa.settings import Settings

    result = pipeline.answer("金水区区委书记是谁?")
    assert not result.found and result.reason == "place" and result.detail == {"place": "金水区"}
    assert "金水区" in reply_text(result, load_prompts(Settings().prompts, "zh"))
    assert pipeline.answer("二七区委书记是谁?").found  # a district the pages cover is still answered


def test_a_place_the_question_names_picks_the_passage_among_those_read(pipeline):
    """everyday_qa's e32: the reader's best span is in a story that never prints 经开区 (新郑's); the
    answer comes from the best accepted span whose story does, not a decline (forty-second round)."""
    result = pipeline.answer("经开区网格治理的工作闭环是怎么运转的?")
    assert result.found, result.reason
    story = pipeline.index.story(result.citations[0].story_id)
    assert "经开区" in story.body and "民意收集" in result.answer


def test_a_misspelt_name_is_read_as_the_corpus_name_and_the_reply_says_so(pipeline):
    """everyday_qa's 牛瑞化: the pages print 牛瑞华 (qa.spelling)."""
    from qa.prompts import load_prompts
    from qa.render import read_as_text
    from qa.settings import Settings

    result = pipeline.answer("牛瑞化是什么职务?")
    assert result.found and "牛瑞华" in result.answer and "常务副主任" in result.answer
    assert result.analysis["read_as"] == "牛瑞华是什么职务?"
    assert "牛瑞华" in read_as_text(result, load_prompts(Settings().prompts, "zh"))
    assert pipeline.answer("牛瑞华是什么职务?").analysis["read_as"] == ""  # spelt right: read as asked


def test_a_who_question_asking_a_title_is_not_answered_with_people_printed_under_other_titles(pipeline):
    """answerability.contradicts_title: a person answered for 区长 carries 区长 in the role printed, or no role."""
    from qa import answerability
    from qa.question import analyze

    results = {q: pipeline.answer(q) for q in ["管城回族区区长是谁?", "二七区区长是谁?", "郑东新区党工委书记是谁?",
                                               "经开区党工委副书记是谁?"]}
    for question, result in results.items():
        people = [s for s in result.spans if s.kind == "person"]
        assert not answerability.contradicts_title(answerability.asked_title(analyze(question)), people), \
            (question, result.answer)
    result = results["管城回族区区长是谁?"]  # dev d08: the 区委书记 was answered before
    assert "丁晓永" in result.answer
    # the list the span sits in (潘开名, 副市长, and 丁晓永) keeps only the people whose role holds the title
    assert all("区长" in s.role for s in result.spans if s.kind == "person") and "潘开名" not in result.answer


def test_a_title_question_is_not_answered_with_a_company(tmp_path, embedder):
    """"<company>负责人叫什么名字" over a story that names the company and not its manager is declined,
    not answered with the company (the span must name a person); a title the story does name is
    still answered with its holder."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "page.txt").write_text(
        "# 区招商团队赴上海考察企业\n\n"
        "本报讯 3月2日,区招商团队赴上海考察,区委书记王建国带队。考察团实地考察了上海星河新材料有限公司,"
        "并与公司负责人就新材料产业园项目进行了对接洽谈。考察团还参观了上海市科技创新中心。\n", encoding="utf-8")
    pipe = Pipeline(Settings(corpus=corpus, index=tmp_path / "index"), progress=False)
    pipe.__dict__["embedder"] = embedder
    result = pipe.answer("星河新材料公司负责人叫什么名字?")
    assert not result.found, result.answer
    result = pipe.answer("区委书记叫什么名字?")
    assert result.found and [s.text for s in result.spans if s.kind == "person"] == ["王建国"], result.answer


def test_a_titled_name_whose_surname_the_list_lacks_is_known_by_jiebas_tags(pipeline):
    """区长虎荣鑫: 虎 is not a listed surname, but jieba tags 荣鑫 a person, so he is known with his role;
    asked for the 宣传部长, the product no longer answers him (区长) but the one the page names."""
    assert "虎荣鑫" in pipeline.answerer.known_names
    result = pipeline.answer("二七区委宣传部长是哪位?")
    people = [s for s in result.spans if s.kind == "person"]
    assert result.found and [s.text for s in people] == ["申红涛"] and "宣传部长" in people[0].role, result.answer
    result = pipeline.answer("二七区区长是谁?")
    assert [(s.text, "区长" in s.role) for s in result.spans if s.kind == "person"] == [("虎荣鑫", True)]


def test_a_title_asked_with_its_department_is_not_answered_with_another_departments(pipeline):
    """统战部长 asked: 组织部长李卓瑜 holds 部长 but not the title asked (answerability.widen_title)."""
    result = pipeline.answer("二七区委统战部长是谁?")
    assert "李卓瑜" not in result.answer
    assert all("统战部长" in s.role for s in result.spans if s.kind == "person"), result.answer
