"""An index on disk: manifest.json naming checksummed data files, replaced atomically.

Data files carry a generation suffix, so a save writes new files beside the old ones and then
swaps the manifest with one ``os.replace``: a crash at any moment leaves a complete index.
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
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np

from embeddings import EmbedderIdentity
from rag.chunk import Chunk, ChunkSettings
from rag.errors import IndexFormatError, IndexLockedError
from rag.ingest import Document, file_sha256
from rag.retrieve import Lexicon

# 2: chunk text is not stored twice, it is read from the document's text at the chunk's offsets.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1 stored chunk text too; the same offsets give the same text
MANIFEST = "manifest.json"
LOCK = ".writer.lock"
# A second writer waits this long for the first before giving up with a clear error.
LOCK_WAIT_S = 600.0
PACKAGE_VERSION = "0.1.0"


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
    identity: EmbedderIdentity
    settings: ChunkSettings
    documents: dict[str, Document]
    chunks: list[Chunk]
    seen: FilesSeen
    generation: str
    faiss_index: faiss.Index
    lexicon: Lexicon | None  # None for an index saved before BM25 was kept: rebuilt on load


def exists(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


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
    """The generation the manifest names now, or None without a readable manifest."""
    try:
        return json.loads((Path(path) / MANIFEST).read_text("utf-8"))["files"]["store"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(path: Path, index, snapshot) -> str:
    """Write the snapshot's files, then swap the manifest in; remove files no manifest names.

    Call it holding ``writer_lock``. Returns the new generation."""
    path.mkdir(parents=True, exist_ok=True)
    generation = uuid.uuid4().hex[:12]
    files = {"store": f"store-{generation}.sqlite", "vectors": f"vectors-{generation}.faiss"}
    _write_sqlite(path / files["store"], snapshot)
    _write_bytes(path / files["vectors"], faiss.serialize_index(snapshot.faiss_index).tobytes())
    if snapshot.lexicon.size:
        files["bm25"] = f"bm25-{generation}"
        snapshot.lexicon.save(path / files["bm25"])
        for written in (path / files["bm25"]).iterdir():
            with written.open("rb+") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(path / files["bm25"])
    manifest = {
        "format_version": FORMAT_VERSION,
        "package_version": PACKAGE_VERSION,
        "embedder": asdict(index.embedder.identity),
        "chunk_settings": asdict(index.settings),
        "counts": {"documents": len(snapshot.documents), "chunks": len(snapshot.chunks)},
        "files": files,
        "sha256": {name: _sha256(path / file_name) for name, file_name in files.items()},
    }
    temporary = path / f"{MANIFEST}.{generation}.tmp"
    _write_bytes(temporary, json.dumps(manifest, indent=2).encode())
    os.replace(temporary, path / MANIFEST)
    _fsync_dir(path)
    for stale in path.iterdir():
        if stale.name in files.values():
            continue
        if stale.name.startswith("bm25-") and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        elif stale.name.startswith(("store-", "vectors-", MANIFEST + ".")):
            stale.unlink(missing_ok=True)
    return files["store"]


def read(path: str | Path) -> StoredIndex:
    """Read and verify an index folder.

    Raises:
        IndexFormatError: anything missing, unreadable, of another format version, or corrupted.
    """
    path = Path(path)
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
    return StoredIndex(
        identity,
        settings,
        documents,
        chunks,
        seen,
        manifest["files"]["store"],
        faiss_index,
        lexicon,
    )


def _read_manifest(path: Path) -> dict:
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise IndexFormatError(
            f"no index at {path} (no {MANIFEST}): build one with 'rag index PATH... --index {path}'"
        )
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexFormatError(f"index manifest {manifest_path} is unreadable: {exc}") from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version not in READABLE_VERSIONS:
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise IndexFormatError(
            f"index at {path} has format version {version!r}, this rag reads {readable}: "
            "rebuild it with 'rag index'"
        )
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


_SCHEMA = """
CREATE TABLE documents (source TEXT PRIMARY KEY, format TEXT, text TEXT, file_sha256 TEXT,
    title TEXT, title_source TEXT, page_starts TEXT, content_spans TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, source TEXT, start INTEGER, end INTEGER,
    page INTEGER, text TEXT);
CREATE TABLE skipped (source TEXT PRIMARY KEY, file_sha256 TEXT, reason TEXT);
CREATE TABLE files (source TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, file_sha256 TEXT);
CREATE TABLE lines (source TEXT PRIMARY KEY, hashes BLOB);
"""


def _write_sqlite(file_path: Path, snapshot) -> None:
    file_path.unlink(missing_ok=True)
    db = sqlite3.connect(file_path)
    try:
        # A new file no manifest names yet: no journal, one fsync at the end (below).
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d.source,
                    d.format,
                    d.text,
                    d.file_sha256,
                    d.title,
                    d.title_source,
                    json.dumps(d.page_starts),
                    json.dumps(d.content_spans),
                )
                for d in snapshot.documents.values()
            ],
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
            [(i, c.source, c.start, c.end, c.page, None) for i, c in enumerate(snapshot.chunks)],
        )
        db.executemany(
            "INSERT INTO skipped VALUES (?, ?, ?)",
            [(source, sha, reason) for source, (sha, reason) in snapshot.seen.skipped.items()],
        )
        db.executemany(
            "INSERT INTO files VALUES (?, ?, ?, ?)",
            [(source, *stat) for source, stat in snapshot.seen.stats.items()],
        )
        db.executemany(
            "INSERT INTO lines VALUES (?, ?)",
            [
                (source, array("Q", sorted(hashes)).tobytes())
                for source, hashes in snapshot.seen.line_hashes.items()
            ],
        )
        db.commit()
    finally:
        db.close()
    with file_path.open("rb+") as handle:
        os.fsync(handle.fileno())


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
