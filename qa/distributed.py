"""``qa build --ray [ADDRESS]``: reading, chunking and embedding spread over a Ray cluster.

The build itself does not change (:func:`qa.index.build_index`: what changed, what is reused,
checkpoints, the index files, either store); two of its steps run on Ray Data instead of in
this process:

- reading and chunking: the changed files' bytes are sent to the workers (no shared disk
  needed), each worker parses its files into stories and cuts them into chunks;
- embedding: ``map_batches`` over the chunk texts with a pool of actors, each holding the
  encoder once (the same model and encoder setting as a local build, so the same vectors and
  token states; int8 embeds text by text, so batching cannot change a vector).

``ADDRESS`` is a running cluster's (``ray://host:10001`` or ``host:6379``); without one, Ray
starts a local instance on this machine. Results come back in order and are written by this
process, so a build killed midway resumes from its last checkpoint like a local one.
"""

from __future__ import annotations

import logging
import pickle
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger("qa.distributed")

FILES_PER_TASK = 4
TEXTS_PER_BATCH = 64
CHECKPOINT_EVERY = 2048  # chunks embedded between two writes of the embedding cache


def start(address: str | None = None):
    """Connect to the cluster at ``address``, or start a local Ray instance."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 logging_level=logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the build shows its own
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def _read_batch(batch: dict) -> dict:
    """Ray worker: parse and chunk the files of a batch (names and bytes) in a scratch folder."""
    from .index import read_and_chunk

    out = []
    with tempfile.TemporaryDirectory(prefix="qa-ray-") as tmp:
        root = Path(tmp)
        for rel, data in zip(batch["rel"], batch["data"], strict=True):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        parsed = read_and_chunk(root, list(batch["rel"]))
        out = [pickle.dumps(parsed[rel]) for rel in batch["rel"]]
    return {"rel": list(batch["rel"]), "parsed": out}


def read_and_chunk_on_ray(address: str | None):
    """A ``reader`` for :func:`qa.index.build_index` that runs on Ray."""

    def read(corpus: Path, rels: list[str]) -> dict:
        if not rels:
            return {}
        ray = start(address)
        rows = [{"rel": rel, "data": (Path(corpus) / rel).read_bytes()} for rel in rels]
        ds = ray.data.from_items(rows).map_batches(_read_batch, batch_size=FILES_PER_TASK, batch_format="numpy")
        return {row["rel"]: pickle.loads(row["parsed"]) for row in ds.iter_rows()}

    return read


class _EmbedWorker:
    """Ray actor: the encoder, loaded once, embedding batches of chunk texts."""

    def __init__(self, model: str | None, encoder: str | None, threads: int):
        from .embedder import Embedder

        self.embedder = Embedder(model, encoder=encoder, threads=threads)

    def __call__(self, batch: dict) -> dict:
        vectors, states = self.embedder.passages_with_states(list(batch["text"]))
        return {"i": batch["i"], "vector": list(vectors), "states": [pickle.dumps(s) for s in states]}


class RayEmbedder:
    """What :func:`qa.index.build_index` asks of an embedder, computed by actors on the cluster."""

    checkpoint_every = CHECKPOINT_EVERY

    def __init__(self, address: str | None, model: str | None, encoder: str | None, workers: int | None = None,
                 threads: int = 2):
        from .embedder import model_config, model_id, model_shape
        from .model_store import model_key, resolve_model
        from .settings import DEFAULT_ENCODER

        self.ray = start(address)
        self.model, self.encoder = model, encoder or DEFAULT_ENCODER
        self.model_id = model_id(model, self.encoder)
        path, self.source = resolve_model(model_key(model))
        self.source = f"{self.source} (embedded on Ray)"
        self.dim, self.layers, self.state_dim = model_shape(model_config(path))
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.threads = max(1, min(threads, cpus))
        self.workers = workers or max(1, cpus // self.threads)

    def passages_with_states(self, texts: list[str]):
        ds = self.ray.data.from_items([{"i": i, "text": t} for i, t in enumerate(texts)])
        ds = ds.map_batches(_EmbedWorker, fn_constructor_kwargs={"model": self.model, "encoder": self.encoder,
                                                                 "threads": self.threads},
                            batch_size=TEXTS_PER_BATCH, batch_format="numpy", concurrency=self.workers,
                            num_cpus=self.threads)
        vectors = np.zeros((len(texts), self.dim), np.float32)
        states: list = [None] * len(texts)
        for row in ds.iter_rows():
            vectors[row["i"]] = row["vector"]
            states[row["i"]] = pickle.loads(row["states"])
        return vectors, states
