"""Candidate answer spans inside a sentence: noun phrases, time expressions, numbers, objects.

All functions take the sentence text and return (start, end) offsets into it.
"""

from __future__ import annotations

import re

from .normalize import COUNT_CLASSIFIERS
from .question import PREDICATES
from .tokenize import UNITS

# Words that end a noun phrase on its left (prepositions, particles, verbs of the genre).
_LEFT_STOPS = sorted(
    {"就", "对", "在", "到", "赴", "是", "了", "的", "由", "被", "把", "向", "从", "将", "为", "并", "等", "于",
     "以", "经", "通过", "包括", "进行", "为了", "关于", "围绕", "前往", "来到", "成为", "作为", "属于", "位于",
     "约", "达", "其中", "一个", "这个", "该"}
    | {w for zh, _ in PREDICATES.values() for w in zh if len(w) > 1},
    key=len, reverse=True)
_PUNCT = set(",，。;；:：!！?？、“”\"'‘’()（）《》〈〉【】[]—-…·/ \n")
_WEAK_STOPS = ("和", "与", "及", "同")
_PLACE_END = tuple("省市区县镇乡村") + ("上海", "北京", "天津", "重庆", "浙江", "江苏", "河南", "郑州", "杭州")
MAX_PHRASE = 30

_TIME = re.compile(
    r"(?:\d{4}|[〇零一二三四五六七八九]{4})年(?:上半年|下半年|年底|年初|年中|底|初|第?[一二三四1-4]季度|"
    r"\d{1,2}月(?:\d{1,2}[日号])?(?:[上下]午|晚|凌晨)?|\d{1,2}月(?:底|初|中旬|上旬|下旬))?|"
    r"\d{1,2}月\d{1,2}[日号](?:(?:至|到|—|-)\d{1,2}[日号])?(?:[上下]午|晚|凌晨|中午)?|"
    r"\d{1,2}月(?:底|初|中旬|上旬|下旬|份)|"
    r"(?:今年|明年|去年|前年)(?:上半年|下半年|年底|年初|\d{1,2}月)?|上半年|下半年|年底|年初|"
    r"第[一二三四]季度|[一二三四]季度|\d{1,2}世纪\d{0,2}年代|\d{2,4}年代|公元前?\d+年|\d{1,2}[点时](?:\d{1,2}分)?|"
    r"近日|日前|当天|当日|目前|近期|此前|随后|本月|下月|上月|本周")
_CN_NUM = r"[零〇一二两三四五六七八九十百千]+"
_MEASURES = ("公斤|千克|公分|厘米|毫米|公里|千米|平方公里|平方千米|平方英里|公顷|平方米|立方米|英尺|英寸|英里|公尺|海里|"
             "呎|吋|米|亩|克|吨|升|"
             "毫升|度|摄氏度|分钟|秒钟|秒|小时|个月|周年|年|天|日|岁|倍|美元|港元|日元|欧元|英镑|元|cm|mm|km|kg|m|g")
_UNIT = rf"(?:{_MEASURES}|{UNITS}|{'|'.join(COUNT_CLASSIFIERS)}|种|类|轮|级|代|页|张|本|台|株|只|头|匹|块|分)"
_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_LATIN = r"(?:\s?(?i:ghz|mhz|khz|hz|tb|gb|mb|kb|kwh|kw|mw|mah|km/h|km|kg|cm|mm|mph|ft|lb|m|g|t|w|v)(?![A-Za-z]))"
NUMBER = re.compile(
    rf"第(?:\d+|{_CN_NUM}){_UNIT}?|"
    rf"(?:{_ARABIC})[万亿千百]?(?:余|多)?(?:{_LATIN}|{_UNIT})?(?:余|多)?(?:\d+(?:{_UNIT}))*|"
    rf"(?<![\u4e00-\u9fff]){_CN_NUM}[万亿]?(?:余|多)?{_UNIT}|"
    rf"[零〇一二两三四五六七八九]?[十百千][零〇一二两三四五六七八九十百千]*[万亿]?(?:余|多)?{_UNIT}|"
    rf"{_CN_NUM}[万亿]?(?:余|多)?(?:{UNITS})")


UNIT = re.compile(_UNIT)
DURATION_UNITS = ("小时", "分钟", "秒钟", "秒", "天", "日", "周", "个月", "月", "年", "周年")
LENGTH_UNITS = ("米", "公里", "千米", "公尺", "英尺", "英里", "海里", "厘米", "公分", "毫米", "呎", "吋", "km", "m", "cm")
AREA_UNITS = ("平方公里", "平方千米", "平方米", "平方英里", "公顷", "亩", "km²", "m²")
WEIGHT_UNITS = ("公斤", "千克", "克", "吨", "斤", "磅", "kg", "g", "t")


def token_ends(text: str, tokenizer) -> set[int]:
    """Offsets where a jieba word ends (so 专家库 is not taken for 专家)."""
    ends, pos = set(), 0
    for w in tokenizer.words_of(text) if tokenizer else list(text):
        pos = text.find(w, pos) + len(w)
        ends.add(pos)
    return ends


def noun_phrases(text: str, head: str, tokenizer=None) -> list[tuple[int, int]]:
    """Noun phrases of ``text`` that end with ``head`` (均和云谷郑州智慧港项目 for 项目)."""
    ends = token_ends(text, tokenizer) if tokenizer else None
    spans = []
    for m in re.finditer(re.escape(head), text):
        end = m.end()
        if ends is not None and end not in ends and end != len(text):
            continue
        start = phrase_start(text, m.start())
        if end - start > len(head):
            spans.append((start, end))
    return spans


def phrase_start(text: str, pos: int) -> int:
    """Walk left from ``pos`` to where a noun phrase begins."""
    i = pos
    while i > 0 and pos - i < MAX_PHRASE:
        ch = text[i - 1]
        if ch in _PUNCT:
            break
        stop = next((w for w in _LEFT_STOPS if text.startswith(w, i - len(w))), None)
        if stop and not (i == pos and len(stop) > 1):  # 签约 of 签约仪式 modifies the head
            break
        if ch in _WEAK_STOPS and _coordinates(text, i - 1):
            break
        i -= 1
    return i


def _coordinates(text: str, at: int) -> bool:
    """Whether 和/与/及 at ``at`` joins two phrases (现场和蝶湖社区), not a name (均和集团)."""
    left_start = at
    while left_start > 0 and text[left_start - 1] not in _PUNCT and \
            not any(text.startswith(w, left_start - len(w)) for w in _LEFT_STOPS):
        left_start -= 1
    left = text[left_start:at]
    return len(left) >= 2 and not left.endswith(_PLACE_END)


def objects_after(text: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """What follows a verb up to the end of its clause: 走访考察了[上海粤浦科技有限公司],…"""
    verbs = sorted(words, key=len, reverse=True)
    spans: list[tuple[int, int]] = []
    for w in verbs:
        for m in re.finditer(re.escape(w), text):
            start = _skip_verbs(text, m.end(), verbs)
            end = start
            while end < len(text) and text[end] not in ",，。;；:：!！?？" and end - start < MAX_PHRASE:
                end += 1
            if end > start and not any(s <= start < e or s <= m.start() < e for s, e in spans):
                spans.append((start, end))
    return sorted(spans)


def _skip_verbs(text: str, pos: int, verbs: list[str]) -> int:
    """Past 了/过/着 and further verbs: 走访|考察|了."""
    moved = True
    while moved:
        moved = False
        while pos < len(text) and text[pos] in "了过着":
            pos, moved = pos + 1, True
        for v in verbs:
            if text.startswith(v, pos):
                pos, moved = pos + len(v), True
                break
    return pos


def time_expressions(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TIME.finditer(text)]


def numbers(text: str) -> list[tuple[int, int]]:
    """Numbers with their units or classifiers: 220亿元, 5.8万余人, 第二家, 45个, 4.7 GHz;
    a range is one span: 400米至1,700米."""
    spans: list[tuple[int, int]] = []
    for m in NUMBER.finditer(text):
        if spans and _RANGE.fullmatch(text, spans[-1][1], m.start()):
            spans[-1] = (spans[-1][0], m.end())
        else:
            spans.append(m.span())
    return spans


_RANGE = re.compile(r"\s?(?:至|到|~|～|-|—|－)\s?")


def clauses(text: str) -> list[tuple[int, int]]:
    """Clauses split at commas and semicolons."""
    spans, start = [], 0
    for m in re.finditer(r"[,，;；:：。!！?？]", text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans
