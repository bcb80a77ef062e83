"""rag/index.py and rag/_store.py: sync, save and load, refusals, and incremental updates."""

import dataclasses
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import SAMPLE_CORPUS
from fpdf import FPDF

import rag
from embeddings import EmbedderIdentity, precision
from rag import _snapshot, _store
from rag.chunk import ChunkSettings
from rag.ingest import IngestLimits

QUERIES = ["When does the harbour open?", "rye bread", "whale skeleton museum"]


def _write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "harbour.txt").write_text(
        "Harbour Opening Hours Announced\n"
        "The harbour opens at six in the morning. Ferries leave every hour until nine.\n"
    )
    (folder / "bakery.md").write_text(
        "# Village Bakery\n\nThe bakery sells rye bread on Tuesdays. Its ovens burn beech wood.\n"
    )
    (folder / "museum.html").write_text(
        "<html><head><title>Town Museum</title></head><body>"
        "<p>The museum shows a whale skeleton found on the beach in 1902.</p></body></html>"
    )
    return folder


def _pdf_bytes(text: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def _results(index: rag.Index) -> list[list[tuple]]:
    return [
        [(h.source, h.start, h.end, h.text, round(h.score, 6)) for h in index.search(q, k=3)]
        for q in QUERIES
    ]


def _chunks(index: rag.Index) -> list:
    """The index's chunks (live rows), in row order."""
    return index._snapshot.live_chunks()


def _vectors(index: rag.Index) -> np.ndarray:
    """Their vectors, in the same order."""
    snapshot = index._snapshot
    return snapshot.vectors_at(np.flatnonzero(snapshot.live))


def _record_embedded_texts(embedder, monkeypatch) -> list[str]:
    """Every text the index hands to the embedder from now on."""
    texts: list[str] = []
    embed = embedder.embed

    def recording_embed(batch, progress=False):
        texts.extend(batch)
        return embed(batch, progress=progress)

    monkeypatch.setattr(embedder, "embed", recording_embed)
    return texts


class _OtherEmbedder:
    """Same shape as the default model, different identity; never asked to embed."""

    identity = EmbedderIdentity("other-model", "0" * 64, 384, 254)
    dim = 384
    max_tokens = 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed(self, texts, progress=False):
        raise AssertionError("a refused index must not embed anything")


@pytest.fixture
def corpus(tmp_path) -> Path:
    return _write_corpus(tmp_path / "corpus")


@pytest.fixture
def saved(embedder, corpus, tmp_path) -> rag.Index:
    """A tiny corpus indexed and saved at tmp_path / "index"."""
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([corpus])
    return index


def test_defaults(embedder):
    index = rag.Index(embedder)
    assert index.settings == ChunkSettings(max_tokens=254, overlap_sentences=1)
    assert index.path is None
    assert index.limits == IngestLimits(max_file_bytes=50 * 1024 * 1024)
    assert index.info() == {
        "path": None,
        "model": "all-MiniLM-L6-v2 (384 d, weights 53aa51172d14)",
        "documents": 0,
        "chunks": 0,
        "max_tokens": 254,
        "overlap_sentences": 1,
        "embedding_precisions": [],
        "precision_now": precision.precision(),
    }
    assert index.search("anything") == []


def test_chunks_longer_than_the_model_takes_are_refused(embedder):
    with pytest.raises(ValueError, match="chunks of 300 tokens would be truncated.*limit 254"):
        rag.Index(embedder, settings=ChunkSettings(max_tokens=300))


def test_save_needs_a_path(embedder):
    with pytest.raises(ValueError, match="no path to save to"):
        rag.Index(embedder).save()


def test_index_path_that_is_a_file(embedder, tmp_path):
    (tmp_path / "notes.txt").write_text("not an index")
    with pytest.raises(ValueError, match="notes.txt is a file, not a folder"):
        rag.Index(embedder, path=tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="notes.txt is a file, not a folder"):
        rag.Index(embedder).save(tmp_path / "notes.txt")


def test_sync_missing_path(embedder, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        rag.Index(embedder).sync([tmp_path / "nowhere"])


def test_sync_indexes_every_format(embedder, corpus):
    (corpus / "report.pdf").write_bytes(_pdf_bytes("The lighthouse keeper retired in 1950."))
    index = rag.Index(embedder)
    report = index.sync([corpus])
    names = ["bakery.md", "harbour.txt", "museum.html", "report.pdf"]
    assert sorted(Path(s).name for s in report.added) == names
    assert report.chunks_embedded == index.chunk_count() == 4
    assert [d.title for d in index.documents] == [
        "Village Bakery",
        "Harbour Opening Hours Announced",
        "Town Museum",
        "The lighthouse keeper retired in 1950.",
    ]
    (hit,) = index.search("lighthouse keeper", k=1)
    assert (Path(hit.source).name, hit.page) == ("report.pdf", 1)


def test_embedded_texts_fit_the_model(embedder, monkeypatch):
    """Chunks, with the title put before them, are never cut short by the model."""
    texts = _record_embedded_texts(embedder, monkeypatch)
    rag.Index(embedder).sync([SAMPLE_CORPUS])
    assert len(texts) >= 10
    assert max(embedder.count_tokens(text) for text in texts) <= embedder.max_tokens


# Save and load ------------------------------------------------------------------------------


def test_save_load_round_trip(saved, embedder, tmp_path):
    loaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert loaded.documents == saved.documents
    assert _chunks(loaded) == _chunks(saved)
    np.testing.assert_array_equal(_vectors(loaded), _vectors(saved))
    assert loaded.settings == saved.settings
    assert _results(loaded) == _results(saved)
    assert loaded.info() == saved.info()

    meta = _meta(tmp_path / "index")
    assert int(meta["format_version"]) == _store.FORMAT_VERSION
    assert json.loads(meta["embedder"])["weights_sha256"] == embedder.identity.weights_sha256
    assert (meta["documents"], meta["chunks"]) == ("3", "3")
    assert json.loads(meta["embedding_precisions"]) == [precision.precision()]
    assert sorted(kind for _, kind in _segments(tmp_path / "index")) == KINDS


KINDS = ["bm25", "chunks", "vectors"]  # the files of one segment


def _meta(path: Path) -> dict:
    with sqlite3.connect(path / _store.STORE) as db:
        return dict(db.execute("SELECT key, value FROM meta"))


def _segments(path: Path) -> list[tuple[str, str]]:
    """(file name, kind) of the segments the store names."""
    with sqlite3.connect(path / _store.STORE) as db:
        return list(db.execute("SELECT name, kind FROM segments ORDER BY first_id, kind"))


def test_load_picks_the_model_named_in_the_index(saved, embedder, tmp_path):
    loaded = rag.Index.load(tmp_path / "index")
    assert loaded.embedder.identity == embedder.identity
    assert _results(loaded) == _results(saved)


def test_save_to_another_folder(saved, embedder, tmp_path):
    saved.save(tmp_path / "copy")
    assert _results(rag.Index.load(tmp_path / "copy", model=embedder)) == _results(saved)


def _data_files(path: Path) -> list[str]:
    """The index folder's files but the writer lock and SQLite's own, sorted."""
    return sorted(
        p.name for p in path.iterdir() if p.name != _store.LOCK and not p.name.startswith("store")
    )


def _crash_before_commit(monkeypatch):
    """In the transaction, after the segments were written and the rows changed."""

    def crash(*args, **kwargs):
        raise OSError("simulated crash")

    monkeypatch.setattr(_store, "_write_meta", crash)


def _crash_writing_segments(monkeypatch):
    """Half-way through writing the new segment's BM25 counts."""
    write_array = _store._write_array

    def crash(file_path, values):
        if file_path.name == "indices.npy":
            file_path.write_bytes(b"half")
            raise OSError("simulated crash")
        write_array(file_path, values)

    monkeypatch.setattr(_store, "_write_array", crash)


@pytest.mark.parametrize("crash", [_crash_before_commit, _crash_writing_segments])
def test_crash_mid_save_leaves_previous_index(saved, embedder, corpus, tmp_path, crash):
    path = tmp_path / "index"
    before = _results(saved)
    before_documents = saved.documents
    (corpus / "harbour.txt").write_text("Harbour Closed\nThe harbour is closed for repairs.\n")
    (corpus / "lighthouse.txt").write_text("The lighthouse keeper retired in 1950.\n")

    with pytest.MonkeyPatch.context() as patch:
        crash(patch)
        with pytest.raises(OSError, match="simulated crash"):
            saved.sync([corpus])
    assert len(_data_files(path)) > 2  # the crash left stray files behind

    loaded = rag.Index.load(path, model=embedder)
    assert loaded.documents == before_documents
    assert _results(loaded) == before
    assert saved.documents == before_documents  # a failed save does not change the index either

    report = saved.sync([corpus])  # the next save succeeds and cleans up
    assert [Path(s).name for s in report.added + report.updated] == [
        "lighthouse.txt",
        "harbour.txt",
    ]
    # Only what the store names is left: the first save's segments and the new ones.
    assert _data_files(path) == sorted(name for name, _ in _segments(path))
    assert len(_data_files(path)) == 2 * len(KINDS)
    assert len(rag.Index.load(path, model=embedder).documents) == 4


def test_other_model_is_refused(saved, tmp_path):
    with pytest.raises(
        rag.EmbedderMismatchError,
        match=r"built with all-MiniLM-L6-v2 .*asked to use other-model .*rebuild",
    ):
        rag.Index.load(tmp_path / "index", model=_OtherEmbedder())


def _flip_byte(file_path: Path, at: int | None = None) -> None:
    data = bytearray(file_path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    file_path.write_bytes(bytes(data))


@pytest.mark.parametrize("pattern", ["vectors-*.faiss", "bm25-*/data.npy"])
def test_corrupted_segment_is_refused(saved, tmp_path, pattern):
    (file_path,) = (tmp_path / "index").glob(pattern)
    _flip_byte(file_path)
    with pytest.raises(rag.IndexFormatError, match="corrupted"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)


def test_damaged_store_is_refused(saved, tmp_path):
    """A changed byte in a document's text fails its checksum; a damaged page, SQLite's own
    checks."""
    store = tmp_path / "index" / _store.STORE
    _flip_byte(store, store.read_bytes().index(b"whale skeleton"))
    with pytest.raises(rag.IndexFormatError, match="corrupted.*fails its checksum"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)
    data = bytearray(store.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # the second page
    store.write_bytes(bytes(data))
    with pytest.raises(rag.IndexFormatError, match="corrupted or unreadable"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)


def test_a_document_with_damaged_marks_is_refused_when_read(saved, corpus, tmp_path):
    """A document's marks are parsed when first read (a sync reads only its hash): damaged
    JSON there is refused then, as a corrupted index, and unchanged documents still sync."""
    import sqlite3

    store = tmp_path / "index" / _store.STORE
    source = str((corpus / "museum.html").resolve())
    with sqlite3.connect(store) as db:
        db.execute("UPDATE documents SET locations = '[[0,' WHERE source = ?", (source,))
    db.close()
    loaded = rag.Index.load(tmp_path / "index", model=saved.embedder)
    assert loaded.sync([corpus]).added == []  # nothing changed: the marks were not needed
    with pytest.raises(rag.IndexFormatError, match=r"corrupted \(.*museum.html"):
        loaded.search("whale skeleton museum", k=1)  # its hit names its location
    assert any("museum.html" in p and "corrupted" in p for p in loaded.verify())


def test_large_stores_check_each_text_as_it_is_read(saved, tmp_path, monkeypatch):
    """Past the size checked on load, a damaged text is refused when a search reads it, and
    found by verify."""
    store = tmp_path / "index" / _store.STORE
    _flip_byte(store, store.read_bytes().index(b"whale skeleton"))
    monkeypatch.setattr(_store, "VERIFY_ON_LOAD_BYTES", 0)
    loaded = rag.Index.load(tmp_path / "index", model=saved.embedder)
    assert loaded.search("rye bread", k=1)[0].source.endswith("bakery.md")  # an intact text
    with pytest.raises(rag.IndexFormatError, match="corrupted.*fails its checksum"):
        loaded.search("whale skeleton museum", k=1)
    assert any("museum.html fails its checksum" in p for p in loaded.verify())


def test_a_loaded_index_reads_the_texts_it_loaded(saved, corpus, tmp_path):
    """Texts are read from the store on demand, in the state that was loaded: another writer's
    change does not show through until the index is loaded again."""
    loaded = rag.Index.load(tmp_path / "index", model=saved.embedder)
    source = str((corpus / "harbour.txt").resolve())
    before = loaded.document(source).text
    (corpus / "harbour.txt").write_text("Harbour Closed\nThe harbour is closed for repairs.\n")
    saved.sync([corpus])
    assert loaded.document(source).text == before
    hit = loaded.search("When does the harbour open?", k=1)[0]
    assert hit.text == before[hit.start : hit.end] and "opens at six" in hit.text
    again = rag.Index.load(tmp_path / "index", model=saved.embedder)
    assert "closed for repairs" in again.document(source).text
    assert again.document(source) == saved.document(source)  # equal to the one made in memory


def test_large_segments_are_checked_by_size_on_load_and_in_full_by_verify(
    saved, tmp_path, monkeypatch
):
    (file_path,) = (tmp_path / "index").glob("vectors-*.faiss")
    _flip_byte(file_path, at=file_path.stat().st_size - 3)  # inside a vector: still a float
    monkeypatch.setattr(_store, "VERIFY_ON_LOAD_BYTES", 0)
    loaded = rag.Index.load(tmp_path / "index", model=saved.embedder)  # too big to read whole
    assert f"index file {file_path.name} is corrupted (checksum mismatch)" in loaded.verify()
    file_path.write_bytes(file_path.read_bytes()[:-4])
    with pytest.raises(rag.IndexFormatError, match="corrupted"):  # a size is always checked
        rag.Index.load(tmp_path / "index", model=saved.embedder)


def test_missing_data_file_is_refused(saved, tmp_path):
    (file_path,) = (tmp_path / "index").glob("vectors-*.faiss")
    file_path.unlink()
    with pytest.raises(rag.IndexFormatError, match="missing"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)


@pytest.mark.parametrize("folder", ["nowhere", "empty"])
def test_no_index_is_refused(tmp_path, folder):
    (tmp_path / "empty").mkdir()
    with pytest.raises(rag.IndexFormatError, match="no index at .*rag index"):
        rag.Index.load(tmp_path / folder)


def _edit_meta(path: Path, **changes) -> None:
    with sqlite3.connect(path / _store.STORE) as db:
        db.executemany(
            "UPDATE meta SET value = ? WHERE key = ?", [(str(v), k) for k, v in changes.items()]
        )


def test_an_index_of_format_3_is_read_and_upgraded_when_saved(saved, corpus, tmp_path):
    """Format 3 had no locations column: its documents read as having none, and the first save
    adds the column (and the new document's locations are kept)."""
    path = tmp_path / "index"
    with sqlite3.connect(path / _store.STORE) as db:
        db.execute("ALTER TABLE documents DROP COLUMN locations")
    _edit_meta(path, format_version=3)
    old = rag.Index.load(path, model=saved.embedder)
    assert _results(old) == _results(saved) and old.verify() == []
    assert all(d.locations == () for d in old.documents)
    (corpus / "figures.csv").write_text("Office,Staff\nVilnius,47\n")
    old.sync([corpus])
    assert int(_meta(path)["format_version"]) == _store.FORMAT_VERSION
    loaded = rag.Index.load(path, model=saved.embedder)
    (figures,) = [d for d in loaded.documents if d.source.endswith("figures.csv")]
    assert figures.location_at(figures.text.index("Vilnius")) == "row 2"
    assert loaded.verify() == []


def test_unknown_format_version_is_refused(saved, tmp_path):
    _edit_meta(tmp_path / "index", format_version=99)
    with pytest.raises(rag.IndexFormatError, match="format version 99.*reads 1, 2, 3.*rebuild"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)


def _as_format_1(index: rag.Index, bm25: bool = False) -> Path:
    """Replace the index's folder by the same index in format 1: a manifest naming one SQLite
    store (chunk text stored too), one FAISS file and, from format 2 on, a BM25 folder."""
    path, snapshot = index.path, index._snapshot
    shutil.rmtree(path)
    path.mkdir()
    db = sqlite3.connect(path / "store-g1.sqlite")
    db.executescript(
        "CREATE TABLE documents (source TEXT PRIMARY KEY, format TEXT, text TEXT, file_sha256 "
        "TEXT, title TEXT, title_source TEXT, page_starts TEXT, content_spans TEXT);"
        "CREATE TABLE chunks (row INTEGER PRIMARY KEY, source TEXT, start INTEGER, end INTEGER, "
        "page INTEGER, text TEXT);"
    )
    db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (d.source, d.format, d.text, d.file_sha256, d.title, d.title_source,
         json.dumps(d.page_starts), json.dumps(d.content_spans))
        for d in snapshot.documents.values()
    ])  # fmt: skip
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
        [(i, c.source, c.start, c.end, c.page, c.text) for i, c in enumerate(_chunks(index))],
    )
    db.commit()
    db.close()
    faiss.write_index(_snapshot.dense_index(_vectors(index)), str(path / "vectors-g1.faiss"))
    files = {"store": "store-g1.sqlite", "vectors": "vectors-g1.faiss"}
    manifest = {
        "format_version": 1,
        "embedder": dataclasses.asdict(index.embedder.identity),
        "chunk_settings": dataclasses.asdict(index.settings),
        "counts": {"documents": len(snapshot.documents), "chunks": snapshot.size},
        "files": files,
        "sha256": {name: _store._sha256(path / file) for name, file in files.items()},
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_an_index_of_format_1_is_read_and_saved_as_the_current_format(saved, corpus):
    """Format 1 stored each chunk's text too, and no BM25 index (it is built on load)."""
    path = _as_format_1(saved)
    old = rag.Index.load(path, model=saved.embedder)
    assert _results(old) == _results(saved) and old.verify() == []
    (corpus / "pier.txt").write_text("The pier is long.\n")
    old.sync([corpus])
    assert int(_meta(path)["format_version"]) == _store.FORMAT_VERSION
    assert _data_files(path) == sorted(name for name, _ in _segments(path))  # old files gone
    loaded = rag.Index.load(path, model=saved.embedder)
    assert len(loaded.documents) == 4 and loaded.verify() == []
    assert _results(loaded) == _results(old)


def test_unreadable_manifest_of_an_old_index_is_refused(saved):
    path = _as_format_1(saved)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(rag.IndexFormatError, match="unreadable"):
        rag.Index.load(path, model=saved.embedder)


def test_inconsistent_counts_are_refused(saved, tmp_path):
    _edit_meta(tmp_path / "index", chunks=2)
    with pytest.raises(rag.IndexFormatError, match="inconsistent counts"):
        rag.Index.load(tmp_path / "index", model=saved.embedder)


# Incremental sync ---------------------------------------------------------------------------


def test_changed_file_alone_is_re_embedded(embedder, sample_copy, tmp_path, monkeypatch):
    index = rag.Index(embedder, path=tmp_path / "index")
    first = index.sync([sample_copy])
    assert len(first.added) == 5 and first.chunks_embedded == index.chunk_count()
    sources = sorted(first.added)
    vectors_before = dict(zip(_chunks(index), _vectors(index), strict=True))

    changed = sample_copy / "003_666da6229117efa7.txt"
    with changed.open("a") as handle:
        handle.write("\nThe next workshop will take place in Kunming in May.\n")
    source = str(changed.resolve())
    texts = _record_embedded_texts(embedder, monkeypatch)
    report = index.sync([sample_copy])

    assert report.updated == [source]
    assert sorted(report.unchanged) == [s for s in sources if s != source]
    assert report.added == report.removed == report.skipped == []
    assert report.chunks_embedded == index.chunk_count(source) == len(texts)
    assert any("Kunming" in text for text in texts)
    assert "Kunming" in index.document(source).text
    for chunk, vector in zip(_chunks(index), _vectors(index), strict=True):
        if chunk.source != source:
            np.testing.assert_array_equal(vector, vectors_before[chunk])

    texts.clear()
    again = index.sync([sample_copy])
    assert again.chunks_embedded == 0 and texts == []
    assert len(again.unchanged) == 5


def test_deleted_file_is_removed_with_its_vectors(embedder, sample_copy, tmp_path):
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([sample_copy])
    gone = sample_copy / "004_bedb749cf14d49f0.txt"
    source = str(gone.resolve())
    total, its_chunks = index.chunk_count(), index.chunk_count(source)
    assert its_chunks > 0

    gone.unlink()
    report = index.sync([sample_copy])
    assert report.removed == [source]
    assert report.chunks_embedded == 0 and len(report.unchanged) == 4
    assert index.document(source) is None
    assert index.chunk_count() == total - its_chunks
    assert index._snapshot.size == total - its_chunks
    assert len(index._snapshot.chunks) == total  # its rows stay, dead, until a compaction
    assert all(h.source != source for h in index.search("Ishita Rony Bangladesh", k=10))

    loaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert loaded.document(source) is None and loaded.chunk_count() == total - its_chunks


def test_remove_takes_a_document_out_but_leaves_its_file(embedder, sample_copy, tmp_path):
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([sample_copy])
    source = str((sample_copy / "004_bedb749cf14d49f0.txt").resolve())
    total, its_chunks = index.chunk_count(), index.chunk_count(source)

    report = index.remove([source])
    assert report.removed == [source] and report.chunks_embedded == 0
    assert index.document(source) is None and index.chunk_count() == total - its_chunks
    assert Path(source).is_file()
    assert all(h.source != source for h in index.search("Ishita Rony Bangladesh", k=10))
    loaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert loaded.document(source) is None and loaded.verify() == []

    with pytest.raises(ValueError, match="is not a document in this index"):
        index.remove([source])
    assert len(index.sync([sample_copy]).added) == 1  # its folder synced again brings it back


def test_a_sync_writes_what_changed_and_compacts_once_dead_rows_pile_up(
    saved, corpus, embedder, monkeypatch
):
    path = saved.path
    first = {name: (path / name).stat().st_mtime_ns for name, _ in _segments(path)}
    store = (path / _store.STORE).stat().st_ino
    (corpus / "pier.txt").write_text("The pier is long.\n")
    (corpus / "harbour.txt").write_text("Harbour Hours\nThe harbour opens at seven.\n")
    (corpus / "museum.html").unlink()
    monkeypatch.setattr(_snapshot, "COMPACT_DEAD_SHARE", 0.9)
    report = saved.sync([corpus])
    assert [len(report.added), len(report.updated), len(report.removed)] == [1, 1, 1]

    # The first save's segment is untouched; the change added one segment, and the store was
    # changed in place.
    assert {name: (path / name).stat().st_mtime_ns for name in first} == first
    assert len(_segments(path)) == 2 * len(KINDS)
    assert (path / _store.STORE).stat().st_ino == store
    assert (_meta(path)["rows"], _meta(path)["chunks"]) == ("5", "3")  # 2 rows dead
    loaded = rag.Index.load(path, model=embedder)
    assert loaded._snapshot.live.tolist() == saved._snapshot.live.tolist()
    assert _results(loaded) == _results(saved) and loaded.verify() == []

    # Half the rows dead (over COMPACT_DEAD_SHARE): the next save renumbers the live rows into
    # one segment, and removes the old ones.
    monkeypatch.setattr(_snapshot, "COMPACT_DEAD_SHARE", 0.25)
    (corpus / "bakery.md").write_text("# Village Bakery\n\nThe bakery sells rye bread daily.\n")
    saved.sync([corpus])
    assert sorted(kind for _, kind in _segments(path)) == KINDS
    assert _data_files(path) == sorted(name for name, _ in _segments(path))
    assert saved._snapshot.next_row == 3 and _meta(path)["rows"] == "3"
    loaded = rag.Index.load(path, model=embedder)
    assert _results(loaded) == _results(saved) and loaded.verify() == []

    # More small segments than MERGE_SEGMENTS: they are made one (rows keep their numbers).
    monkeypatch.setattr(_snapshot, "MERGE_SEGMENTS", 1)
    (corpus / "ferry.txt").write_text("The ferry leaves at noon.\n")
    saved.sync([corpus])
    assert len(saved._snapshot.segments) == 1 and saved._snapshot.next_row == 4
    assert sorted(kind for _, kind in _segments(path)) == KINDS
    loaded = rag.Index.load(path, model=embedder)
    assert _results(loaded) == _results(saved) and loaded.verify() == []
    assert loaded.search("When does the ferry leave?", k=1)[0].source.endswith("ferry.txt")


def test_new_file_is_added(embedder, corpus, tmp_path):
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([corpus])
    new = corpus / "sub" / "lighthouse.md"
    new.parent.mkdir()
    new.write_text("# Lighthouse\n\nThe lighthouse keeper retired in 1950.\n")

    report = index.sync([corpus])
    assert report.added == [str(new.resolve())]
    assert report.chunks_embedded == index.chunk_count(str(new.resolve())) == 1
    assert len(report.unchanged) == 3
    (hit,) = index.search("lighthouse keeper", k=1)
    assert hit.source == str(new.resolve())


def test_file_turned_unreadable_keeps_its_indexed_version(saved, corpus):
    path = corpus / "harbour.txt"
    source = str(path.resolve())
    previous = saved.document(source)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))

    report = saved.sync([corpus])
    assert [s.source for s in report.skipped] == [source]
    assert report.skipped[0].reason.startswith("binary content, not text")
    assert report.removed == report.updated == [] and report.chunks_embedded == 0
    assert saved.document(source) == previous
    assert saved.search("When does the harbour open?", k=1)[0].source == source


def test_bad_files_never_abort_indexing(embedder, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("The lighthouse keeper retired in 1950.\n")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(256))
    (folder / "empty.md").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"this is not a pdf " * 20)
    real_pdf = _pdf_bytes("A real page that will be cut off.")
    (folder / "truncated.pdf").write_bytes(real_pdf[: len(real_pdf) // 2])
    (folder / "huge.txt").write_text("word " * 2000)
    (folder / "sheet.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "drawing.dwg").write_bytes(b"AC1032" + bytes(64))

    index = rag.Index(embedder, path=tmp_path / "index", limits=IngestLimits(max_file_bytes=5000))
    report = index.sync([folder])
    assert report.added == [str((folder / "good.txt").resolve())]
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert sorted(reasons) == [
        "broken.pdf",
        "drawing.dwg",
        "empty.md",
        "huge.txt",
        "photo.txt",
        "sheet.xlsx",
        "truncated.pdf",
    ]
    assert "binary" in reasons["photo.txt"]
    assert "empty" in reasons["empty.md"]
    assert reasons["broken.pdf"].startswith("broken PDF")
    assert reasons["truncated.pdf"].startswith("broken PDF")
    assert "10,000 bytes, over the 5,000-byte limit" in reasons["huge.txt"]
    assert reasons["sheet.xlsx"].startswith("Excel file is truncated or corrupt")
    assert reasons["drawing.dwg"] == "unsupported file type '.dwg'"
    assert len(rag.Index.load(tmp_path / "index", model=embedder).documents) == 1


def test_unreadable_files_are_not_read_again_until_they_change(embedder, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.txt").write_text("The ferry to Vardo leaves at noon.\n")
    broken = folder / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf " * 20)
    index = rag.Index(embedder, path=tmp_path / "index")
    first = index.sync([folder])
    reason = first.skipped[0].reason
    assert [Path(s.source).name for s in first.skipped] == ["broken.pdf"]

    read = []
    real_extract_files = rag.index.extract_files

    def recording(paths, *args, **kwargs):
        read.extend(Path(p).name for p in paths)
        return real_extract_files(paths, *args, **kwargs)

    monkeypatch.setattr(rag.index, "extract_files", recording)
    again = rag.Index.load(tmp_path / "index", model=embedder).sync([folder])
    assert read == []  # neither the unchanged good file nor the unchanged broken one
    assert [(Path(s.source).name, s.reason) for s in again.skipped] == [("broken.pdf", reason)]

    broken.write_bytes(_pdf_bytes("The ferry to Hammerfest leaves at dawn."))
    fixed = index.sync([folder])
    assert read == ["broken.pdf"] and fixed.skipped == []
    assert fixed.added == [str(broken.resolve())]


def test_hostile_files_cost_one_skip_each(embedder, tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "good.txt").write_text("The lighthouse keeper of Vardo is Ingrid Solberg.\n")
    (folder / "nested.html").write_text("<div>" * 20_000 + "deep text" + "</div>" * 20_000)
    pdf = _pdf_bytes("Some words on a page.")
    (folder / "filter.pdf").write_bytes(pdf.replace(b"/FlateDecode", b"/FlatmDecode"))
    (folder / "line\nbreak.txt").write_text("A name with a newline in it, and a sentence.")
    bad_name = os.fsencode(folder) + b"/latin-\xe9.txt"
    with open(bad_name, "wb") as handle:
        handle.write(b"A file name in Latin-1.")
    os.mkfifo(folder / "pipe.txt")

    index = rag.Index(embedder, path=tmp_path / "index")
    report = index.sync([folder])
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons == {
        "filter.pdf": "broken PDF: NotImplementedError: Unsupported filter /FlatmDecode",
        "latin-\\xe9.txt": "file name is not valid UTF-8: rename the file",
        "pipe.txt": "not a regular file (a pipe, socket or device)",
    }
    names = sorted(Path(s).name for s in report.added)
    assert names == ["good.txt", "line\nbreak.txt", "nested.html"]
    loaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert loaded.document(str((folder / "nested.html").resolve())).text == "deep text"
    assert loaded.search("Who keeps the lighthouse of Vardo?", k=1)[0].source.endswith("good.txt")


def test_concurrent_writers_lose_nothing(tmp_path):
    """Three `rag index` processes add one file each to the same new index at the same time."""
    script = Path(sys.executable).parent / "rag"
    index_path = tmp_path / "shared-index"
    files = []
    facts = [("ferry", "leaves at noon"), ("bakery", "opens at six"), ("pier", "is long")]
    for name, fact in facts:
        path = tmp_path / f"{name}.txt"
        path.write_text(f"The {name} {fact}.\n")
        files.append(path)
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_CACHE_DIR": str(tmp_path / "cache")}
    writers = [
        subprocess.Popen(
            [str(script), "index", str(path), "--index", str(index_path)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    outputs = [writer.communicate(timeout=300) for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0], outputs
    loaded = rag.Index.load(index_path)
    assert sorted(Path(d.source).name for d in loaded.documents) == [
        "bakery.txt",
        "ferry.txt",
        "pier.txt",
    ]
    assert _data_files(index_path) == sorted(name for name, _ in _segments(index_path))


def test_a_writer_waits_for_the_lock_and_builds_on_the_other_writers_work(
    embedder, corpus, tmp_path
):
    path = tmp_path / "index"
    first = rag.Index(embedder, path=path)
    first.sync([corpus / "harbour.txt"])
    second = rag.Index.load(path, model=embedder)
    third = rag.Index(embedder, path=path)  # made before any save: it knows nothing yet
    first.sync([corpus / "harbour.txt", corpus / "bakery.md"])
    second.sync([corpus / "museum.html"])  # must not drop bakery.md, saved after it loaded
    third.sync([])
    names = sorted(Path(d.source).name for d in rag.Index.load(path, model=embedder).documents)
    assert names == ["bakery.md", "harbour.txt", "museum.html"]
    assert sorted(Path(d.source).name for d in third.documents) == names

    with _store.writer_lock(path):
        started = time.perf_counter()
        refused = pytest.raises(rag.RagError, match="another process has been writing to the index")
        with refused, _store.writer_lock(path, wait_s=0.3):
            pass
        assert time.perf_counter() - started >= 0.3


def test_unchanged_files_are_not_read_by_a_sync(saved, corpus, monkeypatch):
    hashed = []
    real_sha256 = rag.index.file_sha256

    def recording(path):
        hashed.append(Path(path).name)
        return real_sha256(path)

    monkeypatch.setattr(rag.index, "file_sha256", recording)
    reloaded = rag.Index.load(saved.path, model=saved.embedder)
    assert len(reloaded.sync([corpus]).unchanged) == 3 and hashed == []

    harbour = corpus / "harbour.txt"
    os.utime(harbour, ns=(harbour.stat().st_atime_ns, harbour.stat().st_mtime_ns + 10**9))
    report = reloaded.sync([corpus])  # touched: hashed, found unchanged, not re-embedded
    assert hashed == ["harbour.txt"] and report.chunks_embedded == 0
    reloaded.sync([corpus])
    assert hashed == ["harbour.txt"]  # the new modification time was remembered


def test_load_reads_the_saved_bm25_index(saved, embedder, monkeypatch):
    def no_rebuild(*args, **kwargs):
        raise AssertionError("a saved BM25 index is loaded, not rebuilt")

    with monkeypatch.context() as patch:
        patch.setattr(rag.retrieve, "tokenize", no_rebuild)
        with pytest.raises(AssertionError, match="loaded, not rebuilt"):
            rag.retrieve.Lexicon(["the patch is live"])
        loaded = rag.Index.load(saved.path, model=embedder)
    assert _results(loaded) == _results(saved)


def test_damaged_bm25_index_is_refused(saved, embedder):
    (terms,) = saved.path.glob("bm25-*/terms.json")
    terms.write_text(terms.read_text().replace("harbour", "harbor"))
    with pytest.raises(rag.IndexFormatError, match="corrupted"):
        rag.Index.load(saved.path, model=embedder)


def _written(path: Path) -> dict[str, int]:
    """Modification times of the index's files; SQLite's shared-memory file and an empty
    write-ahead log (made by readers) are not writes."""
    return {
        p.name: p.stat().st_mtime_ns
        for p in path.iterdir()
        if not p.name.endswith("-shm") and not (p.name.endswith("-wal") and not p.stat().st_size)
    }


def test_a_sync_that_changes_nothing_writes_nothing(saved, corpus):
    before = _written(saved.path)
    generation = _store.generation(saved.path)
    report = rag.Index.load(saved.path, model=saved.embedder).sync([corpus])
    assert len(report.unchanged) == 3 and report.added == report.updated == report.removed == []
    assert _store.generation(saved.path) == generation
    assert _written(saved.path) == before


def test_approximate_search_switches_on_by_size(embedder, tmp_path, monkeypatch):
    monkeypatch.setattr(_snapshot, "APPROXIMATE_FROM", 10)
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_CORPUS, folder)
    extra = folder / "extra.txt"
    extra.write_text("The ferry to Vardo leaves at noon. The pier is long.\n")
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([folder])
    assert index.chunk_count() >= 10
    assert _kinds(index) == [faiss.IndexHNSWFlat]
    exact = rag.Index(embedder)
    monkeypatch.setattr(_snapshot, "APPROXIMATE_FROM", 10**9)
    exact.sync([folder])
    assert _kinds(exact) == [faiss.IndexFlatIP]

    questions = ["Who heads the Counter-Trafficking Division?", "When does the ferry leave?"]
    for question in questions:  # on a small graph HNSW finds the same hits
        assert _results_for(index, question) == _results_for(exact, question)
    only = [str(extra.resolve())]
    (hit,) = index.search("Who heads the Counter-Trafficking Division?", k=1, sources=only)
    assert hit.source == only[0]  # a filter to one document still finds its chunk

    monkeypatch.setattr(_snapshot, "APPROXIMATE_FROM", 10)
    loaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert _kinds(loaded) == [faiss.IndexHNSWFlat]  # the saved graph, not built again
    (folder / "more.txt").write_text("The bakery sells rye bread on Tuesdays.\n")
    loaded.sync([folder])  # an added file is a small segment beside the graph, searched exactly
    assert _kinds(loaded) == [faiss.IndexHNSWFlat, faiss.IndexFlatIP]
    assert loaded.search("rye bread", k=1)[0].source.endswith("more.txt")
    extra.unlink()
    loaded.sync([folder])  # a removed file leaves dead rows in the graph, searched past
    assert _kinds(loaded) == [faiss.IndexHNSWFlat, faiss.IndexFlatIP]
    assert not any(h.source.endswith("extra.txt") for h in loaded.search("ferry pier", k=5))
    reloaded = rag.Index.load(tmp_path / "index", model=embedder)
    assert _results_for(reloaded, "ferry pier") == _results_for(loaded, "ferry pier")


def _kinds(index: rag.Index) -> list[type]:
    return [type(segment.index) for segment in index._snapshot.segments]


def _results_for(index: rag.Index, question: str) -> list[tuple]:
    return [(h.source, h.start, h.end) for h in index.search(question, k=3)]


_HASH_EMBEDDER = '''
import hashlib

import numpy as np

from embeddings import EmbedderIdentity


class HashEmbedder:
    """Vectors from text hashes: no model, so a process starts in half a second."""

    identity = EmbedderIdentity("hash-test", "0" * 64, 16, 64)
    dim = 16
    max_tokens = 64

    def count_tokens(self, text):
        return len(text.split())

    def embed(self, texts, progress=False):
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], np.uint8) for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), 16) + 1
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
'''

_SYNC_FOREVER = """
import sys, types
from pathlib import Path
package = types.ModuleType("rag")  # skip rag/__init__ (PyTorch): only the index is needed
package.__path__ = [sys.argv[1]]
sys.modules["rag"] = package
sys.path.insert(0, sys.argv[4])
from rag.index import Index
from hash_embedder import HashEmbedder
index, corpus = Index.load(sys.argv[2], model=HashEmbedder()), Path(sys.argv[3])
print("ready", flush=True)
version = 0
while True:
    version += 1
    name = f"doc{version % 5}.txt"
    (corpus / name).write_text(f"Version {version} of {name}. It has words. " * (version % 40 + 1))
    if version % 7 == 0:
        (corpus / f"doc{(version + 2) % 5}.txt").unlink(missing_ok=True)
    index.sync([corpus])
"""


def _syncing_forever(tmp_path: Path):
    """(the hash embedder, the index path, a function starting a process that syncs the index
    in a loop, changing and removing documents, once it has printed "ready")."""
    (tmp_path / "hash_embedder.py").write_text(_HASH_EMBEDDER)
    (tmp_path / "sync_forever.py").write_text(_SYNC_FOREVER)
    sys.path.insert(0, str(tmp_path))
    try:
        from hash_embedder import HashEmbedder
    finally:
        sys.path.remove(str(tmp_path))
    corpus, path = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "doc0.txt").write_text("The first version. It has words.")
    rag.Index(HashEmbedder(), path=path).sync([corpus])
    package = str(Path(rag.__file__).parent)

    def start() -> subprocess.Popen:
        child = subprocess.Popen(
            [sys.executable, str(tmp_path / "sync_forever.py"), package, str(path), str(corpus),
             str(tmp_path)],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert child.stdout.readline() == "ready\n"
        return child

    return HashEmbedder, path, start


def _assert_consistent(loaded: rag.Index) -> None:
    for document in loaded.documents:
        chunks = [c for c in _chunks(loaded) if c.source == document.source]
        assert chunks and all(document.text[c.start : c.end] == c.text for c in chunks)
    snapshot = loaded._snapshot
    assert snapshot.lexicon.size == len(snapshot.chunks) == sum(s.rows for s in snapshot.segments)


def _stop(child: subprocess.Popen) -> None:
    child.kill()
    child.wait()
    child.stdout.close()


def test_a_sync_killed_at_any_moment_leaves_a_loadable_index(tmp_path):
    """20 times: a process syncing in a loop is killed at a random moment; the index loads, and
    holds a consistent state (old or new, never a mix)."""
    HashEmbedder, path, start = _syncing_forever(tmp_path)
    rng = random.Random(7)
    generations = set()
    for _ in range(20):
        child = start()
        time.sleep(rng.uniform(0.02, 0.5))
        _stop(child)
        _assert_consistent(rag.Index.load(path, model=HashEmbedder()))
        generations.add(_store.generation(path))
    assert len(generations) >= 10  # the killed processes did save, between the kills


def test_readers_see_one_state_while_a_writer_syncs(tmp_path):
    """Loads while another process syncs in a loop (compacting often, so segment files come and
    go) never fail, never wait for it, and always hold one consistent state."""
    HashEmbedder, path, start = _syncing_forever(tmp_path)
    child = start()
    try:
        generations, compactions = set(), set()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            loaded = rag.Index.load(path, model=HashEmbedder())
            _assert_consistent(loaded)
            generations.add(loaded._generation)
            compactions.add(loaded._snapshot.epoch)
    finally:
        _stop(child)
    assert len(generations) >= 5 and len(compactions) >= 2


def test_boilerplate_is_kept_right_as_documents_come_and_go(embedder, tmp_path):
    """Only new and changed documents are read line by line; the others are marked again when a
    line of theirs becomes, or stops being, boilerplate (shared by 3 documents)."""
    folder = tmp_path / "site"
    folder.mkdir()
    menu = "Home | News | Contact us\n"
    pages = {
        "a.txt": "The harbour opens at six.\n",
        "b.txt": "The bakery sells rye bread.\n",
        "c.txt": "The museum shows a whale.\n",
    }
    for name, body in pages.items():
        (folder / name).write_text(menu + body)
    index = rag.Index(embedder, path=tmp_path / "index")

    def assert_marked_as_from_scratch():
        fresh = rag.Index(embedder)
        fresh.sync([folder])
        assert {d.source: d.content_spans for d in index.documents} == {
            d.source: d.content_spans for d in fresh.documents
        }

    index.sync([folder])
    assert not any("Home" in c.text for c in _chunks(index))  # the menu is boilerplate
    assert_marked_as_from_scratch()
    (folder / "c.txt").unlink()  # two pages left: the menu is their content now
    index.sync([folder])
    assert_marked_as_from_scratch()
    assert all("Home" in index.document(d.source).text[slice(*d.content_spans[0])]
               for d in index.documents)  # fmt: skip
    (folder / "d.txt").write_text(menu + "The pier is long.\n")  # three again
    index.sync([folder])  # the counts of shared lines were kept up to date, not recounted
    assert_marked_as_from_scratch()
    assert not any("Home" in c.text for c in _chunks(index))
    (folder / "a.txt").write_text("The harbour opens at six.\n")  # the menu leaves a page
    index = rag.Index.load(tmp_path / "index", model=embedder)  # line hashes saved and loaded
    index.sync([folder])
    assert_marked_as_from_scratch()
    assert all("Home" in index.document(d.source).text[slice(*d.content_spans[0])]
               for d in index.documents if "Home" in d.text)  # fmt: skip


def test_verify_finds_what_files_say_against_each_other(saved, embedder):
    loaded = rag.Index.load(saved.path, model=embedder)
    assert loaded.verify() == []
    snapshot = loaded._snapshot
    chunk = snapshot.chunk(0)
    ends = snapshot.chunks.ends.copy()
    ends[0] = 10**6
    vectors = _vectors(loaded)
    vectors[1] *= 2
    loaded._snapshot = dataclasses.replace(
        snapshot,
        chunks=dataclasses.replace(snapshot.chunks, ends=ends),
        segments=(_snapshot.Segment(0, _snapshot.dense_index(vectors)),),
    )
    assert loaded.verify() == [
        f"chunk 0 lies outside its document {chunk.source}",
        "vector 1 is not of unit length",
    ]


def test_the_precisions_vectors_were_made_in_are_recorded(embedder, corpus, tmp_path, monkeypatch):
    """Vectors of float32 and bfloat16 may share an index (eval/bench_index.py: mixing costs
    recall within 0.3 points); the index records each precision that added to it."""
    monkeypatch.setenv("RAG_PRECISION", "float32")
    index = rag.Index(embedder, path=tmp_path / "mixed")
    index.sync([corpus])
    assert index.info()["embedding_precisions"] == ["float32"]
    monkeypatch.setenv("RAG_PRECISION", "bfloat16")
    (corpus / "pier.txt").write_text("The pier is long.\n")
    index.sync([corpus])
    assert rag.Index.load(tmp_path / "mixed", model=embedder).info()["embedding_precisions"] == [
        "bfloat16",
        "float32",
    ]
