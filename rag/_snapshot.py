"""One consistent state of an index in memory: documents, chunks, vectors, and the dense and BM25
indexes over them. Searches read a snapshot; a sync builds the next one and swaps it in whole."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import faiss
import numpy as np

from rag._store import FilesSeen
from rag.chunk import Chunk
from rag.ingest import Document
from rag.retrieve import Lexicon

# Exact search costs a pass over every vector (about 15 ms per 100,000 on 2 cores); from this
# many chunks on, an HNSW graph answers in about a millisecond, with recall@10 measured by
# eval/bench_scale.py.
APPROXIMATE_FROM = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80


@dataclass(frozen=True)
class Snapshot:
    """One consistent state; searches read a snapshot, syncs replace it whole."""

    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray  # (n_chunks, dim), row i belongs to chunks[i]
    faiss_index: faiss.Index
    lexicon: Lexicon
    rows_of: dict[str, np.ndarray]  # source -> its chunks' rows, for filtered searches
    seen: FilesSeen
    ids: np.ndarray  # row -> the chunk's stable id (ascending), how the saved index knows it
    next_id: int  # the id the next new chunk gets

    @classmethod
    def create(
        cls,
        documents: dict[str, Document],
        chunks: list[Chunk],
        faiss_index: faiss.Index,
        seen: FilesSeen | None = None,
        lexicon: Lexicon | None = None,
        ids: np.ndarray | None = None,
        next_id: int | None = None,
    ):
        """A snapshot over a dense index holding one vector per chunk; BM25 is built unless
        given (a loaded or updated one); chunk ids are 0, 1, ... unless given."""
        vectors = vectors_of(faiss_index)  # the index's own copy, not a second one
        if lexicon is None:
            lexicon = Lexicon([embedding_text(documents[c.source], c) for c in chunks])
        rows_of = defaultdict(list)
        for row, chunk in enumerate(chunks):
            rows_of[chunk.source].append(row)
        return cls(
            documents,
            chunks,
            vectors,
            faiss_index,
            lexicon,
            {source: np.array(rows, dtype=np.int64) for source, rows in rows_of.items()},
            seen or FilesSeen(),
            np.arange(len(chunks), dtype=np.int64) if ids is None else ids,
            len(chunks) if next_id is None else next_id,
        )


def dense_index(vectors: np.ndarray) -> faiss.Index:
    """Exact inner-product search up to ``APPROXIMATE_FROM`` chunks, HNSW from there."""
    dim = vectors.shape[1]
    if len(vectors) < APPROXIMATE_FROM:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def is_approximate(index: faiss.Index) -> bool:
    return isinstance(index, faiss.IndexHNSW)


def is_titled(document: Document) -> bool:
    """Real titles (not a first sentence or a file name) of sane length go in front of chunks."""
    return document.title_source in ("metadata", "headline") and len(document.title) <= 200


def embedding_text(document: Document, chunk: Chunk) -> str:
    """The title gives every chunk its document's topic, unless the chunk starts with it."""
    if is_titled(document) and not chunk.text.startswith(document.title):
        return f"{document.title}\n{chunk.text}"
    return chunk.text


def vectors_of(index: faiss.Index) -> np.ndarray:
    """The vectors a flat or HNSW index stores, as a read-only view (no copy): one copy of the
    vectors in memory, not two. Valid while the index lives and is not added to."""
    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    if not storage.ntotal:
        return np.zeros((0, index.d), dtype=np.float32)
    raw = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * index.d)
    return np.asarray(_Owner(index, raw.__array_interface__["data"][0], (storage.ntotal, index.d)))


class _Owner:
    """Keeps a FAISS index alive for as long as any view of its vectors (even one row) lives."""

    def __init__(self, index: faiss.Index, address: int, shape: tuple[int, int]):
        self.index = index
        self.__array_interface__ = {
            "data": (address, True),  # read-only
            "shape": shape,
            "typestr": "<f4",
            "version": 3,
        }
