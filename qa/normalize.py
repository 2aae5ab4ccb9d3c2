"""Put a question into the corpus's own form before it is analyzed.

Traditional characters become simplified (OpenCC), full-width forms half-width, dates in
every usual form become the corpus form (``7月18日`` from ``七月十八日``, ``7.18``, ``7/18``,
``July 18``, ``18 July``), and Chinese numerals in counts become digits (``二十三个`` ->
``23个``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .dates import cn_to_int

MONTHS = {m: i for i, names in enumerate([
    (), ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")]) for m in names}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"

# Latin word edges: \b would not see the edge between "18" and a Chinese character.
_L, _R = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_EN_MONTH_DAY = re.compile(rf"{_L}({_MONTH})\.?\s+(\d{{1,2}}){_ORD}{_R}(?:,?\s*(\d{{4}}){_R})?", re.I)
_EN_DAY_MONTH = re.compile(rf"{_L}(\d{{1,2}}){_ORD}\s+(?:of\s+)?({_MONTH}){_R}\.?(?:,?\s*(\d{{4}}){_R})?", re.I)
_ISO = re.compile(r"(?<![\d.])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d.])")
_NUMERIC = re.compile(r"(?<![\d.:])(\d{1,2})[./](\d{1,2})(?![\d.%万亿千百]|\s*[%％])")
_CN_NUM = "零〇一二两三四五六七八九十百千"
_CN_DATE = re.compile(rf"([{_CN_NUM}]{{1,3}})月([{_CN_NUM}]{{1,3}})[日号]")
_CN_MONTH_PART = re.compile(rf"(?<![{_CN_NUM}\d])([一二三四五六七八九十]{{1,2}})月(?=底|末|初|上旬|中旬|下旬|份)")
_HAO = re.compile(r"(\d{1,2})月(\d{1,2})号")
COUNT_CLASSIFIERS = "个家名位人项次台辆户所座件套条场批届"
_CN_COUNT = re.compile(rf"(?<![{_CN_NUM}第\d])([{_CN_NUM}]+)(?=[{COUNT_CLASSIFIERS}])")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def cn_number(text: str) -> int | None:
    """A Chinese numeral as an int (``二十三`` -> 23, ``一百零五`` -> 105), or None."""
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000}
    total, current = 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        elif ch in units:
            total += (current or 1) * units[ch]
            current = 0
        else:
            return None
    return total + current


def _date(month: int, day: int, year: str | None = None) -> str:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return (f"{int(year)}年" if year else "") + f"{month}月{day}日"


def _sub_date(pattern: re.Pattern, build, text: str) -> str:
    return pattern.sub(lambda m: build(m) or m.group(0), text)


def normalize_dates(text: str) -> str:
    text = _sub_date(_ISO, lambda m: _date(int(m[2]), int(m[3]), m[1]), text)
    text = _sub_date(_EN_MONTH_DAY, lambda m: _date(MONTHS[m[1].lower()], int(m[2]), m[3]), text)
    text = _sub_date(_EN_DAY_MONTH, lambda m: _date(MONTHS[m[2].lower()], int(m[1]), m[3]), text)
    text = _sub_date(_CN_DATE, lambda m: _date(cn_number(m[1]) or 0, cn_number(m[2]) or 0), text)
    text = _CN_MONTH_PART.sub(lambda m: f"{cn_to_int(m[1])}月", text)
    text = _HAO.sub(r"\1月\2日", text)
    text = _sub_date(_NUMERIC, lambda m: _date(int(m[1]), int(m[2])), text)
    return text


def normalize_counts(text: str) -> str:
    """``二十三个`` -> ``23个``; ordinals (``第二家``) and names (``二七区``) are left alone."""
    def repl(m: re.Match) -> str:
        n = cn_number(m[1])
        return str(n) if n is not None else m[1]
    return _CN_COUNT.sub(repl, text)


def strip_invisible(text: str) -> str:
    """Without format characters (zero-width space and joiners, soft hyphen, BOM, bidi marks: Cf)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalize_text(text: str) -> str:
    """The corpus form of any text: no invisible characters, simplified, half-width, trimmed."""
    text = unicodedata.normalize("NFKC", to_simplified(strip_invisible(text)))
    return re.sub(r"\s+", " ", text).strip()


def normalize_question(question: str) -> str:
    return normalize_counts(normalize_dates(normalize_text(question)))


_MARKUP = re.compile(r"<[^>]*>|&\w+;|https?://\S+")


def is_english(text: str) -> bool:
    """Latin words and no Chinese, markup aside: answer in English. Anything else (Chinese,
    symbols, numbers, HTML) gets the UI's own language, Chinese."""
    text = _MARKUP.sub(" ", text)
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return han == 0 and latin >= 3
