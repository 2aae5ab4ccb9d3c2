"""Find people in a sentence, with the roles the text gives them.

The genre names people after their titles (``区委副书记、区长虎荣鑫``), in lists joined by
``、`` (``周定友、陈平山、司秒争等``) and in bylines. A name is a common surname plus one or two
characters; jieba's ``nr`` tags and the names the index already knows add the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicons import surnames, words

SURNAMES = surnames()
TITLES = words("titles")
PERSON_TITLES = tuple(sorted(set(TITLES), key=len, reverse=True))
_TITLE = "|".join(PERSON_TITLES)
_NAME_END = (r"(?=[,，、。;；:：等和及与(（）)\s]|$|出席|参加|主持|讲话|表示|指出|强调|说|作|带队|带领|率|到|在|对|为|"
             r"介绍|致辞|发言|一同|一行|先后|调研|考察|提出|要求|代表|同志|总结|点评|参观|会见|陪同|主讲|认为|宣读|"
             r"领学|传达|汇报|签|揭牌|上台|分别|也|还|就|向|从|听取|实地|深入|前往|来到|走访|批示|部署|希望)")
_CJK = r"[\u4e00-\u9fff]"
TITLED_NAME = re.compile(rf"(?:{_TITLE})(?P<name>{_CJK}{{2,3}}?){_NAME_END}")
_ENDS_IN_TITLE = re.compile(rf"(?:{_TITLE})$")
NAME_LIST = re.compile(rf"(?P<list>{_CJK}{{2,3}}(?:、{_CJK}{{2,3}}){{1,}}){_NAME_END}")
_NOT_NAME_ENDS = tuple("区县市镇乡村路街省局委办会院校司厂园站部处室队组科") + ("中心", "公司", "集团")
ROLE_STOP = re.compile(r"[,，。;；:：!！?？()（）]|由|邀请|会上|会议|仪式|期间|其中|以及|陪同|了|观看|听取|学习")


@dataclass(frozen=True)
class Person:
    name: str
    start: int  # offsets of the name in the text searched
    end: int
    role: str = ""
    role_start: int | None = None


def looks_like_name(word: str) -> bool:
    return 2 <= len(word) <= 3 and word[0] in SURNAMES and not word.endswith(_NOT_NAME_ENDS)


def find_people(text: str, known: set[str] | frozenset[str] = frozenset(), tagger=None) -> list[Person]:
    """People named in ``text``, in order, each once per mention, with their roles."""
    found: dict[int, Person] = {}
    for m in TITLED_NAME.finditer(text):
        name = m["name"]
        if looks_like_name(name) or name in known:
            found[m.start("name")] = _with_role(text, name, m.start("name"))
    for m in NAME_LIST.finditer(text):
        items = m["list"].split("、")
        if sum(looks_like_name(i) or i in known for i in items) >= max(2, len(items) - 1):
            pos = m.start()
            for item in items:
                if (looks_like_name(item) or item in known) and pos not in found:
                    found[pos] = _with_role(text, item, pos)
                pos += len(item) + 1
    for name in known:
        for m in re.finditer(re.escape(name), text):
            if not any(p.start <= m.start() < p.end for p in found.values()):
                found[m.start()] = _with_role(text, name, m.start())
    if tagger is not None:
        for word, pos in tagger(text):
            if looks_like_name(word) and not any(p.start <= pos < p.end for p in found.values()) \
                    and re.match(_NAME_END, text[pos + len(word):]):
                found[pos] = _with_role(text, word, pos)
    return _roles_after_names([found[k] for k in sorted(found)], text)


def _roles_after_names(people: list[Person], text: str) -> list[Person]:
    """A role ends at the name before it: in ``郑地科创总经理吉献亮、郑州郑报置业有限公司总经理杨帆``
    杨帆's role is 郑州郑报置业有限公司总经理, not the chain through 吉献亮."""
    out: list[Person] = []
    for p in people:
        if p.role and out and p.role_start < out[-1].end <= p.start:
            cut = out[-1].end
            while cut < p.start and text[cut] in "、,，和及与 ":
                cut += 1
            role = text[cut:p.start]
            p = Person(p.name, p.start, p.end, role, cut) if _ENDS_IN_TITLE.search(role) \
                else Person(p.name, p.start, p.end)
        out.append(p)
    return out


def _with_role(text: str, name: str, start: int) -> Person:
    """The title chain right before a name: ``区委副书记、区长`` for 虎荣鑫."""
    left = text[max(0, start - 40):start]
    cut = 0
    for m in ROLE_STOP.finditer(left):
        cut = m.end()
    role = left[cut:]
    m = _ENDS_IN_TITLE.search(role)
    if not m or (role and role[-1] == "、"):
        return Person(name, start, start + len(name))
    return Person(name, start, start + len(name), role, start - len(role))
