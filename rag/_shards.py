"""An index split into shards, each a normal index folder served by one Ray actor, searched with
the results of the whole index: the question is embedded once, every shard returns its best dense
and BM25 candidates (BM25 scored with the collection's statistics, not the shard's), and the
driver merges them exactly as ``rag.retrieve.search`` ranks one index's rows."""

from __future__ import annotations

import dataclasses
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag import _store
from rag.errors import ClusterError, IndexFormatError
from rag.ingest import Document
from rag.retrieve import (
    Collection,
    Hit,
    candidates,
    check_query,
    fuse,
    indexed_source,
    make_hit,
    rows_of_sources,
    tokenize,
)

SHARDS_FILE = "shards.json"
FORMAT = 1
FREQUENCIES_KEPT = 100_000  # query terms whose document frequency is kept


def shard_index(source: str | Path, out: str | Path, into: int) -> list[Path]:
    """Split the index at ``source`` into ``into`` shards under ``out`` (``shard-0``, …, each
    a normal index folder, and ``shards.json``): whole documents, in row order, about as many
    chunks each. Returns the shard folders.

    Raises:
        ValueError: ``into`` below 1 or above the number of documents; ``out`` not empty.
        IndexFormatError: ``source`` is not a sound index.
    """
    from rag.index import Index

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty: give a new folder for the shards")
    stored = _store.read(source)
    snapshot = stored.snapshot
    # Documents by their first live row. A document's live rows are one run (a sync adds each
    # document's chunks together), so the shards' rows, compacted, are the whole index's live
    # rows in order; compacting the whole first would build its HNSW graph for nothing.
    order = sorted(snapshot.rows_of, key=lambda s: int(snapshot.rows_of[s][0]))
    if not 1 <= into <= max(1, len(order)):
        raise ValueError(f"cannot split {len(order)} documents into {into} shards")
    groups = _contiguous_groups(order, [len(snapshot.rows_of[s]) for s in order], into)
    folders, sizes = [], []
    stand_in = _IdentityOnly(stored.identity)
    for n, group in enumerate(groups):
        mine = set(group)
        part = (
            type(snapshot)
            .create(
                {s: d for s, d in snapshot.documents.items() if s in mine},
                {s: c for s, c in snapshot.code_of.items() if s in mine},
                snapshot.chunks,
                snapshot.segments,
                snapshot.lexicon,
                next_code=snapshot.next_code,
            )
            .compacted()
        )
        folder = out / f"shard-{n}"
        shard = Index(stand_in, path=folder, settings=stored.settings)
        shard._snapshot = part
        shard.save()
        folders.append(folder)
        sizes.append(part.size)
    manifest = {
        "format": FORMAT,
        "shards": [f.name for f in folders],
        "rows": sizes,
        "embedder": stored.identity.describe(),
        "split_from": str(Path(source).resolve()),
    }
    temporary = out / f".{SHARDS_FILE}.tmp"
    temporary.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(temporary, out / SHARDS_FILE)
    return folders


def _contiguous_groups(order: list[str], counts: list[int], into: int) -> list[list[str]]:
    """``order`` cut into ``into`` runs of about equal total ``counts``, none empty."""
    total = np.cumsum(counts)
    cuts, previous = [], 0
    for i in range(1, into):
        target = total[-1] * i / into
        cut = int(np.searchsorted(total, target))  # documents before the one that crosses it
        if cut < len(order) and total[cut] - target < target - (total[cut - 1] if cut else 0):
            cut += 1  # ending after it comes closer
        cut = max(previous + 1, min(cut, len(order) - (into - i)))
        cuts.append(cut)
        previous = cut
    return [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]


def is_sharded(path: str | Path) -> bool:
    return (Path(path) / SHARDS_FILE).is_file()


class ShardServer:
    """One shard in an actor: its rows' candidates and hits for questions embedded elsewhere."""

    def __init__(self, folder: str, offset: int):
        self.snapshot = _store.read(folder).snapshot
        self.offset = offset  # its first row among all shards' rows
        self._last = None  # (query, collection, every row's BM25) of the last candidates

    def describe(self) -> dict:
        return {
            "size": self.snapshot.size,
            "lengths": self.snapshot.lexicon.lengths(0, self.snapshot.lexicon.size),
            "documents": list(self.snapshot.documents),
        }

    def frequencies(self, tokens: list[str]) -> list[float]:
        return self.snapshot.lexicon.document_frequencies(tokens)

    def candidates(self, query, query_vector, depth, sources, collection):
        """Its dense and lexical candidates, rows numbered among all shards' rows."""
        snapshot = self.snapshot
        allowed = None
        if sources is not None:  # resolved by the driver; those of other shards are not here
            allowed = rows_of_sources(snapshot, sources)
            if not len(allowed):
                return {}, []
        dense, lexical, scores = candidates(
            snapshot, query, query_vector, depth, allowed, collection
        )
        self._last = (query, collection, scores)  # hits for this question reuse them
        shift = self.offset
        return (
            {row + shift: score for row, score in dense.items()},
            [(row + shift, score) for row, score in lexical],
        )

    def hits(self, rows, query, query_vector, similarities, collection) -> list[Hit]:
        """Rows (numbered among all shards' rows, with their fused scores) as hits."""
        last = self._last
        if last is not None and last[:2] == (query, collection):
            scores = last[2]
        else:
            scores = self.snapshot.lexicon.scores(query, collection)
        mine = {row - self.offset: s for row, s in similarities.items()}
        return [
            make_hit(self.snapshot, row - self.offset, score, query_vector, mine, scores)
            for row, score in rows
        ]

    def document(self, source: str) -> Document | None:
        """The document as plain data (a loaded one reads its text from the store)."""
        document = self.snapshot.documents.get(source)
        if document is None:
            return None
        return Document(**{f.name: getattr(document, f.name) for f in dataclasses.fields(Document)})


class ShardedIndex:
    """An index split by ``shard_index``, served by one Ray actor a shard; ``rag.ask`` and
    ``search`` take it as they take an ``Index``, and give the same results.

    A shard whose actor dies (or does not answer within ``timeout_s``) makes a question fail with
    a ``ClusterError`` that names the shard: an answer from the other shards alone could be a
    wrong one, stated with confidence.
    """

    def __init__(self, folder: Path, embedder, actors: list, info: list[dict], timeout_s: float):
        self.path = folder
        self.embedder = embedder
        self.timeout_s = timeout_s
        self._actors = actors
        sizes = [i["size"] for i in info]
        self._offsets = [int(x) for x in np.cumsum([0, *sizes[:-1]])]
        self.size = int(sum(sizes))
        # The collection's average row length, computed as ``Lexicon`` computes it over all
        # rows in order, so that every shard scores BM25 exactly as the whole index does.
        lengths = np.concatenate([i["lengths"] for i in info])
        self._average = float(lengths.mean()) if len(lengths) else 1.0
        self._shard_of = {source: n for n, i in enumerate(info) for source in i["documents"]}
        self._frequencies: dict[str, float] = {}  # token -> rows of all shards holding it
        self._document = lru_cache(maxsize=256)(self._fetch_document)

    @classmethod
    def open(cls, folder: str | Path, cluster, embedder=None, timeout_s: float = 120.0):
        """Start one actor per shard of ``folder`` on ``cluster``, spread over its nodes.

        Raises:
            IndexFormatError: ``folder`` is not a sound sharded index.
            ClusterError: a shard's actor did not start or answer within ``timeout_s``.
        """
        import ray

        from embeddings import load_embedder

        folder = Path(folder)
        try:
            manifest = json.loads((folder / SHARDS_FILE).read_text("utf-8"))
            names, sizes = manifest["shards"], [int(n) for n in manifest["rows"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexFormatError(
                f"{folder} is not a sharded index ({exc}): make one with 'rag shard'"
            ) from None
        if manifest.get("format") != FORMAT:
            raise IndexFormatError(f"{folder}: sharded format {manifest.get('format')} unknown")
        identity = _store.read(folder / names[0]).identity
        embedder = embedder or load_embedder(identity.name)
        if embedder.identity != identity:
            raise IndexFormatError(
                f"the shards were built with {identity.describe()}, not "
                f"{embedder.identity.describe()}"
            )
        server = ray.remote(num_cpus=0, max_restarts=0)(ShardServer)
        offsets = np.cumsum([0, *sizes[:-1]])
        actors = [
            server.options(scheduling_strategy="SPREAD").remote(
                str((folder / name).resolve()), int(offset)
            )
            for name, offset in zip(names, offsets, strict=True)
        ]
        calls = {n: actor.describe.remote() for n, actor in enumerate(actors)}
        info = [_answers(calls, folder, timeout_s)[n] for n in range(len(actors))]
        if [i["size"] for i in info] != sizes:
            raise IndexFormatError(f"{folder}: the shards' rows differ from shards.json {sizes}")
        return cls(folder, embedder, actors, info, timeout_s)

    # The Index interface rag.ask uses ---------------------------------------------------------

    def pinned(self) -> ShardedIndex:
        return self  # shards are read-only: every question sees the same state

    def search(
        self, query: str, k: int = 5, sources: list[str] | None = None, method: str = "hybrid"
    ) -> list[Hit]:
        """As ``Index.search``: the ``k`` best chunks of all shards, best first."""
        check_query(query, k, method)
        if sources is not None:
            sources = [indexed_source(self._shard_of, s) for s in sources]
        if not self.size:
            return []
        depth = min(self.size, max(50, 4 * k))
        query_vector = self.embedder.embed([query])  # (1, dim), once for all shards
        collection = self._collection(query)
        calls = {
            n: actor.candidates.remote(query, query_vector, depth, sources, collection)
            for n, actor in enumerate(self._actors)
        }
        found: dict[int, float] = {}
        lexical: list[tuple[int, float]] = []
        for dense, words in _answers(calls, self.path, self.timeout_s).values():
            found.update(dense)
            lexical.extend(words)
        # Merged as one index ranks its rows: by score, ties by row.
        best = sorted(found, key=lambda row: (-found[row], row))[: min(self.size, 200)]
        similarities = {row: found[row] for row in best}
        lexical_rank = [row for row, _ in sorted(lexical, key=lambda x: (-x[1], x[0]))[:depth]]
        fused = fuse(similarities, lexical_rank, depth, method)[:k]
        by_shard: dict[int, list] = {}
        for row, score in fused:
            by_shard.setdefault(self._shard_at(row), []).append((row, score))
        calls = {
            n: self._actors[n].hits.remote(
                rows, query, query_vector,
                {r: s for r, s in similarities.items() if self._shard_at(r) == n}, collection,
            )
            for n, rows in by_shard.items()
        }  # fmt: skip
        answers = _answers(calls, self.path, self.timeout_s)
        hits = {
            row: hit
            for n, rows in by_shard.items()
            for (row, _), hit in zip(rows, answers[n], strict=True)
        }
        return [hits[row] for row, _ in fused]

    def document(self, source: str):
        """The indexed document ``source`` (from its shard), or None."""
        n = self._shard_of.get(source)
        return None if n is None else self._document(source, n)

    @property
    def documents(self) -> list:
        return [self.document(s) for s in self._shard_of]

    def chunk_count(self) -> int:
        return self.size

    def close(self) -> None:
        """Stop the shards' actors."""
        import ray

        for actor in self._actors:
            ray.kill(actor)

    # Helpers ------------------------------------------------------------------------------------

    def _fetch_document(self, source: str, n: int):
        return _answers({n: self._actors[n].document.remote(source)}, self.path, self.timeout_s)[n]

    def _collection(self, query: str) -> Collection:
        tokens = sorted(set(tokenize([query])[0]))
        known = {t: self._frequencies.get(t) for t in tokens}
        missing = [t for t, count in known.items() if count is None]
        if missing:  # one call a shard for all of the question's new terms, at once
            calls = {n: actor.frequencies.remote(missing) for n, actor in enumerate(self._actors)}
            counts = _answers(calls, self.path, self.timeout_s)
            if len(self._frequencies) > FREQUENCIES_KEPT:
                self._frequencies.clear()
            for i, token in enumerate(missing):
                # Summed as float32, as one index counts them.
                total = sum(np.float32(counts[n][i]) for n in sorted(counts))
                known[token] = self._frequencies[token] = float(np.float32(total))
        return Collection(self.size, self._average, known)

    def _shard_at(self, row: int) -> int:
        return int(np.searchsorted(self._offsets, row, side="right") - 1)


def _answers(calls: dict, folder: Path, timeout_s: float) -> dict:
    """The shards' answers to calls made at once (shard -> object reference), by shard.

    Raises:
        ClusterError: a shard's actor died or did not answer in ``timeout_s``; names it.
    """
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError

    answers = {}
    for n, reference in calls.items():
        try:
            answers[n] = ray.get(reference, timeout=timeout_s)
        except RayActorError:
            raise ClusterError(
                f"shard {n} ({folder / f'shard-{n}'}) is gone: its actor or node died; open the "
                "shards again (ShardedIndex.open, or run 'rag ask' again)"
            ) from None
        except GetTimeoutError:
            raise ClusterError(
                f"shard {n} ({folder / f'shard-{n}'}) did not answer within {timeout_s:.0f} s"
            ) from None
    return answers


class _IdentityOnly:
    """An embedder that only names the model an index was built with: what writing a shard
    (whose vectors exist already) needs."""

    def __init__(self, identity):
        self.identity = identity
        self.dim, self.max_tokens = identity.dim, identity.max_tokens

    def count_tokens(self, text: str) -> int:
        raise NotImplementedError("a shard is written from vectors that exist; nothing to embed")

    def embed(self, texts, progress=False):
        raise NotImplementedError("a shard is written from vectors that exist; nothing to embed")
