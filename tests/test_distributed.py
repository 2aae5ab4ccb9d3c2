"""``qa build --ray``: a build on a (local) Ray instance gives the local build's index."""

import numpy as np
import pytest

from qa.index import load_index
from qa.pipeline import Pipeline
from qa.settings import Settings
from tests.conftest import CORPUS

pytestmark = pytest.mark.model
ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def _local_ray():
    """The tests start a local Ray instance (the build does, given no address); stop it after."""
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_built(tmp_path_factory):
    """The seed corpus built on Ray."""
    folder = tmp_path_factory.mktemp("ray") / "index"
    pipe = Pipeline(Settings(corpus=CORPUS, index=folder), progress=False)
    return pipe.build(ray=""), folder


def test_ray_build_gives_the_local_vectors_and_token_states(ray_built, pipeline):
    report, folder = ray_built
    local = pipeline.index
    built = load_index(folder)
    assert report.embedded == len(local.chunks) and "Ray" in built.manifest["model"]["source"]
    assert [c.embed_text for c in built.chunks] == [c.embed_text for c in local.chunks]
    assert np.sum(built.vectors * local.vectors, axis=1).min() >= 0.9999
    for i in range(len(local.chunks)):
        a, b = built.tokens.chunk(i), local.tokens.chunk(i)
        assert (a.ids == b.ids).all() and (a.offsets == b.offsets).all()
        assert np.allclose(a.states, b.states, atol=0.05)


def test_ray_built_index_answers_through_either_store(ray_built, pipeline, tmp_path):
    _, folder = ray_built
    question = "郑东新区防汛会商会议由谁主持?"
    expected = pipeline.answer(question)
    for store in ("embedded", "milvus"):
        if store == "milvus":
            pytest.importorskip("pymilvus")
        p = Pipeline(Settings(corpus=CORPUS, index=folder, store=store, milvus_uri=str(tmp_path / "m.db")),
                     progress=False)
        p.__dict__["embedder"] = pipeline.embedder
        p.open(rebuild=False)
        got = p.answer(question)
        assert (got.answer, got.citations[0].story_id, got.citations[0].start) == \
            (expected.answer, expected.citations[0].story_id, expected.citations[0].start), store


def test_unreadable_file_is_skipped_on_ray_too(tmp_path):
    from qa.distributed import read_and_chunk_on_ray
    from qa.index import read_and_chunk

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text((CORPUS / sorted(p.name for p in CORPUS.iterdir())[0]).read_text(
        encoding="utf-8"), encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00garbage\x00" * 10)
    rels = ["bad.txt", "good.txt"]
    on_ray, here = read_and_chunk_on_ray(None)(corpus, rels), read_and_chunk(corpus, rels)
    assert isinstance(here["bad.txt"], str) and on_ray["bad.txt"] == here["bad.txt"]
    assert [(s.id, [c.text for c in cs]) for s, cs in on_ray["good.txt"]] == \
        [(s.id, [c.text for c in cs]) for s, cs in here["good.txt"]]
