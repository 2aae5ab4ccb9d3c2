"""The cross reader: the encoder fine-tuned to read the question and a passage *together*.

The head in :mod:`qa.reader.model` reads token states the frozen encoder computed for the
passage and the question apart; it cannot see how a passage's words relate to the question
beyond what its small layers learn, and its answers stop short of whole clauses. This reader
runs the same encoder (``intfloat/multilingual-e5-small``) once over ``question </s></s> title
\\n passage``, with its top layers fine-tuned on the public reading-comprehension data
(:mod:`qa.reader.cross_train`), and points at *characters* as the head does: each character
gets its token's last-layer state and its boundary features (:func:`qa.reader.chars.char_layout`),
and a small scorer gives its start and end logits; the first token's state gives "no answer".

It costs one encoder pass per passage, so the product reads only the few chunks the head's
scout ranks best (:mod:`qa.reader.reader`). The weights file holds only what training changed
(the fine-tuned layers, int8 with a scale per row, and the scorer); the frozen embeddings and
lower layers come from the encoder the product already has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chars import CHAR_FEATURES, CharLayout, char_layout

MAX_QUESTION_TOKENS = 48
MAX_TOKENS = 320
WINDOW = 320  # tokens of one input when the product reads around the scout's span (README)
SCORER_DIM = 256


@dataclass
class CrossInput:
    """One (question, passage) pair as the cross reader reads it."""

    ids: np.ndarray       # (tokens,) int64
    layout: CharLayout    # the passage text's characters: token (into ``ids``), features, valid


@dataclass
class PassagePart:
    """A passage tokenized once, for reading with any question."""

    ids: list[int]        # the passage's tokens (title first)
    layout: CharLayout    # its text's characters, tokens counted from the passage's first
    title_tokens: int = 0  # how many of ``ids`` are the title's (and its line break)


def passage_part(tokenizer, title: str, text: str) -> PassagePart:
    """``title\ntext`` tokenized; characters of ``text`` only may answer (the title is context)."""
    head = f"{title}\n" if title else ""
    enc = tokenizer(head + text, add_special_tokens=False, return_offsets_mapping=True)
    offsets = np.full((len(enc["input_ids"]), 2), -1, np.int64)
    shift = len(head)
    title_tokens = 0
    for t, (s, e) in enumerate(enc["offset_mapping"]):
        if s >= shift:
            offsets[t] = (s - shift, e - shift)
        else:
            title_tokens = t + 1
    return PassagePart(list(enc["input_ids"]), char_layout(text, offsets), title_tokens)


def question_ids(tokenizer, question: str) -> list[int]:
    return tokenizer(question, add_special_tokens=False)["input_ids"][:MAX_QUESTION_TOKENS]


def join(tokenizer, q_ids: list[int], part: PassagePart, max_tokens: int = MAX_TOKENS,
         around: tuple[int, int] | None = None) -> CrossInput:
    """``<s> question </s></s> passage </s>``, the passage cut to fit ``max_tokens``: its end
    cut off, or, with ``around`` (a character span of the text), the title kept and the text's
    tokens cut to a window centred on that span. Only characters inside the input may answer."""
    room = max_tokens - len(q_ids) - 4
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    lay = part.layout
    lo, hi = 0, min(room, len(part.ids))  # the passage tokens read: [lo, hi) after the title's
    if around is not None and len(part.ids) > room:
        head = min(part.title_tokens, room)
        width = room - head
        a, b = around
        toks = lay.token[max(0, a):max(a + 1, b)]
        toks = toks[toks >= head]
        mid = int((toks.min() + toks.max() + 1) // 2) if len(toks) else head
        lo = min(max(head, mid - width // 2), len(part.ids) - width)
        hi = lo + width
        ids_read = part.ids[:head] + part.ids[lo:hi]
        token = np.where(lay.token >= lo, lay.token - lo + head, -1)
        kept = (lay.token >= lo) & (lay.token < hi)
    else:
        ids_read = part.ids[:hi]
        token = lay.token
        kept = lay.token < hi
    first = len(q_ids) + 3
    ids = [cls, *q_ids, sep, sep, *ids_read, sep]
    layout = CharLayout(np.where(kept, token, 0) + first, lay.features, lay.valid & kept)
    return CrossInput(np.asarray(ids, np.int64), layout)


def encode(tokenizer, question: str, title: str, text: str, max_tokens: int = MAX_TOKENS) -> CrossInput:
    """``question`` with ``title\ntext`` as one input."""
    return join(tokenizer, question_ids(tokenizer, question), passage_part(tokenizer, title, text), max_tokens)


def collate(inputs: list[CrossInput]) -> dict[str, np.ndarray]:
    """Padded arrays for a batch: token ids and mask, each character's token and features, and
    the characters' mask (True on real characters)."""
    b = len(inputs)
    tokens = max(len(x.ids) for x in inputs)
    chars = max(1, max(len(x.layout.token) for x in inputs))
    ids = np.ones((b, tokens), np.int64)  # <pad> = 1
    mask = np.zeros((b, tokens), np.int64)
    char_tok = np.zeros((b, chars), np.int64)
    feats = np.zeros((b, chars, CHAR_FEATURES), np.float32)
    char_mask = np.zeros((b, chars), bool)
    for i, x in enumerate(inputs):
        n, m = len(x.ids), len(x.layout.token)
        ids[i, :n], mask[i, :n] = x.ids, 1
        char_tok[i, :m] = x.layout.token
        feats[i, :m] = x.layout.features[:, :CHAR_FEATURES]
        char_mask[i, :m] = True
    return {"input_ids": ids, "attention_mask": mask, "char_tok": char_tok, "char_feats": feats,
            "char_mask": char_mask}


def build_model(encoder_path: str, trainable: int, attention: str = "sdpa"):
    """The cross model: the encoder (its top ``trainable`` layers free to train) and the scorer.
    ``attention="eager"`` for an ONNX export (ONNX Runtime fuses that form)."""
    import torch
    from torch import nn
    from transformers import AutoModel

    class CrossModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained(encoder_path, add_pooling_layer=False,
                                                  attn_implementation=attention)
            hidden = self.bert.config.hidden_size
            self.trainable = trainable
            self.scorer = nn.Sequential(nn.Linear(hidden + CHAR_FEATURES, SCORER_DIM), nn.GELU(),
                                        nn.Linear(SCORER_DIM, 2))
            self.null = nn.Linear(hidden, 1)
            for p in self.bert.parameters():
                p.requires_grad_(False)
            for p in self.tuned_parameters():
                p.requires_grad_(True)

        def tuned_layers(self):
            return self.bert.encoder.layer[len(self.bert.encoder.layer) - self.trainable:]

        def tuned_parameters(self):
            for layer in self.tuned_layers():
                yield from layer.parameters()
            yield from self.scorer.parameters()
            yield from self.null.parameters()

        def tuned_state(self) -> dict[str, torch.Tensor]:
            first = len(self.bert.encoder.layer) - self.trainable
            out = {}
            for i, layer in enumerate(self.tuned_layers(), first):
                out.update({f"bert.encoder.layer.{i}.{k}": v for k, v in layer.state_dict().items()})
            out.update({f"scorer.{k}": v for k, v in self.scorer.state_dict().items()})
            out.update({f"null.{k}": v for k, v in self.null.state_dict().items()})
            return out

        def forward(self, input_ids, attention_mask, char_tok, char_feats):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            hc = torch.gather(h, 1, char_tok[:, :, None].expand(-1, -1, h.shape[-1]))
            logits = self.scorer(torch.cat([hc, char_feats], dim=-1))
            return logits[..., 0], logits[..., 1], self.null(h[:, 0]).squeeze(-1)

    return CrossModel()


# ---------------------------------------------------------------- weights file


def save(model, path: Path, info: dict) -> Path:
    """The fine-tuned layers (2-D weights int8 with a float16 scale per row; the rest float16)
    and the scorer, with ``info`` (configuration, threshold, calibration, metrics) as metadata."""
    import torch
    from safetensors.torch import save_file

    state = {}
    for name, v in model.tuned_state().items():
        v = v.detach().float()
        if v.ndim == 2 and name.startswith("bert."):
            scale = v.abs().amax(dim=1).clamp(min=1e-8) / 127.0
            state[name + ".q8"] = torch.round(v / scale[:, None]).to(torch.int8).contiguous()
            state[name + ".scale"] = scale.to(torch.float16).contiguous()
        else:
            state[name] = v.to(torch.float16).contiguous()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"cross_reader": json.dumps(info, ensure_ascii=False)})
    return path


def read_info(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "numpy") as f:
        return json.loads((f.metadata() or {}).get("cross_reader", "{}"))


def load_state(path: Path) -> dict:
    """The weights file's tensors as float32 torch tensors, int8 rows scaled back."""
    from safetensors.torch import load_file

    raw = load_file(str(path))
    out = {}
    for name, v in raw.items():
        if name.endswith(".scale"):
            continue
        if name.endswith(".q8"):
            base = name[:-3]
            out[base] = v.float() * raw[base + ".scale"].float()[:, None]
        else:
            out[name] = v.float()
    return out


def load_model(path: Path, encoder_path: str, attention: str = "sdpa"):
    """The torch cross model from a weights file over the encoder in ``encoder_path``."""
    info = read_info(path)
    model = build_model(encoder_path, info["config"]["trainable"], attention)
    missing, unexpected = model.load_state_dict(load_state(path), strict=False)
    tuned = set(model.tuned_state())
    if unexpected or tuned & set(missing):
        raise ValueError(f"{path} does not fit the cross model: missing {sorted(tuned & set(missing))[:3]}, "
                         f"unexpected {unexpected[:3]}")
    return model.eval(), info


# ---------------------------------------------------------------- question time

INPUTS = ("input_ids", "attention_mask", "char_tok", "char_feats")
FORMAT = "1"  # the export's version


def onnx_file(weights: Path, encoder_path: str) -> Path:
    """The int8 ONNX graph of the cross model (the encoder from ``encoder_path`` with the weights
    file's layers and scorer), exported, fused and quantized once into the model cache."""
    import hashlib
    import os
    import shutil
    import tempfile

    import onnxruntime

    from ..onnx_encoder import _fuse, _preoptimized, _quantize
    from ..settings import model_cache

    stamp = (Path(weights).read_bytes() + str(Path(encoder_path).resolve()).encode()
             + onnxruntime.__version__.encode() + FORMAT.encode())
    folder = model_cache() / f"cross-{hashlib.sha256(stamp).hexdigest()[:16]}"
    target = folder / "model-int8.onnx"
    if target.is_file():
        return _preoptimized(target)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        model, _ = load_model(Path(weights), encoder_path, attention="eager")
        export(model, tmp / "raw.onnx")
        try:
            _fuse(encoder_path, tmp / "raw.onnx", tmp / "model.onnx")
        except Exception:  # noqa: BLE001 - unfused is slower, not wrong
            shutil.copyfile(tmp / "raw.onnx", tmp / "model.onnx")
        _quantize(tmp / "model.onnx", tmp / "model-int8.onnx")
        folder.mkdir(exist_ok=True)
        os.replace(tmp / "model-int8.onnx", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _preoptimized(target)


def export(model, out: Path) -> Path:
    """The torch cross model as ONNX (dynamic batch, tokens and characters)."""
    import warnings

    import torch

    x = collate([CrossInput(np.array([0, 6, 100, 2, 2, 300, 400, 2]),
                            CharLayout(np.array([5, 5, 6]), np.zeros((3, CHAR_FEATURES), np.float32),
                                       np.ones(3, bool))),
                 CrossInput(np.array([0, 7, 2, 2, 500, 2]),
                            CharLayout(np.array([4, 4]), np.ones((2, CHAR_FEATURES), np.float32),
                                       np.ones(2, bool)))])
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "char_tok": {0: "batch", 1: "chars"}, "char_feats": {0: "batch", 1: "chars"},
            "start": {0: "batch", 1: "chars"}, "end": {0: "batch", 1: "chars"}, "null": {0: "batch"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), tuple(torch.from_numpy(x[n]) for n in INPUTS), str(out),
                          input_names=list(INPUTS), output_names=["start", "end", "null"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    return out


class CrossReader:
    """Reads (question, title, text) triples: (start, end, null) logits per character of ``text``.

    Through ONNX Runtime (int8, the product's default) or the torch model (``runtime="torch"``:
    training's own numbers)."""

    def __init__(self, weights: Path, encoder_path: str, tokenizer, runtime: str = "onnx"):
        self.info = read_info(Path(weights))
        self.threshold = float(self.info.get("threshold", 0.0))
        self.calibration = tuple(self.info.get("calibration", (1.0, 0.0)))
        self.tokenizer = tokenizer
        self.weights = Path(weights)
        self._parts: dict[tuple[str, str], PassagePart] = {}
        self.window = WINDOW
        self._questions: dict[str, list[int]] = {}
        if runtime == "onnx":
            import os

            from ..lean_onnx import lean_session

            self._session = lean_session(onnx_file(self.weights, encoder_path), max(1, os.cpu_count() or 1),
                                         optimize=False)
            self._model = None
        else:
            self._session = None
            self._model, _ = load_model(self.weights, encoder_path)

    def part(self, title: str, text: str) -> PassagePart:
        key = (title, text)
        part = self._parts.get(key)
        if part is None:
            if len(self._parts) > 512:
                self._parts.clear()
            part = self._parts[key] = passage_part(self.tokenizer, title, text)
        return part

    def input(self, question: str, title: str, text: str, around: tuple[int, int] | None = None) -> CrossInput:
        """The pair as one input; with ``around`` (a character span of ``text``, the scout's
        best), a window of at most ``self.window`` tokens centred on it."""
        q = self._questions.get(question)
        if q is None:
            if len(self._questions) > 64:
                self._questions.clear()
            q = self._questions[question] = question_ids(self.tokenizer, question)
        if around is None:
            return join(self.tokenizer, q, self.part(title, text))
        return join(self.tokenizer, q, self.part(title, text), min(MAX_TOKENS, self.window), around)

    def scores(self, inputs: list[CrossInput]) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(start, end, null) logits of each input, one pass each (int8 activations are scaled
        per batch, so a pass of one keeps a passage's numbers independent of its neighbours)."""
        out = []
        for x in inputs:
            arr = collate([x])
            if self._session is not None:
                start, end, null = self._session.run(None, {n: arr[n] for n in INPUTS})
            else:
                import torch

                with torch.inference_mode():
                    start, end, null = (t.numpy() for t in self._model(
                        **{n: torch.from_numpy(arr[n]) for n in INPUTS}))
            out.append((start[0], end[0], float(null[0])))
        return out
