"""Ingestion: the seed pages give the right stories, nothing is lost, bad files are named."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.corpus import read_corpus, read_page
from tests.conftest import CORPUS, ROOT

DATA = ROOT / "tests" / "data"

EXPECTED_TITLES = [
    ("000", "教育园区(龙湖镇)党政领导赴上海、苏州等地招商"),
    ("000", "新郑市召开党建引领推进网格化基层治理观摩座谈会"),
    ("001", "区委理论学习中心组举行集中学习会"),
    ("001", "二七区招商小分队赴长三角地区考察招商"),
    ("001", "二七区与中交投资签约"),
    ("001", "二七区举办地方政府专项债暨产业项目谋划能力培训会"),
    ("001", "二七区召开党建引领网格化基层治理工作推进会"),
    ("002", "加快中原科技城核心板块建设"),
    ("002", "郑东新区 召开“双改”工作推进会"),
    ("002", "商都路党群服务中心正式揭牌运营"),
    ("002", "郑东新区 召开防汛会商会议"),
    ("003", "经开区召开党建引领网格化基层治理工作 一季度观摩点评会"),
    ("003", "经开区领导实地调研辖区重点项目建设"),
    ("003", "多维发力 加快构建 党建引领网格化基层治理体系"),
    ("003", "海立·海尔合资压缩机郑州生产基地开建"),
    ("003", "全区以“观摩评比” 强力推进安置房建设工作"),
    ("004", "45个优质项目成功签约 总投资达220亿元"),
    ("004", "以“五星”支部创建为引领 深化党建引领网格化基层治理"),
]


def test_seed_pages_give_the_18_stories_in_page_order(seed_stories):
    got = [(s.source[:3], s.title) for s in seed_stories]
    assert len(got) == len(EXPECTED_TITLES)
    for (page, title), (want_page, want_title) in zip(got, EXPECTED_TITLES):
        assert page == want_page
        assert title.startswith(want_title), title


def test_subtitle_under_a_headline(seed_stories):
    assert seed_stories[-1].subtitle == "管城回族区2022年度党(工)委(党组)书记抓基层党建工作述职评议会召开"
    assert all(not s.subtitle for s in seed_stories[:-1])


def _visible(text: str) -> str:
    """Every non-blank character, Markdown heading markers aside."""
    text = re.sub(r"(?m)^[ \t]*#{1,6}", "", text)
    return re.sub(r"\s", "", text)


@pytest.mark.parametrize("page", sorted(p.name for p in CORPUS.glob("*.txt")))
def test_no_text_is_lost(page, seed_stories):
    """Every character of the page is in exactly one story's headline, subtitle, body or byline."""
    stories = [s for s in seed_stories if s.source == page]
    rebuilt = "".join(s.title + s.subtitle + s.body + "".join(s.byline.lines) for s in stories)
    assert _visible(rebuilt) == _visible((CORPUS / page).read_text(encoding="utf-8"))


def story(stories, title_part):
    [s] = [s for s in stories if title_part in s.title]
    return s


@pytest.mark.parametrize("title_part, repaired", [
    ("赴上海、苏州", "座谈交流中,政企校三方负责人进行了深入探讨"),
    ("赴上海、苏州", "持续扩大合作成效。"),
    ("赴上海、苏州", "大中专院校人力资源丰富,发展前景广阔"),
    ("一季度观摩点评会", "经开区党工委书记郭宏力总结"),
    ("一季度观摩点评会", "潮河办事处蝶湖社区网格化治理中心"),
    ("考察招商", "就均和云谷郑州智慧港项目进行了座谈"),
    ("集中学习会", "林毅夫在2023中国发展高层论坛所作的"),
    ("商都路党群服务中心", "第二家区域型党群服务中心,辐射周边3个城市社区"),
])
def test_column_breaks_are_repaired(seed_stories, title_part, repaired):
    s = story(seed_stories, title_part)
    assert repaired in s.body
    paragraph = next(p for p in s.paragraph_texts() if repaired in p)
    assert "\n" not in paragraph


def test_paragraph_offsets_point_into_the_body(seed_stories):
    for s in seed_stories:
        assert "\n".join(s.paragraph_texts()) == s.body
        assert all(p and not p.startswith(" ") for p in s.paragraph_texts())


@pytest.mark.parametrize("title_part, reporters, correspondents", [
    ("赴上海、苏州", ["杨宜锦"], []),
    ("集中学习会", ["景静"], ["王丹青", "陈静娴"]),
    ("考察招商", ["景静"], []),
    ("与中交投资签约", ["景静"], ["左学彬", "周祎"]),
    ("加快中原科技城", ["马燕"], ["李盼"]),
    ("“双改”", ["王阳"], ["戚雨荷"]),
    ("多维发力", ["鲁慧"], []),
    ("海立·海尔", ["王赛华", "鲁慧"], []),
    ("45个优质项目", ["冉红政"], ["姜璞"]),
    ("“五星”", ["冉红政"], ["姜璞"]),
])
def test_bylines(seed_stories, title_part, reporters, correspondents):
    s = story(seed_stories, title_part)
    assert list(s.byline.reporters) == reporters
    assert list(s.byline.correspondents) == correspondents
    assert "记者" not in s.body[-12:], "a byline was glued to the body"


def test_every_seed_story_has_a_byline(seed_stories):
    assert all(s.byline.reporters for s in seed_stories)


@pytest.mark.parametrize("title_part, date, mentions", [
    ("赴上海、苏州", "02-10/02-12", ["02-10/02-12"]),
    ("新郑市召开", "02-07", ["02-01", "02-07", "02-02"]),
    ("考察招商", "05-end", ["05-end"]),
    ("加快中原科技城", "07-18", ["07-18", "07-17"]),
    ("一季度观摩点评会", "04-20", ["04-20"]),
    ("专项债", None, []),
])
def test_dates(seed_stories, title_part, date, mentions):
    s = story(seed_stories, title_part)
    assert s.date == date
    assert [d.norm for d in s.dates] == mentions
    assert all(s.body[d.start:d.end] == d.text for d in s.dates)


def test_ids_are_stable_across_runs_and_places(tmp_path, seed_stories):
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    again = list(read_corpus(copy))
    assert [s.id for s in again] == [s.id for s in seed_stories]
    assert len({s.id for s in seed_stories}) == len(seed_stories)
    (copy / "renamed.txt").write_bytes((copy / "000_5ef8351045fc846c.txt").read_bytes())
    moved = [s for s in read_corpus(copy) if s.source == "renamed.txt"]
    assert {s.id for s in moved}.isdisjoint(s.id for s in seed_stories)


def test_line_ranges(seed_stories):
    s = seed_stories[0]
    lines = (CORPUS / s.source).read_text(encoding="utf-8").split("\n")
    assert lines[s.lines[0] - 1].lstrip("# ").startswith("教育园区")
    assert lines[s.lines[1] - 1].strip() == "记者 杨宜锦 文/图"


PAGE = "# 标题一号\n\n本报讯 3月5日,某区召开会议。张三出席会\n\n议并讲话。\n记者 李四\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_encodings_are_read(tmp_path, encoding):
    (tmp_path / "page.txt").write_bytes(PAGE.encode(encoding))
    [s] = read_corpus(tmp_path)
    assert s.title == "标题一号"
    assert s.body == "本报讯 3月5日,某区召开会议。张三出席会议并讲话。"
    assert s.byline.reporters == ("李四",)
    assert s.date == "03-05"


def test_bad_files_are_skipped_with_their_names(tmp_path, caplog):
    (tmp_path / "good.md").write_text(PAGE, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text(" \n\n ", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "scan.pdf").write_bytes(b"%PDF-1.4\n\x00\x01binary")
    skipped = []
    with caplog.at_level("WARNING"):
        stories = list(read_corpus(tmp_path, skipped))
    assert [s.source for s in stories] == ["good.md"]
    reasons = {s.path: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "blank.txt", "image.txt", "sub/scan.pdf"}
    assert "empty" in reasons["empty.txt"] and "empty" in reasons["blank.txt"]
    assert "not a text file" in reasons["image.txt"]
    assert "not a readable PDF" in reasons["sub/scan.pdf"]
    for name in reasons:
        assert name in caplog.text


def test_stories_file_keeps_ids_and_skips_bad_lines(tmp_path, caplog):
    lines = [
        {"id": "cmrc-1", "title": "范廷颂", "text": "范廷颂是越南罗马天主教枢机。\n1963年被任命为主教。",
         "date": "2009-02-22", "url": "https://example.org/1"},
        "{not json",
        {"id": "x", "title": "no text"},
        {"id": "cmrc-2", "title": "", "text": "7月18日,某会议召开。"},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    (tmp_path / "stories.jsonl").write_text(text, encoding="utf-8")
    with caplog.at_level("WARNING"):
        stories = list(read_corpus(tmp_path))
    assert [s.id for s in stories] == ["cmrc-1", "cmrc-2"]
    assert stories[0].paragraph_texts() == ["范廷颂是越南罗马天主教枢机。", "1963年被任命为主教。"]
    assert stories[0].date == "2009-02-22" and stories[0].url == "https://example.org/1"
    assert stories[0].lines == (1, 1)
    assert stories[1].date == "07-18"
    assert "stories.jsonl line 2" in caplog.text and "stories.jsonl line 3" in caplog.text
    assert "missing field 'text'" in caplog.text


def test_plain_headlines_and_a_second_headline_line_as_subtitle():
    page = ("第一条新闻的标题\n副标题写在这里\n\n本报讯 正文第一段。\n\n记者 王五\n\n"
            "第二条新闻\n\n本报讯 正文。\n\n## 第三条\n## 第三条的副题\n\n本报讯 正文。")
    stories = read_page(page, "p.txt")
    assert [(s.title, s.subtitle) for s in stories] == [
        ("第一条新闻的标题", "副标题写在这里"), ("第二条新闻", ""), ("第三条", "第三条的副题")]


def test_cli_lists_the_stories():
    out = subprocess.run([sys.executable, "-m", "qa", "stories", "--json", "--corpus", str(CORPUS)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert len(data) == 18
    assert {"id", "title", "dates", "byline", "source", "body"} <= set(data[0])
    text = subprocess.run([sys.executable, "-m", "qa", "stories"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    assert "郑东新区 召开防汛会商会议" in text and "记者 马燕" in text


HTML_PAGE = """<!doctype html><html><head><title>郑州日报 · 区县</title><style>p{color:red}</style></head>
<body><nav>首页 | 新闻</nav>
<h1>郑东新区 召开防汛会商会议</h1>
<p>本报讯 7月21日,郑东新区召开防汛会商会议。应急管理局局长刘焱中主持会议&amp;讲话。</p>
<p>记者 马燕</p>
<h1>商都路党群服务中心正式揭牌运营</h1><h3>“全方位、零距离”服务辖区群众</h3>
<p>本报讯 近日,商都路党群服务中心揭牌。<br>服务群众5.8万余人。</p>
<script>var x = "<p>not text</p>";</script>
</body></html>"""


def _docx(paragraphs):
    """A minimal Word file: (style, text) paragraphs in word/document.xml."""
    import zipfile
    from io import BytesIO

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    def paragraph(style, text):
        props = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        return f"<w:p>{props}<w:r><w:t>{text}</w:t></w:r></w:p>"

    body = "".join(paragraph(style, text) for style, text in paragraphs)
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", f'<w:document xmlns:w="{w}"><w:body>{body}</w:body></w:document>')
    return buf.getvalue()


def test_html_pages_and_word_files_are_read_as_pages(tmp_path):
    (tmp_path / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    (tmp_path / "page.docx").write_bytes(_docx([
        ("Title", "二七区与中交投资签约"), ("Subtitle", "探索央地合作新模式"),
        (None, "本报讯 5月26日,二七区与中交投资有限公司举行战略合作签约仪式。"),
        (None, "区委副书记、区长虎荣鑫致辞。"), (None, "记者 张立 通讯员 王伟 文/图")]))
    stories = {}
    for s in read_corpus(tmp_path):
        stories.setdefault(s.source, []).append(s)
    html = stories["page.html"]
    assert [s.title for s in html] == ["郑东新区 召开防汛会商会议", "商都路党群服务中心正式揭牌运营"]
    assert html[0].body.startswith("本报讯 7月21日") and "主持会议&讲话" in html[0].body
    assert html[0].byline.reporters == ("马燕",)
    assert html[1].subtitle == "“全方位、零距离”服务辖区群众"
    assert "5.8万余人" in html[1].body and "not text" not in html[1].body and "首页" not in html[0].body
    (docx,) = stories["page.docx"]
    assert docx.title == "二七区与中交投资签约" and docx.subtitle == "探索央地合作新模式"
    assert "虎荣鑫" in docx.body and docx.byline.correspondents == ("王伟",)
    assert [d.norm for d in docx.dates] == ["05-26"]


@pytest.mark.parametrize("pdf, page", [("seed_page_two_columns.pdf", "002_e713b7ff9e0ddada.txt"),
                                       ("seed_page_three_pages.pdf", "003_9e476d53aada9340.txt")])
def test_pdf_pages_give_the_stories_of_their_text_pages(tmp_path, pdf, page):
    """Seed pages printed to PDF by Chromium (headlines larger, as a newspaper sets them): one page
    in two columns, and one running over three pages. Read back, they give the text page's stories."""
    (tmp_path / pdf).write_bytes((DATA / pdf).read_bytes())
    from_pdf = list(read_corpus(tmp_path))
    from_text = read_page((ROOT / "corpus" / page).read_text(encoding="utf-8"), page)
    squash = lambda s: re.sub(r"\s", "", s)  # noqa: E731  (a headline wrapped at its space loses it)
    assert [squash(s.title) for s in from_pdf] == [squash(s.title) for s in from_text]
    assert [s.subtitle for s in from_pdf] == [s.subtitle for s in from_text]
    assert [s.body for s in from_pdf] == [s.body for s in from_text]  # paragraphs joined as printed
    assert [len(s.paragraphs) for s in from_pdf] == [len(s.paragraphs) for s in from_text]
    assert [s.byline.reporters for s in from_pdf] == [s.byline.reporters for s in from_text]
    assert all(s.source == pdf for s in from_pdf)


LAYOUT_HTML = """<html><head><meta charset="utf-8"><style>
body{font-family:"WenQuanYi Micro Hei";width:40em} h1{text-align:center;font-size:2em} .by{text-align:right}
.kicker{font-size:1.3em;text-align:center} .lead{font-size:1.25em}
.aside{transform:rotate(90deg);position:absolute;left:45em;top:10em}
</style></head><body>
<div class="kicker">聚焦中原科技城</div>
<h1>郑东新区召开“双改”工作推进会</h1>
<p>7月20日，郑东新区党工委委员、管委会副主任周定友在规划展览馆会议室组织召开东区“双改”第十四次推进会，
管委会班子成员和各乡（镇）办主要负责人参加会议，会议由管委会办公室主任主持。</p>
<p>周定友提出了三点要求：一是补齐短板，加压奋进；二是狠抓落实，持续提升；三是以人为本，注重民生。</p>
<p class="by">记者 王阳 通讯员 戚雨荷</p>
<h1>Haier compressor plant breaks ground</h1>
<p class="lead">The Haier compressor plant in Zhengzhou broke ground on Monday, and the company expects the
project to create thousands of jobs in the eastern district within three years of opening.</p>
<p>Officials from the district attended the ceremony and spoke about the new industrial park.</p>
<p class="by">记者 马燕</p>
<div class="aside">侧栏文字</div>
</body></html>"""


def test_a_pdf_layout_a_newspaper_sets_is_read_as_its_stories(tmp_path):
    """Printed by Chromium: a kicker over a centred headline, a story with no 本报讯 lead,
    right-aligned bylines, an English story whose lead is set large, a rotated sidebar."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    (tmp_path / "page.html").write_text(LAYOUT_HTML, encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={tmp_path / 'corpus' / 'page.pdf'}", (tmp_path / "page.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    first, second = read_corpus(tmp_path / "corpus")
    assert first.title == "聚焦中原科技城 郑东新区召开“双改”工作推进会" and first.subtitle == ""
    assert first.body.startswith("7月20日，郑东新区") and "会议由管委会办公室主任主持。\n周定友提出" in first.body
    assert first.byline.reporters == ("王阳",) and first.byline.correspondents == ("戚雨荷",)
    assert second.title == "Haier compressor plant breaks ground"
    assert "on Monday, and the company expects the project to create thousands of jobs" in second.body
    assert second.byline.reporters == ("马燕",)
    assert "侧栏" not in first.body + second.body


def test_a_pdf_without_text_is_skipped_with_its_reason(tmp_path):
    blank = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
             b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
             b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
             b"trailer << /Root 1 0 R >>\n%%EOF\n")
    (tmp_path / "scan.pdf").write_bytes(blank)
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "cut.pdf").write_bytes((DATA / "seed_page_three_pages.pdf").read_bytes()[:100_000])
    skipped = []
    assert list(read_corpus(tmp_path, skipped)) == []
    reasons = {s.path: s.reason for s in skipped}
    assert "no text in the PDF" in reasons["scan.pdf"] and "OCR" in reasons["scan.pdf"]
    assert "empty" in reasons["empty.pdf"]
    assert "not a readable PDF" in reasons["cut.pdf"]  # truncated in a download, say


def test_a_broken_word_file_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "empty.docx").write_bytes(b"")
    skipped = []
    assert list(read_corpus(tmp_path, skipped)) == []
    reasons = {s.path: s.reason for s in skipped}
    assert "not a readable .docx" in reasons["broken.docx"] and "empty" in reasons["empty.docx"]


def test_pdf_boxes_are_read_column_by_column():
    from qa.formats import _Box, _Line, _reading_order

    def box(x0, x1, top, text):
        return _Box(x0, x1, top, [_Line(text, 10.0, x0, x1)])

    # two columns of body text, their boxes at interleaved heights, and a short right-aligned byline
    left = [box(30, 290, 700 - 60 * i, f"左{i}" * 40) for i in range(5)]
    right = [box(310, 570, 730 - 60 * i, f"右{i}" * 40) for i in range(5)]
    byline = box(500, 570, 380, "记者 马燕")
    order = _reading_order(right + [byline] + left, 10.0)
    assert order == left + right + [byline]
    # one column: a centred headline and a right-aligned byline stay where they stand
    headline, body, by = box(200, 400, 760, "标题"), box(30, 570, 700, "正文" * 100), box(480, 570, 600, "记者 王阳")
    assert _reading_order([by, body, headline], 10.0) == [headline, body, by]
