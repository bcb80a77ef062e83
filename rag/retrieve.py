"""Retrieval: dense (FAISS inner product) and BM25 rankings fused by reciprocal rank.

>>> hits = search(index, "What did the experts recommend mapping?", k=5)
>>> hits[0].title, hits[0].source, hits[0].start, hits[0].end
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bm25s
import faiss
import numpy as np
import Stemmer

__all__ = ["Hit", "Lexicon", "search"]

# Reciprocal rank fusion constant (Cormack et al. 2009); each ranking list contributes 1/(K + rank).
RRF_K = 60
# Candidates an HNSW search keeps while walking the graph: more is slower and closer to exact.
HNSW_EF_SEARCH = 256
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
    page: int | None
    similarity: float  # cosine similarity of question and chunk, in [-1, 1]
    bm25: float


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed word tokens, as BM25 sees them."""
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False
    )


class Lexicon:
    """BM25 over a fixed list of texts; saved and loaded in bm25s's own format (no pickle)."""

    def __init__(self, texts: list[str]):
        self.size = len(texts)
        self._bm25 = bm25s.BM25()
        if texts:
            tokenized = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
            self._bm25.index(tokenized, show_progress=False)

    def save(self, folder: Path) -> None:
        """Write the BM25 index into ``folder`` (created)."""
        self._bm25.save(str(folder), allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> Lexicon:
        """Read what ``save`` wrote for ``size`` texts.

        Raises:
            ValueError: the files are not a BM25 index of ``size`` texts.
        """
        lexicon = cls([])
        try:
            lexicon._bm25 = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
            documents = lexicon._bm25.scores["num_docs"]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a BM25 index: {exc}") from exc
        if documents != size:
            raise ValueError(f"a BM25 index of {documents} texts, expected {size}")
        lexicon.size = size
        return lexicon

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for the query, shape (size,)."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        tokens = tokenize([query])[0]
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


METHODS = ("hybrid", "dense", "bm25")


def search(
    index, query: str, k: int = 5, sources: list[str] | None = None, method: str = "hybrid"
) -> list[Hit]:
    """The ``k`` best chunks for ``query``, best first, optionally only from ``sources``.

    ``method`` "dense" or "bm25" uses one ranking alone (for measuring what fusion adds).

    Raises:
        ValueError: empty query, ``k`` < 1 or an unknown method.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("the question is empty: ask something")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if method not in METHODS:
        raise ValueError(f"unknown retrieval method {method!r}: use one of {', '.join(METHODS)}")
    snapshot = index._snapshot
    allowed = _allowed_rows(snapshot, sources)
    if not snapshot.chunks or (allowed is not None and not len(allowed)):
        return []
    depth = min(len(snapshot.chunks), max(50, 4 * k))
    query_vector = index.embedder.embed([query])  # (1, dim)
    similarities = _dense_scores(snapshot, query_vector, allowed)
    lexical = snapshot.lexicon.scores(query)
    if allowed is not None:
        mask = np.zeros(len(lexical), dtype=bool)
        mask[allowed] = True
        lexical = np.where(mask, lexical, 0.0)
    dense_rank = sorted(similarities, key=similarities.get, reverse=True)[:depth]
    lexical_rank = [int(i) for i in np.argsort(-lexical, kind="stable")[:depth] if lexical[i] > 0]
    rankings = {"hybrid": [dense_rank, lexical_rank], "dense": [dense_rank], "bm25": [lexical_rank]}
    fused = _reciprocal_rank_fusion(rankings[method])
    hits = []
    for row, score in fused[:k]:
        chunk = snapshot.chunks[row]
        document = snapshot.documents[chunk.source]
        hits.append(
            Hit(
                chunk.text,
                score,
                document.title,
                chunk.source,
                chunk.start,
                chunk.end,
                chunk.page,
                float(similarities.get(row, _cosine(snapshot, row, query_vector))),
                float(lexical[row]),
            )
        )
    return hits


def _allowed_rows(snapshot, sources: list[str] | None) -> np.ndarray | None:
    if sources is None:
        return None
    wanted = {_indexed_source(snapshot, source) for source in sources}
    rows = [snapshot.rows_of[s] for s in sorted(wanted) if s in snapshot.rows_of]
    return np.sort(np.concatenate(rows)) if rows else np.zeros(0, dtype=np.int64)


def _indexed_source(snapshot, source: str) -> str:
    """The indexed source a filter names: as stored, or a path relative to the working folder."""
    if source in snapshot.documents:
        return source
    resolved = str(Path(source).expanduser().resolve())
    if resolved in snapshot.documents:
        return resolved
    raise ValueError(f"no indexed document {source!r}: filter by a source listed by 'rag info'")


def _dense_scores(
    snapshot, query_vector: np.ndarray, allowed: np.ndarray | None
) -> dict[int, float]:
    depth = min(len(snapshot.chunks), 200)
    if allowed is not None and len(allowed) <= EXACT_FILTER_ROWS:
        # A filter to a few documents is searched exactly: a graph walk restricted to a small
        # part of the graph can miss some of its rows.
        scores = snapshot.vectors[allowed] @ query_vector[0]
        best = np.argsort(-scores, kind="stable")[:depth]
        return {int(allowed[i]): float(scores[i]) for i in best}
    selector = None if allowed is None else faiss.IDSelectorBatch(allowed)
    if isinstance(snapshot.faiss_index, faiss.IndexHNSW):
        ef = max(HNSW_EF_SEARCH, depth)
        params = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
    else:
        params = None if selector is None else faiss.SearchParameters(sel=selector)
    scores, rows = snapshot.faiss_index.search(query_vector, depth, params=params)
    return {int(r): float(s) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0}


def _cosine(snapshot, row: int, query_vector: np.ndarray) -> float:
    return float(snapshot.vectors[row] @ query_vector[0])


def _reciprocal_rank_fusion(rankings: list[list[int]]) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
