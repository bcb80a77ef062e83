"""How the index scales: load, sync, search, memory and HNSW recall at 10k, 100k (and 1M) chunks.

    python eval/bench_scale.py                      # 10,000 and 100,000 chunks
    python eval/bench_scale.py --sizes 1000000 --keep /tmp/scale   # a million (over an hour)

With ``--keep`` the documents and indexes stay in that folder, and a later run with the same
folder measures them again without building them (the one-file syncs have changed them).

Documents are real text: sentences of the SQuAD paragraphs in ``../shared/benchmarks/squad/``
recombined, 40 to a plain-text file (about 7 chunks each). Embedding a million chunks with the
real model would take 15 hours here, so chunk vectors are a stand-in: the real model's vector of
the paragraph the chunk's first sentence comes from, plus noise (cosine about 0.85 to it), unit
length. Everything else is the real thing: chunking with the model's tokenizer, the index, its
files, BM25, FAISS, and questions embedded by the real model at search time.

Prints one table row per size: ``Index.load`` without the model, a sync that changes nothing, a
sync adding one file and one changing a file (embedding time apart) with the bytes each wrote,
hybrid ``search`` p50 / p95 over 200 SQuAD questions in a fresh process serving the index (and in
the process that ran the syncs), that process's resident memory against vectors + BM25, and the
recall@10 of an HNSW graph against exact search.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SQUAD = ROOT.parent / "shared" / "benchmarks" / "squad"
SENTENCES_PER_FILE = 40
CHUNKS_PER_FILE = 7  # measured: 40 SQuAD sentences make about 7 chunks of at most 254 tokens
QUESTIONS = 200
NOISE = 0.6  # norm of the noise added to a unit anchor vector: cosine about 0.85


class StandInEmbedder:
    """The real model's identity, tokenizer and question vectors; stand-in chunk vectors."""

    def __init__(self, real, anchors: dict[str, np.ndarray]):
        self.real = real
        self.identity = real.identity
        self.dim = real.dim
        self.max_tokens = real.max_tokens
        self.anchors = anchors  # first 60 characters of a sentence -> its paragraph's vector
        self.pool = np.stack(list(anchors.values()))

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if len(texts) == 1 and texts[0].endswith("?"):
            return self.real.embed(texts)  # a question: the real model, as in use
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            anchor = self.anchors.get(text[:60])
            if anchor is None:
                anchor = self.pool[seed % len(self.pool)]
            noise = rng.standard_normal(self.dim).astype(np.float32)
            vector = anchor + NOISE * noise / np.linalg.norm(noise)
            vectors[i] = vector / np.linalg.norm(vector)
        return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="chunk counts, comma-separated")
    parser.add_argument("--keep", type=Path, help="work here and keep the files")
    args = parser.parse_args()
    from embeddings import load_embedder
    from rag._questions import load_squad
    from rag.chunk import split_sentences

    paragraphs, questions = [], []
    for path in sorted(SQUAD.glob("*.json")):
        texts, asked = load_squad(path)
        paragraphs += list(texts.values())
        questions += [q.question for q in asked if q.question.strip().endswith("?")]
    sentences = [(p[a:b], i) for i, p in enumerate(paragraphs) for a, b in split_sentences(p)]
    started = time.perf_counter()
    real = load_embedder(cache=False)
    model_s = time.perf_counter() - started
    vectors = real.embed(paragraphs, progress=True)
    anchors = {text[:60]: vectors[i] for text, i in sentences}
    embedder = StandInEmbedder(real, anchors)
    asked = random.Random(5).sample(questions, QUESTIONS)
    print(
        f"{len(paragraphs)} SQuAD paragraphs, {len(sentences)} sentences; "
        f"model load {model_s:.1f} s",
        flush=True,
    )
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            rows.append(measure(size, work, embedder, [s for s, _ in sentences], asked))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)


def measure(size: int, work: Path, embedder, sentences: list[str], asked: list[str]) -> dict:
    import faiss

    import rag

    folder, path = work / f"docs-{size}", work / f"index-{size}"
    build_s = None
    if not (folder.is_dir() and rag.Index.exists(path)):  # --keep: built by an earlier run
        files = max(1, size // CHUNKS_PER_FILE)
        write_documents(folder, files, sentences, random.Random(size))
        started = time.perf_counter()
        index = rag.Index(embedder, path=path)
        index.sync([folder], progress=True)
        build_s = round(time.perf_counter() - started, 1)
        del index
        gc.collect()

    started = time.perf_counter()
    index = rag.Index.load(path, model=embedder)
    load_s = time.perf_counter() - started
    noop = index.sync([folder])
    added = folder / "zz-new.txt"
    write_documents(folder, 1, sentences, random.Random(-size), name=added.name)
    written = _bytes_written()
    add = index.sync([folder])
    add_written = _bytes_written() - written
    changed = folder / "d000000.txt"
    changed.write_text(changed.read_text() + "\nOne more sentence at the end of this report.\n")
    written = _bytes_written()
    change = index.sync([folder])
    change_written = _bytes_written() - written

    index.search("warm-up question?", k=5)
    latencies = []
    for question in asked:
        started = time.perf_counter()
        index.search(question, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    serving_mb, serving_ms = serve(path, asked)
    snapshot = index._snapshot
    vectors_mb = sum(s.vectors.nbytes for s in snapshot.segments) / 2**20
    bm25_mb = _folder_mb(path, "bm25-")

    queries = np.concatenate([embedder.real.embed([q]) for q in asked[:100]])
    largest = max(snapshot.segments, key=lambda s: s.rows)
    recall, hnsw_s = hnsw_recall(largest.vectors, queries, largest.index)
    added.unlink()  # so that a later run with --keep adds it again, a real add
    index.sync([folder])
    return {
        "chunks": index.chunk_count(),
        "files": len(index.documents),
        "build_s": build_s,
        "load_s": round(load_s, 2),
        "noop_sync_s": round(noop.seconds, 2),
        "add_file_s": round(add.seconds - add.seconds_embedding, 2),
        "change_file_s": round(change.seconds - change.seconds_embedding, 2),
        "add_file_written_kb": round(add_written / 1024),
        "change_file_written_kb": round(change_written / 1024),
        "index_mb": round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20),
        "search_p50_ms": round(float(np.percentile(serving_ms, 50)), 1),
        "search_p95_ms": round(float(np.percentile(serving_ms, 95)), 1),
        "search_after_syncs_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "search_after_syncs_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "serving_mb": round(serving_mb),
        "vectors_bm25_mb": round(vectors_mb + bm25_mb),
        "dense_index": "+".join(
            "HNSW" if isinstance(s.index, faiss.IndexHNSW) else "exact" for s in snapshot.segments
        ),
        "segments": len(snapshot.segments),
        "hnsw_recall_at_10": round(recall, 3),
        "hnsw_build_s": round(hnsw_s, 1),
    }


_SERVE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import rag
from embeddings import load_embedder

def resident_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

embedder = load_embedder(cache=False)
embedder.embed(["warm up?"])
before = resident_mb()
index = rag.Index.load(sys.argv[2], model=embedder)
latencies = []
for question in json.loads(sys.argv[3]):
    started = time.perf_counter()
    index.search(question, k=5)
    latencies.append((time.perf_counter() - started) * 1000)
print(json.dumps([resident_mb() - before, latencies]))
"""


def serve(path: Path, questions: list[str]) -> tuple[float, list[float]]:
    """(resident memory a fresh process gains by loading the index and answering searches, the
    model loaded before not counted; each search's milliseconds there)."""
    command = [sys.executable, "-c", _SERVE, str(ROOT), str(path), json.dumps(questions)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    memory, latencies = json.loads(result.stdout.strip().splitlines()[-1])
    return memory, latencies


def write_documents(folder: Path, files: int, sentences, rng: random.Random, name=None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        body = " ".join(rng.choice(sentences) for _ in range(SENTENCES_PER_FILE))
        target = folder / (name or f"d{n:06d}.txt")
        target.write_text(f"Report {n}\n\n{body}\n")


def hnsw_recall(vectors: np.ndarray, queries: np.ndarray, built) -> tuple[float, float]:
    """Recall@10 of the HNSW graph (the index's own, or one built as it would be) vs exact."""
    import faiss

    from rag import _snapshot as index_module
    from rag.retrieve import HNSW_EF_SEARCH

    started = time.perf_counter()
    graph = built
    if not isinstance(built, faiss.IndexHNSW):
        graph = faiss.IndexHNSWFlat(
            vectors.shape[1], index_module.HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT
        )
        graph.hnsw.efConstruction = index_module.HNSW_EF_CONSTRUCTION
        graph.add(vectors)
    build_s = time.perf_counter() - started
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    params = faiss.SearchParametersHNSW(efSearch=HNSW_EF_SEARCH)
    _, found = graph.search(queries, 10, params=params)
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth, found, strict=True))
    return hits / truth.size, build_s


def print_table(rows: list[dict]) -> None:
    print(
        "\n| chunks (files) | load | no-op sync | add one file | change one file "
        "| written by add / change (index size) "
        "| search p50 / p95 served (after the syncs) | serving memory / (vectors + BM25) "
        "| dense | HNSW recall@10 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = r["serving_mb"] / max(r["vectors_bm25_mb"], 1)
        print(
            f"| {r['chunks']:,} ({r['files']:,}) | {r['load_s']} s | {r['noop_sync_s']} s "
            f"| {r['add_file_s']} s | {r['change_file_s']} s "
            f"| {r['add_file_written_kb']:,} / {r['change_file_written_kb']:,} KB "
            f"({r['index_mb']:,} MB) "
            f"| {r['search_p50_ms']} / {r['search_p95_ms']} ms "
            f"({r['search_after_syncs_p50_ms']} / {r['search_after_syncs_p95_ms']} ms) "
            f"| {r['serving_mb']} MB / {r['vectors_bm25_mb']} MB = {ratio:.1f}× "
            f"| {r['dense_index']} | {r['hnsw_recall_at_10']} |"
        )


def _bytes_written() -> int:
    """Bytes this process has written so far (Linux: ``wchar`` of /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def _folder_mb(path: Path, prefix: str) -> float:
    return sum(f.stat().st_size for d in path.glob(prefix + "*") for f in d.iterdir()) / 2**20


if __name__ == "__main__":
    main()
