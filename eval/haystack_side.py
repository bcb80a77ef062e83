"""Haystack's side of eval/bench_index.py, run with the python of a virtualenv that holds
haystack-ai and sentence-transformers-haystack (never this project's): reads a job as JSON on
stdin ({"folder", "model", "questions"}), prints its figures as one JSON line.

The same files and model as rag's side: each paragraph file becomes a Document, embedded by
SentenceTransformersDocumentEmbedder and written to an InMemoryDocumentStore (timed together,
model loaded before); queries go through its hybrid pipeline: the text embedder and the
embedding retriever beside the BM25 retriever, joined by reciprocal rank fusion, top 5.
"""

import json
import statistics
import sys
import time
from pathlib import Path

from haystack import Document, Pipeline
from haystack.components.joiners import DocumentJoiner
from haystack.components.retrievers.in_memory import (
    InMemoryBM25Retriever,
    InMemoryEmbeddingRetriever,
)
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)


def main() -> None:
    job = json.load(sys.stdin)
    files = sorted(Path(job["folder"]).iterdir())
    store = InMemoryDocumentStore()
    embedder = SentenceTransformersDocumentEmbedder(model=job["model"], progress_bar=False)
    embedder.warm_up()
    started = time.perf_counter()
    documents = [Document(content=f.read_text("utf-8"), meta={"file": f.name}) for f in files]
    store.write_documents(embedder.run(documents)["documents"])
    seconds = time.perf_counter() - started
    pipeline = Pipeline()
    pipeline.add_component(
        "text_embedder", SentenceTransformersTextEmbedder(model=job["model"], progress_bar=False)
    )
    pipeline.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=5))
    pipeline.add_component("bm25", InMemoryBM25Retriever(store, top_k=5))
    pipeline.add_component("joiner", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=5))
    pipeline.connect("text_embedder.embedding", "dense.query_embedding")
    pipeline.connect("dense", "joiner")
    pipeline.connect("bm25", "joiner")
    questions = job["questions"]
    pipeline.run({"text_embedder": {"text": questions[0]}, "bm25": {"query": questions[0]}})
    latencies = []
    for question in questions:
        started_query = time.perf_counter()
        pipeline.run({"text_embedder": {"text": question}, "bm25": {"query": question}})
        latencies.append(time.perf_counter() - started_query)
    print(
        json.dumps(
            {
                "paragraphs": len(files),
                "seconds": round(seconds, 1),
                "paragraphs_per_second": round(len(files) / seconds, 1),
                "query_p50_ms": round(1000 * statistics.median(latencies), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
