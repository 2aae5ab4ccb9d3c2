"""Lean ONNX sessions (qa/lean_onnx.py): the vocabulary table split off the graph and memory-mapped,
with exactly the numbers of the whole graph."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qa.lean_onnx import VOCAB, LeanSession, lean_files, lean_session
from qa.onnx_encoder import session

ROWS, DIM = 40_000, 8


def _graph(path, ids_used_elsewhere: bool = False):
    """input_ids -> Gather(table) -> MatMul(w) -> out (and, optionally, ids == 2 -> flag)."""
    rng = np.random.default_rng(0)
    table = numpy_helper.from_array(rng.standard_normal((ROWS, DIM)).astype(np.float32), "emb.weight")
    w = numpy_helper.from_array(rng.standard_normal((DIM, 3)).astype(np.float32), "w")
    two = numpy_helper.from_array(np.array(2, np.int64), "two")
    nodes = [helper.make_node("Gather", ["emb.weight", "input_ids"], ["h"]),
             helper.make_node("MatMul", ["h", "w"], ["out"])]
    outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["b", "t", 3])]
    if ids_used_elsewhere:
        nodes.append(helper.make_node("Equal", ["input_ids", "two"], ["flag"]))
        outputs.append(helper.make_tensor_value_info("flag", TensorProto.BOOL, ["b", "t"]))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "t"])],
                          outputs, [table, w, two])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_a_lean_session_gives_the_whole_graphs_numbers(tmp_path):
    path = _graph(tmp_path / "model.onnx")
    lean = lean_session(path, 1)
    assert isinstance(lean, LeanSession)
    graph, table = lean_files(path)
    assert graph.stat().st_size < path.stat().st_size / 100 and np.load(table, mmap_mode="r").shape == (ROWS, DIM)
    assert VOCAB not in [i.name for i in lean.get_inputs()]
    whole = session(path, 1)
    ids = np.array([[0, 39_999, 7, 7, 123], [5, 2, 39_999, 0, 1]], np.int64)
    fed = []
    inner = lean.session
    lean.session = type("Spy", (), {"run": lambda self, out, feed: fed.append(feed) or inner.run(out, feed)})()
    (a,), (b,) = whole.run(None, {"input_ids": ids}), lean.run(None, {"input_ids": ids})
    assert np.array_equal(a, b)
    # only the rows of the tokens read are passed, the ids renumbered into them
    assert fed[0][VOCAB].shape == (len(np.unique(ids)), DIM) and fed[0]["input_ids"].max() < len(np.unique(ids))


def test_a_changed_graph_is_split_again_and_a_broken_split_falls_back(tmp_path):
    import os

    path = _graph(tmp_path / "model.onnx")
    graph, table = lean_files(path)
    first = table.read_bytes()
    _graph(path)  # the same graph written again, then given another table and an older time
    m = onnx.load(path)
    t = next(x for x in m.graph.initializer if x.name == "emb.weight")
    t.CopyFrom(numpy_helper.from_array(np.ones((ROWS, DIM), np.float32), "emb.weight"))
    onnx.save(m, path)
    os.utime(path, ns=(1, 1))  # older than the split: only the kept size and time can tell
    lean_files(path)
    assert table.read_bytes() != first
    graph.write_bytes(b"not a graph")  # a damaged split: the whole graph runs, the split is removed
    plain = lean_session(path, 1)
    assert not isinstance(plain, LeanSession) and not graph.exists()
    assert plain.run(None, {"input_ids": np.array([[1, 2]], np.int64)})[0].shape == (1, 2, 3)
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


def test_a_graph_that_reads_the_ids_otherwise_is_not_split(tmp_path):
    """Renumbering ids would change what ``ids == 2`` says: that graph runs whole."""
    path = _graph(tmp_path / "model.onnx", ids_used_elsewhere=True)
    assert lean_files(path) is None
    assert not isinstance(lean_session(path, 1), LeanSession)


@pytest.mark.model
def test_the_encoders_lean_session_gives_its_whole_graphs_numbers():
    from qa.embedder import Embedder

    encoder = Embedder(encoder="onnx-int8")._onnx
    assert isinstance(encoder.session, LeanSession)
    whole = session(encoder.path, 1, optimize=False)
    ids = np.array([[0, 6, 100, 250_000, 2, 1], [0, 35_000, 6, 6, 2, 1]], np.int64)
    mask = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 0]], np.int64)
    got = encoder.run(ids, mask)
    want = whole.run(None, {"input_ids": ids, "attention_mask": mask})
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)
