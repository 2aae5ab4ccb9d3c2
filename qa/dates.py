"""Find the dates a text mentions and give each a normalized form.

News pages print dates without a year (``7月18日``), as ranges (``2月10日至12日``) and as
parts of a month (``5月底``). See :class:`qa.story.DateMention` for the normalized forms.
"""

from __future__ import annotations

import re

from .story import DateMention

_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}

_NUM = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_YEAR = r"(?:(?P<year>\d{4}|[〇零一二三四五六七八九]{4})年)?"
_RANGE_SEP = r"(?:至|到|—|–|-|~|～)"

_DAY_RE = re.compile(
    _YEAR + rf"(?P<month>{_NUM})月(?P<day>{_NUM})[日号]"
    rf"(?:{_RANGE_SEP}(?:(?P<month2>{_NUM})月)?(?P<day2>{_NUM})[日号])?"
)
_PART_RE = re.compile(_YEAR + rf"(?P<month>{_NUM})月(?:份)?(?P<part>底|末|初|上旬|中旬|下旬)")
_MONTH_RE = re.compile(r"(?P<year>\d{4})年(?P<month>\d{1,2})月"
                       r"(?![\d一二三四五六七八九十]|份?(?:底|末|初|上旬|中旬|下旬))")

_PARTS = {"底": "end", "末": "end", "下旬": "end", "初": "early", "上旬": "early", "中旬": "mid"}


def cn_to_int(text: str) -> int:
    """``18`` or ``十八`` -> 18; handles the numbers dates need (up to 99)."""
    if text.isdigit():
        return int(text)
    if len(text) == 4:  # a year written digit by digit: 二〇二三
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def _valid(month: int, day: int | None = None) -> bool:
    return 1 <= month <= 12 and (day is None or 1 <= day <= 31)


def _prefix(m: re.Match) -> str:
    return f"{cn_to_int(m['year']):04d}-" if m["year"] else ""


def find_dates(text: str) -> list[DateMention]:
    """All date mentions in ``text``, in order of appearance."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match, norm: str) -> None:
        if any(s < m.end() and m.start() < e for s, e in taken):
            return
        taken.append(m.span())
        found.append(DateMention(m.group(0), norm, m.start(), m.end()))

    for m in _DAY_RE.finditer(text):
        month, day = cn_to_int(m["month"]), cn_to_int(m["day"])
        if not _valid(month, day):
            continue
        norm = f"{_prefix(m)}{month:02d}-{day:02d}"
        if m["day2"]:
            month2 = cn_to_int(m["month2"]) if m["month2"] else month
            day2 = cn_to_int(m["day2"])
            if _valid(month2, day2):
                norm += f"/{month2:02d}-{day2:02d}"
        add(m, norm)
    for m in _PART_RE.finditer(text):
        month = cn_to_int(m["month"])
        if _valid(month):
            add(m, f"{_prefix(m)}{month:02d}-{_PARTS[m['part']]}")
    for m in _MONTH_RE.finditer(text):
        month = int(m["month"])
        if _valid(month):
            add(m, f"{int(m['year']):04d}-{month:02d}")
    found.sort(key=lambda d: d.start)
    return found


def _month_day(norm: str) -> tuple[int, str]:
    """(month, rest) of a normalized date without its year."""
    parts = norm.split("-")
    if len(parts[0]) == 4:
        parts = parts[1:]
    return int(parts[0]), "-".join(parts[1:])


def covers(mention: str, asked: str) -> bool:
    """Whether a normalized mention (maybe a range or a year-dated form) covers ``asked``.

    Years are compared only when both sides give one: the corpus prints dates without a year. An
    asked range (``09-06/09-17``) is covered when both its ends are.
    """
    if "/" in asked:
        first, _, last = asked.partition("/")
        return covers(mention, first) and covers(mention, last)
    start, _, end = mention.partition("/")
    asked_year = asked.split("-")[0] if len(asked.split("-")[0]) == 4 else None
    start_year = start.split("-")[0] if len(start.split("-")[0]) == 4 else None
    if asked_year and start_year and asked_year != start_year:
        return False
    if asked_year and asked.count("-") == 1:  # a year-month such as 2023-05
        return start_year == asked_year and _month_day(start)[0] == int(asked.split("-")[1])
    am, ad = _month_day(asked)
    sm, sd = _month_day(start)
    if not end:
        if (am, ad) == (sm, sd):
            return True
        if am != sm or ad.isdigit() == sd.isdigit():
            return False
        return _in_part(int(sd), ad) if sd.isdigit() else _in_part(int(ad), sd)
    em, ed = _month_day(end)
    if not (ad.isdigit() and sd.isdigit() and ed.isdigit()):
        return False
    return (sm, int(sd)) <= (am, int(ad)) <= (em, int(ed))


def _in_part(day: int, part: str) -> bool:
    return {"early": day <= 10, "mid": 11 <= day <= 20, "end": day >= 21}.get(part, False)


_SHOWN_PARTS = {"end": "底", "early": "初", "mid": "中旬"}


def display(norm: str | None) -> str:
    """A normalized date as a reader writes it: ``07-18`` → 7月18日, ``05-end`` → 5月底,
    ``2023-05-30`` → 2023年5月30日, ``02-10/02-12`` → 2月10日至2月12日."""
    if not norm:
        return ""
    if "/" in norm:
        return "至".join(display(p) for p in norm.split("/", 1))
    parts = norm.split("-")
    year = ""
    if len(parts[0]) == 4:
        year, parts = f"{int(parts[0])}年", parts[1:]
    if len(parts) == 1:
        return f"{year}{int(parts[0])}月"
    month, day = parts[0], parts[1]
    if day in _SHOWN_PARTS:
        return f"{year}{int(month)}月{_SHOWN_PARTS[day]}"
    return f"{year}{int(month)}月{int(day)}日"
