"""Find people in a sentence, with the roles the text gives them.

The genre names people after their titles (``区委副书记、区长虎荣鑫``), in lists joined by
``、`` (``周定友、陈平山、司秒争等``) and in bylines. A name is a common surname plus one or two
characters; jieba's ``nr`` tags and the names the index already knows add the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季"
    "裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦"
    "戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻"
    "苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练"
    "廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阎戈伏鄂揭虎"
)
TITLES = (
    "常务副主任 副主任 主任 副书记 书记 副区长 区长 副市长 市长 副县长 县长 副镇长 镇长 副局长 局长 副部长 部长 "
    "副组长 组长 副处长 处长 科长 副总经理 总经理 董事长 副总裁 总裁 常委 委员 副主席 主席 院长 校长 负责人 调研员 "
    "会长 秘书长 经理 主编 专家 教授 研究员 厅长 省长 总监 创始人 队长 站长 所长 馆长 行长 社长 理事长 政委 总理 "
    "巡视员 副调研员 组织员 讲解员 领导 代表 记者 通讯员 同志 主管 总工程师 工程师 首席执行官 董事 监事 副院长 副校长"
).split()
PERSON_TITLES = tuple(sorted(set(TITLES), key=len, reverse=True))
_TITLE = "|".join(PERSON_TITLES)
_NAME_END = (r"(?=[,，、。;；:：等和及与(（）)\s]|$|出席|参加|主持|讲话|表示|指出|强调|说|作|带队|带领|率|到|在|对|为|"
             r"介绍|致辞|发言|一同|一行|先后|调研|考察|提出|要求|代表|同志|总结|点评|参观|会见|陪同|主讲|认为|宣读|"
             r"领学|传达|汇报|签|揭牌|上台|分别|也|还|就|向|从|听取|实地|深入|前往|来到|走访|批示|部署|希望)")
_CJK = r"[\u4e00-\u9fff]"
TITLED_NAME = re.compile(rf"(?:{_TITLE})(?P<name>{_CJK}{{2,3}}?){_NAME_END}")
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
    return [found[k] for k in sorted(found)]


def _with_role(text: str, name: str, start: int) -> Person:
    """The title chain right before a name: ``区委副书记、区长`` for 虎荣鑫."""
    left = text[max(0, start - 40):start]
    cut = 0
    for m in ROLE_STOP.finditer(left):
        cut = m.end()
    role = left[cut:]
    m = re.search(rf"(?:{_TITLE})$", role)
    if not m or (role and role[-1] == "、"):
        return Person(name, start, start + len(name))
    return Person(name, start, start + len(name), role, start - len(role))
