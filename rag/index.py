"""The index: documents, chunks and their vectors, kept in sync with folders and saved atomically.

>>> index = Index.build(["data/counter-trafficking"], path="index")
>>> index = Index.load("index")
>>> report = index.sync(["data/counter-trafficking"])   # re-embeds only what changed
>>> index.search("What did the experts recommend mapping?", k=5)
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from embeddings import Embedder, load_embedder, precision
from rag import _store
from rag._snapshot import FilesSeen, Snapshot, embedding_text, is_titled
from rag.chunk import Chunk, ChunkSettings, split_document
from rag.errors import EmbedderMismatchError, IndexFormatError
from rag.ingest import (
    Document,
    IngestLimits,
    SharedLines,
    Skipped,
    discover_sources,
    extract_files,
    file_sha256,
    line_hashes,
    mark_content,
)
from rag.retrieve import Hit, search

__all__ = ["Index", "SyncReport"]


@dataclass
class SyncReport:
    """What one indexing run did; ``skipped`` gives every file left out and why, ``truncated``
    every file indexed only in part and why."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    truncated: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    seconds_embedding: float = 0.0


class Index:
    """Documents, chunks and vectors of a collection, with hybrid search."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        path: str | Path | None = None,
        settings: ChunkSettings | None = None,
        limits: IngestLimits | None = None,
    ):
        self.embedder = embedder or load_embedder()
        self.path = _index_folder(path)
        self.settings = settings or ChunkSettings(max_tokens=self.embedder.max_tokens)
        if self.settings.max_tokens > self.embedder.max_tokens:
            raise ValueError(
                f"chunks of {self.settings.max_tokens} tokens would be truncated by "
                f"{self.embedder.identity.name} (limit {self.embedder.max_tokens})"
            )
        self.limits = limits or IngestLimits()
        self._snapshot = Snapshot.empty()
        self._write_lock = threading.Lock()
        self._generation: str | None = None  # the generation saved at self.path now
        self._saved: Snapshot | None = None  # that generation's state, which saves build on
        self._shared_lines: SharedLines | None = None  # of the snapshot's documents, once known

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether ``path`` holds a saved index (of any format this version reads)."""
        return _store.exists(path)

    @classmethod
    def build(
        cls,
        paths: list[str | Path],
        path: str | Path | None = None,
        model: str | None = None,
        progress: bool = False,
        limits: IngestLimits | None = None,
        cluster=None,
    ) -> Index:
        """Index files and folders; save to ``path`` when given (an index there is updated).
        ``limits`` bound what reading each file may cost, and set OCR; ``cluster`` (a
        ``rag.cluster.Cluster``) reads and embeds there."""
        if path and _store.exists(path):
            index = cls.load(path, model=model)
            index.limits = limits or index.limits
        else:
            index = cls(load_embedder(model), path=path, limits=limits)
        index.last_report = index.sync(paths, progress=progress, cluster=cluster)
        return index

    @classmethod
    def load(cls, path: str | Path, model: str | Embedder | None = None) -> Index:
        """Open a saved index, verifying its files and its embedding model.

        Raises:
            IndexFormatError: missing, damaged or incompatible files.
            EmbedderMismatchError: ``model`` differs from the one the index was built with.
        """
        stored = _store.read(path)
        if model is None or isinstance(model, str):
            embedder = load_embedder(model or stored.identity.name)
        else:
            embedder = model
        index = cls(embedder, path=path, settings=stored.settings)
        index._adopt(stored)
        return index

    def _adopt(self, stored: _store.StoredIndex) -> None:
        """Take a saved state as the current one."""
        if self.embedder.identity != stored.identity:
            raise EmbedderMismatchError(
                f"index at {self.path} was built with {stored.identity.describe()}, asked to use "
                f"{self.embedder.identity.describe()}: rebuild with 'rag index ... --index "
                f"{self.path} --model {self.embedder.identity.name}' into a new folder, or use "
                "the original model"
            )
        self.settings = stored.settings
        self._snapshot = stored.snapshot
        self._shared_lines = None
        self._generation, self._saved = stored.generation, self._snapshot

    # Reading ---------------------------------------------------------------------------------

    @property
    def documents(self) -> list[Document]:
        return sorted(self._snapshot.documents.values(), key=lambda d: d.source)

    def chunk_count(self, source: str | None = None) -> int:
        """Chunks in the index, or of one document."""
        snapshot = self._snapshot
        if source is None:
            return snapshot.size
        return len(snapshot.rows_of.get(source, ()))

    def document(self, source: str) -> Document | None:
        """The indexed document with this exact source path, or None."""
        return self._snapshot.documents.get(source)

    def pinned(self) -> Index:
        """A read-only view of the current state, unaffected by later syncs."""
        view = copy.copy(self)
        view.path = None  # a view never saves
        return view

    def search(
        self, query: str, k: int = 5, sources: list[str] | None = None, method: str = "hybrid"
    ) -> list[Hit]:
        """Hybrid (dense + BM25) search, best first; see ``rag.retrieve.search``."""
        return search(self, query, k=k, sources=sources, method=method)

    def info(self) -> dict:
        """Counts and settings, for ``rag info``."""
        snapshot = self._snapshot
        return {
            "path": str(self.path) if self.path else None,
            "model": self.embedder.identity.describe(),
            "documents": len(snapshot.documents),
            "chunks": snapshot.size,
            "max_tokens": self.settings.max_tokens,
            "overlap_sentences": self.settings.overlap_sentences,
            "embedding_precisions": _store.precisions(self.path) if self.path else [],
            "precision_now": precision.precision(),
        }

    def verify(self) -> list[str]:
        """Problems in the loaded index, [] when none: every chunk lies in its document, every
        vector is finite and of unit length, and the vectors and BM25 hold one row per chunk row.

        A saved index's files are read whole too: SQLite's integrity check, and every document
        text and segment against its checksum (``Index.load`` checks them only while they are
        small). This is ``rag verify``.
        """
        snapshot = self._snapshot
        problems = _store.verify_files(self.path) if self.path else []
        chunks = snapshot.chunks
        for source, rows in snapshot.rows_of.items():
            document = snapshot.documents[source]
            try:
                document.page_starts, document.content_spans, document.locations  # noqa: B018
            except IndexFormatError as exc:  # parsed when first read
                problems.append(str(exc))
            try:
                length = len(document.text)
            except IndexFormatError:
                continue  # a damaged text: reported by the file checks above
            starts, ends = chunks.starts[rows], chunks.ends[rows]
            for row in rows[(starts < 0) | (starts >= ends) | (ends > length)][:20]:
                problems.append(f"chunk {row} lies outside its document {source}")
        for segment in snapshot.segments:
            norms = np.linalg.norm(segment.vectors, axis=1)
            bad = np.flatnonzero(~np.isfinite(norms) | (np.abs(norms - 1) > 1e-3))
            problems += [f"vector {segment.first + row} is not of unit length" for row in bad[:20]]
        rows = len(chunks)
        for name, count in (
            ("vectors", sum(segment.rows for segment in snapshot.segments)),
            ("BM25 index", snapshot.lexicon.size),
        ):
            if count != rows:
                problems.append(f"{name} has {count} rows for {rows} chunk rows")
        return problems

    # Writing ---------------------------------------------------------------------------------

    def sync(self, paths: list[str | Path], progress: bool = False, cluster=None) -> SyncReport:
        """Bring the index in line with files and folders, re-embedding only what changed.

        Documents under ``paths`` whose files are gone are removed, as is any document whose file
        no longer exists. Files are read in worker processes within ``self.limits``, so a file
        that hangs or crashes a parser is skipped, not fatal. A file that cannot be read keeps its
        previously indexed version, and is not read again until it changes.
        Saves atomically when the index has a path. With a ``rag.cluster.Cluster``, new and
        changed files are read, and their chunks embedded, on the cluster; this process marks,
        chunks and commits them as usual.

        Raises:
            FileNotFoundError: a path in ``paths`` does not exist.
            rag.cluster.ClusterError: the cluster failed or ran out of time (nothing committed).
        """
        started = time.perf_counter()
        roots = [Path(p).expanduser().resolve() for p in paths]
        files, skipped = discover_sources(roots)
        with self._write_lock, self._folder_lock(progress):
            self._catch_up()
            old = self._snapshot
            report = SyncReport(skipped=skipped)
            read = cluster.extract_files if cluster else extract_files
            documents, unreadable, stats = self._read_documents(
                files, roots, old, report, progress, read
            )
            same = _same_documents(old, documents)
            if same:
                # Nothing to mark, chunk or embed again: only what was seen of the files changes.
                report.unchanged = [d.source for d in documents]
                seen = replace(old.seen, skipped=unreadable, stats=stats)
                snapshot = replace(old, seen=seen)
                changed = seen != old.seen
                if self.path and (changed or self._generation is None):
                    self._write(snapshot)
                else:
                    self._snapshot = snapshot
            else:
                encode = cluster.encoder(self.embedder) if cluster else None
                self._commit(old, documents, unreadable, stats, report, progress, encode)
        report.seconds = time.perf_counter() - started
        return report

    def remove(self, sources: list[str]) -> SyncReport:
        """Take documents out of the index, atomically (saved when the index has a path), as a
        sync does when their files are gone; the files themselves are not touched, so syncing
        their folder again brings them back.

        Raises:
            ValueError: a source is not an indexed document.
        """
        started = time.perf_counter()
        with self._write_lock, self._folder_lock(progress=False):
            self._catch_up()
            old = self._snapshot
            unknown = [s for s in sources if s not in old.documents]
            if unknown:
                raise ValueError(
                    f"{unknown[0]!r} is not a document in this index: 'rag info' lists them"
                )
            gone = set(sources)
            documents = [d for s, d in old.documents.items() if s not in gone]
            unreadable = {s: v for s, v in old.seen.skipped.items() if s not in gone}
            stats = {s: v for s, v in old.seen.stats.items() if s not in gone}
            report = SyncReport()
            self._commit(old, documents, unreadable, stats, report, progress=False)
        report.seconds = time.perf_counter() - started
        return report

    def _commit(
        self, old: Snapshot, documents, unreadable, stats, report, progress, encode=None
    ) -> None:
        """Make ``documents`` the index's content: marked against the collection, new and changed
        ones embedded, saved when there is a path. Call it holding both locks."""
        # Taken while brought up to date: a failed sync leaves none, not a wrong one.
        shared, self._shared_lines = self._shared_lines, None
        shared = shared or SharedLines(old.seen.line_hashes.values())
        documents, lines = _mark(old, documents, shared)
        seen = FilesSeen(unreadable, stats, lines)
        snapshot = self._rebuild(old, documents, seen, report, progress, encode)
        if self.path:
            self._write(snapshot)
        else:
            self._snapshot = snapshot
        self._shared_lines = shared

    def save(self, path: str | Path | None = None) -> None:
        """Write the index to ``path`` (or its own path) atomically."""
        if path:
            self.path = _index_folder(path)
        if not self.path:
            raise ValueError("no path to save to: pass one, or build with path=...")
        with self._write_lock, self._folder_lock(progress=False):
            if _store.generation(self.path) != self._generation:
                self._generation = self._saved = None  # another folder, or changed: write all
            self._write(self._snapshot)

    def _write(self, snapshot: Snapshot) -> None:
        """Save ``snapshot`` as the state of ``self.path`` (only what changed since the state
        saved there) and make it current. Call it holding both locks."""
        previous = self._saved if self._generation is not None else None
        self._generation = _store.write(self.path, self, snapshot, previous)
        self._snapshot = self._saved = snapshot

    def _folder_lock(self, progress: bool):
        """The index folder's writer lock across processes (nothing to lock without a path)."""
        return _store.writer_lock(self.path, progress) if self.path else contextlib.nullcontext()

    def _catch_up(self) -> None:
        """Load what another process saved since this one last read or wrote the folder, so
        its work is built on, never overwritten. Call holding the folder lock."""
        saved = _store.generation(self.path) if self.path else None
        if saved is None:
            self._generation = self._saved = None  # nothing there (any more): write it all
        elif saved != self._generation:
            self._adopt(_store.read(self.path))

    def _read_documents(self, files: list[str], roots, old: Snapshot, report, progress, read):
        """(documents as extracted, the unreadable files' fingerprints and reasons)."""
        found = set(files)
        keep = [
            s
            for s in old.documents
            if s not in found and not _is_under(s, roots) and Path(s).is_file()
        ]
        documents: list[Document] = []
        unreadable: dict[str, tuple[str, str]] = {}
        stats: dict[str, tuple[int, int, str]] = {}
        sources = [*files, *keep]
        for source in sources:
            fingerprint = _fingerprint(source, old.seen.stats, stats)
            previous = old.documents.get(source)
            known = old.seen.skipped.get(source)
            if previous and fingerprint == previous.file_sha256:
                documents.append(previous)  # no need to parse the file again
            elif known and fingerprint == known[0]:
                unreadable[source] = known
                report.skipped.append(Skipped(source, known[1]))
                if previous:
                    documents.append(previous)
        done = {d.source for d in documents} | set(unreadable)
        to_read = [s for s in sources if s not in done]
        for result in read(to_read, self.limits, progress):
            previous = old.documents.get(result.source)
            if result.document is None:
                report.skipped.append(Skipped(result.source, result.note))
                if result.source in stats:  # it could be hashed: remember it until it changes
                    unreadable[result.source] = (stats[result.source][2], result.note)
                if previous:  # a file that turned unreadable keeps its indexed version
                    documents.append(previous)
                continue
            if result.note:
                report.truncated.append(Skipped(result.source, result.note))
            documents.append(result.document)
        return documents, unreadable, stats

    def _rebuild(self, old: Snapshot, documents, seen, report: SyncReport, progress, encode=None):
        """The next state: new and changed documents chunked and embedded as one more segment,
        under new codes (so their old rows, and those of removed documents, are dead)."""
        code_of, new_chunks, next_code = {}, [], old.next_code
        for source, doc in documents.items():
            previous = old.documents.get(source)
            if previous is doc or (previous and previous.content_sha256 == doc.content_sha256):
                report.unchanged.append(source)
                code_of[source] = old.code_of[source]
                continue
            (report.updated if previous else report.added).append(source)
            code_of[source], next_code = next_code, next_code + 1
            new_chunks.extend(self._split(doc))
        report.removed.extend(s for s in old.documents if s not in documents)
        texts = [embedding_text(documents[c.source], c) for c in new_chunks]
        started = time.perf_counter()
        more = {"encode": encode} if encode else {}  # where else to embed: a cluster
        vectors = self.embedder.embed(texts, progress=progress, **more)
        report.seconds_embedding = time.perf_counter() - started
        report.chunks_embedded = len(new_chunks)
        snapshot = old.appended(documents, code_of, next_code, new_chunks, vectors, texts, seen)
        return snapshot.maintained()

    def _split(self, document: Document) -> list[Chunk]:
        """Chunks sized so that the title put in front of them still fits the model."""
        settings = self.settings
        if is_titled(document):
            title_tokens = self.embedder.count_tokens(document.title) + 1
            settings = replace(settings, max_tokens=settings.max_tokens - title_tokens)
        return split_document(document, self.embedder.count_tokens, settings)


def _index_folder(path: str | Path | None) -> Path | None:
    """The folder an index is kept in; a path naming a file is refused before any work."""
    if not path:
        return None
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"index path {folder} is a file, not a folder: pass a folder instead")
    return folder


def _mark(old: Snapshot, documents: list[Document], shared: SharedLines):
    """Mark content against the collection: (documents by source, their line hashes).

    ``shared`` holds the line counts of ``old``'s documents and is brought up to date. A document
    unchanged since ``old`` keeps its marking unless one of its lines became, or stopped being,
    boilerplate: only new and changed documents are read line by line.
    """
    hashes, reusable = {}, {}
    for document in documents:
        previous = old.documents.get(document.source)
        known = document.source in old.seen.line_hashes
        if known and previous and previous.file_sha256 == document.file_sha256:
            hashes[document.source] = old.seen.line_hashes[document.source]
            reusable[document.source] = previous
        else:
            hashes[document.source] = line_hashes(document)
    before = old.seen.line_hashes
    flipped = shared.update(
        [h for source, h in before.items() if hashes.get(source) is not h],
        [h for source, h in hashes.items() if before.get(source) is not h],
    )
    marked = {}
    for source, previous in reusable.items():
        if not hashes[source] & flipped:
            marked[source] = previous
    # Marked anew from the text as extracted (an indexed document's marking and derived title
    # are set aside first).
    fresh = [
        _as_extracted(d) if d is old.documents.get(d.source) else d
        for d in documents
        if d.source not in marked
    ]
    marked.update((d.source, d) for d in mark_content(fresh, shared.boilerplate))
    return {d.source: marked[d.source] for d in documents}, hashes


def _same_documents(old: Snapshot, documents: list[Document]) -> bool:
    """Whether ``documents`` are the old snapshot's, none read anew and none gone."""
    return len(documents) == len(old.documents) and all(
        d.source in old.documents and d.file_sha256 == old.documents[d.source].file_sha256
        for d in documents
    )


def _fingerprint(source: str, known: dict, seen: dict) -> str | None:
    """The file's sha256: as last seen when its size and modification time are unchanged (the
    file is not read), else read and hashed; None when it cannot be read. Records it in
    ``seen``."""
    try:
        stat = os.stat(source)
    except OSError:
        return None
    size_and_time = (stat.st_size, stat.st_mtime_ns)
    previous = known.get(source)
    if previous and tuple(previous[:2]) == size_and_time:
        seen[source] = previous  # the same object: a save sees at once that it did not change
        return previous[2]
    sha = file_sha256(source)
    if sha is not None:
        seen[source] = (*size_and_time, sha)
    return sha


def _as_extracted(document: Document) -> Document:
    """A document as extraction left it: content and derived title are marked again per sync."""
    if document.title_source == "metadata":
        return replace(document, content_spans=())
    return replace(document, content_spans=(), title="", title_source="filename")


def _is_under(source: str, roots: list[Path]) -> bool:
    path = Path(source)
    return any(path == root or root in path.parents for root in roots)
