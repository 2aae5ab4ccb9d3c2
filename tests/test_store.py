"""The Milvus store (Milvus Lite here) searches and answers as the embedded FAISS + bm25s store."""

import json

import numpy as np
import pytest

from qa.pipeline import Pipeline
from qa.settings import Settings
from qa.store import MilvusStore, Where
from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.model
pytest.importorskip("pymilvus")


@pytest.fixture(scope="module")
def milvus(pipeline, tmp_path_factory):
    """The seed pipeline's own index, searched through a Milvus Lite collection."""
    uri = tmp_path_factory.mktemp("milvus") / "seed.db"
    settings = Settings(corpus=CORPUS, index=pipeline.settings.index, store="milvus", milvus_uri=str(uri))
    p = Pipeline(settings, progress=False)
    p.__dict__["embedder"] = pipeline.embedder
    p.open(rebuild=False)
    assert isinstance(p.index.search, MilvusStore)
    return p


def _questions() -> list[str]:
    out = []
    for name in ("dev_qa.jsonl", "everyday_qa.jsonl"):
        out += [json.loads(line)["q"] for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8")
                .splitlines() if line.strip()]
    return out


def _shape(answer) -> tuple:
    return (answer.found, answer.answer, answer.retrieved[:1],
            [(c.story_id, c.start, c.end, c.text) for c in answer.citations])


def test_milvus_answers_and_cites_exactly_as_the_embedded_store(pipeline, milvus):
    questions = _questions()
    assert len(questions) >= 50
    for q in questions:
        assert _shape(milvus.answer(q)) == _shape(pipeline.answer(q)), q


def test_both_stores_rank_the_same_chunks(pipeline, milvus):
    """Dense search is exact in both: the same chunks and scores. Milvus's BM25 scores the same
    tokens with its own formula, close to but not exactly bm25s's: the same best chunk, nearly
    the same top ten."""
    index = pipeline.index
    for q in ["郑东新区防汛会商会议由谁主持?", "二七区区长是谁?", "海立压缩机什么时候投产"]:
        tokens = index.tokenizer(q)
        a_scores, a_ids = index.search.lexical(tokens, 10)
        b_scores, b_ids = milvus.index.search.lexical(tokens, 10)
        shared = set(a_ids.tolist()) & set(b_ids.tolist())
        assert a_ids[0] == b_ids[0] and len(shared) >= 0.8 * len(a_ids) and len(a_ids) == len(b_ids), q
        vec = pipeline.embedder.encode_queries([q])[0]
        a_scores, a_ids = index.search.dense(vec, 10)
        b_scores, b_ids = milvus.index.search.dense(vec, 10)
        assert a_ids.tolist() == b_ids.tolist() and np.allclose(a_scores, b_scores, atol=1e-4), q


def test_metadata_filters_agree_and_hold(pipeline, milvus):
    index = pipeline.index
    source = index.stories[index.chunks[0].story_id].source
    where = Where(source=source)
    vec = pipeline.embedder.encode_queries(["会议"])[0]
    for store in (index.search, milvus.index.search):
        _, ids = store.dense(vec, 20, where)
        assert len(ids) and all(index.stories[index.chunks[i].story_id].source == source for i in ids)
    assert index.search.dense(vec, 20, where)[1].tolist() == milvus.index.search.dense(vec, 20, where)[1].tolist()
    dated = [s for s in index.stories.values() if s.date]
    if dated:
        day = dated[0].date
        only = Where(date_from=day, date_to=day)
        for store in (index.search, milvus.index.search):
            _, ids = store.lexical(index.tokenizer("会议 记者"), 50, only)
            assert all(index.stories[index.chunks[i].story_id].date == day for i in ids)


def test_one_collection_per_index_content(pipeline, milvus):
    """Opening again reuses the collection; only the live generation's collection is kept."""
    again = MilvusStore.open(milvus.settings.milvus_uri, milvus.index)
    assert again.collection == milvus.index.search.collection
    family = again.collection.rsplit("_", 1)[0]
    assert [c for c in again.client.list_collections() if c.startswith(family)] == [again.collection]
