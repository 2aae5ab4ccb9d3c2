"""The reader head through ONNX Runtime: no torch at question time.

The head is exported once per weights file (keyed by its SHA-256; one graph per ensemble
member) into the model cache, the first time a reader is loaded for answering (the exports of
the few most recently used weights files are kept, older ones deleted); later starts load
the ONNX files and never import torch (about 1 s of start-up and 0.3 GB of memory). The logits
are the torch head's to within float rounding (tested).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from pathlib import Path

import numpy as np

from ..settings import model_cache

log = logging.getLogger("qa.reader")

FORMAT = b"3"  # the export's version (2: char_feats carry the question-overlap columns; 3: additive attention masks)
INPUTS = ("p_states", "p_mask", "p_ids", "q_states", "q_mask", "q_ids", "char_tok", "char_feats", "char_mask")
KEEP_EXPORTS = 6  # weights files whose exports stay in the model cache: the most recently used
_AXES = {"p_states": ("tp",), "p_mask": ("tp",), "p_ids": ("tp",), "q_states": ("tq",), "q_mask": ("tq",),
         "q_ids": ("tq",), "char_tok": ("c",), "char_feats": ("c",), "char_mask": ("c",),
         "start": ("c",), "end": ("c",), "null": ()}


def head_files(weights: Path, members: int = 1) -> list[Path]:
    """Where the ONNX exports of ``weights`` live, one per ensemble member (made by :func:`export`
    when missing)."""
    import onnxruntime

    h = hashlib.sha256(Path(weights).read_bytes() + onnxruntime.__version__.encode() + FORMAT).hexdigest()[:16]
    return [model_cache() / f"reader-{h}-{i}.onnx" for i in range(members)]


def prune(current: list[Path], keep: int = KEEP_EXPORTS) -> list[Path]:
    """Delete the exports of all but the ``keep`` most recently used weights files (``current``,
    the ones being read, always stay), and half-written exports older than an hour (a killed
    export). Without this, every weights file ever read (each retrained head, each test's) would
    leave its graphs in the cache. Never raises: a file another process removed first, or a cache
    it may not write, is left as it is. Returns what was deleted."""
    if not current:
        return []
    folder, mine, now = current[0].parent, {f.name for f in current}, time.time()
    doomed = [f for f in folder.glob("reader-*.onnx.*.tmp") if now - _mtime(f) > 3600]
    groups: dict[str, list[Path]] = {}
    for f in folder.glob("reader-*.onnx"):
        if f.name not in mine:
            groups.setdefault("-".join(f.stem.split("-")[:2]), []).append(f)  # reader-<hash>
    ranked = sorted(groups.values(), key=lambda files: max(map(_mtime, files)), reverse=True)
    for files in ranked[max(0, keep - 1):]:
        doomed += files
    gone = []
    for f in doomed:
        try:
            f.unlink()
            gone.append(f)
        except OSError:
            pass
    return gone


def _mtime(f: Path) -> float:
    try:
        return f.stat().st_mtime
    except OSError:  # removed meanwhile: oldest
        return 0.0


def touch(files: list[Path]) -> None:
    """Mark exports as just used (their modification time), so :func:`prune` keeps them."""
    for f in files:
        try:
            os.utime(f)
        except OSError:  # a read-only cache: nothing to prune either
            pass


def export(head, out: Path) -> Path:
    """Export a torch :class:`~qa.reader.model.ReaderHead` to ``out`` (dynamic batch and lengths)."""
    import torch

    from .batch import collate, random_pair

    rng, dim = np.random.default_rng(0), head.config["in_dim"]
    inputs = collate([random_pair(rng, 9, 5, 14, dim), random_pair(rng, 7, 4, 11, dim)])

    class Positional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.head = head

        def forward(self, *args):
            return self.head(**dict(zip(INPUTS, args, strict=True)))

    axes = {name: {0: "batch", **{i + 1: a for i, a in enumerate(rest)}} for name, rest in _AXES.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(Positional().eval(), tuple(inputs[n] for n in INPUTS), str(tmp), input_names=list(INPUTS),
                          output_names=["start", "end", "null"], dynamic_axes=axes, opset_version=17, dynamo=False)
    os.replace(tmp, out)
    return out


class OnnxHead:
    """Called like the torch head, on numpy arrays: ``(start, end, null)`` logits."""

    def __init__(self, path: Path, threads: int | None = None):
        from ..onnx_encoder import session

        # (spinning threads would make the head itself 4 ms faster, 29 against 33 ms, but slow the
        # next question's dense search: see ``session``)
        self.session = session(path, threads or max(1, os.cpu_count() or 1))

    def __call__(self, **arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        start, end, null = self.session.run(None, {name: arrays[name] for name in INPUTS})
        return start, end, null
