"""Fault injection: every index file damaged three ways, and builds killed at random points.

    python -m pytest tests/test_faults.py -v

After each fault the product must answer the headline question as it does undamaged (whether
that answer is right is the reader's business: see the strict xfail in test_answer.py), hold every chunk of
the corpus (the same chunks, embeddings and token states as an undamaged build), and have
embedded again no more chunks than the fault destroyed. What a fault destroyed is worked out
here from the bytes it touched, not asked of the code under test: a token row file damaged
between bytes a and b loses the chunks whose rows overlap [a, b); every other file has a second
copy of what it holds (see ``qa/salvage.py``), so it loses no embedding.
"""

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa import generations
from qa.embed_cache import EmbedCache, content_key
from qa.index import build_index, load_index
from qa.pipeline import Pipeline
from qa.settings import Settings
from tests.conftest import CORPUS, ROOT
from tests.test_index import MODEL, Counting

HEADLINE = "7月18日的会议谁参加了?"
ROW_FILES = {"states.i8": (np.int8, 1152), "scales.f16": (np.float16, 3), "tokens.i32": (np.int32, 3)}
DAMAGES = ("truncate", "garbage", "delete")
KILLS = 5
SEED = 20261124

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def clean(tmp_path_factory, embedder):
    """An undamaged index of the seed corpus and what it holds."""
    folder = tmp_path_factory.mktemp("clean") / "index"
    report = build_index(CORPUS, folder, MODEL, lambda: embedder, progress=False)
    index = load_index(folder)
    gen = generations.current(folder)
    files = sorted(p.relative_to(gen).as_posix() for p in gen.rglob("*") if p.is_file())
    pipe = Pipeline(Settings(corpus=CORPUS, index=folder), progress=False)
    pipe.__dict__["embedder"] = embedder
    answer = pipe.answer(HEADLINE)
    assert answer.found
    return {"folder": folder, "gen": gen.name, "files": files, "index": index, "seconds": report.seconds,
            "answer": (answer.answer, answer.citations[0].text)}


def _holds_the_same(index, clean_index) -> None:
    """Nothing of the corpus is missing: same stories, chunks, embeddings and token states."""
    assert list(index.stories) == list(clean_index.stories)
    assert [c.embed_text for c in index.chunks] == [c.embed_text for c in clean_index.chunks]
    assert np.allclose(index.vectors, clean_index.vectors, atol=1e-5)
    assert index.dense.size == clean_index.dense.size
    for i in range(len(index.chunks)):
        a, b = index.tokens.chunk(i), clean_index.tokens.chunk(i)
        assert (a.ids == b.ids).all() and (a.offsets == b.offsets).all()
        assert np.allclose(a.states, b.states, atol=0.05), i


def _damage(path: Path, how: str, rng: random.Random) -> tuple[int, int]:
    """Damage ``path``; the byte range [a, b) that no longer holds what it held."""
    size = path.stat().st_size
    if how == "delete":
        path.unlink()
        return 0, size
    if how == "truncate":
        path.write_bytes(path.read_bytes()[:size // 2])
        return size // 2, size
    data = bytearray(path.read_bytes())
    width = max(64, size // 10)
    a = max(0, size // 2 - width // 2)
    b = min(size, a + width)
    data[a:b] = bytes(rng.getrandbits(8) for _ in range(b - a))
    path.write_bytes(bytes(data))
    assert path.stat().st_size == size
    return a, b


def _lost_chunks(name: str, byte_range: tuple[int, int], index) -> int:
    """Distinct chunk texts whose data the damage destroyed (0 for files that have a copy)."""
    if name not in ROW_FILES:
        return 0
    dtype, width = ROW_FILES[name]
    row = np.dtype(dtype).itemsize * width
    first, last = byte_range[0] // row, -(-byte_range[1] // row)
    bounds = index.tokens.bounds
    lost = {index.chunks[i].embed_text for i in range(len(index.chunks))
            if bounds[i] < last and bounds[i + 1] > first}
    return len(lost)


CASES = [(f, how) for f in ("CURRENT", "manifest.json", "stories.jsonl", "chunks.jsonl", "vectors.npy",
                            "dense.faiss", "rows.npz", "states.i8", "scales.f16", "tokens.i32",
                            "lexicon.txt", "bm25/*") for how in DAMAGES]


@pytest.mark.parametrize(("name", "how"), CASES, ids=[f"{f}-{h}" for f, h in CASES])
def test_a_damaged_index_file_is_repaired_without_losing_anything(name, how, clean, embedder, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(clean["folder"], folder)
    gen = folder / clean["gen"]
    if name == "bm25/*":  # every file of the BM25 folder
        targets = [p for p in clean["files"] if p.startswith("bm25/")]
        assert targets
    else:
        targets = [name]
    rng = random.Random(f"{SEED}-{name}-{how}")
    lost = 0
    for target in targets:
        path = folder / target if target == "CURRENT" else gen / target
        lost += _lost_chunks(target, _damage(path, how, rng), clean["index"])

    counting = Counting(embedder)
    pipe = Pipeline(Settings(corpus=CORPUS, index=folder), progress=False)
    pipe.__dict__["embedder"] = counting
    result = pipe.answer(HEADLINE)
    _holds_the_same(pipe.index, clean["index"])
    assert counting.embedded <= lost, f"embedded {counting.embedded} chunks again; the damage destroyed {lost}"
    assert load_index(folder) is not None  # and the repaired index loads cleanly next time
    assert (result.answer, result.citations[0].text) == clean["answer"]


def test_the_fault_cases_cover_every_file_of_an_index(clean):
    covered = {f for f, _ in CASES}
    for f in clean["files"]:
        assert f in covered or (f.startswith("bm25/") and "bm25/*" in covered), f


@pytest.mark.parametrize("run", range(KILLS))
def test_a_build_killed_at_a_random_point_resumes_and_loses_nothing(run, clean, embedder, tmp_path):
    folder = tmp_path / "index"
    rng = random.Random(f"{SEED}-kill-{run}")
    proc = subprocess.Popen([sys.executable, "-m", "qa", "build", "--corpus", str(CORPUS), "--index", str(folder)],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen, deadline = "", time.time() + 300
    while "embedding" not in seen and time.time() < deadline and proc.poll() is None:
        seen += proc.stderr.read(1)
    # somewhere in the embedding, which takes about as long as the clean build did
    time.sleep(rng.uniform(0.05, 0.95) * clean["seconds"])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    checkpointed = len(EmbedCache(folder, MODEL))
    unique = len({c.embed_text for c in clean["index"].chunks})

    counting = Counting(embedder)
    report = build_index(CORPUS, folder, MODEL, lambda: counting, progress=False)
    if checkpointed:
        assert report.embedded < unique
    assert counting.embedded <= unique - checkpointed, "embedded again only what the kill lost"
    index = load_index(folder)
    _holds_the_same(index, clean["index"])
    assert len({content_key(c.embed_text) for c in index.chunks}) == unique
