"""HTML for the chat replies and the story pages. Everything from the user or the corpus is escaped."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

from .answer import Answer
from .citations import Citation
from .dates import display as display_date
from .script import to_traditional
from .story import Story


def story_url(story_id: str, start: int | None = None, end: int | None = None,
              a_start: int | None = None, a_end: int | None = None) -> str:
    """The story page, with the cited range (and the answer inside it) to highlight."""
    url = f"/story/{quote(story_id, safe='')}"
    if start is not None and end is not None:
        url += f"?start={start}&end={end}"
        if a_start is not None and a_end is not None:
            url += f"&astart={a_start}&aend={a_end}"
        url += "#cited"
    return url


def citation_url(c: Citation) -> str:
    return story_url(c.story_id, c.start, c.end, c.answer_start, c.answer_end)


def reply_text(result: Answer, prompts: dict) -> str:
    """The reply line: the answer in the prompts' phrasing, or why there is none."""
    if not result.found:
        if result.reason == "empty_corpus":
            return prompts.get("no_answer_empty_corpus", prompts["no_answer"])
        # a reason with a phrasing of its own (date, place, person) says what is missing
        phrasing = prompts.get(f"no_answer_reason_{result.reason}")
        if phrasing:
            detail = result.detail
            if result.lang == "zh-Hant":  # the question's names were folded to simplified for matching
                detail = {k: to_traditional(v) if isinstance(v, str) else v for k, v in detail.items()}
            try:
                return phrasing.format(**detail)
            except (KeyError, IndexError, ValueError):  # an edited phrasing naming a field it does not get
                pass
        return prompts["no_answer"]
    if any(s.kind == "person" for s in result.spans):
        parts = [prompts["person"].format(name=s.text, role=s.role) if s.role else s.text for s in result.spans]
        return prompts["answer"].format(answer=prompts["list_separator"].join(parts))
    if any(s.kind == "byline" for s in result.spans):
        return prompts["answer"].format(answer=prompts["list_separator"].join(s.text for s in result.spans))
    return prompts["answer"].format(answer=result.answer)


def read_as_text(result: Answer, prompts: dict) -> str:
    """For a question read in the stories' words (an English one glossed, ``qa.gloss``): the line
    saying how it was read, when the prompts phrase one; else ""."""
    read_as = result.analysis.get("read_as") if result.analysis else ""
    return prompts["read_as"].format(read_as=read_as) if read_as and "read_as" in prompts else ""


def answer_json(result: Answer, prompts: dict) -> dict:
    """The API's JSON: the answer's data plus the reply line and each citation's link."""
    d = result.to_dict()
    d["message"] = reply_text(result, prompts)
    for key, cites in (("citations", result.citations), ("related", result.related)):
        for item, c in zip(d[key], cites):
            item["url"] = citation_url(c)
    return d


def _mark(text: str, start: int, end: int, base: int, cls: str = "answer") -> str:
    """``text`` (which starts at ``base`` in the body) with [start, end) wrapped in <mark>."""
    s, e = max(start - base, 0), min(end - base, len(text))
    if s >= e:
        return escape(text)
    return f"{escape(text[:s])}<mark class=\"{cls}\">{escape(text[s:e])}</mark>{escape(text[e:])}"


def page_label(source: str) -> str:
    """How a reader knows a page: ``002_e713b7ff9e0ddada.txt`` → 版面 002; other files by their name."""
    stem = source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    m = re.match(r"(\d+)_[0-9a-f]{8,}$", stem)
    return f"版面 {m.group(1)}" if m else stem


def citation_html(c: Citation) -> str:
    quote = c.text
    if c.answer_start is not None and c.answer_end is not None:
        quote_html = _mark(quote, c.answer_start, c.answer_end, c.start)
    else:
        quote_html = escape(quote)
    where = f"{c.source}:{c.lines[0]}-{c.lines[1]}"
    meta = " · ".join(escape(x) for x in (display_date(c.date), page_label(c.source)) if x)
    return (f'<li class="qa-source" id="source-{c.n}">'
            f'<a class="story-link" href="{escape(citation_url(c))}">[{c.n}] {escape(c.title)}</a> '
            f'<span class="qa-meta" title="{escape(where)}">{meta}</span>'
            f'<blockquote class="qa-quote">{quote_html}</blockquote></li>')


def answer_html(result: Answer, prompts: dict) -> str:
    """A chat reply: the short answer with [n] markers, then its sources; or a visible 'no answer'."""
    read_as = read_as_text(result, prompts)
    read_as = f'<p class="qa-read-as">{escape(read_as)}</p>' if read_as else ""
    if result.found:
        marks = " ".join(f'<a class="cite" href="{escape(citation_url(c))}">[{c.n}]</a>' for c in result.citations)
        sources = "".join(citation_html(c) for c in result.citations)
        return (f'<div class="qa-reply qa-found"><p class="qa-answer">{escape(reply_text(result, prompts))} {marks}</p>'
                f'{read_as}<div class="qa-sources-h">{escape(prompts["sources_heading"])}</div>'
                f'<ol class="qa-sources">{sources}</ol></div>')
    related = ""
    if result.related:
        related = (f'<div class="qa-sources-h">{escape(prompts["related_heading"])}</div>'
                   f'<ul class="qa-related">{"".join(citation_html(c) for c in result.related)}</ul>')
    return (f'<div class="qa-reply qa-none"><p class="qa-no-answer">⚠️ {escape(reply_text(result, prompts))}</p>'
            f'{read_as}{related}</div>')


def message_html(text: str, cls: str = "qa-error") -> str:
    return f'<div class="qa-reply {cls}"><p>{escape(text)}</p></div>'


STORY_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem;line-height:1.8;color:#222}
h1{font-size:1.6rem;line-height:1.4;margin-bottom:.2rem}h2.subtitle{font-size:1.1rem;color:#555;font-weight:normal}
.meta{color:#666;font-size:.9rem;border-bottom:1px solid #ddd;padding-bottom:.6rem}
mark.cited{background:#fff3a8;padding:.1rem 0;scroll-margin-top:40vh}mark.answer{background:#ffd36b;font-weight:600}
p{text-indent:2em;margin:.6rem 0}.byline{color:#555;text-align:right}a{color:#1a5fb4}
"""


def story_page(story: Story, ui: dict, start: int | None = None, end: int | None = None,
               a_start: int | None = None, a_end: int | None = None) -> str:
    """The whole story, with the cited range highlighted and scrolled into view."""
    valid = start is not None and end is not None and 0 <= start < end <= len(story.body)
    paragraphs = []
    for ps, pe in story.paragraphs:
        text = story.body[ps:pe]
        if valid and start < pe and end > ps:
            paragraphs.append(f"<p>{_cited(text, ps, start, end, a_start, a_end)}</p>")
        else:
            paragraphs.append(f"<p>{escape(text)}</p>")
    where = f"{story.source} ({ui['lines']} {story.lines[0]}–{story.lines[1]})"
    meta = [f'{escape(ui["date"])}: {escape(display_date(story.date) or "-")}',
            f'{escape(ui["source"])}: <span title="{escape(where)}">{escape(page_label(story.source))}</span>']
    if story.byline.lines:
        meta.insert(1, f'{escape(ui["byline"])}: {escape(story.byline.text)}')
    subtitle = f'<h2 class="subtitle">{escape(story.subtitle)}</h2>' if story.subtitle else ""
    byline = f'<p class="byline">{escape(story.byline.text)}</p>' if story.byline.lines else ""
    scroll = ("<script>var c=document.getElementById('cited');"
              "if(c){c.scrollIntoView({block:'center'});}</script>") if valid else ""
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(story.display_title)}</title><style>{STORY_CSS}</style></head><body>'
            f'<p><a href="/">← {escape(ui["story_back"])}</a></p>'
            f'<article><h1>{escape(story.display_title)}</h1>{subtitle}'
            f'<div class="meta">{"<br>".join(meta)}</div>{"".join(paragraphs)}{byline}</article>'
            f'{scroll}</body></html>')


def _cited(text: str, base: int, start: int, end: int, a_start: int | None, a_end: int | None) -> str:
    s, e = max(start - base, 0), min(end - base, len(text))
    inner = text[s:e]
    if a_start is not None and a_end is not None and a_start < end and a_end > start:
        inner_html = _mark(inner, a_start, a_end, base + s)
    else:
        inner_html = escape(inner)
    anchor = ' id="cited"' if start >= base else ""
    return f'{escape(text[:s])}<mark class="cited"{anchor}>{inner_html}</mark>{escape(text[e:])}'


def not_found_page(ui: dict, story_id: str) -> str:
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>404</title>'
            f'<style>{STORY_CSS}</style></head><body><h1>404 · {escape(ui["story_not_found"])}</h1>'
            f'<p>{escape(story_id)}</p><p><a href="/">← {escape(ui["story_back"])}</a></p></body></html>')


__all__ = ["answer_html", "story_page", "not_found_page", "message_html", "story_url"]
