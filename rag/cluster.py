"""Past one machine: files read and embedded over a Ray cluster, and an index split into shards
that Ray actors serve, with the same answers as one index on a laptop.

Ray is an extra (``pip install -e '.[ray]'``); nothing else in ``rag`` imports this module.

>>> cluster = connect("127.0.0.2:6390")                      # or $RAY_ADDRESS
>>> index.sync(["/shared/reports"], cluster=cluster)         # read and embedded on the cluster
>>> shard_index("index", "index-shards", into=2)             # normal index folders, one a shard
>>> sharded = ShardedIndex.open("index-shards", cluster)     # one actor a shard
>>> rag.ask(sharded, "Who heads IOM's Counter-Trafficking Division?")

The driver (this process) stays the one writer: the cluster returns documents and vectors, and
the index commits them as a local sync would, so an index built on a cluster is the same format
and loads on a laptop. The files must be readable at the same path on every node (a shared
folder, as on any cluster).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import queue
import socket
import threading
from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from rag._shards import ShardedIndex, shard_index
from rag.errors import ClusterError
from rag.ingest import Document, Extraction, IngestLimits

__all__ = ["Cluster", "ClusterError", "ShardedIndex", "connect", "shard_index"]

INSTALL_HINT = "Ray is not installed: pip install -e '.[ray]' (tested with ray 2.60)"
EMBED_BATCH = 64  # texts per task: the local embedder's batch, measured best on these CPUs
READ_BATCH = 8  # files per task
CALL_TIMEOUT_S = 60.0  # one actor call (a shard's search); a pipeline gets Cluster.timeout_s


def connect(address: str | None = None, timeout_s: float = 3600.0) -> Cluster:
    """Join the Ray cluster at ``address`` (``HOST:PORT`` of its head; default $RAY_ADDRESS).

    Args:
        timeout_s: the most one reading or embedding run may take before it is abandoned
            (nothing is committed then).

    Raises:
        ClusterError: Ray is not installed, or no cluster answers at the address.
        ValueError: no address given and $RAY_ADDRESS unset.
    """
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(INSTALL_HINT) from exc
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        raise ValueError("no cluster address: give --ray HOST:PORT or set RAY_ADDRESS")
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise ClusterError(
            f"no Ray cluster answers at {address} ({exc}): start one with "
            "'ray start --head --port PORT' and give its address"
        ) from None
    if not ray.is_initialized():
        ray.init(
            address=address,
            logging_level="ERROR",
            log_to_driver=False,
            runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}},
        )
    return Cluster(address, timeout_s)


class Cluster:
    """A connected Ray cluster: reads files and embeds texts as Ray Data pipelines."""

    def __init__(self, address: str, timeout_s: float = 3600.0):
        self.address = address
        self.timeout_s = timeout_s

    def nodes(self) -> list[dict]:
        """The live nodes: their address and CPUs."""
        import ray

        return [
            {"address": n["NodeManagerAddress"], "cpus": n["Resources"].get("CPU", 0)}
            for n in ray.nodes()
            if n["Alive"]
        ]

    def workers(self) -> int:
        """Actors a pipeline runs: one per CPU of the cluster but one, which stays free for Ray
        Data's own tasks (a pool that takes every CPU can hang: ray-project/ray#44687)."""
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)) - 1)

    def extract_files(
        self, paths: list[str], limits: IngestLimits, progress: bool = False
    ) -> list[Extraction]:
        """``rag.ingest.extract_files`` on the cluster: each file read in a worker process of a
        node, within ``limits``; one result per path, in order."""
        results: list[Extraction | None] = [None] * len(paths)
        items = [{"i": i, "path": str(p)} for i, p in enumerate(paths)]
        limits_json = json.dumps(dataclasses.asdict(limits))
        for batch in self._run(items, _read_files, {"limits": limits_json}, READ_BATCH, progress,
                               "Reading", "file"):  # fmt: skip
            for i, payload in zip(batch["i"], batch["result"], strict=True):
                results[int(i)] = _extraction_from_json(str(payload))
        return results  # type: ignore[return-value]

    def encoder(self, embedder):
        """An ``encode`` for ``embedder.embed``: texts embedded by the same model (same weights)
        on the cluster; yields (positions, vectors) as batches come back."""
        identity = embedder.identity

        def encode(texts: list[str]) -> Iterator[tuple[list[int], np.ndarray]]:
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches pad little
            items = [{"i": i, "text": texts[i]} for i in order]
            kwargs = {"model": identity.name, "weights_sha256": identity.weights_sha256}
            for batch in self._run(items, _EmbedTexts, kwargs, EMBED_BATCH, False, "", ""):
                yield [int(i) for i in batch["i"]], np.asarray(batch["vector"], dtype=np.float32)

        return encode

    def _run(self, items, udf, kwargs, batch_size, progress, desc, unit) -> Iterator[dict]:
        """``items`` through ``udf`` (a function run as tasks, or a callable class, one instance
        per actor) in batches; yields the result batches as they arrive, within ``timeout_s`` in
        all."""
        import logging

        import ray

        # Ray Data configures its loggers when first imported: quieted after that (our own bars
        # say what runs).
        for name in (
            "ray.data",
            "ray.data._internal.execution.streaming_executor",
            "ray.data._internal.progress",
        ):
            logging.getLogger(name).setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        blocks = max(1, math.ceil(len(items) / batch_size))
        if isinstance(udf, type):  # a class: one instance per actor, loaded once
            how = {
                "fn_constructor_kwargs": kwargs,
                "compute": ray.data.ActorPoolStrategy(size=min(self.workers(), blocks)),
            }
        else:  # a function: tasks
            how = {"fn_kwargs": kwargs}
        dataset = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            udf, batch_size=batch_size, batch_format="numpy", num_cpus=1, **how
        )
        bar = tqdm(total=len(items), desc=desc, unit=unit, disable=not progress)
        results: queue.Queue = queue.Queue()

        def consume() -> None:
            try:
                for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                    results.put(batch)
                results.put(None)
            except Exception as exc:  # noqa: BLE001 - handed to the caller's thread
                results.put(exc)

        threading.Thread(target=consume, daemon=True, name="rag-cluster").start()
        deadline = _monotonic() + self.timeout_s
        try:
            while True:
                try:
                    batch = results.get(timeout=max(0.0, deadline - _monotonic()))
                except queue.Empty:
                    raise ClusterError(
                        f"the cluster at {self.address} did not finish in {self.timeout_s:.0f} s; "
                        "nothing was committed"
                    ) from None
                if batch is None:
                    return
                if isinstance(batch, Exception):
                    raise ClusterError(
                        f"the cluster at {self.address} failed: {_first_line(batch)}; nothing "
                        "was committed"
                    ) from batch
                bar.update(len(batch["i"]))
                yield batch
        finally:
            bar.close()


def _read_files(batch: dict, limits: str) -> dict:
    """On a node: files read as ``extract_files`` reads them (in worker processes, within the
    limits), returned as JSON strings: plain data crosses the cluster (an exception that cannot
    be pickled would break the pipeline). A task, not an actor: nothing to load first."""
    from rag.ingest import extract_files

    paths = [str(p) for p in batch["path"]]
    results = extract_files(paths, IngestLimits(**json.loads(limits)))
    return {"i": batch["i"], "result": np.array([_extraction_to_json(r) for r in results])}


class _EmbedTexts:
    """On a node: the bundled model (checked to have the driver's weights) embedding texts."""

    def __init__(self, model: str, weights_sha256: str):
        import torch

        from embeddings import EmbeddingError, load_embedder

        torch.set_num_threads(1)  # one actor a CPU
        self.embedder = load_embedder(model, cache=False)
        if self.embedder.identity.weights_sha256 != weights_sha256:
            raise EmbeddingError(
                f"{model} on this node has weights {self.embedder.identity.weights_sha256[:12]}, "
                f"the driver's {weights_sha256[:12]}: install the same model on every node"
            )

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        return {"i": batch["i"], "vector": self.embedder.embed(texts)}


def _extraction_to_json(result: Extraction) -> str:
    document = dataclasses.asdict(result.document) if result.document else None
    return json.dumps(
        {
            "source": result.source,
            "document": document,
            "note": result.note,
            "worker_peak_mb": result.worker_peak_mb,
        }  # fmt: skip
    )


def _extraction_from_json(payload: str) -> Extraction:
    data = json.loads(payload)
    document = data["document"]
    if document is not None:
        document = Document(
            **{
                **document,
                "page_starts": tuple(document["page_starts"]),
                "content_spans": tuple(tuple(s) for s in document["content_spans"]),
                "locations": tuple((int(o), str(label)) for o, label in document["locations"]),
            }
        )
    return Extraction(data["source"], document, data["note"], data["worker_peak_mb"])


def _monotonic() -> float:
    import time

    return time.monotonic()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
