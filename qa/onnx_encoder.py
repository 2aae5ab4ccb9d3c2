"""The encoder run by ONNX Runtime: exported once from the model folder, fused, optionally int8.

Three ways to run the same encoder (``QA_ENCODER`` / ``--encoder``), measured on this 2-core
CPU over 400 CMRC passages (``python bench/run.py`` prints the current numbers):

- ``torch``: the model as PyTorch runs it (fp32).
- ``onnx``: exported to ONNX, attention, GELU and layer norms fused by ONNX Runtime's
  transformer optimizer; fp32, the same vectors (cosine 1 - 1e-13), no faster than torch here.
- ``onnx-int8``: the fused graph with its matrix products quantized to int8 (dynamic, per
  channel); about twice as fast as torch, vectors within cosine 0.994 of fp32.

The export is made from the model folder itself (the one rebuilt from packages, a hub model
or a local folder) on first use, never downloaded, and kept next to the models
(``$QA_MODEL_CACHE``), keyed by the folder, the layers read and the ONNX Runtime version.
It outputs what one forward pass gives the product: the last layer (for the sentence
embedding) and the reader's layers concatenated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .settings import model_cache

log = logging.getLogger("qa.model")

OPSET = 17


def quantized(encoder: str) -> bool:
    return encoder.endswith("int8")


def onnx_file(model_path: str, layers: tuple[int, ...], encoder: str) -> Path:
    """The ONNX file of ``model_path`` for ``encoder`` ("onnx" or "onnx-int8"), made once."""
    import onnxruntime

    weights = [p for p in Path(model_path).glob("*.safetensors")] + [p for p in Path(model_path).glob("*.bin")]
    stamp = [str(Path(model_path).resolve()), list(layers), onnxruntime.__version__,
             sorted((p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in weights)]
    digest = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]
    folder = model_cache() / f"onnx-{Path(model_path).name}-{digest}"
    target = folder / ("model-int8.onnx" if quantized(encoder) else "model.onnx")
    if target.is_file():
        return _preoptimized(target)
    log.info("exporting the encoder to ONNX (%s) into %s, once", encoder, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        fused = folder / "model.onnx"
        if not fused.is_file():
            _export(model_path, layers, tmp / "raw.onnx")
            _fuse(model_path, tmp / "raw.onnx", tmp / "model.onnx")
        else:
            shutil.copyfile(fused, tmp / "model.onnx")
        if quantized(encoder):
            _quantize(tmp / "model.onnx", tmp / "model-int8.onnx")
        folder.mkdir(exist_ok=True)
        for name in ("model.onnx", "model-int8.onnx"):
            if (tmp / name).is_file() and not (folder / name).is_file():
                os.replace(tmp / name, folder / name)  # atomic: a half-written file is never found
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _preoptimized(target)


def _preoptimized(model: Path) -> Path:
    """``model`` with ONNX Runtime's own graph optimizations applied and saved (``*.ort.onnx``),
    so a session loads it without optimizing again: 0.66 s against 1.4 s at every start. The saved
    graph may hold optimizations for this machine's CPU; the cache key names the CPU type, and a
    file that fails to load is made again."""
    import onnxruntime as ort

    out = model.with_name(f"{model.stem}.{platform.machine()}.ort.onnx")
    if out.is_file():
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = str(tmp)
        options.log_severity_level = 3
        ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        os.replace(tmp, out)
        return out
    except Exception as e:  # noqa: BLE001 - the plain model still works, optimized at each load
        log.warning("could not save the optimized encoder graph (%s); optimizing at every start", e)
        tmp.unlink(missing_ok=True)
        return model


def _export(model_path: str, layers: tuple[int, ...], out: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()  # eager: fusable

    class States(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                output_hidden_states=True).hidden_states
            return hidden[-1], torch.cat([hidden[i] for i in layers], dim=-1)

    ids = torch.tensor([[0, 6, 100, 2], [0, 200, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(States(), (ids, mask), str(out), input_names=["input_ids", "attention_mask"],
                          output_names=["last", "states"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "last": axes, "states": axes})


def _fuse(model_path: str, raw: Path, out: Path) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    from .embedder import model_config

    cfg = model_config(model_path)
    fused = optimize_model(str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                           hidden_size=cfg.hidden_size, opt_level=1)
    fused.save_model_to_file(str(out))


def _quantize(fp32: Path, out: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer's advice to pre-process goes to the root logger
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)


def session(path: Path, threads: int, optimize: bool = True):
    """An ONNX Runtime CPU session with ``threads`` threads (graph optimized at load unless the file
    already is). Its threads never busy-wait between runs: spinning threads held the cores that
    the next stage needed (dense search measured 15 ms instead of 1.5 after the encoder; 29 ms
    instead of 14 at 100,000 chunks after the reader head)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """``run(input_ids, attention_mask) -> (last layer, reader layers)`` as numpy arrays.

    One session with ``threads`` threads answers single calls (a question: lowest latency);
    ``run_many`` spreads many calls (a build) over one single-threaded session per thread,
    made on first use: 83 texts/s against 70 for the shared session, on 2 cores.
    """

    def __init__(self, path: Path, threads: int | None = None):
        self.path, self.threads = Path(path), threads or max(1, os.cpu_count() or 1)
        try:
            self.session = self._session(self.threads)
        except Exception as e:  # noqa: BLE001 - a saved optimized graph this machine cannot run
            if not self.path.name.endswith(".ort.onnx"):
                raise
            log.warning("the saved encoder graph %s does not load here (%s); using the plain one", self.path, e)
            from .lean_onnx import forget

            forget(self.path)
            self.path.unlink(missing_ok=True)
            self.path = self.path.with_name(self.path.name.split(".")[0] + ".onnx")
            self.session = self._session(self.threads)
        self._workers: list | None = None

    def _session(self, threads: int):
        from .lean_onnx import lean_session

        return lean_session(self.path, threads, optimize=not self.path.name.endswith(".ort.onnx"))

    @staticmethod
    def _call(session, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        last, states = session.run(None, {"input_ids": input_ids.astype(np.int64),
                                          "attention_mask": attention_mask.astype(np.int64)})
        return last, states

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._call(self.session, input_ids, attention_mask)

    def run_many(self, inputs: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``run`` over many inputs, in order, spread over the worker sessions."""
        if self.threads == 1 or len(inputs) == 1:
            return [self.run(*x) for x in inputs]
        from concurrent.futures import ThreadPoolExecutor

        if self._workers is None:
            self._workers = [self._session(1) for _ in range(self.threads)]

        def work(k: int) -> list:
            return [self._call(self._workers[k], *inputs[j]) for j in range(k, len(inputs), self.threads)]

        with ThreadPoolExecutor(self.threads) as pool:
            parts = list(pool.map(work, range(self.threads)))
        out: list = [None] * len(inputs)
        for k, part in enumerate(parts):
            out[k::self.threads] = part
        return out
