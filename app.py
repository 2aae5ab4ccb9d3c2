"""The chat UI: ``python app.py`` serves it on http://127.0.0.1:7860 (see ``--help``)."""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.cli import add_index_options  # noqa: E402
from qa.logs import configure as configure_logging  # noqa: E402
from qa.pipeline import Pipeline  # noqa: E402
from qa.settings import SettingError, Settings  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="新闻问答: chat with citations over a corpus of Chinese news stories",
                                epilog="example: python app.py --port 8080 --corpus corpus")
    p.add_argument("--host", help="default: $QA_HOST or 127.0.0.1")
    p.add_argument("--port", help="default: $QA_PORT or 7860")
    add_index_options(p)  # --corpus, --index, --model, --encoder, --store, --milvus-uri, --fusion, --reader
    return p.parse_args(argv)


def port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def main(argv=None) -> int:
    args = parse_args(argv)
    configure_logging()
    try:
        settings = Settings.resolve(vars(args)).require_corpus()
    except SettingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not port_free(settings.host, settings.port):  # before the build, and before any "running on"
        print(f"error: port {settings.port} is in use; pass --port (or set QA_PORT)", file=sys.stderr)
        return 2
    pipeline = Pipeline(settings)
    try:
        # A missing or broken index is built first, with progress here; a stale one keeps serving
        # while it is rebuilt in the background, and the replies say so.
        index = pipeline.open(rebuild=False)
        print(f"index: {len(index.stories)} stories, {len(index.chunks)} chunks"
              + (" (stale: rebuilding in the background)" if pipeline.stale else ""), file=sys.stderr)
        pipeline.warm_up()  # the models and dictionaries, before the first question
        pipeline.rebuild_in_background()
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    import uvicorn

    from qa.web import create_app

    print(f"新闻问答 on http://{settings.host}:{settings.port}", file=sys.stderr)
    # h11's 16 KB default cuts a long GET /api/ask?q=… with a connection reset; the question is
    # capped (QA_MAX_QUESTION) and answered instead.
    uvicorn.run(create_app(pipeline), host=settings.host, port=settings.port, log_level="warning",
                h11_max_incomplete_event_size=1_000_000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
