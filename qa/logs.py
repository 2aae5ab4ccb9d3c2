"""Logging for the CLI and the app: one format, and libraries' chatter below INFO kept out."""

from __future__ import annotations

import logging
import sys

NOISY = ("faiss", "faiss.loader", "sentence_transformers", "httpx", "bm25s", "urllib3", "gradio")


def configure(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
