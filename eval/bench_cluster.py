"""Past one machine, measured: indexing through Ray and search over shards, on a real two-node
Ray cluster on this machine (nodes on 127.0.0.2 and 127.0.0.3, 2 CPUs each declared).

1. The SQuAD paragraphs indexed locally and through Ray: the same chunks? vectors' cosine to the
   local ones; ``rag.evaluate`` on its questions over both (recall@5, the same answers?).
2. The same index split into 2 shards on 2 actors: top-5 identical to the whole index (the
   others listed), answers identical, fan-out overhead per question (p50, p95).
3. With ``--scale DIR`` (an index folder, e.g. ``eval/bench_scale.py --keep``'s stand-in
   index): search p50 / p95 through 2 shard actors against one local index, in a first pass
   right after the actors start and a warm one (``--shards OUT`` keeps the shards for a rerun).
4. Overheads: cluster start, first embedded batch back, chunks/s through Ray against local.

    .venv/bin/python eval/bench_cluster.py [--squad FILE] [--scale DIR] [--json]
    .venv/bin/python eval/bench_cluster.py --all-paragraphs --max-questions 200   # throughput
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "0")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import numpy as np  # noqa: E402

import rag  # noqa: E402
from rag._questions import load_squad  # noqa: E402

SQUAD = PROJECT.parent / "shared" / "benchmarks" / "squad" / "squad-v1.1-dev-article1.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD, help="SQuAD file (paragraphs, q)")
    parser.add_argument(
        "--all-paragraphs",
        action="store_true",
        help="index the paragraphs of every SQuAD file in ../shared (1,480; the throughput run), "
        "not only --squad's",
    )
    parser.add_argument("--max-questions", type=int, help="ask only the first N questions")
    parser.add_argument("--scale", type=Path, help="a large index folder to shard and search")
    parser.add_argument(
        "--shards", type=Path, help="keep --scale's 2 shards here (split once, reused after)"
    )
    parser.add_argument(
        "--scale-only", action="store_true", help="only the --scale measurement (no SQuAD runs)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    from ray.cluster_utils import Cluster as RayCluster

    from embeddings import load_embedder
    from rag.cluster import connect

    figures: dict = {}
    started = time.perf_counter()
    node = {"num_cpus": 2, "object_store_memory": 300_000_000}
    ray_cluster = RayCluster(
        initialize_head=True,
        head_node_args={**node, "node_ip_address": "127.0.0.2", "include_dashboard": False},
    )
    ray_cluster.add_node(**node, node_ip_address="127.0.0.3")
    cluster = connect(ray_cluster.address)
    figures["cluster_start_s"] = round(time.perf_counter() - started, 1)
    figures["nodes"] = cluster.nodes()
    embedder = load_embedder(cache=False)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        paragraphs, questions = load_squad(args.squad)
        if args.scale_only:
            _scale(args.scale, args.shards or root / "scale-shards", cluster, questions, figures)
            paragraphs = {}
        questions = questions[: args.max_questions]
        if args.all_paragraphs:
            for path in sorted(args.squad.parent.glob("*.json")):
                paragraphs.update(load_squad(path)[0])
        folder = root / "paragraphs"
        folder.mkdir()
        for name, text in paragraphs.items():
            (folder / name).write_text(text, encoding="utf-8")
        if not args.scale_only:
            local, remote = _build_both(folder, root, embedder, cluster, figures)
            _compare_evaluations(local, remote, questions, figures)
            _compare_shards(local, root, cluster, embedder, questions, figures)
        if args.scale and not args.scale_only:
            _scale(args.scale, args.shards or root / "scale-shards", cluster, questions, figures)
    import ray

    ray.shutdown()
    ray_cluster.shutdown()
    print(json.dumps(figures, indent=2) if args.json else _table(figures))
    return 0


def _build_both(folder: Path, root: Path, embedder, cluster, figures: dict):
    """The paragraphs indexed locally, then through Ray; chunks and vectors compared."""
    local = rag.Index(embedder, path=root / "local")
    report = local.sync([folder])
    figures["local_index_s"] = round(report.seconds, 1)
    figures["local_chunks_per_s"] = round(report.chunks_embedded / report.seconds_embedding, 1)
    first_batch = []
    encoder = cluster.encoder

    def timed(model):
        encode = encoder(model)

        def encode_timed(texts):
            begun = time.perf_counter()
            for batch in encode(texts):
                if not first_batch:
                    first_batch.append(time.perf_counter() - begun)
                yield batch

        return encode_timed

    cluster.encoder = timed
    remote = rag.Index(embedder, path=root / "ray")
    report = remote.sync([folder], cluster=cluster)
    cluster.encoder = encoder
    figures["ray_index_s"] = round(report.seconds, 1)
    figures["ray_embedding_s"] = round(report.seconds_embedding, 1)
    figures["ray_first_batch_s"] = round(first_batch[0], 1)
    figures["ray_chunks_per_s"] = round(report.chunks_embedded / report.seconds_embedding, 1)
    figures["ray_chunks_per_s_per_node"] = round(figures["ray_chunks_per_s"] / 2, 1)
    mine, theirs = remote._snapshot, local._snapshot
    figures["chunks"] = theirs.size
    figures["same_chunks"] = [mine.chunk(r) for r in range(mine.next_row)] == [
        theirs.chunk(r) for r in range(theirs.next_row)
    ]
    rows = np.arange(min(mine.next_row, theirs.next_row))
    cosines = (mine.vectors_at(rows) * theirs.vectors_at(rows)).sum(axis=1)
    figures["vector_cosine_min"] = round(float(cosines.min()), 7)
    figures["ray_index_verify"] = rag.Index.load(root / "ray", model=embedder).verify()
    return local, remote


def _compare_evaluations(local, remote, questions, figures: dict) -> None:
    here = rag.evaluate(local, questions)
    there = rag.evaluate(remote, questions)
    figures["questions"] = len(questions)
    figures["recall_at_5"] = {
        "local": here.to_dict()["recall@5"],
        "ray": there.to_dict()["recall@5"],
    }
    same = sum(
        (a.best_span, round(a.confidence, 4)) == (b.best_span, round(b.confidence, 4))
        for a, b in zip(here.results, there.results, strict=True)
    )
    figures["same_answers_ray_vs_local"] = f"{same} / {len(questions)}"


def _compare_shards(local, root: Path, cluster, embedder, questions, figures: dict) -> None:
    from rag.cluster import ShardedIndex, shard_index

    shard_index(local.path, root / "shards", into=2)
    sharded = ShardedIndex.open(root / "shards", cluster, embedder=embedder)
    same_top5 = same_answers = 0
    differ, overhead = [], []
    try:
        for question in questions:
            text = question.question
            begun = time.perf_counter()
            whole = local.search(text, k=5)
            alone = time.perf_counter() - begun
            begun = time.perf_counter()
            split = sharded.search(text, k=5)
            overhead.append(time.perf_counter() - begun - alone)
            if split == whole:
                same_top5 += 1
            else:
                differ.append(text)
            same_answers += rag.ask(sharded, text).to_dict() == rag.ask(local, text).to_dict()
    finally:
        sharded.close()
    figures["shards"] = {
        "top5_identical": f"{same_top5} / {len(questions)}",
        "answers_identical": f"{same_answers} / {len(questions)}",
        "differing_questions": differ[:10],
        "fan_out_overhead_ms": _percentiles(overhead),
    }


def _scale(folder: Path, shards: Path, cluster, questions, figures: dict) -> None:
    """Two passes over the same 200 questions: the first right after the shards' actors start
    (their pages, and every new term's document frequency, fetched on first use), the second
    warm, as a serving cluster runs."""
    from embeddings import load_embedder
    from rag.cluster import ShardedIndex, shard_index

    split_s = None
    if not (shards / "shards.json").is_file():  # --shards: split by an earlier run
        started = time.perf_counter()
        shard_index(folder, shards, into=2)
        split_s = round(time.perf_counter() - started, 1)
    real = load_embedder(cache=False)
    whole = rag.Index.load(folder, model=real)
    sharded = ShardedIndex.open(shards, cluster, embedder=real)
    asked = [q.question for q in questions[:200]]
    passes = []
    try:
        for _ in range(2):
            local_times, sharded_times, same, differ = [], [], 0, []
            for text in asked:
                begun = time.perf_counter()
                expected = whole.search(text, k=5)
                local_times.append(time.perf_counter() - begun)
                begun = time.perf_counter()
                got = sharded.search(text, k=5)
                sharded_times.append(time.perf_counter() - begun)
                mine = [(h.source, h.start) for h in got]
                theirs = [(h.source, h.start) for h in expected]
                same += mine == theirs
                if mine != theirs:  # which ranks differ, and the hits' cosine / BM25 there
                    differ.append(
                        {
                            "question": text,
                            "ranks": [
                                r + 1 for r in range(5) if mine[r : r + 1] != theirs[r : r + 1]
                            ],
                            "whole": [f"{h.similarity:.4f}/{h.bm25:.2f}" for h in expected],
                            "sharded": [f"{h.similarity:.4f}/{h.bm25:.2f}" for h in got],
                        }
                    )
            passes.append(
                {
                    "local_search_ms": _percentiles(local_times),
                    "sharded_search_ms": _percentiles(sharded_times),
                    "top5_identical": f"{same} / {len(asked)}",
                }
            )
    finally:
        sharded.close()
    figures["scale"] = {
        "chunks": whole.chunk_count(),
        "split_into_2_s": split_s,
        "first_pass": passes[0],
        "warm_pass": passes[1],
        "top5_differing": differ,
    }


def _percentiles(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    return {
        "p50": round(1000 * statistics.median(ordered), 1),
        "p95": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
    }


def _table(figures: dict) -> str:
    lines = [f"{key:32} {value}" for key, value in figures.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
