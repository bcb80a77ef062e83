"""Retrieval: dense (FAISS inner product) and BM25 rankings fused by reciprocal rank.

>>> hits = search(index, "What did the experts recommend mapping?", k=5)
>>> hits[0].title, hits[0].source, hits[0].start, hits[0].end
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
import scipy.sparse
import Stemmer

__all__ = ["Hit", "Lexicon", "search"]

# Reciprocal rank fusion constant (Cormack et al. 2009); each ranking list contributes 1/(K + rank).
RRF_K = 60
# Candidates an HNSW search keeps while walking the graph: more is slower and closer to exact.
# At a million chunks (eval/bench_scale.py): 2048 finds 0.928 of the exact top 10 in 5 ms, 4096
# finds 0.957 in 10 ms (one thread).
HNSW_EF_SEARCH = 4096
# Up to this many rows a filtered search scores them all (a few ms); above, the index's own.
EXACT_FILTER_ROWS = 50_000
_STEMMER = Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with where it comes from; ``score`` is the fused score."""

    text: str
    score: float
    title: str
    source: str
    start: int
    end: int
    page: int | None  # the PDF page (None in other formats: ``location`` names any format's place)
    similarity: float  # cosine similarity of question and chunk, in [-1, 1]
    bm25: float
    location: str = ""  # where in the file: "page 3", "slide 2", "sheet Victims, row 14", …


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens, as BM25 sees them."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )


class Lexicon:
    """BM25 over rows of texts (Lucene's variant, as bm25s scores it), kept as segments of term
    counts, one per batch of texts added: adding texts never touches the others.

    Tokens are bm25s's (lower case, English stop words out, Snowball stems). A segment is a SciPy
    sparse matrix by term (rows: its texts; columns: term ids, which never change, so an older
    segment has fewer columns). Rows are never removed, only left out of results (dead); like
    Lucene, the collection's statistics count them until ``compacted`` drops them.
    """

    K1 = 1.5
    B = 0.75

    def __init__(self, texts: list[str] | None = None):
        self.vocabulary: dict[str, int] = {}
        self.segments: tuple[scipy.sparse.csc_matrix, ...] = ()
        self._documents = np.zeros(0, dtype=np.float32)  # texts holding each term
        self._lengths = np.zeros(0, dtype=np.float32)  # tokens in each row
        self._offsets: tuple[int, ...] = ()  # first row of each segment
        if texts:
            self._add(self._count(texts).tocsc())
        self._prepare()

    @property
    def size(self) -> int:
        return len(self._lengths)

    def appended(self, texts: list[str]) -> Lexicon:
        """This lexicon and ``texts`` as one more segment (rows ``size`` on); only they are
        tokenised, and this one is left as it is."""
        lexicon = self._copy()
        lexicon.vocabulary = dict(self.vocabulary)
        if texts:
            lexicon._add(lexicon._count(texts).tocsc())
        lexicon._prepare()
        return lexicon

    def merged(self, first: int) -> Lexicon:
        """The same rows, with segments ``first`` on made one."""
        if len(self.segments) - first < 2:
            return self
        lexicon = self._copy()
        width = len(self.vocabulary)
        tail = [_widened(segment, width) for segment in self.segments[first:]]
        lexicon.segments = self.segments[:first] + (scipy.sparse.vstack(tail, format="csc"),)
        lexicon._offsets = self._offsets[: first + 1]
        return lexicon

    def compacted(self, rows: np.ndarray) -> Lexicon:
        """Only ``rows`` (in that order, numbered from 0), as one segment, with the statistics of
        those rows alone."""
        width = len(self.vocabulary)
        counts = scipy.sparse.vstack([_widened(s, width) for s in self.segments], format="csr")
        return Lexicon.from_segments(self.terms(), [counts[rows].tocsc()])

    def scores(self, query: str, collection: Collection | None = None) -> np.ndarray:
        """BM25 score of every row for the query, shape (size,); with ``collection``, scored as
        rows of that larger collection (its size, average length and document frequencies), so
        that shards of an index score each row as the whole index would."""
        result = np.zeros(self.size, dtype=np.float32)
        length_norm = self._length_norm
        if collection is not None:
            length_norm = self._shard_norm(collection.average_length)
        for token in tokenize([query])[0]:
            term = self.vocabulary.get(token)
            if term is None:
                continue
            idf = self._idf[term] if collection is None else collection.idf(token)
            for first, segment in zip(self._offsets, self.segments, strict=True):
                if term >= segment.shape[1]:
                    continue
                start, end = segment.indptr[term], segment.indptr[term + 1]
                rows, counts = segment.indices[start:end] + first, segment.data[start:end]
                result[rows] += idf * counts / (length_norm[rows] + counts)
        return result

    def document_frequencies(self, tokens: list[str]) -> list[float]:
        """How many rows hold each token (0 for one not in the vocabulary)."""
        return [
            float(self._documents[self.vocabulary[t]])
            if t in self.vocabulary and self.vocabulary[t] < len(self._documents)
            else 0.0
            for t in tokens
        ]

    def terms(self, first: int = 0) -> list[str]:
        """The terms of ids ``first`` on, in id order (a term keeps its id; new terms get the
        next ones, so the vocabulary's order is id order)."""
        return list(self.vocabulary)[first:]

    @classmethod
    def from_segments(cls, terms: list[str], segments: list, lengths: list | None = None):
        """A lexicon of count matrices by term (rows: texts, in order) over ``terms``; each
        segment's row lengths (tokens per text) are counted unless given."""
        lexicon = cls()
        lexicon.vocabulary = {term: i for i, term in enumerate(terms)}
        for n, segment in enumerate(segments):
            if not isinstance(segment, scipy.sparse.csc_matrix) or segment.dtype != np.float32:
                segment = scipy.sparse.csc_matrix(segment, dtype=np.float32)
            lexicon._add(segment, None if lengths is None else lengths[n])
        lexicon._prepare()
        return lexicon

    def lengths(self, first: int, rows: int) -> np.ndarray:
        """Tokens in each of rows ``first`` to ``first + rows - 1``."""
        return self._lengths[first : first + rows]

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexicon:
        """Read the counts and vocabulary a format 2 index saved for ``size`` texts.

        Raises:
            ValueError: the files are not a lexicon of ``size`` texts.
        """
        try:
            counts = scipy.sparse.load_npz(folder / "counts.npz")
            terms = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a BM25 lexicon: {exc}") from exc
        if counts.shape != (size, len(terms)) or not all(isinstance(t, str) for t in terms):
            raise ValueError(f"a lexicon of {counts.shape[0]} texts, expected {size}")
        return cls.from_segments(terms, [counts])

    def _copy(self) -> Lexicon:
        lexicon = Lexicon()
        lexicon.vocabulary = self.vocabulary
        lexicon.segments = self.segments
        lexicon._documents, lexicon._lengths = self._documents, self._lengths
        lexicon._offsets = self._offsets
        lexicon._idf, lexicon._length_norm = self._idf, self._length_norm
        return lexicon

    def _count(self, texts: list[str]) -> scipy.sparse.csr_matrix:
        """Term counts of ``texts`` (rows), growing the vocabulary with their new terms."""
        indptr, indices, data = [0], [], []
        vocabulary = self.vocabulary
        for tokens in tokenize(texts) if texts else []:
            counts = Counter(vocabulary.setdefault(token, len(vocabulary)) for token in tokens)
            indices.extend(counts)
            data.extend(counts.values())
            indptr.append(len(indices))
        shape = (len(texts), len(vocabulary))
        return scipy.sparse.csr_matrix(
            (np.array(data, dtype=np.float32), np.array(indices, dtype=np.int32), indptr),
            shape=shape,
        )

    def _add(self, segment: scipy.sparse.csc_matrix, lengths=None) -> None:
        """Take ``segment`` (term ids within the vocabulary) as the next rows."""
        documents = np.zeros(len(self.vocabulary), dtype=np.float32)
        documents[: len(self._documents)] = self._documents
        documents[: segment.shape[1]] += np.diff(segment.indptr)
        if lengths is None:
            lengths = np.bincount(segment.indices, weights=segment.data, minlength=segment.shape[0])
        self._offsets = (*self._offsets, self.size)
        self._lengths = np.concatenate([self._lengths, lengths.astype(np.float32)])
        self._documents = documents
        self.segments = (*self.segments, segment)

    def _prepare(self) -> None:
        """What scoring needs of the whole collection."""
        lengths = self._lengths
        self._length_norm = self._norm(float(lengths.mean()) if len(lengths) else 1.0)
        documents = np.zeros(len(self.vocabulary), dtype=np.float32)
        documents[: len(self._documents)] = self._documents
        self._idf = bm25_idf(documents, self.size)

    def _norm(self, average: float) -> np.ndarray:
        return self.K1 * (1 - self.B + self.B * self._lengths / max(average, 1e-9))

    def _shard_norm(self, average: float) -> np.ndarray:
        """``_norm`` for a larger collection's average, kept: a shard gets the same average for
        every question, and recomputing it cost a pass over all its rows each time."""
        kept = self.__dict__.get("_kept_norm")
        if kept is None or kept[0] != average:
            kept = (average, self._norm(average))
            self._kept_norm = kept  # one tuple, replaced whole: safe for concurrent readers
        return kept[1]


def bm25_idf(documents: np.ndarray, total: int) -> np.ndarray:
    """Lucene's BM25 idf of terms held by ``documents`` (float32) rows of ``total``."""
    return np.log(1 + (total - documents + 0.5) / (documents + 0.5)).astype(np.float32)


@dataclass(frozen=True)
class Collection:
    """The BM25 statistics of a whole collection, for scoring one shard of it: its rows, their
    average length (as ``Lexicon`` computes it over all rows), and the query tokens' document
    frequencies."""

    size: int
    average_length: float
    frequencies: dict[str, float]

    def idf(self, token: str) -> np.float32:
        documents = np.array([self.frequencies.get(token, 0.0)], dtype=np.float32)
        return bm25_idf(documents, self.size)[0]


def _widened(segment, width: int) -> scipy.sparse.csc_matrix:
    """A segment with as many columns as the vocabulary has terms now."""
    if segment.shape[1] == width:
        return segment
    indptr = np.concatenate(
        [
            segment.indptr,
            np.full(width - segment.shape[1], segment.indptr[-1], dtype=segment.indptr.dtype),
        ]
    )
    return scipy.sparse.csc_matrix(
        (segment.data, segment.indices, indptr), shape=(segment.shape[0], width)
    )


METHODS = ("hybrid", "dense", "bm25")


def search(
    index, query: str, k: int = 5, sources: list[str] | None = None, method: str = "hybrid"
) -> list[Hit]:
    """The ``k`` best chunks for ``query``, best first, optionally only from ``sources``.

    ``method`` "dense" or "bm25" uses one ranking alone (for measuring what fusion adds).

    Raises:
        ValueError: empty query, ``k`` < 1 or an unknown method.
    """
    check_query(query, k, method)
    snapshot = index._snapshot
    allowed = _allowed_rows(snapshot, sources)
    if not snapshot.size or (allowed is not None and not len(allowed)):
        return []
    depth = min(snapshot.size, max(50, 4 * k))
    query_vector = index.embedder.embed([query])  # (1, dim)
    similarities, lexical, scores = candidates(snapshot, query, query_vector, depth, allowed)
    fused = fuse(similarities, [row for row, _ in lexical], depth, method)
    return [
        make_hit(snapshot, row, score, query_vector, similarities, scores)
        for row, score in fused[:k]
    ]


def candidates(
    snapshot, query: str, query_vector: np.ndarray, depth: int, allowed, collection=None
):
    """The dense candidates (row -> cosine, the ``min(size, 200)`` best), the lexical ones
    ((row, BM25) of the ``depth`` best rows sharing a term with the query, best first, ties by
    row) and every row's BM25 score; ``collection``: the BM25 statistics of a larger collection
    this snapshot is a shard of (``Lexicon.scores``)."""
    similarities = _dense_scores(snapshot, query_vector, allowed)
    lexical = snapshot.lexicon.scores(query, collection)
    if allowed is not None:
        mask = np.zeros(len(lexical), dtype=bool)
        mask[allowed] = True
    else:
        mask = snapshot.live  # dead rows (removed or replaced chunks) are never hits
    lexical = np.where(mask, lexical, 0.0)
    matching = np.flatnonzero(lexical > 0)  # rows sharing a term with the question
    top = matching[_top(lexical[matching], depth)]
    return similarities, [(int(row), float(lexical[row])) for row in top], lexical


def fuse(
    similarities: dict[int, float], lexical_rank: list[int], depth: int, method: str = "hybrid"
) -> list[tuple[int, float]]:
    """Rows by reciprocal rank fusion of the dense and lexical rankings, best first."""
    dense_rank = sorted(similarities, key=similarities.get, reverse=True)[:depth]
    rankings = {"hybrid": [dense_rank, lexical_rank], "dense": [dense_rank], "bm25": [lexical_rank]}
    return _reciprocal_rank_fusion(rankings[method])


def make_hit(snapshot, row: int, score: float, query_vector, similarities, lexical) -> Hit:
    """Row ``row`` as a hit of fused ``score``; ``lexical``: the BM25 score of every row."""
    chunk = snapshot.chunk(row)
    document = snapshot.documents[chunk.source]
    return Hit(
        chunk.text,
        score,
        document.title,
        chunk.source,
        chunk.start,
        chunk.end,
        chunk.page if document.format == "pdf" else None,
        float(similarities.get(row, _cosine(snapshot, row, query_vector))),
        float(lexical[row]),
        document.location_at(chunk.start),
    )


def check_query(query: str, k: int, method: str) -> None:
    """Raises ValueError for an empty query, ``k`` < 1 or an unknown method."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("the question is empty: ask something")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if method not in METHODS:
        raise ValueError(f"unknown retrieval method {method!r}: use one of {', '.join(METHODS)}")


def _allowed_rows(snapshot, sources: list[str] | None) -> np.ndarray | None:
    if sources is None:
        return None
    return rows_of_sources(snapshot, {indexed_source(snapshot.documents, s) for s in sources})


def rows_of_sources(snapshot, sources) -> np.ndarray:
    """The rows, in order, of those of the indexed ``sources`` the snapshot holds."""
    rows = [snapshot.rows_of[s] for s in sorted(set(sources)) if s in snapshot.rows_of]
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)


def indexed_source(documents, source: str) -> str:
    """The indexed source a filter names (``documents``: the indexed sources, or a mapping by
    them): as stored, or a path relative to the working folder."""
    if source in documents:
        return source
    resolved = str(Path(source).expanduser().resolve())
    if resolved in documents:
        return resolved
    raise ValueError(f"no indexed document {source!r}: filter by a source listed by 'rag info'")


def _dense_scores(
    snapshot, query_vector: np.ndarray, allowed: np.ndarray | None
) -> dict[int, float]:
    """Row -> cosine similarity of the ``depth`` best live rows (of ``allowed`` when given):
    each segment is searched, and the best of all kept."""
    depth = min(snapshot.size, 200)
    if allowed is not None and len(allowed) <= EXACT_FILTER_ROWS:
        # A filter to a few documents is searched exactly: a graph walk restricted to a small
        # part of the graph can miss some of its rows.
        scores = snapshot.vectors_at(allowed) @ query_vector[0]
        best = _top(scores, depth)
        return {int(allowed[i]): float(scores[i]) for i in best}
    found: dict[int, float] = {}
    for n, segment in enumerate(snapshot.segments):
        if allowed is None:
            selector = snapshot.live_selector(n)
        else:
            mine = allowed[(allowed >= segment.first) & (allowed < segment.first + segment.rows)]
            if not len(mine):
                continue
            selector = faiss.IDSelectorBatch(mine - segment.first)
        if isinstance(segment.index, faiss.IndexHNSW):
            ef = max(HNSW_EF_SEARCH, depth)
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
        else:
            params = None if selector is None else faiss.SearchParameters(sel=selector)
        scores, rows = segment.index.search(query_vector, min(depth, segment.rows), params=params)
        found.update(
            (int(r) + segment.first, float(s))
            for r, s in zip(rows[0], scores[0], strict=True)
            if r >= 0
        )
    best = sorted(found, key=lambda row: (-found[row], row))[:depth]
    return {row: found[row] for row in best}


def _top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the ``depth`` highest scores, best first, ties by index: a partial sort, so a
    million scores cost a few milliseconds, not a full sort."""
    if len(scores) > depth:
        candidates = np.argpartition(-scores, depth - 1)[:depth]
        threshold = scores[candidates].min()
        candidates = np.flatnonzero(scores >= threshold)  # all ties at the edge, as a sort keeps
    else:
        candidates = np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:depth]


def _cosine(snapshot, row: int, query_vector: np.ndarray) -> float:
    return float(snapshot.vectors_at(np.array([row]))[0] @ query_vector[0])


def _reciprocal_rank_fusion(rankings: list[list[int]]) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
