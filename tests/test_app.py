"""The running app: gradio_client API, story pages, escaping, and a real browser (headless Chromium)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.model
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``python app.py`` on a free port, on the seed corpus, with an index of its own."""
    port = _free_port()
    index = tmp_path_factory.mktemp("app") / "index"
    log = open(tmp_path_factory.mktemp("log") / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--index", str(index)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited: {Path(log.name).read_text()}")
        try:
            if get(url + "/config")[0] == 200:
                break
        except OSError:
            time.sleep(1)
    else:
        pytest.fail("app did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _answer_json(app_url, question):
    from gradio_client import Client

    return Client(app_url + "/", verbose=False).predict(question, api_name="/ask")


def test_client_gets_the_answer_with_citation_links(app_url):
    result = _answer_json(app_url, "郑东新区防汛会商会议由谁主持?")
    assert result["found"]
    assert "刘焱中" in result["answer"]
    first = result["citations"][0]
    assert first["url"].startswith(f"/story/{first['story_id']}?start=")

    status, page = get(app_url + first["url"].split("#")[0])
    assert status == 200
    assert '<mark class="cited" id="cited">' in page
    assert "刘焱中" in page and "防汛会商会议" in page


def test_chat_reply_carries_markers_and_links(app_url):
    from gradio_client import Client

    client = Client(app_url + "/", verbose=False)
    _, history = client.predict("郑东新区防汛会商会议由谁主持?", [], api_name="/chat")
    reply = history[-1]["content"]
    reply = reply if isinstance(reply, str) else "".join(p.get("text", "") for p in reply)
    assert "刘焱中" in reply and "[1]" in reply and 'href="/story/' in reply


def test_unknown_story_is_a_clean_404(app_url):
    status, page = get(app_url + "/story/no-such-story")
    assert status == 404
    assert "Traceback" not in page and "<html" in page.lower()


def test_story_page_escapes_and_ignores_bad_ranges(app_url):
    result = _answer_json(app_url, "郑东新区防汛会商会议由谁主持?")
    sid = result["citations"][0]["story_id"]
    status, page = get(f"{app_url}/story/{sid}?start=999999&end=5")
    assert status == 200 and "<mark" not in page


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.mark.browser
def test_browser_question_citation_and_story_page(app_url, browser):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url + "/")
    box = page.locator("#question textarea")
    box.wait_for(timeout=60000)
    page.screenshot(path=str(SHOTS / "1-start.png"))

    box.fill("7月21日的会议由谁主持?")
    box.press("Enter")
    bot = page.locator('#chatbot [data-testid="bot"]')
    expect(bot).to_have_count(1, timeout=60000)
    expect(bot.last).to_contain_text("刘焱中")
    expect(bot.last).to_contain_text("[1]")
    page.screenshot(path=str(SHOTS / "2-answer.png"))

    link = bot.last.locator("a.story-link").first
    with ctx.expect_page() as opened:
        link.click()
    story = opened.value
    story.wait_for_load_state()
    assert "/story/" in story.url
    cited = story.locator("mark.cited")
    expect(cited).to_contain_text("刘焱中")
    assert story.evaluate("() => { const r = document.getElementById('cited').getBoundingClientRect();"
                          " return r.top >= 0 && r.bottom <= window.innerHeight; }")
    story.screenshot(path=str(SHOTS / "3-story.png"))

    box.fill("那7月20日呢?")
    box.press("Enter")
    expect(bot).to_have_count(2, timeout=60000)
    expect(bot.last).to_contain_text("7月20日")
    expect(bot.last).to_contain_text("双改")

    box.fill("<img src=x onerror=alert(1)>")
    box.press("Enter")
    expect(bot).to_have_count(3, timeout=60000)
    user = page.locator('#chatbot [data-testid="user"]').last
    expect(user).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#chatbot img[src='x']").count() == 0
    assert dialogs == []

    box.fill("6月1日的会议谁参加了?")
    box.press("Enter")
    expect(bot).to_have_count(4, timeout=60000)
    expect(bot.last.locator(".qa-none")).to_have_count(1)
    page.screenshot(path=str(SHOTS / "4-followup-escaping-no-answer.png"), full_page=True)
    ctx.close()


def test_bad_story_parameters_show_the_story_without_a_highlight(app_url):
    result = _answer_json(app_url, "郑东新区防汛会商会议由谁主持?")
    sid = result["citations"][0]["story_id"]
    status, page = get(f"{app_url}/story/{sid}?start=abc&end=&astart=1e9")
    assert status == 200 and "<mark" not in page and "Traceback" not in page and "pydantic" not in page


def test_a_very_long_question_is_trimmed_and_answered_not_reset(app_url):
    from urllib.parse import quote

    long_q = "郑东新区防汛会商会议由谁主持?" + "啊" * 14000
    status, body = get(f"{app_url}/api/ask?q={quote(long_q)}")
    obj = json.loads(body)
    assert status == 200 and "trimmed" in obj["note"] and len(obj["question"]) <= 500


def test_post_and_followups_through_the_api(app_url):
    req = urllib.request.Request(app_url + "/api/ask", method="POST", headers={"Content-Type": "application/json"},
                                 data=json.dumps({"q": "那7月21日呢?", "previous": "7月18日的会议谁参加了?"}).encode())
    with urllib.request.urlopen(req, timeout=60) as r:
        obj = json.loads(r.read().decode())
    assert obj["question"] == "7月21日的会议谁参加了?" and obj["resolved_from"] == "那7月21日呢?"
    bad = urllib.request.Request(app_url + "/api/ask", method="POST", data=b"not json")
    try:
        urllib.request.urlopen(bad, timeout=60)
        raise AssertionError("expected a 400")
    except urllib.error.HTTPError as e:
        assert e.code == 400


def test_app_takes_the_same_index_options_as_the_cli(tmp_path):
    """The README's ``python app.py --store milvus --milvus-uri …`` reaches the settings."""
    from app import parse_args
    from qa.settings import Settings

    args = parse_args(["--store", "milvus", "--milvus-uri", str(tmp_path / "m.db"), "--encoder", "torch",
                       "--fusion", "rrf", "--port", "8081"])
    s = Settings.resolve(vars(args))
    assert (s.store, s.milvus_uri, s.encoder, s.fusion, s.port) == ("milvus", str(tmp_path / "m.db"), "torch",
                                                                     "rrf", 8081)
