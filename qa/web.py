"""The web app: the Gradio chat, the story pages and a JSON API, all on one server.

Everything goes through :meth:`qa.pipeline.Pipeline.answer`, like the CLI.
"""

from __future__ import annotations

import html
import logging
import os

from fastapi import Request  # module level: FastAPI resolves the string annotation here

from .followup import resolve
from .pipeline import Pipeline
from .prompts import load_examples, load_prompts
from .render import answer_html, answer_json, message_html, not_found_page, story_page

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
log = logging.getLogger("qa.web")

CSS = """
footer{display:none !important}
.qa-note{color:#8a5a00;font-size:.9rem}
.qa-reply p{margin:.2rem 0}.qa-answer{font-size:1.05rem}
.qa-none{border-left:4px solid #e0a800;padding-left:.6rem;background:#fffaf0}
.qa-no-answer{font-weight:600;color:#8a5a00}
.qa-sources-h{margin-top:.5rem;font-size:.85rem;color:#666}
.qa-read-as{font-size:.85rem;color:#666}
.qa-sources,.qa-related{margin:.2rem 0 0 1.2rem;padding:0;font-size:.9rem}
.qa-quote{margin:.2rem 0 .4rem 0;padding:.2rem .6rem;border-left:3px solid #ccc;color:#333}
.qa-quote mark{background:#ffd36b}.qa-meta{color:#777;font-size:.8rem}
"""


def _text(content) -> str:
    """The text of a chat message, whatever shape Gradio gives it."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


class ChatHandler:
    """Turns a chat turn into a reply; never raises, so the user never sees a traceback."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    def _capped(self, question: str) -> tuple[str, bool]:
        cap = self.pipeline.settings.max_question
        question = (question or "").strip()
        return (question[:cap], True) if len(question) > cap else (question, False)

    def ask(self, question: str, previous: str | None = None) -> dict:
        """The JSON API: the same object as ``python -m qa ask --json``; ``previous`` resolves follow-ups."""
        question, trimmed = self._capped(question)
        if not question:
            return {"error": "empty question"}
        asked = resolve(question, (previous or "").strip() or None)
        try:
            result = self.pipeline.answer(asked)
            out = answer_json(result, load_prompts(self.pipeline.settings.prompts, result.lang))
            if asked != question:
                out["resolved_from"] = question
            if trimmed:
                out["note"] = f"question trimmed to {self.pipeline.settings.max_question} characters"
            return out
        except Exception:  # reported, not raised
            log.exception("answering %r failed", question)
            return {"error": "internal error: the question could not be answered (see the server log)"}

    def reply(self, question: str, previous: str | None) -> tuple[str, str]:
        """(reply HTML, the question actually answered)."""
        zh = load_prompts(self.pipeline.settings.prompts, "zh")
        question, trimmed = self._capped(question)
        if not question:
            return message_html(zh["empty_question"], "qa-hint"), ""
        asked = resolve(question, previous)
        try:
            result = self.pipeline.answer(asked)
        except Exception as e:
            log.exception("answering %r failed", asked)
            return message_html(zh["error"].format(error=type(e).__name__)), asked  # the type only, no text
        prompts = load_prompts(self.pipeline.settings.prompts, result.lang)
        prefix = ""
        if self.pipeline.stale:
            prefix += f'<p class="qa-note">{html.escape(prompts.get("stale", ""))}</p>'
        if trimmed:
            note = prompts.get("trimmed", "").format(n=self.pipeline.settings.max_question)
            prefix += f'<p class="qa-note">{html.escape(note)}</p>'
        if asked != question:
            prefix += f'<p class="qa-resolved">→ {html.escape(asked)}</p>'
        return prefix + answer_html(result, prompts), asked

    def respond(self, question: str, history: list, asked: list):
        """Gradio handler: (cleared textbox, new history, questions asked so far)."""
        history = list(history or [])
        asked = list(asked or [])
        previous = asked[-1] if asked else None
        reply, resolved = self.reply(question, previous)
        if (question or "").strip():
            history.append({"role": "user", "content": html.escape(question.strip())})
            asked.append(resolved)
        history.append({"role": "assistant", "content": reply})
        return "", history, asked


def build_ui(pipeline: Pipeline):
    import gradio as gr

    ui = load_prompts(pipeline.settings.prompts, "zh")["ui"]
    handler = ChatHandler(pipeline)
    with gr.Blocks(title=ui["title"], analytics_enabled=False) as demo:
        gr.Markdown(f"## {ui['title']}\n{ui['intro']}")
        chatbot = gr.Chatbot(label=ui["chat_label"], elem_id="chatbot", height=560,
                             render_markdown=False, latex_delimiters=[])
        asked = gr.State([])
        with gr.Row():
            box = gr.Textbox(label=ui["question_label"], placeholder=ui["placeholder"], elem_id="question",
                             scale=8, autofocus=True)
            send = gr.Button(ui["send"], variant="primary", elem_id="send", scale=1)
        examples = load_examples(pipeline.settings.prompts)
        if examples:
            gr.Examples(examples, inputs=box, label=ui["examples"])
        clear = gr.Button(ui["clear"], elem_id="clear", size="sm")
        box.submit(handler.respond, [box, chatbot, asked], [box, chatbot, asked], api_name="chat")
        send.click(handler.respond, [box, chatbot, asked], [box, chatbot, asked], api_visibility="private")
        clear.click(lambda: ("", [], []), None, [box, chatbot, asked], api_visibility="private")
        api_in = gr.Textbox(visible=False)
        api_out = gr.JSON(visible=False)
        api_button = gr.Button(visible=False)
        api_button.click(handler.ask, api_in, api_out, api_name="ask")
    return demo


def create_app(pipeline: Pipeline):
    """The FastAPI app serving the chat at /, stories at /story/<id> and JSON at /api/ask."""
    import gradio as gr
    from fastapi import FastAPI, Query
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="新闻问答")
    ui = load_prompts(pipeline.settings.prompts, "zh")["ui"]
    handler = ChatHandler(pipeline)

    def _int(value: str | None) -> int | None:
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None  # a bad range shows the story without a highlight

    @app.get("/story/{story_id}", response_class=HTMLResponse)
    def story(story_id: str, start: str | None = None, end: str | None = None,
              astart: str | None = None, aend: str | None = None):
        found = pipeline.index.story(story_id)
        if found is None:
            return HTMLResponse(not_found_page(ui, story_id), status_code=404)
        return HTMLResponse(story_page(found, ui, _int(start), _int(end), _int(astart), _int(aend)))

    @app.get("/api/ask")
    def api_ask(q: str = Query("", description="the question"), previous: str = Query("", description=
                "the previous question, for a follow-up such as 那7月20日呢?")):
        result = handler.ask(q, previous)
        return JSONResponse(result, status_code=400 if "error" in result else 200)

    @app.post("/api/ask")
    async def api_ask_post(request: Request):
        try:
            body = await request.json()
            q, previous = str(body.get("q", "")), str(body.get("previous", "") or "")
        except Exception:  # not JSON, or not an object
            return JSONResponse({"error": 'send a JSON object: {"q": "…", "previous": "…"}'}, status_code=400)
        result = handler.ask(q, previous)
        return JSONResponse(result, status_code=400 if "error" in result else 200)

    demo = build_ui(pipeline)
    return gr.mount_gradio_app(app, demo, path="/", css=CSS)
