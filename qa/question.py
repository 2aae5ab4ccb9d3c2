"""What a question asks: its type, the constraints it names and the predicate it asks about."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .dates import find_dates
from .normalize import is_english, normalize_question
from .story import DateMention
from .tokenize import PLACE_SUFFIXES

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
    ("who", re.compile(r"谁|哪位|哪些人|什么人|何人|"
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

# Predicates a question may ask about, each with the words the news genre uses for it.
PREDICATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (Chinese words, English words)
    "attend": (("出席", "参加", "参会", "与会", "到会", "列席", "参与"),
               ("attend", "attended", "attending", "participate", "participated", "present", "joined")),
    "host": (("主持", "组织召开", "召集"), ("host", "hosted", "chair", "chaired", "preside", "presided")),
    "speak": (("讲话", "发言", "致辞", "表示", "指出", "强调", "说", "介绍"),
              ("speak", "spoke", "said", "say", "speech", "address", "addressed", "remarks")),
    "lead": (("带队", "率团", "带领", "率领", "率"), ("led", "lead", "headed", "leading")),
    "inspect": (("考察", "调研", "走访", "参观", "视察", "观摩"),
                ("visit", "visited", "inspect", "inspected", "tour", "toured", "survey", "surveyed")),
    "sign": (("签约", "签订", "签署", "签"), ("sign", "signed", "signing", "contract")),
    "guide": (("指导",), ("guide", "guided", "supervise", "supervised")),
    "invite": (("邀请", "请"), ("invite", "invited")),
    "talk": (("座谈", "洽谈", "谈", "对接", "会见"), ("talk", "talked", "discuss", "discussed", "met", "meet")),
    "found": (("设立", "成立", "创立", "创建", "组建"), ("found", "founded", "establish", "established", "set up")),
    "produce": (("投产", "开工", "建成", "竣工", "运营"), ("production", "operation", "operate", "completed")),
    "unveil": (("揭牌",), ("unveil", "unveiled", "inaugurate", "inaugurated", "opened")),
    "comment": (("点评", "评议"), ("comment", "commented", "review", "reviewed")),
    "report": (("汇报", "述职"), ("report", "reported", "briefing")),
}

EVENT_WORDS = ("会议", "推进会", "座谈会", "培训会", "评议会", "点评会", "推介会", "学习会", "会商会",
               "仪式", "签约", "调研", "考察", "观摩", "培训", "座谈", "揭牌", "开工", "推介", "述职", "招商")
EVENT_ENGLISH = {"meeting": "会议", "conference": "会议", "ceremony": "仪式", "signing": "签约",
                 "training": "培训", "forum": "论坛", "inspection": "调研", "visit": "考察",
                 "flood": "防汛", "flood-control": "防汛", "investment": "投资", "project": "项目",
                 "unveiling": "揭牌", "compressor": "压缩机", "expert": "专家", "experts": "专家",
                 "company": "公司", "mayor": "区长", "secretary": "书记", "director": "主任"}

PERSON_HEADS = ("领导", "专家", "嘉宾", "代表", "同志", "负责人", "干部", "人员", "人物", "记者", "官员", "企业家", "人")
# An event noun such as 述职评议会 or 防汛会商会议: predicate words inside one are not predicates.
EVENT_NOUN = re.compile(r"[\u4e00-\u9fff]{1,8}?(?:会议|会|仪式|论坛)")


@dataclass
class Question:
    text: str
    norm: str
    type: str
    english: bool
    dates: list[DateMention] = field(default_factory=list)
    names: list[str] = field(default_factory=list)        # people, places, organizations named
    events: list[str] = field(default_factory=list)       # 会议, 签约, 调研 …
    predicates: list[str] = field(default_factory=list)   # predicate names (keys of PREDICATES)
    head: str = ""                                        # 专家 in 哪些专家, 项目 in 什么项目
    keywords: list[str] = field(default_factory=list)     # content words, for matching sentences

    @property
    def predicate_words(self) -> tuple[str, ...]:
        return tuple(w for p in self.predicates for w in PREDICATES[p][0])

    @property
    def date_norms(self) -> list[str]:
        return [d.norm for d in self.dates]

    def to_dict(self) -> dict:
        return {"type": self.type, "dates": self.date_norms, "names": self.names, "events": self.events,
                "predicates": self.predicates, "head": self.head, "keywords": self.keywords}


def question_type(norm: str) -> str:
    for qtype, pattern in TYPE_PATTERNS:
        if pattern.search(norm):
            return qtype
    return "what"


def analyze(question: str, tokenizer=None) -> Question:
    """Analyze a question; ``tokenizer`` (the index's) finds names and keywords when given."""
    norm = normalize_question(question)
    english = is_english(question)  # before dates are rewritten in Chinese
    q = Question(text=question, norm=norm, type=question_type(norm), english=english,
                 dates=find_dates(norm))
    words = re.findall(r"[a-z][a-z\-]+", norm.lower())
    inside_events = [m.span() for m in EVENT_NOUN.finditer(norm) if not INTERROGATIVE.search(m.group(0))]
    for name, (zh, en) in PREDICATES.items():
        if any(_predicate_at(norm, w, inside_events) for w in zh) or any(w in words for w in en):
            q.predicates.append(name)
    q.events = [w for w in EVENT_WORDS if w in norm]
    q.events += [zh for en, zh in EVENT_ENGLISH.items() if en in words and zh not in q.events]
    if tokenizer is not None:
        q.head = _head_noun(norm, tokenizer)
        q.names = _names(norm, tokenizer)
        q.keywords = _keywords(norm, tokenizer, q)
    return q


def _predicate_at(norm: str, word: str, inside_events: list[tuple[int, int]]) -> bool:
    """``word`` occurs as a verb: not inside an event noun (评议 in 述职评议会); a one-character
    verb only when it takes 了/过 (请了)."""
    for m in re.finditer(re.escape(word), norm):
        if len(word) == 1 and not norm.startswith(("了", "过"), m.end()):
            continue
        if not any(s <= m.start() and m.end() <= e and m.end() != e for s, e in inside_events):
            return True
    return False


_HEAD_AFTER = re.compile(r"(?:哪些|哪个|哪家|哪位|哪座|哪种|哪项|什么)(?P<rest>[\u4e00-\u9fff]+)")
_NOT_HEADS = {"时候", "时间", "地方", "人", "里", "儿", "样", "么"}


def _head_noun(norm: str, tokenizer) -> str:
    """The noun right after 哪些/哪个/哪家/什么: what kind of thing the answer is (专家, 公司)."""
    m = _HEAD_AFTER.search(norm)
    if not m:
        return ""
    words = tokenizer.words_of(m["rest"])
    head = words[0] if words else ""
    return "" if head in _NOT_HEADS or len(head) < 1 else head


def _names(norm: str, tokenizer) -> list[str]:
    """People, places and organizations the question names (known names of the index first)."""
    names = [w for w in tokenizer.words if len(w) >= 2 and w in norm]
    for n in tokenizer.names_in(norm):
        if not INTERROGATIVE.search(n) and n not in names:
            names.append(n)
    # Keep the longest: 管城回族区 rather than 管城.
    return [n for n in names if not any(n != o and n in o for o in names)]


def _keywords(norm: str, tokenizer, q: Question) -> list[str]:
    text = INTERROGATIVE.sub(" ", norm)
    tokens = tokenizer(text)
    if q.english:
        tokens += [zh for zh in q.events]
        tokens += [w for p in q.predicates for w in PREDICATES[p][0][:1]]
    seen, out = set(), []
    for t in tokens:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out
