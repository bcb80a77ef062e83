"""Latency of ``rag.ask`` on the sample corpus: every question of the sample set, new then repeated.

    .venv/bin/python eval/bench_ask.py [--k 5] [--int8]
    RAG_PRECISION=float32 .venv/bin/python eval/bench_ask.py   # the reader in float32

The embedding cache is a fresh file on disk (as a user's is); the second round repeats the same
questions. ``search`` alone is timed first, on the questions with " (search)" added, so that both
it and ``ask`` see questions new to them. The reader is loaded
before timing starts (its load time is printed apart).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=5, help="passages retrieved and read")
    parser.add_argument("--int8", action="store_true", help="int8 dynamic quantisation (torch)")
    args = parser.parse_args()
    import numpy as np
    import torch

    import rag
    from embeddings import EmbeddingCache, load_embedder
    from embeddings import precision as _precision
    from rag import answer
    from rag.evaluate import load_questions

    with tempfile.TemporaryDirectory(prefix="bench-ask-") as folder:
        embedder = load_embedder(cache=EmbeddingCache(Path(folder) / "embeddings.sqlite"))
        index = rag.Index(embedder)
        index.sync([ROOT / "data" / "counter-trafficking"])
        started = time.perf_counter()
        reader = answer.default_reader()
        load_seconds = time.perf_counter() - started
        if args.int8:
            reader._net = torch.ao.quantization.quantize_dynamic(
                reader._net, {torch.nn.Linear}, dtype=torch.qint8
            )
        questions = [
            q.question for q in load_questions(ROOT / "eval" / "counter-trafficking.jsonl")
        ]
        rag.ask(index, "warm-up question about the documents?", k=args.k)
        searches = {}
        for name in ("new", "repeated"):
            latencies = []
            for question in questions:
                started = time.perf_counter()
                index.search(f"{question} (search)", k=args.k)
                latencies.append((time.perf_counter() - started) * 1000)
            searches[name] = latencies
        rounds = {}
        for name in ("new", "repeated"):
            latencies = []
            for question in questions:
                started = time.perf_counter()
                rag.ask(index, question, k=args.k)
                latencies.append((time.perf_counter() - started) * 1000)
            rounds[name] = latencies
    print(
        f"sample corpus: {len(questions)} questions, k={args.k} passages read in "
        f"{_precision.precision()}{', int8' if args.int8 else ''}; reader load {load_seconds:.1f} s"
    )
    for name, latencies in searches.items():
        p50, p95 = np.percentile(latencies, [50, 95])
        print(f"  search (k={args.k}), {name} questions: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    for name, latencies in rounds.items():
        p50, p95 = np.percentile(latencies, [50, 95])
        worst = max(latencies)
        print(f"  ask, {name} questions: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms")


if __name__ == "__main__":
    main()
