"""ONNX Runtime sessions whose vocabulary table stays on disk, memory-mapped.

The encoder's word-embedding table (250,037 tokens x 384 floats, 384 MB) is nearly all of its int8
graph (406 MB), and the cross reader's graph holds the same table again: each session kept its own
copy in memory, and so did each of a build's worker sessions. A *lean* graph takes the table as an
input instead (:data:`VOCAB`); each run passes only the rows of the tokens it reads, taken from the
memory-mapped table, with the input ids renumbered into them. The graph reads token ids only to
look their rows up (checked when the graph is split), so the numbers are exactly the same (tested),
and memory holds only the pages of tokens ever read.

The split is made once per graph file, next to it (``*.lean.onnx``, ``*.vocab.npy`` and the
graph's size and time in ``*.lean.json``, so a changed graph is split again); a graph without such
a table (another model's layout) runs as it is.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger("qa.model")

VOCAB = "vocab_table"
IDS = "input_ids"
MIN_ROWS = 30_000  # a vocabulary, not a position or type table
# node type -> (which input is the table, which the ids)
_LOOKUPS = {"EmbedLayerNormalization": (2, 0), "Gather": (0, 1)}


class LeanSession:
    """``run(outputs, feed)`` as an ``onnxruntime.InferenceSession`` runs, on a lean graph."""

    def __init__(self, session, table: np.ndarray):
        self.session, self.table = session, table

    def run(self, outputs, feed: dict[str, np.ndarray]):
        ids = feed[IDS]
        rows, local = np.unique(ids, return_inverse=True)
        feed = dict(feed)
        feed[IDS] = local.reshape(ids.shape).astype(ids.dtype)
        feed[VOCAB] = np.ascontiguousarray(self.table[rows])
        return self.session.run(outputs, feed)

    def get_inputs(self):
        return [i for i in self.session.get_inputs() if i.name != VOCAB]


def lean_session(path: Path, threads: int, optimize: bool = True):
    """A session on ``path``: lean (its table memory-mapped) when the graph has a vocabulary table
    it only looks ids up in, else (or when the lean graph does not load) a plain one."""
    from .onnx_encoder import session

    split = lean_files(Path(path))
    if split is not None:
        graph, table = split
        try:
            return LeanSession(session(graph, threads, optimize), np.load(table, mmap_mode="r"))
        except Exception as e:  # noqa: BLE001 - a damaged split: remove it, run the whole graph
            log.warning("the split graph %s does not load (%s); loading the whole one", graph.name, e)
            forget(Path(path))
    return session(path, threads, optimize)


_UNSPLIT: set[tuple[str, int, int]] = set()  # graphs found to have no table to split (this process)
_SPLITTING = threading.Lock()


def lean_files(model: Path) -> tuple[Path, Path] | None:
    """(the graph without its vocabulary table, the table as ``.npy``), split once next to
    ``model`` and made again when ``model`` changes (its size and modification time are kept
    beside the split); None when the graph has no table to split off."""
    graph, table, stamp = _names(model)
    st = model.stat()
    key = (str(model), st.st_size, st.st_mtime_ns)
    want = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    with _SPLITTING:  # one split per process; another process writes its own temporary files
        if key in _UNSPLIT:
            return None
        if graph.is_file() and table.is_file() and _read_stamp(stamp) == want:
            return graph, table
        try:
            split = _split(model, graph, table)
        except Exception as e:  # noqa: BLE001 - the whole graph still runs
            log.warning("could not split the vocabulary off %s (%s); loading it whole", model.name, e)
            split = None
        if split is None:
            _UNSPLIT.add(key)
        else:
            _write(stamp, lambda tmp: tmp.write_text(json.dumps(want)))
        return split


def forget(model: Path) -> None:
    """Remove ``model``'s split (when it or the graph itself is found unusable)."""
    for path in _names(model):
        path.unlink(missing_ok=True)


def _names(model: Path) -> tuple[Path, Path, Path]:
    stem = model.name[: -len(".onnx")] if model.name.endswith(".onnx") else model.name
    return (model.with_name(f"{stem}.lean.onnx"), model.with_name(f"{stem}.vocab.npy"),
            model.with_name(f"{stem}.lean.json"))


def _read_stamp(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(target: Path, write) -> None:
    """``write(tmp)`` to a temporary file beside ``target``, then moved onto it (a reader never
    finds half a file); the temporary file is removed if writing fails."""
    fd, name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _split(model: Path, graph: Path, table: Path) -> tuple[Path, Path] | None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load(str(model))
    g = m.graph
    name = _vocabulary(g)
    if name is None:
        return None
    init = next(t for t in g.initializer if t.name == name)
    rows = numpy_helper.to_array(init)
    g.initializer.remove(init)
    for node in g.node:
        node.input[:] = [VOCAB if i == name else i for i in node.input]
    g.input.append(helper.make_tensor_value_info(VOCAB, TensorProto.FLOAT, ["rows", rows.shape[1]]))

    def save_rows(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save would add .npy to a path
            np.save(f, rows)

    _write(table, save_rows)
    _write(graph, lambda tmp: onnx.save(m, str(tmp)))
    log.info("split the vocabulary table off %s (%.0f MB now memory-mapped)", model.name, rows.nbytes / 2**20)
    return graph, table


def _vocabulary(g) -> str | None:
    """The float table the ids are looked up in, if that lookup is the only use of the ids (apart
    from their shape and a cast feeding the lookup)."""
    ids = {IDS}
    for node in g.node:  # ids cast to int32 for the fused embedding
        if node.op_type == "Cast" and node.input and node.input[0] == IDS:
            ids.update(node.output)
    tables = {t.name: t for t in g.initializer if len(t.dims) == 2 and t.dims[0] >= MIN_ROWS
              and t.data_type == 1}
    found = None
    for node in g.node:
        uses = [k for k, i in enumerate(node.input) if i in ids]
        if not uses or node.op_type == "Shape" or (node.op_type == "Cast" and node.input[0] == IDS):
            continue
        at, index = _LOOKUPS.get(node.op_type, (None, None))
        if at is None or uses != [index] or node.input[at] not in tables or found not in (None, node.input[at]):
            return None  # the ids are used for something else: renumbering them would change it
        found = node.input[at]
    if found is None or sum(found in n.input for n in g.node) != 1:
        return None
    return found
