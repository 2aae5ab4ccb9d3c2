"""Typed extraction: the answer span a sentence gives to a question, never invented.

Each extractor takes the analyzed question and one sentence and returns an :class:`Extraction`
(the short answer and the pieces of the sentence it comes from), or None.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .people import PERSON_TITLES, Person, find_people
from .question import INTERROGATIVE, Question
from .tokenize import PERSON_TAGS
from .spans import AREA_UNITS, DURATION_UNITS, LENGTH_UNITS, UNIT, WEIGHT_UNITS, clauses, noun_phrases, numbers, objects_after, time_expressions

MAX_ANSWER = 80


@dataclass
class Extraction:
    text: str
    pieces: list[tuple[int, int]] = field(default_factory=list)  # offsets in the sentence
    uses_objects: bool = False  # objects of the predicate: the next sentences may add more


@dataclass
class Context:
    """What extractors need besides the question: names the index knows, a jieba tagger."""

    tokenizer: object = None
    known_names: frozenset[str] = frozenset()
    person_template: str = "{name}({role})"
    separator: str = "、"
    loose: bool = False  # second pass: accept weaker answers (who: the words before the predicate)


def extract(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    extractor = {"who": extract_who, "when": extract_when, "where": extract_where,
                 "howmuch": extract_howmuch}.get(q.type, extract_what)
    ex = extractor(q, sentence, ctx)
    if ex and len(ex.pieces) == 1 and ex.text == sentence[slice(*ex.pieces[0])]:
        span = _tidy(sentence, *ex.pieces[0])
        ex = Extraction(sentence[span[0]:span[1]], [span], ex.uses_objects) if span else None
    if ex and restates(q, ex.text):
        return _after(q, sentence, ex) if q.type in ("what", "why") else None
    return ex


def _after(q: Question, sentence: str, ex: Extraction) -> Extraction | None:
    """What the sentence says after the words that only repeat the question."""
    start = max(e for _, e in ex.pieces)
    end = _sentence_part_end(sentence, start)
    span = _tidy(sentence, start, end) if end > start else None
    if not span or restates(q, sentence[span[0]:span[1]]):
        return None
    return Extraction(sentence[span[0]:span[1]], [span])


def restates(q: Question, answer: str) -> bool:
    """Whether an answer only repeats words of the question (马飚 for 马飚毕业于哪所大学)."""
    core = re.sub(r"[\W_]+", "", answer)
    asked = re.sub(r"[\W_]+", "", INTERROGATIVE.sub("", q.norm))
    return not core or core in asked


_OPEN, _CLOSE = "(（《“「[【", ")）》”」]】"


def _tidy(sentence: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim a span to balanced brackets and no dangling punctuation: 《童话》(原唱者 -> 《童话》."""
    depth, cut = [], None
    for i in range(start, end):
        ch = sentence[i]
        if ch in _OPEN:
            depth.append(i)
        elif ch in _CLOSE:
            if depth:
                depth.pop()
            elif i == start:
                start += 1
            else:
                cut = i
                break
    if cut is not None:
        end = cut
    elif depth:
        end = depth[0]
    while start < end and sentence[start] in _TRIM_EDGE:
        start += 1
    while end > start and sentence[end - 1] in _TRIM_EDGE:
        end -= 1
    return (start, end) if end > start else None


_TRIM_EDGE = set(",，、。;；:：!！?？ ")


# ---------------------------------------------------------------- who


def extract_who(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    if q.head and q.head != "人":
        found = _head_phrases(q, sentence, ctx)
        if found:
            return found
    people = find_people(sentence, ctx.known_names, _tagger(ctx))
    people = [p for p in people if p.name not in q.norm]
    if q.predicates:
        chosen, predicate = _subjects(q, sentence, people)
        if not chosen:
            return _loose_who(q, sentence) if ctx.loose else None
    else:
        chosen, predicate = _by_role(q, people), None
    if not chosen:
        return _loose_who(q, sentence) if ctx.loose else None
    return _people_answer(sentence, chosen, predicate, ctx)


def _loose_who(q: Question, sentence: str) -> Extraction | None:
    """Second pass: the words before the predicate, or the span the question's words frame."""
    found = _subject_phrase(q, sentence) if q.predicates else None
    if found:
        return found
    span = _aligned(q, sentence)
    return Extraction(sentence[span[0]:span[1]], [span]) if span else None


def _subject_phrase(q: Question, sentence: str) -> Extraction | None:
    """No one is named: the words before the predicate say who (…各平台公司主要负责人参加会议)."""
    for ps, pe in _predicate_spans(q, sentence):
        start = 0
        for m in _ANY_VERB.finditer(sentence, 0, ps):
            start = m.end()
        for m in re.finditer(r"[。;；:：,，]", sentence[:ps]):
            start = max(start, m.end())
        clause_end = next((e for s, e in clauses(sentence) if s <= ps < e), pe)
        end = min(clause_end, pe + 6)
        subject = sentence[start:ps].strip(" ,，、")
        if len(subject) >= 2 and not INTERROGATIVE.search(subject) and subject not in q.norm:
            return Extraction(sentence[start:end].strip(" ,，"), [(start, end)])
    return None


def _tagger(ctx: Context):
    tok = ctx.tokenizer
    if tok is None:
        return None

    def tag(text: str):
        pos = 0
        for word in tok.names_in(text, PERSON_TAGS):
            i = text.find(word, pos)
            if i >= 0:
                yield word, i
                pos = i + len(word)
    return tag


def _predicate_spans(q: Question, sentence: str) -> list[tuple[int, int]]:
    spans = []
    for w in sorted(q.predicate_words, key=len, reverse=True):
        if len(w) == 1:
            continue
        for m in re.finditer(re.escape(w), sentence):
            if not any(s <= m.start() < e for s, e in spans):
                spans.append(m.span())
    return sorted(spans)


_ANY_VERB = re.compile(r"主持|出席|参加|讲话|发言|致辞|表示|指出|强调|带队|率团|考察|调研|点评|汇报|签约|揭牌|介绍|参观|陪同")


def _subjects(q: Question, sentence: str, people: list[Person]) -> tuple[list[Person], tuple[int, int] | None]:
    """The people who do what the question asks: before the predicate, after any other verb."""
    for ps, pe in _predicate_spans(q, sentence):
        region_start = 0
        for m in _ANY_VERB.finditer(sentence, 0, ps):
            region_start = m.end()
        before = [p for p in people if region_start <= p.start and p.end <= ps]
        if before:
            return before, (ps, pe)
        clause_end = next((e for s, e in clauses(sentence) if s <= pe <= e), len(sentence))
        after = [p for p in people if pe <= p.start < clause_end]
        if after and _introduces(sentence[pe:after[0].role_start or after[0].start]):
            return after, (ps, pe)
    return [], None


def _introduces(gap: str) -> bool:
    """Whether the words between a predicate and a name introduce that name as its subject
    (出席会议的有[X]、参加人员包括[X]), not the object of another verb (与会人员观看了[X]的报告)."""
    return len(gap) <= 2 or bool(re.search(r"(?:有|包括|为|是|[:：])$", gap))


def _by_role(q: Question, people: list[Person]) -> list[Person]:
    """For 'X是谁': the person whose role best matches the question's words."""
    asked = INTERROGATIVE.sub("", q.norm)
    best, best_score = [], 0.0
    for p in people:
        if not p.role:
            continue
        score = _role_match(asked, p.role)
        if score > best_score:
            best, best_score = [p], score
        elif score == best_score and score > 0:
            best.append(p)
    return best if best_score >= 0.5 else []


def _role_match(asked: str, role: str) -> float:
    """How well a role (区委副书记、区长) fits the role a question names (二七区区长)."""
    titles = [t for t in PERSON_TITLES if t in asked]
    if not titles:
        return 0.0
    title = max(titles, key=len)
    items = re.split(r"[、,，]", role)
    exact = any(it.endswith(title) and not it[: -len(title)].endswith(("副", "常务副")) or it == title
                for it in items)
    if not exact:
        return 0.0
    rest = asked.replace(title, "")
    overlap = sum(1 for a, b in zip(rest, rest[1:]) if a + b in role) / max(1, len(rest) - 1)
    return 0.5 + 0.5 * overlap


def _people_answer(sentence: str, people: list[Person], predicate: tuple[int, int] | None,
                   ctx: Context) -> Extraction:
    parts = [ctx.person_template.format(name=p.name, role=p.role) if p.role else p.name for p in people]
    text = ctx.separator.join(parts)
    start = min(p.role_start if p.role_start is not None else p.start for p in people)
    end = max(p.end for p in people)
    if predicate:
        last = people[-1].end
        if sentence.startswith("等", last) and predicate[0] >= last:
            text += "等"
        if predicate[0] >= end:
            clause_end = next((e for s, e in clauses(sentence) if s <= predicate[0] < e), predicate[1])
            # the verb with a short object (主持会议, 出席仪式), not a long one
            phrase = sentence[predicate[0]:clause_end if clause_end - predicate[1] <= 4 else predicate[1]]
            text += phrase
            end = predicate[0] + len(phrase)
    return Extraction(text, [(start, end)])


# ---------------------------------------------------------------- when, where, how much


_GRANULARITY = [  # what a question's interrogative asks for, and the time expressions that give it
    (re.compile(r"哪天|哪一天|哪日|几月几[日号]|几号|什么日子|哪个日子|\bwhat (?:day|date)\b", re.I),
     re.compile(r"[日号]|当天|当日")),
    (re.compile(r"哪年|哪一年|\bwhat year\b", re.I), re.compile(r"年")),
    (re.compile(r"几点|什么时刻|\bwhat time\b", re.I), re.compile(r"[点时]")),
]


def extract_when(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    spans = [s for s in time_expressions(sentence) if sentence[s[0]:s[1]] not in q.norm]
    for asked, gives in _GRANULARITY:
        if asked.search(q.norm):
            fitting = [s for s in spans if gives.search(sentence[s[0]:s[1]])]
            spans = fitting if fitting or not ctx.loose else spans
            break
    if not spans:
        return None
    anchor = _anchor(q, sentence)
    span = min(spans, key=lambda s: _distance(s, anchor)) if anchor else spans[0]
    return Extraction(sentence[span[0]:span[1]], [span])


def extract_where(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    if q.head:
        found = _head_phrases(q, sentence, ctx)
        if found:
            return found
    if q.predicate_words:
        objects = [_place_in(sentence, o) for o in _objects(q, sentence)]
        if objects:
            return Extraction(ctx.separator.join(sentence[s:e] for s, e in objects), objects, True)
    places = [s for s in objects_after(sentence, ("赴", "到", "在", "位于", "前往", "来到", "于"))
              if not sentence[s[0]:s[1]].startswith(tuple("0123456789"))]
    if places:
        anchor = _anchor(q, sentence)
        span = min(places, key=lambda s: _distance(s, anchor)) if anchor else places[0]
        span = (span[0], _trim_verb(sentence, span))
        return Extraction(sentence[span[0]:span[1]], [span])
    return None


def _place_in(sentence: str, span: tuple[int, int]) -> tuple[int, int]:
    """An object that names an event and then its place (仪式在[…中心]举行) gives the place."""
    m = re.compile(r"[^,，]{0,8}?(?:在|于)(?=[\u4e00-\u9fff])").match(sentence, span[0], span[1])
    if not m:
        return span
    place = (m.end(), span[1])
    return place[0], _trim_verb(sentence, place)


def _objects(q: Question, sentence: str) -> list[tuple[int, int]]:
    spans = []
    for s, e in objects_after(sentence, tuple(w for w in q.predicate_words if len(w) > 1)):
        text = sentence[s:e]
        if text and text not in q.norm and not INTERROGATIVE.search(text):
            spans.append((s, e))
    return spans


_VERB_AFTER_PLACE = re.compile(r"(?:开展|举行|召开|进行|调研|考察|参加|出席|实地|参观|走访|视察|指导|学习|工作)")


def _trim_verb(sentence: str, span: tuple[int, int]) -> int:
    m = _VERB_AFTER_PLACE.search(sentence, span[0] + 2, span[1])
    return m.start() if m else span[1]


def extract_howmuch(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    dates = time_expressions(sentence)
    spans = [s for s in numbers(sentence) if sentence[s[0]:s[1]] not in q.norm
             and not any(d[0] <= s[0] < d[1] for d in dates)]
    units = _asked_unit(q.norm)
    if units:
        spans = [s for s in spans if sentence[s[0]:s[1]].rstrip("余多").lower().endswith(units)] or \
            [s for s in spans if any(u in sentence[s[1]:s[1] + 2] for u in units)]
    if "第几" in q.norm:
        spans = [s for s in spans if sentence[s[0]] == "第"]
    else:
        spans = [s for s in spans if not re.fullmatch(r"\d{4}年", sentence[s[0]:s[1]])] or spans
    if not spans:
        return None
    measured = _measured(q, sentence, spans, ctx)
    if measured:
        return Extraction(sentence[measured[0]:measured[1]], [measured])
    anchor = _anchor(q, sentence)
    span = min(spans, key=lambda s: _distance(s, anchor)) if anchor else spans[0]
    return Extraction(sentence[span[0]:span[1]], [span])


def _measured(q: Question, sentence: str, spans: list[tuple[int, int]], ctx: Context) -> tuple[int, int] | None:
    """The number right after what the question measures: 总投资[多少] -> 总投资达[220亿元];
    服务多少群众 -> 服务群众[5.8万余人]."""
    m = re.search(r"(?:是|有|达|为)?(?:多少|几)", q.norm)
    if not m or ctx.tokenizer is None:
        return None
    before = [w for w in ctx.tokenizer.words_of(q.norm[:m.start()]) if len(w) >= 2][-2:]
    noun = [] if _asked_unit(q.norm) else \
        [w for w in ctx.tokenizer.words_of(q.norm[m.end():]) if len(w) >= 2][:1]
    words = [before[-1] + noun[0]] if before and noun else []
    words += noun + before[::-1]
    for word in words:
        for occurrence in re.finditer(re.escape(word), sentence):
            following = [s for s in spans if 0 <= s[0] - occurrence.end() <= 12]
            if following:
                return following[0]
    return None


_MEASURE_QUESTIONS = [
    (re.compile(r"面积|占地|多大的?(?:面积|地方)"), AREA_UNITS),
    (re.compile(r"多长|多高|多远|多宽|多深|长度|高度|海拔|身高|距离"), LENGTH_UNITS),
    (re.compile(r"多重|重量|体重"), WEIGHT_UNITS),
]


def _asked_unit(norm: str) -> tuple[str, ...]:
    """The units an answer must carry: 个 in 几个, 元 in 多少钱, time units in 多长时间."""
    if re.search(r"多长时间|多久|多少(?:天|小时|年|分钟)", norm):
        return DURATION_UNITS
    if "多少钱" in norm:
        return ("元",)
    for asked, units in _MEASURE_QUESTIONS:
        if asked.search(norm):
            return units
    m = re.search(r"(?:第几|几|多少)([\u4e00-\u9fff%]{1,4})", norm)
    if not m:
        return ()
    rest = m.group(1)
    for n in range(len(rest), 0, -1):
        if UNIT.fullmatch(rest[:n]):
            return (rest[:n],)
    return ()  # 多少群众: a noun, not a unit; the measured word decides


# ---------------------------------------------------------------- what, why, yes/no


_DEFINITION_Q = re.compile(r"^(?P<term>.+?)(?:是指|指的是|是|指|意思是|的意思是)(?:什么|啥|何物|哪个|哪种)|"
                           r"^(?:什么是|什么叫|什么叫做|何为|何谓)(?P<term2>.+?)[?？。]?$")
_CAUSE = re.compile(r"(?:因为|由于|为了|因而|源于|原因是|旨在|以便|以)")


def extract_what(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    if q.type == "why":
        found = _cause(sentence)
        if found:
            return found
    definition = _definition(q, sentence)
    if definition:
        return definition
    if q.head:
        found = _head_phrases(q, sentence, ctx)
        if found:
            return found
    if q.predicate_words and q.type == "what":
        objects = _objects(q, sentence)
        if objects and len(objects) <= 3:
            return Extraction(ctx.separator.join(sentence[s:e] for s, e in objects), objects, True)
    span = _aligned(q, sentence) or _best_clause(q, sentence)
    if not span:
        return None
    return Extraction(sentence[span[0]:span[1]], [span])


def _definition(q: Question, sentence: str) -> Extraction | None:
    """'X是什么?': what the sentence says X is (X(…)是[…])."""
    m = _DEFINITION_Q.match(q.norm.strip("“”\"' "))
    if not m:
        return None
    term = (m["term"] or m["term2"]).strip("“”\"'《》 ")
    at = sentence.find(term) if term else -1
    if at < 0:
        return None
    rest = _DEFINES.match(sentence, at + len(term))
    if not rest:
        return None
    start = rest.end()
    end = _sentence_part_end(sentence, start)
    return Extraction(sentence[start:end], [(start, end)]) if end > start else None


_DEFINES = re.compile(r"(?:[(（][^)）]{0,60}[)）])?[,，]?(?:(?:或称|又称|简称|亦称|也称)[^,，。]{1,20}[,，])?"
                      r"\s*(?:是指|指的是|是|指|为|即)")


def _sentence_part_end(sentence: str, start: int, limit: int = MAX_ANSWER) -> int:
    m = re.compile(r"[。;；!！?？]").search(sentence, start)
    end = m.start() if m else len(sentence)
    return min(end, start + limit)


def _cause(sentence: str) -> Extraction | None:
    """'为什么…?': the clause that gives a cause or a purpose."""
    m = _CAUSE.search(sentence)
    if not m:
        return None
    end = _sentence_part_end(sentence, m.end(), 60)
    return Extraction(sentence[m.start():end], [(m.start(), end)]) if end > m.end() else None


# A head noun that names a kind of thing the genre calls by more specific nouns.
HEAD_KINDS = {
    "活动": ("活动", "仪式", "会议", "大会", "论坛", "典礼", "推介会", "座谈会", "培训会", "观摩会", "发布会"),
    "会": ("会议", "大会", "推进会", "座谈会", "培训会", "评议会", "点评会", "推介会", "学习会", "会商会"),
    "会议": ("会议", "大会", "推进会", "座谈会", "培训会", "评议会", "点评会", "推介会", "学习会", "会商会"),
    "单位": ("单位", "公司", "集团", "企业", "中心", "机构", "部门", "局"),
    "企业": ("企业", "公司", "集团"),
    "机构": ("机构", "中心", "研究院", "公司", "集团", "部门"),
}


def _head_phrases(q: Question, sentence: str, ctx: Context) -> Extraction | None:
    """Noun phrases ending with the question's head noun (or a noun of its kind: 仪式 for 活动),
    not those the question names."""
    spans = []
    for head in HEAD_KINDS.get(q.head, (q.head,)):
        spans += [s for s in noun_phrases(sentence, head, ctx.tokenizer)
                  if not any(o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    spans = sorted(_named_by_title(sentence, s) for s in spans
                   if sentence[s[0]:s[1]] not in q.norm and not q.norm.endswith(sentence[s[0]:s[1]])
                   and not _QUANTITY.fullmatch(sentence, s[0], s[1] - len(q.head)))
    if not spans:
        return None
    spans = _adjacent_group(sentence, spans, _anchor(q, sentence))
    return Extraction(ctx.separator.join(sentence[s:e] for s, e in spans), spans)


_QUANTITY = re.compile(r"(?:\d+|[一二两三四五六七八九十几多]+)[个家所部首位名项种条座件]?")
_TITLE_AFTER = re.compile(r"\s?(《[^》]{1,40}》)")


def _named_by_title(sentence: str, span: tuple[int, int]) -> tuple[int, int]:
    """A phrase followed by a title in 《》 is named by it: 综艺节目《奔跑吧兄弟》 -> 《奔跑吧兄弟》."""
    m = _TITLE_AFTER.match(sentence, span[1])
    return m.span(1) if m else span


def _adjacent_group(sentence: str, spans: list[tuple[int, int]], anchor: int | None) -> list[tuple[int, int]]:
    """The list (A、B、C) nearest the anchor: phrases joined by 、 or 和 belong together."""
    groups: list[list[tuple[int, int]]] = []
    for s in spans:
        if groups and re.fullmatch(r"[、和及与,，]?", sentence[groups[-1][-1][1]:s[0]]):
            groups[-1].append(s)
        else:
            groups.append([s])
    if anchor is None:
        return groups[0]
    return min(groups, key=lambda g: _distance((g[0][0], g[-1][1]), anchor))


def _anchor(q: Question, sentence: str) -> int | None:
    """Where in the sentence the question's words cluster: its predicate, else its keywords."""
    for s, _ in _predicate_spans(q, sentence):
        return s
    hits = [sentence.find(k) for k in q.keywords if len(k) >= 2 and k in sentence]
    return int(sum(hits) / len(hits)) if hits else None


def _distance(span: tuple[int, int], anchor: int | None) -> int:
    if anchor is None:
        return 0
    if span[0] <= anchor <= span[1]:
        return 0
    return min(abs(span[0] - anchor), abs(span[1] - anchor)) + (5 if span[0] > anchor else 0)


_TRIM = "的了是为在由和与及,，、。;；:：“”\"' "


def _aligned(q: Question, sentence: str) -> tuple[int, int] | None:
    """The text between the sentence's match of the words left and right of the interrogative."""
    m = INTERROGATIVE.search(q.norm)
    if not m:
        return None
    left, right = q.norm[:m.start()], q.norm[m.end():].rstrip("?？。! ")
    lpos = _match_suffix(sentence, left)
    rpos = _match_prefix(sentence, right, lpos or 0)
    if lpos is None and rpos is None:
        return None
    start = lpos if lpos is not None else _clause_start(sentence, rpos)
    end = rpos if rpos is not None else _clause_end(sentence, lpos)
    while start < end and sentence[start] in _TRIM:
        start += 1
    while end > start and sentence[end - 1] in _TRIM:
        end -= 1
    if end - start < 1 or end - start > MAX_ANSWER:
        return None
    return start, end


_WEAK_CHARS = set("的了是在和与及,，、“”\"' 为有")


def _match_suffix(sentence: str, left: str) -> int | None:
    left = left.rstrip("的了是 ")
    for n in range(min(len(left), 10), 0, -1):
        piece = left[-n:]
        if n == 1 and piece in _WEAK_CHARS:
            return None
        i = sentence.rfind(piece)
        if i >= 0:
            return i + n
    return None


def _match_prefix(sentence: str, right: str, after: int) -> int | None:
    right = right.lstrip("的了是 ")
    for n in range(min(len(right), 10), 0, -1):
        piece = right[:n]
        if n == 1 and piece in _WEAK_CHARS:
            return None
        i = sentence.find(piece, after)
        if i > after:
            return i
    return None


def _clause_start(sentence: str, pos: int) -> int:
    return next((s for s, e in clauses(sentence) if s <= pos <= e), 0)


def _clause_end(sentence: str, pos: int) -> int:
    return next((e for s, e in clauses(sentence) if s <= pos <= e), len(sentence))


def _best_clause(q: Question, sentence: str) -> tuple[int, int] | None:
    """The clause (or run of clauses) holding most of the question's words."""
    best, best_score = None, 0.0
    for s, e in clauses(sentence):
        text = sentence[s:e]
        score = sum(len(k) for k in q.keywords if k in text)
        if score > best_score:
            best, best_score = (s, e), score
    return best
