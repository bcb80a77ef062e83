"""An index on disk: a SQLite store of record, updated in place, and immutable segment files.

``store.sqlite`` (WAL) holds the documents, the chunks (by a stable id), what syncs learnt about
the files, and the list of segments with their sha256. A segment holds the vectors or the BM25
term counts of the chunks one sync added (ids ``first_id`` to ``first_id + rows - 1``); a chunk
that is removed or replaced leaves its rows behind as dead rows, dropped on load and rewritten
away when they pile up. A save writes its new segments, fsyncs them, then commits one SQLite
transaction naming them: a crash at any moment leaves the previous state or the new one, and
files no commit names are removed by the next writer. Readers read in one SQLite read
transaction, so they see one state and never wait for a writer.

Format 1 and 2 indexes (a manifest naming whole-index files) are read, and saved as format 3.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
import uuid
import zlib
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
import scipy.sparse

from embeddings import EmbedderIdentity
from rag.chunk import Chunk, ChunkSettings
from rag.errors import IndexFormatError, IndexLockedError
from rag.ingest import Document, file_sha256
from rag.retrieve import Lexicon

# 3: a SQLite store of record changed in place, with vector and BM25 segments per sync.
# 2: chunk text is not stored twice, it is read from the document's text at the chunk's offsets.
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)  # 1 stored chunk text too; the same offsets give the same text
STORE = "store.sqlite"
MANIFEST = "manifest.json"  # formats 1 and 2
LOCK = ".writer.lock"
# A second writer waits this long for the first before giving up with a clear error.
LOCK_WAIT_S = 600.0
PACKAGE_VERSION = "0.1.0"
# Segments are checked against their sha256 on every load while they hold at most this many
# bytes in all; above, by size (reading gigabytes costs seconds per load); `rag verify` reads all.
VERIFY_ON_LOAD_BYTES = 256 * 2**20
# A save rewrites everything as one segment of each kind once this share of the saved rows is
# dead, or there are this many vector segments.
COMPACT_DEAD_SHARE = 0.25
COMPACT_SEGMENTS = 32
_SEGMENT_PREFIXES = ("vectors-", "bm25-", "hnsw-", STORE + ".new-")
_LEGACY_PREFIXES = ("store-", "vectors-", "bm25-", MANIFEST)


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


@dataclass(frozen=True)
class StoredIndex:
    """What a load found. ``faiss_index`` is the saved dense index when one was saved whole (an
    HNSW graph, or a format 1/2 index); else ``vectors`` are the live rows' vectors to index."""

    identity: EmbedderIdentity
    settings: ChunkSettings
    documents: dict[str, Document]
    chunks: list[Chunk]
    seen: FilesSeen
    generation: str
    faiss_index: faiss.Index | None
    vectors: np.ndarray | None
    lexicon: Lexicon | None  # None for an index saved before BM25 was kept: rebuilt on load
    ids: np.ndarray  # the chunks' stable ids, ascending
    next_id: int


def exists(path: str | Path) -> bool:
    return (Path(path) / STORE).is_file() or (Path(path) / MANIFEST).is_file()


@contextlib.contextmanager
def writer_lock(path: Path, progress: bool = False, wait_s: float = LOCK_WAIT_S):
    """Hold the index folder's writer lock (one writer at a time across processes).

    Readers never take it: they read whole generations named by the manifest. The lock is an
    ``flock`` on a file in the folder, so it is released when its process ends, however it ends.

    Raises:
        IndexLockedError: another process held it for ``wait_s`` seconds.
    """
    path.mkdir(parents=True, exist_ok=True)
    with open(path / LOCK, "a") as handle:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"another process has been writing to the index at {path} for over "
                        f"{wait_s:g} s: wait for it to finish, then run this again"
                    ) from None
                if progress and not told:
                    print(f"Waiting for another process writing to {path}…", file=sys.stderr)
                    told = True
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def generation(path: str | Path) -> str | None:
    """The generation saved now, or None without a readable index."""
    store = Path(path) / STORE
    if store.is_file():
        try:
            db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
            try:
                return db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
            finally:
                db.close()
        except (sqlite3.Error, TypeError):
            return None
    try:
        return json.loads((Path(path) / MANIFEST).read_text("utf-8"))["files"]["store"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(path: Path, index, snapshot, previous=None):
    """Save ``snapshot``; returns (generation, the snapshot as saved).

    ``previous`` is the state the folder holds now, as this writer read or wrote it: then only
    the difference is written (new documents, chunks and segments; removed ones deleted). Without
    it, or once dead rows pile up, everything is written, with chunk ids renumbered from 0 (the
    returned snapshot carries them). Call it holding ``writer_lock``.
    """
    path.mkdir(parents=True, exist_ok=True)
    store = path / STORE
    if previous is None or not store.is_file() or _worth_compacting(store, snapshot):
        count = len(snapshot.chunks)
        snapshot = _with_ids(snapshot, np.arange(count, dtype=np.int64), count)
        return _write_everything(path, index, snapshot), snapshot
    return _write_change(path, snapshot, previous), snapshot


def _with_ids(snapshot, ids: np.ndarray, next_id: int):
    from dataclasses import replace

    return replace(snapshot, ids=ids, next_id=next_id)


def _worth_compacting(store: Path, snapshot) -> bool:
    dead = snapshot.next_id - len(snapshot.ids)
    if dead > COMPACT_DEAD_SHARE * max(snapshot.next_id, 1):
        return True
    db = sqlite3.connect(store)
    try:
        (segments,) = db.execute("SELECT count(*) FROM segments WHERE kind = 'vectors'").fetchone()
    except sqlite3.Error:
        return True  # a store this code cannot update in place is written anew
    finally:
        db.close()
    return segments + 1 > COMPACT_SEGMENTS


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE documents (source TEXT PRIMARY KEY, format TEXT, text TEXT, text_crc32 INTEGER,
    file_sha256 TEXT, title TEXT, title_source TEXT, page_starts TEXT, content_spans TEXT);
CREATE TABLE chunks (id INTEGER PRIMARY KEY, source TEXT, start INTEGER, end INTEGER,
    page INTEGER);
CREATE TABLE skipped (source TEXT PRIMARY KEY, file_sha256 TEXT, reason TEXT);
CREATE TABLE files (source TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, file_sha256 TEXT);
CREATE TABLE lines (source TEXT PRIMARY KEY, hashes BLOB);
CREATE TABLE segments (name TEXT PRIMARY KEY, kind TEXT, first_id INTEGER, rows INTEGER,
    bytes INTEGER, sha256 TEXT);
"""
_TABLES = ("meta", "documents", "chunks", "skipped", "files", "lines", "segments")


def _write_everything(path: Path, index, snapshot) -> str:
    segments = _write_segments(path, snapshot, 0, 0, graph=True)
    store = path / STORE
    if store.is_file():
        db = _open_for_writing(store)
        try:
            with db:  # one transaction
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table}")
                generation = _insert_everything(db, index, snapshot, segments)
            _remove_unnamed(path, db)
        finally:
            db.close()
        return generation
    # A new store is filled without a journal under another name, then renamed into place.
    temporary = path / f"{STORE}.new-{uuid.uuid4().hex[:12]}"
    db = sqlite3.connect(temporary)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        generation = _insert_everything(db, index, snapshot, segments)
        db.commit()
    finally:
        db.close()
    _fsync(temporary)
    os.replace(temporary, store)
    _fsync_dir(path)
    db = _open_for_writing(store)
    try:
        _remove_unnamed(path, db)
    finally:
        db.close()
    return generation


def _insert_everything(db, index, snapshot, segments) -> str:
    meta = {
        "format_version": FORMAT_VERSION,
        "embedder": json.dumps(asdict(index.embedder.identity)),
        "chunk_settings": json.dumps(asdict(index.settings)),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
    _write_changes(db, "documents", {}, snapshot.documents, _document_row)
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)", _chunk_rows(snapshot, range(len(snapshot.ids)))
    )
    _write_seen(db, FilesSeen(), snapshot.seen)
    db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)", segments)
    return _write_meta(db, snapshot)


def _write_change(path: Path, snapshot, previous) -> str:
    first_new = int(np.searchsorted(snapshot.ids, previous.next_id))
    # An HNSW graph that changed is written whole (a known cost, from APPROXIMATE_FROM chunks).
    graph = snapshot.faiss_index is not previous.faiss_index
    terms = len(previous.lexicon.vocabulary)
    segments = _write_segments(path, snapshot, first_new, terms, graph)
    removed = np.setdiff1d(previous.ids, snapshot.ids, assume_unique=True)
    db = _open_for_writing(path / STORE)
    try:
        with db:  # one transaction
            db.executemany("DELETE FROM chunks WHERE id = ?", [(int(i),) for i in removed])
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
                _chunk_rows(snapshot, range(first_new, len(snapshot.ids))),
            )
            _write_changes(db, "documents", previous.documents, snapshot.documents, _document_row)
            _write_seen(db, previous.seen, snapshot.seen)
            if graph or not _is_approximate(snapshot.faiss_index):
                db.execute("DELETE FROM segments WHERE kind = 'hnsw'")  # replaced, or gone
            db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)", segments)
            generation = _write_meta(db, snapshot)
        _remove_unnamed(path, db)
    finally:
        db.close()
    return generation


def _write_meta(db, snapshot) -> str:
    generation = uuid.uuid4().hex[:12]
    meta = {
        "package_version": PACKAGE_VERSION,
        "generation": generation,
        "next_id": snapshot.next_id,
        "documents": len(snapshot.documents),
        "chunks": len(snapshot.chunks),
    }
    rows = [(key, str(value)) for key, value in meta.items()]
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
    return generation


def _write_segments(path: Path, snapshot, first_row: int, first_term: int, graph: bool):
    """Write the vectors and BM25 counts of rows ``first_row`` on (ids consecutive from there),
    and with ``graph`` the HNSW graph whole when the dense index is one; returns their rows of
    the ``segments`` table."""
    segments = []
    rows = len(snapshot.ids) - first_row
    if rows:
        first_id = int(snapshot.ids[first_row])
        if int(snapshot.ids[-1]) != first_id + rows - 1:
            raise ValueError("new chunk ids must be consecutive")  # a bug, never a user's error
        name = f"vectors-{uuid.uuid4().hex[:12]}.npy"
        with (path / name).open("wb") as handle:
            np.save(handle, np.ascontiguousarray(snapshot.vectors[first_row:], dtype=np.float32))
            handle.flush()
            os.fsync(handle.fileno())
        segments.append((name, "vectors", first_id, rows, *_size_and_sha256(path / name)))
        name = f"bm25-{uuid.uuid4().hex[:12]}"
        folder = path / name
        folder.mkdir()
        counts = snapshot.lexicon.rows_from(first_row)
        scipy.sparse.save_npz(folder / "counts.npz", counts, compressed=False)
        terms = snapshot.lexicon.terms(first_term)
        (folder / "terms.json").write_text(json.dumps(terms), encoding="utf-8")
        for written in folder.iterdir():
            _fsync(written)
        _fsync_dir(folder)
        segments.append((name, "bm25", first_id, rows, *_size_and_sha256(folder)))
    if graph and _is_approximate(snapshot.faiss_index):
        name = f"hnsw-{uuid.uuid4().hex[:12]}.faiss"
        _write_bytes(path / name, faiss.serialize_index(snapshot.faiss_index).tobytes())
        segments.append((name, "hnsw", 0, len(snapshot.ids), *_size_and_sha256(path / name)))
    if segments:
        _fsync_dir(path)
    return segments


def _is_approximate(index) -> bool:
    return isinstance(index, faiss.IndexHNSW)


def _chunk_rows(snapshot, rows):
    return [
        (int(snapshot.ids[row]), c.source, c.start, c.end, c.page)
        for row in rows
        for c in (snapshot.chunks[row],)
    ]


def _document_row(source: str, d: Document) -> tuple:
    return (
        source,
        d.format,
        d.text,
        zlib.crc32(d.text.encode("utf-8", "surrogatepass")),
        d.file_sha256,
        d.title,
        d.title_source,
        json.dumps(d.page_starts),
        json.dumps(d.content_spans),
    )


def _write_seen(db, old: FilesSeen, new: FilesSeen) -> None:
    _write_changes(db, "skipped", old.skipped, new.skipped, lambda s, v: (s, *v))
    _write_changes(db, "files", old.stats, new.stats, lambda s, v: (s, *v))
    _write_changes(
        db,
        "lines",
        old.line_hashes,
        new.line_hashes,
        lambda s, v: (s, array("Q", sorted(v)).tobytes()),
    )


def _write_changes(db, table: str, old: dict, new: dict, row) -> None:
    """Delete the rows of sources gone from ``new``; write those new or different."""
    db.executemany(f"DELETE FROM {table} WHERE source = ?", [(s,) for s in old if s not in new])
    changed = [row(s, v) for s, v in new.items() if not (old.get(s) is v or old.get(s) == v)]
    if changed:
        marks = ", ".join("?" * len(changed[0]))
        db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", changed)


def _open_for_writing(store: Path) -> sqlite3.Connection:
    db = sqlite3.connect(store)
    db.execute("PRAGMA journal_mode=WAL")  # readers keep reading while a writer commits
    db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before old segments go
    return db


def _remove_unnamed(path: Path, db) -> None:
    """Remove segment files no commit names (left by a crash, or replaced), and the files of a
    format 1/2 index this one replaced."""
    named = {name for (name,) in db.execute("SELECT name FROM segments")}
    for entry in path.iterdir():
        name = entry.name
        if name in named or not name.startswith(_SEGMENT_PREFIXES + _LEGACY_PREFIXES):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def read(path: str | Path) -> StoredIndex:
    """Read and check an index folder (segments against their sha256 while small in all).

    Raises:
        IndexFormatError: anything missing, unreadable, of another format version, or corrupted.
    """
    path = Path(path)
    if not (path / STORE).is_file():
        return _read_legacy(path)
    for _ in range(5):
        try:
            return _read_store(path)
        except _Replaced:
            continue  # a writer replaced segments while this was reading: read the new state
    raise IndexFormatError(f"index at {path} kept changing while being read: try again")


class _Replaced(Exception):
    pass


def _read_store(path: Path) -> StoredIndex:
    store = path / STORE
    try:
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        try:
            db.execute("BEGIN")  # one consistent state, whatever a writer commits meanwhile
            meta = dict(db.execute("SELECT key, value FROM meta"))
            version = int(meta.get("format_version", 0))
            if version != FORMAT_VERSION:
                _refuse_version(path, version)
            identity = EmbedderIdentity(**json.loads(meta["embedder"]))
            settings = ChunkSettings(**json.loads(meta["chunk_settings"]))
            documents, text_bytes = {}, 0
            for row in db.execute("SELECT * FROM documents"):
                documents[row[0]] = _document(row[:2] + row[4:], text=row[2])
                text_bytes += len(row[2])
            chunk_rows = db.execute("SELECT id, source, start, end, page FROM chunks ORDER BY id")
            ids, chunks = array("q"), []
            for chunk_id, source, start, end, page in chunk_rows:
                ids.append(chunk_id)
                text = documents[source].text
                if not 0 <= start < end <= len(text):
                    raise ValueError(f"chunk {chunk_id} lies outside its document")
                chunks.append(Chunk(source, start, end, page, text[start:end]))
            seen = _read_seen(db)
            segments = list(db.execute("SELECT * FROM segments ORDER BY kind, first_id"))
            crcs = {}
            if text_bytes <= VERIFY_ON_LOAD_BYTES:
                crcs = dict(db.execute("SELECT source, text_crc32 FROM documents"))
        finally:
            db.close()
        ids = np.frombuffer(ids, dtype=np.int64)
        generation, next_id = meta["generation"], int(meta["next_id"])
        counts = int(meta["documents"]), int(meta["chunks"])
    except IndexFormatError:
        raise
    except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
        raise IndexFormatError(
            f"index file {store} is corrupted or unreadable ({exc}): rebuild the index"
        ) from exc
    for source, crc in crcs.items():
        if zlib.crc32(documents[source].text.encode("utf-8", "surrogatepass")) != crc:
            raise IndexFormatError(
                f"index file {store} is corrupted (the text of {source} fails its checksum): "
                "rebuild the index"
            )
    _check_segments(path, segments, generation)
    by_kind = {kind: [s for s in segments if s[1] == kind] for kind in ("vectors", "bm25", "hnsw")}
    faiss_index = vectors = None
    if by_kind["hnsw"]:
        faiss_index = _read_vectors(path / by_kind["hnsw"][0][0], identity.dim)
        rows = faiss_index.ntotal
    else:
        vectors = _live_rows(path, by_kind["vectors"], ids, identity.dim)
        rows = len(vectors)
    lexicon = _read_lexicon(path, by_kind["bm25"], ids)
    if not (len(documents) == counts[0] and len(chunks) == counts[1] == rows == lexicon.size):
        raise IndexFormatError(f"index at {path} has inconsistent counts: rebuild the index")
    return StoredIndex(
        identity, settings, documents, chunks, seen, generation, faiss_index, vectors, lexicon,
        ids, next_id,
    )  # fmt: skip


def _refuse_version(path: Path, version) -> None:
    readable = ", ".join(map(str, READABLE_VERSIONS))
    raise IndexFormatError(
        f"index at {path} has format version {version!r}, this rag reads {readable}: "
        "rebuild it with 'rag index'"
    )


def _document(row: tuple, text: str) -> Document:
    source, format_, sha, title, title_source, page_starts, content_spans = row
    return Document(
        source=source,
        format=format_,
        text=text,
        file_sha256=sha,
        title=title,
        title_source=title_source,
        page_starts=tuple(json.loads(page_starts)),
        content_spans=tuple(tuple(span) for span in json.loads(content_spans)),
    )


def _read_seen(db) -> FilesSeen:
    skipped = {s: (sha, r) for s, sha, r in db.execute("SELECT * FROM skipped")}
    stats = {s: (size, mtime, sha) for s, size, mtime, sha in db.execute("SELECT * FROM files")}
    line_hashes = {}
    for source, blob in db.execute("SELECT * FROM lines"):
        hashes = array("Q")
        hashes.frombytes(blob)
        line_hashes[source] = frozenset(hashes)
    return FilesSeen(skipped, stats, line_hashes)


def _check_segments(path: Path, segments: list[tuple], generation: str) -> None:
    """Every segment is there and of its size; and matches its sha256 while they are small."""
    full = sum(s[4] for s in segments) <= VERIFY_ON_LOAD_BYTES
    for name, _, _, _, size, sha in segments:
        file_path = path / Path(name).name  # names only: nothing outside the folder
        if not file_path.exists():
            if globals()["generation"](path) != generation:
                raise _Replaced
            raise IndexFormatError(f"index file {file_path} is missing: rebuild the index")
        actual_size, actual_sha = _size_and_sha256(file_path) if full else (_size(file_path), sha)
        if (actual_size, actual_sha) != (size, sha):
            raise IndexFormatError(
                f"index file {file_path} is corrupted (checksum mismatch): rebuild the index"
            )


def _live_rows(path: Path, segments: list[tuple], ids: np.ndarray, dim: int) -> np.ndarray:
    """The vectors of the live chunk ids, in id order, from the segments holding them."""
    parts = []
    for name, _, first_id, rows, _, _ in segments:
        file_path = path / name
        try:
            vectors = np.load(file_path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"index file {file_path} is unreadable: {exc}") from exc
        if vectors.shape != (rows, dim) or vectors.dtype != np.float32:
            raise IndexFormatError(
                f"index file {file_path} holds {vectors.shape} {vectors.dtype} vectors, expected "
                f"({rows}, {dim}) float32: rebuild the index"
            )
        live = ids[(ids >= first_id) & (ids < first_id + rows)] - first_id
        parts.append(vectors if len(live) == rows else vectors[live])
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.concatenate(parts) if len(parts) > 1 else np.asarray(parts[0])


def _read_lexicon(path: Path, segments: list[tuple], ids: np.ndarray) -> Lexicon:
    terms, counts = [], []
    for name, _, first_id, rows, _, _ in segments:
        folder = path / name
        try:
            part = scipy.sparse.load_npz(folder / "counts.npz").tocsr()
            new_terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise IndexFormatError(f"index file {folder} is unreadable: {exc}") from exc
        terms.extend(new_terms)
        if part.shape != (rows, len(terms)) or not all(isinstance(t, str) for t in new_terms):
            raise IndexFormatError(f"index file {folder} is not the BM25 counts it should be")
        live = ids[(ids >= first_id) & (ids < first_id + rows)] - first_id
        counts.append(part if len(live) == rows else part[live])
    for i, part in enumerate(counts):
        part.resize((part.shape[0], len(terms)))
        counts[i] = part
    if not counts:
        return Lexicon()
    return Lexicon.from_counts(terms, scipy.sparse.vstack(counts, format="csr"))


def verify_files(path: str | Path) -> list[str]:
    """Problems found reading every byte of a saved index ([] when none): SQLite's integrity
    check, every document's text and every segment against its checksum."""
    store = Path(path) / STORE
    if not store.is_file():
        return []  # a format 1/2 index is checked whole on every load
    problems = []
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        db.execute("BEGIN")
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems += [f"{STORE}: {line}" for line in result[:20]]
        for source, text, crc in db.execute("SELECT source, text, text_crc32 FROM documents"):
            if zlib.crc32(text.encode("utf-8", "surrogatepass")) != crc:
                problems.append(f"the text of {source} fails its checksum")
        segments = list(db.execute("SELECT name, bytes, sha256 FROM segments"))
    except sqlite3.Error as exc:
        problems.append(f"{STORE} is unreadable: {exc}")
        segments = []
    finally:
        db.close()
    for name, size, sha in segments:
        file_path = Path(path) / name
        if not file_path.exists():
            problems.append(f"index file {name} is missing")
        elif _size_and_sha256(file_path) != (size, sha):
            problems.append(f"index file {name} is corrupted (checksum mismatch)")
    return problems


def _size(file_path: Path) -> int:
    if file_path.is_dir():
        return sum(f.stat().st_size for f in file_path.iterdir())
    return file_path.stat().st_size


def _size_and_sha256(file_path: Path) -> tuple[int, str]:
    return _size(file_path), _sha256(file_path)


def _fsync(file_path: Path) -> None:
    with file_path.open("rb+") as handle:
        os.fsync(handle.fileno())


# Formats 1 and 2 ---------------------------------------------------------------------------


def _read_legacy(path: Path) -> StoredIndex:
    """Read and verify a format 1 or 2 index folder (a manifest naming whole-index files)."""
    manifest = _read_manifest(path)
    try:
        identity = EmbedderIdentity(**manifest["embedder"])
        settings = ChunkSettings(**manifest["chunk_settings"])
        # Names only: a manifest cannot point outside its folder.
        names = [n for n in ("store", "vectors", "bm25") if n in manifest["files"]]
        files = {name: path / Path(manifest["files"][name]).name for name in names}
        checksums = {name: str(manifest["sha256"][name]) for name in files}
        counts = {name: int(manifest["counts"][name]) for name in ("documents", "chunks")}
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFormatError(
            f"index manifest {path / MANIFEST} is incomplete ({exc!r} missing or wrong): "
            "rebuild the index"
        ) from exc
    for name, file_path in files.items():
        if not file_path.exists():
            raise IndexFormatError(f"index file {file_path} is missing: rebuild the index")
        if _sha256(file_path) != checksums[name]:
            raise IndexFormatError(
                f"index file {file_path} is corrupted (checksum mismatch): rebuild the index"
            )
    documents, chunks, seen = _read_sqlite(files["store"])
    faiss_index = _read_vectors(files["vectors"], identity.dim)
    lexicon = None
    if "bm25" in files:
        try:
            lexicon = Lexicon.load(files["bm25"], len(chunks))
        except ValueError as exc:
            raise IndexFormatError(f"index file {files['bm25']} is unreadable: {exc}") from exc
    if not (
        len(documents) == counts["documents"]
        and len(chunks) == counts["chunks"] == faiss_index.ntotal
    ):
        raise IndexFormatError(f"index at {path} has inconsistent counts: rebuild the index")
    ids = np.arange(len(chunks), dtype=np.int64)
    generation = manifest["files"]["store"]
    return StoredIndex(
        identity, settings, documents, chunks, seen, generation, faiss_index, None, lexicon,
        ids, len(chunks),
    )  # fmt: skip


def _read_manifest(path: Path) -> dict:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise IndexFormatError(
            f"no index at {path}: build one with 'rag index PATH... --index {path}'"
        )
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"index manifest {manifest_path} is unreadable: {exc}") from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version not in (1, 2):
        _refuse_version(path, version)
    return manifest


def _read_vectors(file_path: Path, dim: int) -> faiss.Index:
    """The saved FAISS index as it was built (flat or HNSW)."""
    try:
        index = faiss.deserialize_index(np.fromfile(file_path, dtype=np.uint8))
    except RuntimeError as exc:
        raise IndexFormatError(f"index file {file_path} is not a FAISS index: {exc}") from exc
    if index.d != dim:
        raise IndexFormatError(f"vectors in {file_path} have {index.d} dimensions, expected {dim}")
    return index


def _read_sqlite(file_path: Path) -> tuple[dict[str, Document], list[Chunk], FilesSeen]:
    try:
        db = sqlite3.connect(f"file:{file_path}?mode=ro", uri=True)
        try:
            documents = {
                row[0]: Document(
                    source=row[0],
                    format=row[1],
                    text=row[2],
                    file_sha256=row[3],
                    title=row[4],
                    title_source=row[5],
                    page_starts=tuple(json.loads(row[6])),
                    content_spans=tuple(tuple(span) for span in json.loads(row[7])),
                )
                for row in db.execute("SELECT * FROM documents")
            }
            chunks = [
                Chunk(source, start, end, page, documents[source].text[start:end])
                for _, source, start, end, page in db.execute(
                    "SELECT row, source, start, end, page FROM chunks ORDER BY row"
                )
            ]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            skipped, stats, line_hashes = {}, {}, {}
            if "skipped" in tables:  # indexes written before it was kept have none
                skipped = {s: (sha, r) for s, sha, r in db.execute("SELECT * FROM skipped")}
            if "lines" in tables:  # without, the next sync reads every document's lines
                for source, blob in db.execute("SELECT * FROM lines"):
                    hashes = array("Q")
                    hashes.frombytes(blob)
                    line_hashes[source] = frozenset(hashes)
            if "files" in tables:  # the same: their files are hashed once on the next sync
                stats = {
                    s: (size, mtime, sha)
                    for s, size, mtime, sha in db.execute("SELECT * FROM files")
                }
        finally:
            db.close()
    except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
        raise IndexFormatError(f"index file {file_path} is unreadable: {exc!r}") from exc
    return documents, chunks, FilesSeen(skipped, stats, line_hashes)


def _write_bytes(file_path: Path, data: bytes) -> None:
    with file_path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(file_path: Path) -> str:
    """Of a file's bytes ("" when it cannot be read); of a folder, of its files' names and
    checksums."""
    if file_path.is_dir():
        parts = [f"{f.name}:{_sha256(f)}" for f in sorted(file_path.iterdir())]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return file_sha256(file_path) or ""
