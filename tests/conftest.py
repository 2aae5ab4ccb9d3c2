import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def seed_stories():
    from qa.corpus import read_corpus

    return list(read_corpus(CORPUS))


@pytest.fixture(scope="session")
def embedder():
    """The real embedding model, loaded once for the whole test session."""
    from qa.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, embedder):
    """The whole product over the seed corpus, with an index of its own."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    settings = Settings(corpus=CORPUS, index=tmp_path_factory.mktemp("seed") / "index")
    p = Pipeline(settings, progress=False)
    p.__dict__["embedder"] = embedder
    return p
