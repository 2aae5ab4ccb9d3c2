"""What a question asks: its type, the constraints it names and the predicate it asks about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .dates import find_dates
from .lexicons import words
from .normalize import is_english, normalize_question
from .people import PERSON_TITLES
from .story import DateMention

# a title asked for its holder (a who question): 区长是谁, 书记是哪位, 负责人叫什么名字, 主任的姓名是什么
ASKED_TITLE = re.compile(rf"({'|'.join(PERSON_TITLES)})"
                         r"(?:(?:是|为)?(?:谁|哪位|哪一位|何人|什么人)|叫什么(?:名字)?|是什么名字|的?(?:名字|姓名)(?:是|叫)?什么)")

# Interrogatives by question type, tried in this order.
TYPE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("when", re.compile(r"什么时候|何时|哪天|哪一天|什么时间|几月几[日号]|哪年|哪一年|几点|"
                        r"\bwhen\b|\bwhat (?:time|date|day|year|month)\b", re.I)),
    ("howmuch", re.compile(r"多少|几(?=[个家名位人项次台辆户所座件套条场批届天年月岁万亿千百倍])|第几|多大|多长|多高|"
                           r"多久|多远|多重|几成|百分之几|\bhow (?:many|much|long|large|big|old)\b|"
                           r"\bwhat (?:number|percentage|amount)\b", re.I)),
    ("where", re.compile(r"哪里|哪儿|什么地方|何地|何处|在哪|去哪|到哪|"
                         r"哪(?:个|些|家|座)?(?:地方|城市|省|县|区|镇|乡|社区|村|街道|国家|地区|场所|园区|基地|地点)|"
                         r"\bwhere\b", re.I)),
    ("who", re.compile(rf"谁|哪位|哪些人|什么人|何人|{ASKED_TITLE.pattern}|"
                       r"(?:哪|什么)(?:些|个|位|名)?(?:领导|专家|嘉宾|代表|同志|负责人|干部|人员|人物|记者|官员|企业家)|"
                       r"\bwho(?:m|se)?\b", re.I)),
    ("yesno", re.compile(r"是否|是不是|有没有|能不能|会不会|吗[?？]?$|^(?:is|are|was|were|did|does|do|has|have|can)\b",
                         re.I)),
    ("why", re.compile(r"为什么|为何|什么原因|原因是|怎么|怎样|如何|\bwhy\b|\bhow\b", re.I)),
    ("what", re.compile(r"什么|哪|何|\bwhat\b|\bwhich\b", re.I)),
]

INTERROGATIVE = re.compile(
    r"什么时候|什么时间|什么地方|什么人|什么|哪一天|哪一年|哪里|哪儿|哪些|哪个|哪家|哪位|哪座|哪天|哪年|哪|谁|"
    r"多长时间|多少|多久|多长|多大|多高|多远|多重|第几|几|何时|何地|何处|何人|为什么|为何|怎么|怎样|如何|是否|是不是|有没有")

# Event nouns (qa/data/events.txt): a question naming one prefers stories whose headline names it.
EVENT_WORDS = words("events")

# Interrogatives that ask for several things: the reader's span is widened to the whole
# coordination it stands in (reader.decode.coordination).
LIST_QUESTION = re.compile(r"哪些|哪几|有哪|哪两|哪三|分别|\bwhich\b.+\b(?:are|were|have)\b", re.I)

# Questions about who wrote a story are answered from its byline.
BYLINE_QUESTION = re.compile(r"(?:哪位|哪个|哪些|什么)?(?:记者|作者|通讯员|撰稿人?)(?:是谁|是哪|有谁|有哪|叫什么)|"
                             r"(?:哪位|哪个|哪些|什么)(?:记者|作者|通讯员)|谁(?:写|撰写|采写|报道)的|"
                             r"\b(?:reporters?|author|correspondents?)\b|\bwho wrote\b|\bwritten by\b", re.I)


@dataclass
class Question:
    text: str
    norm: str
    type: str
    english: bool
    dates: list[DateMention] = field(default_factory=list)
    names: list[str] = field(default_factory=list)        # people, places, organizations named
    events: list[str] = field(default_factory=list)       # 会议, 签约, 调研 …
    keywords: list[str] = field(default_factory=list)     # content words, for matching sentences
    asks_byline: bool = False                             # who wrote the story (记者是谁, 谁写的)
    asks_list: bool = False                               # several things (哪些, 哪几)
    # how it was read, when not as asked: an English question in the stories' words (qa.gloss),
    # a misspelt name as the corpus spells it (qa.spelling)
    read_as: str = ""
    offers_choice: bool = False   # a choice between things it names (A和B哪个早), by jieba's tags

    @property
    def date_norms(self) -> list[str]:
        return [d.norm for d in self.dates]

    def to_dict(self) -> dict:
        return {"type": self.type, "dates": self.date_norms, "names": self.names, "events": self.events,
                "keywords": self.keywords,
                "asks_byline": self.asks_byline, "asks_list": self.asks_list, "read_as": self.read_as}


def question_type(norm: str) -> str:
    for qtype, pattern in TYPE_PATTERNS:
        if pattern.search(norm):
            return qtype
    return "other"  # no interrogative the analyser knows: the reader still answers


def day_asked(norm: str, tokenizer) -> str:
    """``norm`` with a colloquial 几号 that asks a day read as 哪一天 (会议是几号开的); 几号 before a
    noun is an ordinal and stays (几号线, 几号球衣). jieba's cut and tags decide."""
    if "几号" not in norm:
        return norm
    words = tokenizer.tagged(norm)
    if "".join(w for w, _ in words) != norm:
        return norm
    out = []
    for i, (word, _) in enumerate(words):
        following = words[i + 1][1] if i + 1 < len(words) else ""
        out.append("哪一天" if word == "几号" and not following.startswith("n") else word)
    return "".join(out)


_CHOICE_WORDS = ("哪个", "哪一", "何者")
_CONJUNCTIONS = frozenset("和与跟")


def offers_choice(norm: str, tokenizer) -> bool:
    """Whether ``norm`` asks which of things it names (烽火台和长城哪个早; 管城区与金水区哪个区): 和, 与
    or 跟 standing as a word of their own (jieba: a conjunction or preposition, not inside 和平区
    or 参与), then 哪个, 哪一 or 何者 in the same sentence."""
    if not any(c in norm for c in _CONJUNCTIONS) or not any(w in norm for w in _CHOICE_WORDS):
        return False
    joined = False
    for word, flag in tokenizer.tagged(norm):
        if word in _CONJUNCTIONS and flag[:1] in ("c", "p"):
            joined = True
        elif word in "。？?！!":
            joined = False
        elif joined and word.startswith(_CHOICE_WORDS):
            return True
    return False


def analyze(question: str, tokenizer=None) -> Question:
    """Analyze a question; ``tokenizer`` (the index's) finds names and keywords when given."""
    norm = normalize_question(question)
    if tokenizer is not None:
        norm = day_asked(norm, tokenizer)
    english = is_english(question)  # before dates are rewritten in Chinese
    q = Question(text=question, norm=norm, type=question_type(norm), english=english,
                 dates=find_dates(norm))
    q.asks_byline = BYLINE_QUESTION.search(norm) is not None
    q.asks_list = LIST_QUESTION.search(norm) is not None
    q.events = [w for w in EVENT_WORDS if w in norm]
    if tokenizer is not None:
        q.names = _names(norm, tokenizer)
        q.offers_choice = offers_choice(norm, tokenizer)
        q.keywords = _keywords(norm, tokenizer, q)
    return q


def without_dates(q: Question) -> str | None:
    """The question with the dates it names cut out (with a 的 right after one: 7月18日的会议 ->
    会议), for reading a story whose own date it is; None when it names no date or nothing but
    dates and punctuation would be left."""
    if not q.dates:
        return None
    out, pos = [], 0
    for d in sorted(q.dates, key=lambda d: d.start):
        out.append(q.norm[pos:d.start])
        pos = d.end + (q.norm.startswith("的", d.end))
    out.append(q.norm[pos:])
    text = "".join(out).strip(" ,，、")
    return text if len(re.sub(r"[\W_]", "", text)) >= 2 else None


def _names(norm: str, tokenizer) -> list[str]:
    """People, places and organizations the question names (known names of the index first)."""
    names = [w for w in tokenizer.words if len(w) >= 2 and w in norm]
    # China's divisions by name, which jieba's tags often miss (金水区 is a noun to it)
    names += [p for p in words("places") if p in norm and p not in names]
    for n in tokenizer.names_in(norm):
        if not INTERROGATIVE.search(n) and n not in names:
            names.append(n)
    # Keep the longest: 管城回族区 rather than 管城.
    return [n for n in names if not any(n != o and n in o for o in names)]


def _keywords(norm: str, tokenizer, q: Question) -> list[str]:
    text = INTERROGATIVE.sub(" ", norm)
    tokens = tokenizer(text)
    seen, out = set(), []
    for t in tokens:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out
