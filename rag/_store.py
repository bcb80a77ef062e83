"""An index on disk: a SQLite store of record, updated in place, and immutable segment files.

``store.sqlite`` (WAL) holds the documents, the chunks (by a stable id), what syncs learnt about
the files, and the list of segments with their sha256. A segment holds the vectors or the BM25
term counts of the chunks one sync added (ids ``first_id`` to ``first_id + rows - 1``); a chunk
that is removed or replaced leaves its rows behind as dead rows, dropped on load and rewritten
away when they pile up. A save writes its new segments, fsyncs them, then commits one SQLite
transaction naming them: a crash at any moment leaves the previous state or the new one, and
files no commit names are removed by the next writer. Readers read in one SQLite read
transaction, so they see one state and never wait for a writer; the transaction stays open while
the documents loaded in it live, and their texts are read from it when asked for, not held.

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
import threading
import time
import uuid
import weakref
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import faiss
import numpy as np
import scipy.sparse

from embeddings import EmbedderIdentity
from rag._snapshot import Chunks, FilesSeen, Segment, Snapshot, embedding_text, is_approximate
from rag.chunk import Chunk, ChunkSettings
from rag.errors import IndexFormatError, IndexLockedError
from rag.ingest import Document, file_sha256
from rag.retrieve import Lexicon

# 3: a SQLite store of record changed in place, with vector and BM25 segments per sync.
# 2: chunk text is not stored twice, it is read from the document's text at the chunk's offsets.
FORMAT_VERSION = 4
# 3 had no locations (they read as none); saving into one adds the column and makes it a 4.
READABLE_VERSIONS = (1, 2, 3, 4)  # 1 stored chunk text too; the same offsets give the same text
STORE = "store.sqlite"
MANIFEST = "manifest.json"  # formats 1 and 2
LOCK = ".writer.lock"
# A second writer waits this long for the first before giving up with a clear error.
LOCK_WAIT_S = 600.0
PACKAGE_VERSION = "0.1.0"
# Segments are checked against their sha256 on every load while they hold at most this many
# bytes in all; above, by size (reading gigabytes costs seconds per load); `rag verify` reads all.
VERIFY_ON_LOAD_BYTES = 256 * 2**20
_SEGMENT_PREFIXES = ("chunks-", "vectors-", "bm25-", "hnsw-", STORE + ".new-")
_LEGACY_PREFIXES = ("store-", "vectors-", "bm25-", MANIFEST)


@dataclass(frozen=True)
class StoredIndex:
    """What a load found: the settings it was built with and its state."""

    identity: EmbedderIdentity
    settings: ChunkSettings
    snapshot: Snapshot
    generation: str


def exists(path: str | Path) -> bool:
    return (Path(path) / STORE).is_file() or (Path(path) / MANIFEST).is_file()


@contextlib.contextmanager
def writer_lock(path: Path, progress: bool = False, wait_s: float = LOCK_WAIT_S):
    """Hold the index folder's writer lock (one writer at a time across processes).

    Readers never take it: they read one saved state in a SQLite read transaction. The lock is an
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


def write(path: Path, index, snapshot: Snapshot, previous: Snapshot | None = None) -> str:
    """Save ``snapshot``; returns its generation. Call it holding ``writer_lock``.

    ``previous`` is the state the folder holds now, as this writer read or wrote it: then only
    the difference is written (segments new since, documents and what was seen of files that
    changed, removed ones deleted). Without it, or after a compaction (rows renumbered),
    everything is written.
    """
    path.mkdir(parents=True, exist_ok=True)
    store = path / STORE
    if previous is None or not store.is_file() or previous.epoch != snapshot.epoch:
        return _write_everything(path, index, snapshot)
    db = _open_for_writing(store)
    try:
        _upgrade(db)
        saved = {(first, rows) for first, rows in db.execute(_SAVED_SEGMENTS)}
        wanted = {(s.first, s.rows) for s in snapshot.segments}
        segments = _write_segments(path, snapshot, wanted - saved)
        with db:  # one transaction
            db.executemany(
                "DELETE FROM segments WHERE first_id = ? AND rows = ?", sorted(saved - wanted)
            )
            db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)", segments)
            _write_changes(
                db, "documents", previous.documents, snapshot.documents,
                _document_rows(snapshot.code_of), previous.code_of, snapshot.code_of,
            )  # fmt: skip
            _write_seen(db, previous.seen, snapshot.seen)
            _record_precision(db, _precisions(db))
            generation = _write_meta(db, snapshot)
        _remove_unnamed(path, db)
    finally:
        db.close()
    return generation


_SAVED_SEGMENTS = "SELECT first_id, rows FROM segments WHERE kind = 'chunks'"
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE documents (source TEXT PRIMARY KEY, code INTEGER UNIQUE, format TEXT, text TEXT,
    text_crc32 INTEGER, file_sha256 TEXT, title TEXT, title_source TEXT, page_starts TEXT,
    content_spans TEXT, locations TEXT NOT NULL DEFAULT '[]');
CREATE TABLE skipped (source TEXT PRIMARY KEY, file_sha256 TEXT, reason TEXT);
CREATE TABLE files (source TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, file_sha256 TEXT);
CREATE TABLE lines (source TEXT PRIMARY KEY, hashes BLOB);
CREATE TABLE segments (name TEXT PRIMARY KEY, kind TEXT, first_id INTEGER, rows INTEGER,
    bytes INTEGER, sha256 TEXT);
"""
_TABLES = ("meta", "documents", "skipped", "files", "lines", "segments")


def _write_everything(path: Path, index, snapshot: Snapshot) -> str:
    segments = _write_segments(path, snapshot, {(s.first, s.rows) for s in snapshot.segments})
    store = path / STORE
    if store.is_file():
        db = _open_for_writing(store)
        try:
            _upgrade(db)
            with db:  # one transaction
                made_in = _precisions(db)
                for table in _TABLES:
                    db.execute(f"DELETE FROM {table}")
                generation = _insert_everything(db, index, snapshot, segments)
                _record_precision(db, made_in)
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
        _record_precision(db, set())
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


def _insert_everything(db, index, snapshot: Snapshot, segments: list[tuple]) -> str:
    meta = {
        "format_version": FORMAT_VERSION,
        "embedder": json.dumps(asdict(index.embedder.identity)),
        "chunk_settings": json.dumps(asdict(index.settings)),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
    _write_changes(
        db, "documents", {}, snapshot.documents, _document_rows(snapshot.code_of), {},
        snapshot.code_of,
    )  # fmt: skip
    _write_seen(db, FilesSeen(), snapshot.seen)
    db.executemany("INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)", segments)
    return _write_meta(db, snapshot)


def _precisions(db) -> set[str]:
    """The number formats (float32, bfloat16) the saved vectors were made in, as recorded."""
    row = db.execute("SELECT value FROM meta WHERE key = 'embedding_precisions'").fetchone()
    try:
        return set(json.loads(row[0])) if row else set()
    except ValueError:
        return set()


def _record_precision(db, made_in: set[str]) -> None:
    """Add this process's embedding precision to those recorded: vectors of both may share an
    index (eval/bench_index.py measures what mixing costs), but the index says which it holds."""
    from embeddings import precision

    value = json.dumps(sorted(made_in | {precision.precision()}))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('embedding_precisions', ?)", (value,))


def precisions(path: str | Path) -> list[str]:
    """The precisions a saved index's vectors were made in (``rag info``); [] when unrecorded."""
    try:
        db = sqlite3.connect(f"file:{Path(path) / STORE}?mode=ro", uri=True)
        try:
            return sorted(_precisions(db))
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _write_meta(db, snapshot: Snapshot) -> str:
    generation = uuid.uuid4().hex[:12]
    meta = {
        "package_version": PACKAGE_VERSION,
        "generation": generation,
        "epoch": snapshot.epoch,
        "next_code": snapshot.next_code,
        "rows": snapshot.next_row,
        "documents": len(snapshot.documents),
        "chunks": snapshot.size,
    }
    rows = [(key, str(value)) for key, value in meta.items()]
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows)
    return generation


def _write_segments(path: Path, snapshot: Snapshot, keys: set[tuple[int, int]]) -> list[tuple]:
    """Write the segments of ``keys`` ((first row, rows)); returns their ``segments`` rows.

    Each is three files: the chunks' columns (``chunks-*.npy``), their vectors in FAISS's own
    format (``vectors-*.faiss``, exact, or ``hnsw-*.faiss``, a graph), which loading maps into
    memory instead of copying, and their BM25 counts with the terms they brought (``bm25-*/``:
    the sparse matrix's arrays and each row's length as ``.npy`` files, which loading maps too,
    and ``terms.json``); all fsynced before the commit that names them.
    """
    rows_written = []
    lexicon = snapshot.lexicon
    widths = [0, *(segment.shape[1] for segment in lexicon.segments)]
    terms = lexicon.terms()
    for n, segment in enumerate(snapshot.segments):
        key = (segment.first, segment.rows)
        if key not in keys:
            continue
        tag = uuid.uuid4().hex[:12]
        rows = slice(segment.first, segment.first + segment.rows)
        files = [(f"chunks-{tag}.npy", "chunks")]
        _write_array(path / files[0][0], snapshot.chunks.columns(rows))
        kind = "hnsw" if is_approximate(segment.index) else "vectors"
        files.append((f"{kind}-{tag}.faiss", kind))
        _write_index(path / files[-1][0], segment.index)
        files.append((f"bm25-{tag}", "bm25"))
        folder = path / files[-1][0]
        folder.mkdir()
        counts = lexicon.segments[n]
        for name, values in (
            ("data", counts.data),
            ("indices", counts.indices),
            ("indptr", counts.indptr),
            ("lengths", lexicon.lengths(segment.first, segment.rows)),
        ):
            _write_array(folder / f"{name}.npy", values)
        segment_terms = terms[widths[n] : widths[n + 1]]
        (folder / "terms.json").write_text(json.dumps(segment_terms), encoding="utf-8")
        _fsync(folder / "terms.json")  # the arrays were fsynced as written
        _fsync_dir(folder)
        rows_written += [(name, kind, *key, *_size_and_sha256(path / name)) for name, kind in files]
    if rows_written:
        _fsync_dir(path)
    return rows_written


def _write_index(file_path: Path, index: faiss.Index) -> None:
    faiss.write_index(index, str(file_path))
    _fsync(file_path)


def _write_array(file_path: Path, array_: np.ndarray) -> None:
    with file_path.open("wb") as handle:
        np.save(handle, np.ascontiguousarray(array_))
        handle.flush()
        os.fsync(handle.fileno())


def _document_rows(code_of: dict[str, int]):
    def row(source: str, d: Document) -> tuple:
        return (
            source,
            code_of[source],
            d.format,
            d.text,
            _crc32(d.text),
            d.file_sha256,
            d.title,
            d.title_source,
            json.dumps(d.page_starts),
            json.dumps(d.content_spans),
            json.dumps(d.locations),
        )

    return row


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


def _write_changes(db, table: str, old: dict, new: dict, row, old_keys=None, new_keys=None):
    """Delete the rows of sources gone from ``new``; write those new or different (or whose
    entry in ``new_keys`` differs from ``old_keys``)."""
    old_keys, new_keys = old_keys or {}, new_keys or {}
    db.executemany(f"DELETE FROM {table} WHERE source = ?", [(s,) for s in old if s not in new])
    changed = []
    old_get, old_key, new_key = old.get, old_keys.get, new_keys.get  # a million calls: no lookups
    for s, v in new.items():
        before = old_get(s)
        if not (before is v or before == v) or old_key(s) != new_key(s):
            changed.append(row(s, v))
    if changed:
        marks = ", ".join("?" * len(changed[0]))
        db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", changed)


def _upgrade(db) -> None:
    """Make a format 3 store a format 4 one before writing into it: add the locations column."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    if "locations" not in columns:
        with db:
            db.execute("ALTER TABLE documents ADD COLUMN locations TEXT NOT NULL DEFAULT '[]'")
            db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),)
            )


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
    db = None
    try:
        # Kept open by the loaded documents, whose texts are read from it when asked for.
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, check_same_thread=False)
        db.execute("BEGIN")  # one consistent state, whatever a writer commits meanwhile
        meta = dict(db.execute("SELECT key, value FROM meta"))
        version = int(meta.get("format_version", 0))
        if version not in (3, FORMAT_VERSION):
            _refuse_version(path, version)
        columns = _LOADED_COLUMNS.format(locations="locations" if version > 3 else "'[]'")
        identity = EmbedderIdentity(**json.loads(meta["embedder"]))
        settings = ChunkSettings(**json.loads(meta["chunk_settings"]))
        rows = {row[0]: row for row in db.execute(f"SELECT {columns} FROM documents")}
        if sum(row[3] for row in rows.values()) <= VERIFY_ON_LOAD_BYTES:
            _check_texts(store, db)
        seen = _read_seen(db)
        segments = list(db.execute("SELECT * FROM segments ORDER BY first_id, kind"))
        read_generation, epoch = meta["generation"], int(meta["epoch"])
        next_code, next_row = int(meta["next_code"]), int(meta["rows"])
        counts = int(meta["documents"]), int(meta["chunks"])
    except (IndexFormatError, sqlite3.Error, ValueError, TypeError, KeyError) as exc:
        if db is not None:
            db.close()
        if isinstance(exc, IndexFormatError):
            raise
        raise IndexFormatError(
            f"index file {store} is corrupted or unreadable ({exc}): rebuild the index"
        ) from exc
    documents = _StoredDocuments(_StoredTexts(store, db), rows)
    code_of = {source: row[1] for source, row in rows.items()}
    # Bytes, not characters: an upper bound SQLite gives without handing the texts over.
    text_bytes = {source: row[3] for source, row in rows.items()}
    try:
        _check_segments(path, segments)
        chunks, dense, counts_by_term, lengths, terms = _read_segments(path, segments, identity.dim)
    except (IndexFormatError, OSError) as exc:
        if generation(path) != read_generation:
            raise _Replaced from None  # a writer removed files of the state read: read again
        if isinstance(exc, OSError):
            raise IndexFormatError(f"index at {path} is unreadable: {exc}") from exc
        raise
    lexicon = Lexicon.from_segments(terms, counts_by_term, lengths)
    snapshot = Snapshot.create(documents, code_of, chunks, dense, lexicon, seen, next_code, epoch)
    _check_consistent(path, snapshot, counts, next_row, text_bytes)
    return StoredIndex(identity, settings, snapshot, read_generation)


_LOADED_COLUMNS = (
    "source, code, format, length(CAST(text AS BLOB)), text_crc32, file_sha256, title, "
    "title_source, page_starts, content_spans, {locations}"
)


def _crc32(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _check_texts(store: Path, db) -> None:
    """Every document text against its CRC-32, one at a time (none is kept)."""
    for source, text, crc in db.execute("SELECT source, text, text_crc32 FROM documents"):
        if _crc32(text) != crc:
            raise IndexFormatError(
                f"index file {store} is corrupted (the text of {source} fails its checksum): "
                "rebuild the index"
            )


def _read_segments(path: Path, segments: list[tuple], dim: int):
    """(chunks, dense segments, BM25 counts by segment, terms), checked to cover rows 0, 1, ...
    in order."""
    by_key: dict[tuple[int, int], dict[str, str]] = {}
    for name, kind, first, rows, _, _ in segments:
        by_key.setdefault((first, rows), {})[kind] = name
    columns, dense, counts, lengths, terms = [], [], [], [], []
    expected_first = 0
    for (first, rows), files in sorted(by_key.items()):
        if first != expected_first or "chunks" not in files or "bm25" not in files:
            raise IndexFormatError(f"index at {path} has segments that do not fit: rebuild it")
        expected_first = first + rows
        part = _read_array(path / files["chunks"], (rows, 4), np.int64)
        columns.append(part)
        vectors = files.get("hnsw") or files.get("vectors")
        if vectors is None:
            raise IndexFormatError(f"index at {path} has a segment without vectors: rebuild it")
        index = _read_vectors(path / vectors, dim, mapped=True)
        if index.ntotal != rows:
            raise IndexFormatError(f"index file {path / vectors} holds {index.ntotal} rows")
        dense.append(Segment(first, index))
        folder = path / files["bm25"]
        try:
            new_terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"index file {folder} is unreadable: {exc}") from exc
        if not isinstance(new_terms, list) or not all(isinstance(t, str) for t in new_terms):
            raise IndexFormatError(f"index file {folder} is not the BM25 terms it should be")
        terms.extend(new_terms)
        counts.append(_read_counts(folder, rows, len(terms)))
        lengths.append(_read_array(folder / "lengths.npy", (rows,), np.float32))
    chunks = Chunks.of(np.concatenate(columns)) if columns else Chunks.empty()
    return chunks, tuple(dense), counts, lengths, terms


def _read_counts(folder: Path, rows: int, width: int) -> scipy.sparse.csc_matrix:
    """A BM25 segment's term counts, its arrays mapped from their files, not copied."""
    integers = (np.int32, np.int64)  # SciPy's index type, by the matrix's size
    indptr = _read_array(folder / "indptr.npy", (width + 1,), integers)
    entries = int(indptr[-1])
    data = _read_array(folder / "data.npy", (entries,), np.float32)
    indices = _read_array(folder / "indices.npy", (entries,), integers)
    return scipy.sparse.csc_matrix((data, indices, indptr), shape=(rows, width), copy=False)


def _read_array(file_path: Path, shape: tuple[int, ...], dtypes) -> np.ndarray:
    """A ``.npy`` file mapped into memory (never unpickled), of this shape and a dtype of
    ``dtypes`` (one, or a tuple)."""
    try:
        values = np.load(file_path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexFormatError(f"index file {file_path} is unreadable: {exc}") from exc
    allowed = [np.dtype(d) for d in (dtypes if isinstance(dtypes, tuple) else (dtypes,))]
    if values.shape != shape or values.dtype not in allowed:
        raise IndexFormatError(
            f"index file {file_path} holds {values.shape} {values.dtype}, expected {shape} "
            f"{allowed[0]}: rebuild the index"
        )
    return values


def _check_consistent(path: Path, snapshot: Snapshot, counts, rows: int, text_bytes: dict):
    """Counts as saved; every live chunk inside its document (within its text's UTF-8 bytes,
    which bound its characters); BM25 and vectors row for row."""
    chunks = snapshot.chunks
    lengths = np.zeros(snapshot.next_code, dtype=np.int64)
    for code, source in snapshot.source_of.items():
        lengths[code] = text_bytes[source]
    live = snapshot.live
    ends = chunks.ends[live]
    limits = lengths[chunks.codes[live]]
    inside = (chunks.starts[live] >= 0) & (chunks.starts[live] < ends) & (ends <= limits)
    consistent = (
        len(snapshot.documents) == counts[0]
        and snapshot.size == counts[1]
        and len(chunks) == rows == snapshot.lexicon.size == sum(s.rows for s in snapshot.segments)
        and bool(inside.all())
    )
    if not consistent:
        raise IndexFormatError(f"index at {path} has inconsistent counts: rebuild the index")


def _refuse_version(path: Path, version) -> None:
    readable = ", ".join(map(str, READABLE_VERSIONS))
    raise IndexFormatError(
        f"index at {path} has format version {version!r}, this rag reads {readable}: "
        "rebuild it with 'rag index'"
    )


class _StoredTexts:
    """Document texts, read from the store as it was when the index was loaded: the load's read
    transaction stays open (a WAL reader keeps its state, whatever writers commit later), and
    closes when no document of that load is left. Each text is checked against its CRC-32 when
    read; the last few read are kept, since answering one question reads its hits' texts several
    times (chunks, sentences, citations)."""

    RECENT_CHARS = 16 * 2**20  # texts kept, in characters

    def __init__(self, store: Path, db: sqlite3.Connection):
        self.store = store
        self._db = db
        self._lock = threading.Lock()  # one connection, shared by the threads of a server
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._recent_chars = 0
        weakref.finalize(self, db.close)

    def text(self, source: str, crc: int) -> str:
        with self._lock:
            text = self._recent.get(source)
            if text is None:
                text = self._read(source, crc)
                self._recent[source] = text
                self._recent_chars += len(text)
                while self._recent_chars > self.RECENT_CHARS and len(self._recent) > 1:
                    self._recent_chars -= len(self._recent.popitem(last=False)[1])
            self._recent.move_to_end(source)
            return text

    def _read(self, source: str, crc: int) -> str:
        try:
            row = self._db.execute("SELECT text FROM documents WHERE source = ?", (source,))
            row = row.fetchone()
        except sqlite3.Error as exc:
            raise IndexFormatError(f"index file {self.store} is unreadable: {exc}") from exc
        if row is None or _crc32(row[0]) != crc:
            raise IndexFormatError(
                f"index file {self.store} is corrupted (the text of {source} is missing or "
                "fails its checksum): rebuild the index"
            )
        return row[0]


def _parsed_on_first_use(name: str, make) -> property:
    """A field of a stored document kept as the store's JSON until first read."""

    def get(self):
        value = self.__dict__.get(name)
        if value is None:
            try:
                value = make(json.loads(self.__dict__["_json"][name]))
            except (ValueError, TypeError) as exc:
                raise IndexFormatError(
                    f"index file {self.__dict__['_texts'].store} is corrupted ({self.source}: "
                    f"{exc}): rebuild the index"
                ) from exc
            self.__dict__[name] = value
        return value

    def set(self, value) -> None:  # dataclasses.replace makes one with its marks given
        self.__dict__[name] = value

    return property(get, set)


class _StoredDocument(Document):
    """A document of a loaded index. Its text is read from the store each time it is asked for:
    a million chunks' documents take gigabytes as text, and a search reads a few."""

    @property
    def text(self) -> str:
        own = self.__dict__.get("_text")
        if own is not None:
            return own
        return self.__dict__["_texts"].text(self.source, self.__dict__["_crc"])

    @text.setter
    def text(self, value: str) -> None:  # dataclasses.replace makes one with its text given
        self.__dict__["_text"] = value

    # Its marks are parsed from their JSON when first read: a sync compares every document's
    # file hash and reads nothing else of an unchanged one (parsing them all took 4 s a million
    # chunks).
    page_starts = _parsed_on_first_use("page_starts", tuple)
    content_spans = _parsed_on_first_use(
        "content_spans", lambda spans: tuple(tuple(span) for span in spans)
    )
    locations = _parsed_on_first_use(
        "locations", lambda marks: tuple((offset, label) for offset, label in marks)
    )

    # Equal to the same document made in memory, and shown as one.
    def __eq__(self, other) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(Document))

    __hash__ = Document.__hash__

    def __repr__(self) -> str:
        return "Document" + Document.__repr__(self).removeprefix(type(self).__qualname__)


class _StoredDocuments(Mapping):
    """The documents of a loaded index by source, each made into a ``Document`` (without its
    text) when first asked for: a search reads a few, and a million chunks' load need not make
    them all."""

    def __init__(self, texts: _StoredTexts, rows: dict[str, tuple]):
        self._texts = texts
        self._rows = rows  # source -> its row of the documents table (without the text)
        self._made: dict[str, Document] = {}

    def __getitem__(self, source: str) -> Document:
        document = self._made.get(source)
        if document is None:
            row = self._rows[source]
            try:
                document = _stored_document(self._texts, (source, row[2], *row[5:]), row[4])
            except (ValueError, TypeError) as exc:
                raise IndexFormatError(
                    f"index file {self._texts.store} is corrupted ({source}: {exc}): "
                    "rebuild the index"
                ) from exc
            document = self._made.setdefault(source, document)  # one object per source
        return document

    def get(self, source: str, default=None):  # a sync asks for every source: no detours
        document = self._made.get(source)
        if document is not None:
            return document
        return self[source] if source in self._rows else default

    def __iter__(self):
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, source) -> bool:
        return source in self._rows


def _stored_document(texts: _StoredTexts, row: tuple, crc: int) -> Document:
    source, format_, sha, title, title_source, page_starts, content_spans, locations = row
    document = object.__new__(_StoredDocument)
    document.__dict__.update(
        source=source,
        format=format_,
        file_sha256=sha,
        title=title,
        title_source=title_source,
        _json={
            "page_starts": page_starts,
            "content_spans": content_spans,
            "locations": locations,
        },
        _texts=texts,
        _crc=crc,
    )
    return document


def _read_seen(db) -> FilesSeen:
    skipped = {s: (sha, r) for s, sha, r in db.execute("SELECT * FROM skipped")}
    stats = {s: (size, mtime, sha) for s, size, mtime, sha in db.execute("SELECT * FROM files")}
    line_hashes = {}
    for source, blob in db.execute("SELECT * FROM lines"):
        hashes = array("Q")
        hashes.frombytes(blob)
        line_hashes[source] = frozenset(hashes)
    return FilesSeen(skipped, stats, line_hashes)


def _check_segments(path: Path, segments: list[tuple]) -> None:
    """Every segment is there and of its size; and matches its sha256 while they are small."""
    full = sum(s[4] for s in segments) <= VERIFY_ON_LOAD_BYTES
    for name, _, _, _, size, sha in segments:
        file_path = path / Path(name).name  # names only: nothing outside the folder
        if not file_path.exists():
            raise IndexFormatError(f"index file {file_path} is missing: rebuild the index")
        actual_size, actual_sha = _size_and_sha256(file_path) if full else (_size(file_path), sha)
        if (actual_size, actual_sha) != (size, sha):
            raise IndexFormatError(
                f"index file {file_path} is corrupted (checksum mismatch): rebuild the index"
            )


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
            if _crc32(text) != crc:
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
    # As format 3 holds it: one segment; each document's code its place in the store.
    code_of = {source: code for code, source in enumerate(documents)}
    columns = np.array(
        [(code_of[c.source], c.start, c.end, -1 if c.page is None else c.page) for c in chunks],
        dtype=np.int64,
    ).reshape(-1, 4)
    if lexicon is None:  # saved before BM25 was kept: built from the chunks' texts
        lexicon = Lexicon([embedding_text(documents[c.source], c) for c in chunks])
    segments = (Segment(0, faiss_index),) if len(chunks) else ()
    snapshot = Snapshot.create(documents, code_of, Chunks.of(columns), segments, lexicon, seen)
    return StoredIndex(identity, settings, snapshot, manifest["files"]["store"])


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


def _read_vectors(file_path: Path, dim: int, mapped: bool = False) -> faiss.Index:
    """The saved FAISS index as it was built (flat or HNSW); ``mapped``, its vectors mapped from
    the file (segments never change once written), not copied into memory."""
    try:
        flags = faiss.IO_FLAG_MMAP_IFC if mapped else 0
        index = faiss.read_index(str(file_path), flags)
    except RuntimeError as exc:
        raise IndexFormatError(f"index file {file_path} is not a FAISS index: {exc}") from exc
    if index.d != dim:
        raise IndexFormatError(f"vectors in {file_path} have {index.d} dimensions, expected {dim}")
    if not isinstance(index, faiss.IndexFlatIP | faiss.IndexHNSWFlat):
        kind = type(index).__name__
        raise IndexFormatError(f"index file {file_path} holds a {kind}, not vectors")
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
