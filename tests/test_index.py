"""The hybrid index: chunk offsets, incremental builds, rebuilds on mismatch, crash safety."""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import generations
from qa.chunks import MAX_CHARS, chunk_story
from qa.embedder import model_id
from qa.index import IndexUnreadable, build_index, load_index
from qa.pipeline import Pipeline
from qa.settings import DEFAULT_ENCODER, Settings
from tests.conftest import CORPUS, ROOT

MODEL = model_id(None, DEFAULT_ENCODER)  # the identity the default settings build under


class Counting:
    """The real embedder, counting what it is asked to embed."""

    def __init__(self, embedder):
        self.embedder, self.embedded = embedder, 0
        self.source, self.dim = embedder.source, embedder.dim
        self.state_dim, self.layers = embedder.state_dim, embedder.layers

    def passages_with_states(self, texts):
        self.embedded += len(texts)
        return self.embedder.passages_with_states(texts)

    def __getattr__(self, name):  # everything else (question encoding, layers) from the real one
        return getattr(self.embedder, name)


@pytest.fixture
def small_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("002_e713b7ff9e0ddada.txt", "003_9e476d53aada9340.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    return corpus


def test_every_chunk_is_the_body_at_its_offsets(seed_stories):
    for story in seed_stories:
        chunks = chunk_story(story)
        assert chunks
        covered = set()
        for c in chunks:
            assert story.body[c.start:c.end] == c.text
            assert 0 < len(c.text) <= MAX_CHARS
            assert c.embed_text.startswith(story.title)
            covered.update(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(story.body) if not ch.isspace())


def test_chunks_end_at_sentence_ends(seed_stories):
    ends = [c.text[-1] for s in seed_stories for c in chunk_story(s)]
    assert sum(e in "。!?！？”" for e in ends) / len(ends) > 0.9


@pytest.mark.model
def test_incremental_build_reembeds_only_what_changed(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    first = Counting(embedder)
    report = build_index(small_corpus, folder, MODEL, lambda: first, progress=False)
    assert report.files == 2 and report.stories == 9
    assert first.embedded == report.chunks == report.embedded > 0
    manifest = load_index(folder).manifest
    assert manifest["model"] == {"id": MODEL, "source": embedder.source, "dim": 384, "state_dim": 1152,
                                 "layers": [6, 9, 12]}
    assert manifest["chunker"] and manifest["tokenizer"] and manifest["dense"] == "flat"
    assert set(manifest["files"]) == {"002_e713b7ff9e0ddada.txt", "003_9e476d53aada9340.txt"}
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())

    again = build_index(small_corpus, folder, MODEL, lambda: pytest.fail("loaded the model"), progress=False)
    assert again.up_to_date

    page = small_corpus / "003_9e476d53aada9340.txt"
    page.write_text(page.read_text(encoding="utf-8") + "\n\n新增报道\n\n本报讯 8月8日,某区召开新会议。\n记者 张三\n",
                    encoding="utf-8")
    counting = Counting(embedder)
    report = build_index(small_corpus, folder, MODEL, lambda: counting, progress=False)
    ids_003 = [s for s in load_index(folder).stories.values() if s.source == page.name]
    assert report.changed == [page.name]
    assert counting.embedded == sum(len(chunk_story(s)) for s in ids_003)
    assert report.stories == 10

    (small_corpus / "002_e713b7ff9e0ddada.txt").unlink()
    report = build_index(small_corpus, folder, MODEL, lambda: pytest.fail("nothing to embed"), progress=False)
    assert report.removed == ["002_e713b7ff9e0ddada.txt"]
    index = load_index(folder)
    assert {s.source for s in index.stories.values()} == {page.name}
    assert len(index.chunks) == len(index.vectors) == index.dense.size


@pytest.mark.model
def test_vectors_are_kept_with_their_chunks(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    (small_corpus / "002_e713b7ff9e0ddada.txt").unlink()
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    index = load_index(folder)
    fresh = embedder.encode_passages([c.embed_text for c in index.chunks[:5]])
    assert np.allclose(fresh, index.vectors[:5], atol=1e-4)


@pytest.mark.model
def test_token_states_are_kept_with_their_chunks_and_point_into_the_chunk_text(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    (small_corpus / "002_e713b7ff9e0ddada.txt").unlink()  # the rest is reused, not re-embedded
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    index = load_index(folder)
    assert len(index.tokens) == len(index.chunks)
    _, fresh = embedder.passages_with_states([c.embed_text for c in index.chunks[:3]])
    for i, chunk in enumerate(index.chunks[:3]):
        stored = index.tokens.chunk(i)
        assert np.array_equal(stored.ids, fresh[i].ids)
        f = fresh[i].states.astype(np.float32)
        assert np.abs(stored.states - f).max() <= np.abs(f).max() / 100
        covered = {k for s, e in stored.offsets if s >= 0 for k in range(s, e)}
        assert all(k in covered for k, ch in enumerate(chunk.text) if not ch.isspace())
        assert all(0 <= s < e <= len(chunk.text) for s, e in stored.offsets if s >= 0)
        # the title is embedded with the chunk but is not part of its text: no offset points into it
        assert (stored.offsets[:, 0] >= 0).sum() < len(stored.ids)


@pytest.mark.model
def test_another_model_or_chunker_rebuilds_instead_of_mixing(small_corpus, tmp_path, embedder, monkeypatch):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    counting = Counting(embedder)
    report = build_index(small_corpus, folder, "another/model", lambda: counting, progress=False)
    assert "another/model" in report.rebuilt_because
    assert counting.embedded == report.chunks
    assert load_index(folder).manifest["model"]["id"] == "another/model"

    import qa.index

    monkeypatch.setattr(qa.index, "CHUNKER_VERSION", "999")
    counting = Counting(embedder)
    report = build_index(small_corpus, folder, "another/model", lambda: counting, progress=False)
    assert "chunker" in report.rebuilt_because and counting.embedded == report.chunks


@pytest.mark.model
def test_a_new_tokenizer_rebuilds_bm25_but_keeps_the_embeddings(small_corpus, tmp_path, embedder, monkeypatch):
    import qa.index

    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    before = load_index(folder).vectors.copy()
    monkeypatch.setattr(qa.index, "TOKENIZER_VERSION", "999")
    assert not qa.index.is_up_to_date(small_corpus, folder, MODEL)
    counting = Counting(embedder)
    report = build_index(small_corpus, folder, MODEL, lambda: counting, progress=False)
    assert not report.up_to_date and counting.embedded == 0
    index = load_index(folder)
    assert index.manifest["tokenizer"] == "999"
    np.testing.assert_array_equal(index.vectors, before)
    assert qa.index.is_up_to_date(small_corpus, folder, MODEL)


@pytest.mark.model
def test_a_build_that_fails_while_writing_leaves_the_old_index(small_corpus, tmp_path, embedder, monkeypatch):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    before = load_index(folder)
    page = small_corpus / "002_e713b7ff9e0ddada.txt"
    page.write_text(page.read_text(encoding="utf-8").replace("牛瑞华", "牛某某"), encoding="utf-8")

    def crash(tmp):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(generations, "commit", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())
    after = load_index(folder)
    assert after.manifest["files"] == before.manifest["files"]
    monkeypatch.undo()
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    assert not any(p.name.endswith(".tmp") for p in folder.iterdir())
    assert any("牛某某" in s.body for s in load_index(folder).stories.values())


@pytest.mark.model
def test_a_killed_build_leaves_the_previous_index_loadable(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    before = load_index(folder)
    seed = (CORPUS / "001_d1ec614fff12554d.txt").read_text(encoding="utf-8")
    for i in range(30):  # enough text to still be embedding when killed
        (small_corpus / f"extra_{i:02d}.txt").write_text(seed.replace("二七区", f"第{i}区"), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "qa", "build", "--corpus", str(small_corpus),
                             "--index", str(folder)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.time() + 120
    while "embedding" not in seen and time.time() < deadline:
        seen += proc.stderr.read(1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert "embedding" in seen
    after = load_index(folder)
    assert after.manifest["files"] == before.manifest["files"]
    assert len(after.stories) == len(before.stories)


@pytest.mark.model
def test_a_corrupt_index_is_rebuilt_with_a_message(small_corpus, tmp_path, embedder, caplog):
    folder = tmp_path / "index"
    settings = Settings(corpus=small_corpus, index=folder)
    pipeline = Pipeline(settings, progress=False)
    pipeline.__dict__["embedder"] = embedder
    assert pipeline.index.stories
    gen = generations.current(folder)
    (gen / "vectors.npy").write_bytes(b"not numpy")
    with pytest.raises(IndexUnreadable):
        load_index(folder)
    fresh = Pipeline(settings, progress=False)
    fresh.__dict__["embedder"] = embedder
    with caplog.at_level("WARNING"):
        assert len(fresh.index.chunks) == len(pipeline.index.chunks)
    assert "rebuilding" in caplog.text

    (folder / "CURRENT").write_text("garbage\n")
    fresh = Pipeline(settings, progress=False)
    fresh.__dict__["embedder"] = embedder
    with caplog.at_level("WARNING"):
        assert fresh.index.stories
    assert "unreadable" in caplog.text


def test_an_index_of_an_unknown_format_is_unreadable(tmp_path):
    gen = tmp_path / "gen-000001"
    gen.mkdir()
    (tmp_path / "CURRENT").write_text("gen-000001\n")
    (gen / "manifest.json").write_text(json.dumps({"format": 0}))
    with pytest.raises(IndexUnreadable, match="format"):
        load_index(tmp_path)


@pytest.mark.model
def test_an_empty_corpus_builds_an_empty_index_and_says_so(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02")  # only unreadable files
    report = build_index(corpus, tmp_path / "index", MODEL, lambda: embedder, progress=False)
    assert report.chunks == 0 and "broken.txt" in report.skipped
    pipe = Pipeline(Settings(corpus=corpus, index=tmp_path / "index"), progress=False)
    pipe.__dict__["embedder"] = embedder
    result = pipe.answer("7月18日的会议谁参加了?")
    assert not result.found and result.reason == "empty_corpus"


def _overwrite_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = b"\xff" * min(64, len(data) - mid)
    path.write_bytes(bytes(data))


@pytest.mark.model
def test_same_size_damage_is_noticed_and_a_faiss_file_is_rebuilt_from_the_vectors(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    gen = generations.current(folder)
    before = load_index(folder)
    q = embedder.encode_queries(["郑东新区防汛会商会议由谁主持?"])[0]
    want = before.dense.search(q, 5)[1].tolist()
    size = (gen / "dense.faiss").stat().st_size
    _overwrite_middle(gen / "dense.faiss")
    assert (gen / "dense.faiss").stat().st_size == size
    repaired = load_index(folder)  # no embedder needed: rebuilt from vectors.npy
    assert repaired.dense.search(q, 5)[1].tolist() == want
    assert load_index(folder).manifest["parts"]["dense.faiss"]  # and recorded: the next load is clean
    _overwrite_middle(gen / "stories.jsonl")
    with pytest.raises(IndexUnreadable, match="stories.jsonl"):
        load_index(folder)


class _Dies(Counting):
    """The real embedder, killed (an exception) after ``after`` batches."""

    def __init__(self, embedder, after):
        super().__init__(embedder)
        self.after, self.calls = after, 0

    def passages_with_states(self, texts):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt("killed")
        return super().passages_with_states(texts)


@pytest.mark.model
def test_a_killed_build_resumes_and_identical_passages_are_embedded_once(small_corpus, tmp_path, embedder,
                                                                          monkeypatch):
    import qa.index

    monkeypatch.setattr(qa.index, "EMBED_BATCH", 8)
    shutil.copy(small_corpus / "002_e713b7ff9e0ddada.txt", small_corpus / "copy_of_002.txt")  # a page twice
    folder = tmp_path / "index"
    dying = _Dies(embedder, after=2)
    with pytest.raises(KeyboardInterrupt):
        build_index(small_corpus, folder, MODEL, lambda: dying, progress=False)
    assert dying.embedded == 16
    again = Counting(embedder)
    report = build_index(small_corpus, folder, MODEL, lambda: again, progress=False)
    unique = len({c.embed_text for c in load_index(folder).chunks})
    assert report.chunks > unique, "the copied page gives chunks of its own"
    assert again.embedded == report.embedded == unique - 16, "only what was lost, each passage once"
    assert not (folder / "embed-cache").exists()


@pytest.mark.model
def test_a_stale_index_keeps_answering_while_it_is_rebuilt_in_the_background(small_corpus, tmp_path, embedder):
    folder = tmp_path / "index"
    build_index(small_corpus, folder, MODEL, lambda: embedder, progress=False)
    shutil.copy(CORPUS / "001_d1ec614fff12554d.txt", small_corpus / "001_d1ec614fff12554d.txt")
    pipe = Pipeline(Settings(corpus=small_corpus, index=folder), progress=False)
    pipe.__dict__["embedder"] = embedder
    old = pipe.open(rebuild=False)
    assert pipe.stale and len(old.stories) == 9
    assert pipe.answer("郑东新区防汛会商会议由谁主持?").found  # served from the last good index
    thread = pipe.rebuild_in_background()
    assert pipe.rebuilding and pipe.answer("郑东新区防汛会商会议由谁主持?").found  # still serving
    thread.join(timeout=300)
    assert not pipe.stale and not pipe.rebuilding and len(pipe.index.stories) > 9
    assert pipe.answerer.index is pipe.index
