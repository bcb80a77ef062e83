"""One consistent state of an index in memory: documents, chunks, and the dense and BM25 indexes
over them. Searches read a snapshot; a sync builds the next one and swaps it in whole.

A chunk's row is its id, for good: a sync appends the rows of new chunks as one more segment
(their vectors in a FAISS index of their own, their BM25 counts in a lexicon segment) and marks
the rows of removed chunks dead: it shares the vectors and BM25 counts with the snapshot before
it, and copies only a few numbers per row (offsets, lengths, liveness). Dead rows are searched
past; ``compacted`` drops them once they pile up, and ``merged`` makes the small segments one
when there are many.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import faiss
import numpy as np

from rag.chunk import Chunk
from rag.ingest import Document
from rag.retrieve import Lexicon

# Exact search costs a pass over every vector (about 15 ms per 100,000 on 2 cores); a segment of
# this many chunks is searched through an HNSW graph (about a millisecond), with recall@10
# measured by eval/bench_scale.py.
APPROXIMATE_FROM = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
# Dead rows are dropped (every row renumbered, segments rebuilt) once they are this share of
# all rows; segments after the first large one are merged once there are this many.
COMPACT_DEAD_SHARE = 0.25
MERGE_SEGMENTS = 16


@dataclass(frozen=True)
class FilesSeen:
    """What syncs learnt about the files beyond their documents, kept so the next sync reads less.

    ``skipped``: source -> (file sha256, reason) of files that could not be read; not read again
    while unchanged. ``stats``: source -> (size, mtime in ns, sha256) as last seen; the same size
    and time mean the same content. ``line_hashes``: source -> hashes of its lines, so
    boilerplate is found without reading every document.
    """

    skipped: dict[str, tuple[str, str]] = field(default_factory=dict)
    stats: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    line_hashes: dict[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Chunks:
    """Where each row's chunk lies, as columns (a million chunks take 32 MB, not a million
    objects): ``codes[row]`` is the document version it belongs to (a changed document gets a
    new code, so its old rows are dead), ``starts``/``ends`` its offsets, ``pages`` its page
    (-1: none)."""

    codes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    pages: np.ndarray

    @classmethod
    def empty(cls) -> Chunks:
        return cls.of(np.zeros((0, 4), dtype=np.int64))

    @classmethod
    def of(cls, columns: np.ndarray) -> Chunks:
        """From an (n, 4) array of code, start, end, page."""
        return cls(*(np.ascontiguousarray(columns[:, i]) for i in range(4)))

    def __len__(self) -> int:
        return len(self.codes)

    def columns(self, rows=slice(None)) -> np.ndarray:
        """(n, 4) int64: code, start, end, page; how they are saved."""
        return np.stack([self.codes[rows], self.starts[rows], self.ends[rows], self.pages[rows]], 1)

    def appended(self, code_of: dict[str, int], chunks: list[Chunk]) -> Chunks:
        added = np.array(
            [(code_of[c.source], c.start, c.end, -1 if c.page is None else c.page) for c in chunks],
            dtype=np.int64,
        ).reshape(-1, 4)
        return Chunks.of(np.concatenate([self.columns(), added]))


@dataclass(frozen=True)
class Segment:
    """The vectors of rows ``first`` to ``first + rows - 1`` in a FAISS index of their own:
    exact inner product, or an HNSW graph from ``APPROXIMATE_FROM`` rows."""

    first: int
    index: faiss.Index

    @property
    def rows(self) -> int:
        return self.index.ntotal

    @cached_property
    def vectors(self) -> np.ndarray:
        return vectors_of(self.index)


@dataclass(frozen=True)
class Snapshot:
    """One consistent state; searches read a snapshot, syncs replace it whole."""

    documents: Mapping[str, Document]  # a loaded index's are made when first read
    code_of: dict[str, int]  # source -> the code of its indexed version
    chunks: Chunks
    segments: tuple[Segment, ...]  # in row order, covering every row
    lexicon: Lexicon  # BM25 over the same rows
    seen: FilesSeen
    next_code: int
    epoch: int = 0  # counts compactions: rows were renumbered

    @classmethod
    def create(
        cls,
        documents: Mapping[str, Document],
        code_of: dict[str, int],
        chunks: Chunks,
        segments: tuple[Segment, ...],
        lexicon: Lexicon,
        seen: FilesSeen | None = None,
        next_code: int | None = None,
        epoch: int = 0,
    ) -> Snapshot:
        if next_code is None:
            next_code = max(code_of.values(), default=-1) + 1
        return cls(
            documents, code_of, chunks, segments, lexicon, seen or FilesSeen(), next_code, epoch
        )

    @cached_property
    def source_of(self) -> dict[int, str]:
        """Code -> source, of the indexed (live) versions only."""
        return {code: source for source, code in self.code_of.items()}

    @classmethod
    def empty(cls) -> Snapshot:
        return cls.create({}, {}, Chunks.empty(), (), Lexicon())

    @property
    def next_row(self) -> int:
        return len(self.chunks)

    @cached_property
    def live(self) -> np.ndarray:
        """Per row: whether its chunk is in the index (not removed or replaced)."""
        live_codes = np.fromiter(self.source_of, dtype=np.int64, count=len(self.source_of))
        return np.isin(self.chunks.codes, live_codes)

    @cached_property
    def size(self) -> int:
        """Chunks in the index (live rows)."""
        return int(self.live.sum())

    @cached_property
    def rows_of(self) -> dict[str, np.ndarray]:
        """Source -> its chunks' rows, for filtered searches and counts."""
        rows = np.flatnonzero(self.live)
        codes = self.chunks.codes[rows]
        order = np.argsort(codes, kind="stable")
        rows, codes = rows[order], codes[order]
        cuts = np.flatnonzero(np.diff(codes)) + 1
        return {
            self.source_of[int(group_codes[0])]: group
            for group, group_codes in zip(np.split(rows, cuts), np.split(codes, cuts), strict=True)
            if len(group)
        }

    @cached_property
    def dead_in_segments(self) -> tuple[int, ...]:
        return tuple(int((~self.live[s.first : s.first + s.rows]).sum()) for s in self.segments)

    @cached_property
    def _live_bitmaps(self) -> dict[int, np.ndarray]:
        """Segment number -> its live rows as a bitmap (FAISS's order), for segments with dead
        rows; built once per snapshot."""
        return {
            n: np.packbits(self.live[s.first : s.first + s.rows], bitorder="little")
            for n, (s, dead) in enumerate(zip(self.segments, self.dead_in_segments, strict=True))
            if dead
        }

    def live_selector(self, n: int):
        """A FAISS selector of segment ``n``'s live rows, or None when all are live."""
        bitmap = self._live_bitmaps.get(n)
        if bitmap is None:
            return None
        return faiss.IDSelectorBitmap(self.segments[n].rows, faiss.swig_ptr(bitmap))

    def chunk(self, row: int) -> Chunk:
        source = self.source_of[int(self.chunks.codes[row])]
        start, end = int(self.chunks.starts[row]), int(self.chunks.ends[row])
        page = int(self.chunks.pages[row])
        text = self.documents[source].text[start:end]
        return Chunk(source, start, end, None if page < 0 else page, text)

    def live_chunks(self) -> list[Chunk]:
        return [self.chunk(row) for row in np.flatnonzero(self.live)]

    def vectors_at(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of ``rows`` (any order), gathered from their segments."""
        rows = np.asarray(rows, dtype=np.int64)
        dim = self.segments[0].index.d if self.segments else 0
        out = np.empty((len(rows), dim), dtype=np.float32)
        firsts = np.array([s.first for s in self.segments], dtype=np.int64)
        owner = np.searchsorted(firsts, rows, side="right") - 1
        for n in np.unique(owner):
            segment = self.segments[n]
            mine = owner == n
            out[mine] = segment.vectors[rows[mine] - segment.first]
        return out

    def appended(
        self, documents, code_of, next_code, new_chunks: list[Chunk], vectors, texts, seen
    ):
        """The next state: ``new_chunks`` (with their vectors and embedded texts) as one more
        segment; documents not in ``code_of`` any more, or under a new code (below
        ``next_code``), leave dead rows."""
        lexicon = self.lexicon.appended(texts)
        segments = self.segments
        if len(new_chunks):
            segments = (*segments, Segment(self.next_row, dense_index(vectors)))
        chunks = self.chunks.appended(code_of, new_chunks)
        return Snapshot.create(
            documents, code_of, chunks, segments, lexicon, seen, next_code, self.epoch
        )

    def maintained(self) -> Snapshot:
        """This state, compacted when dead rows pile up, or with its small segments merged when
        there are many; else itself."""
        if self.next_row - self.size > COMPACT_DEAD_SHARE * self.next_row:
            return self.compacted()
        large = [n for n, s in enumerate(self.segments) if s.rows >= APPROXIMATE_FROM]
        first_small = large[-1] + 1 if large else 0
        if len(self.segments) - first_small > MERGE_SEGMENTS:
            return self._merged(first_small)
        return self

    def compacted(self) -> Snapshot:
        """Only the live rows, renumbered from 0, in one segment (an HNSW graph when large)."""
        rows = np.flatnonzero(self.live)
        vectors = self.vectors_at(rows)
        segments = (Segment(0, dense_index(vectors)),) if len(rows) else ()
        return Snapshot.create(
            self.documents,
            self.code_of,
            Chunks.of(self.chunks.columns(rows)),
            segments,
            self.lexicon.compacted(rows),
            self.seen,
            self.next_code,
            self.epoch + 1,
        )

    def _merged(self, first: int) -> Snapshot:
        """Segments ``first`` on as one (rows keep their numbers, dead ones included)."""
        start = self.segments[first].first
        vectors = self.vectors_at(np.arange(start, self.next_row))
        segments = (*self.segments[:first], Segment(start, dense_index(vectors)))
        return replace(self, segments=segments, lexicon=self.lexicon.merged(first))


def dense_index(vectors: np.ndarray) -> faiss.Index:
    """Exact inner-product search below ``APPROXIMATE_FROM`` rows, HNSW from there."""
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
