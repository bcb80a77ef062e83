"""rag.chat: what the web chat's controls do, without a browser (tests/test_app.py drives one)."""

import json
from html import unescape
from pathlib import Path

import pytest

import rag
from rag.chat import Chat, Transcripts, rejections
from rag.cite import document_key
from rag.ingest import IngestLimits

QUESTION = "Who is the Head of Unit of INTPA G6?"


@pytest.fixture
def chat(embedder, sample_copy, tmp_path):
    """A chat over a copy of the sample corpus, saved, with an uploads folder."""
    index = rag.Index(embedder, path=tmp_path / "index")
    index.sync([sample_copy])
    return Chat(index, tmp_path / "index" / "uploads", folders=True)


def _key(chat: Chat, name: str) -> str:
    return next(document_key(d.source) for d in chat.index.documents if d.source.endswith(name))


def test_transcripts_keep_the_order_asked_whatever_order_answers_come_in():
    transcripts = Transcripts()
    first = transcripts.reserve("s", 1)
    second = transcripts.reserve("s", 2)
    assert transcripts.fill("s", *second, "<two>") == "<two>"  # the first is still pending
    assert transcripts.fill("s", *first, "<one>") == "<one><two>"
    assert transcripts.fill("other", *transcripts.reserve("other", 1), "<x>") == "<x>"


def test_a_cleared_conversation_drops_answers_still_pending():
    transcripts = Transcripts()
    pending = transcripts.reserve("s", 1)
    transcripts.clear("s")
    assert transcripts.fill("s", *pending, "<late>") is None
    assert transcripts.fill("s", *transcripts.reserve("s", 2), "<new>") == "<new>"


def test_reply_answers_and_filters_by_document_key(chat):
    html = chat.reply("s", 1, QUESTION)
    assert "Francesco Luciani" in html and html.count('class="rag-turn"') == 1
    only = _key(chat, "000_2a24db366a328148.txt")  # a document that does not name him
    html = chat.reply("s", 2, QUESTION, only=[only])
    assert html.count('class="rag-turn"') == 2
    assert "Francesco Luciani" not in html.rsplit('class="rag-turn"', 1)[1]
    html = chat.reply("s", 3, QUESTION, only=["not-a-key"])
    assert "no such document in the index" in html


def test_a_citation_opens_its_source_and_a_bad_one_says_why(chat):
    html = chat.reply("s", 1, QUESTION)
    cite = unescape(html.split('data-cite="', 1)[1].split('"', 1)[0])
    view, source = chat.open_citation(cite)
    assert source is not None, view
    assert source.endswith("004_bedb749cf14d49f0.txt") and 'id="cite-answer"' in view
    for bad in ("not json", "[1]", json.dumps({"doc": "nope", "start": 0, "end": 1})):
        view, source = chat.open_citation(bad)
        assert source is None and "Cannot open this citation" in view


def test_removing_an_upload_deletes_its_copy_and_a_folder_file_stays(chat, tmp_path):
    upload = tmp_path / "zebra.txt"
    upload.write_text("The Zebra Project is led by Marta Kowalski, who founded it in 2019.\n")
    status = chat.add_files([upload])
    assert status.startswith("Indexed uploads: 1 added (zebra.txt)")
    copy = chat.uploads / "zebra.txt"
    assert copy.is_file() and chat.changes == 1

    status = chat.remove(_key(chat, "zebra.txt"))
    assert status.startswith("Removed zebra.txt from the index (its uploaded copy is deleted)")
    assert not copy.exists() and chat.changes == 2
    assert all(not d.source.endswith("zebra.txt") for d in chat.index.documents)

    sample = _key(chat, "004_bedb749cf14d49f0.txt")
    assert "the file itself is untouched" in chat.remove(sample)
    assert len(chat.index.documents) == 4
    assert chat.remove(sample).startswith("Nothing was removed: no such document")
    reloaded = rag.Index.load(chat.index.path, model=chat.index.embedder)
    assert len(reloaded.documents) == 4 and reloaded.verify() == []


def test_a_read_only_chat_refuses_every_change(embedder, tmp_path):
    index = rag.Index(embedder)
    chat = Chat(index, tmp_path / "uploads", folders=True, read_only=True)
    upload = tmp_path / "a.txt"
    upload.write_text("Some text.\n")
    for change in (
        lambda: chat.add_files([upload]),
        lambda: chat.add_folder(str(tmp_path)),
        lambda: chat.remove("anything"),
    ):
        with pytest.raises(PermissionError, match="answers questions only"):
            change()
    assert not chat.folders and index.documents == []


def test_upload_status_says_what_was_rejected_and_why_once(chat, tmp_path, monkeypatch):
    (tmp_path / "macro.docm").write_bytes(b"PK")
    (tmp_path / "notes.xyz").write_text("x")
    (tmp_path / "long.txt").write_text("Long text about zebras. " * 2000)
    monkeypatch.setattr(chat.index, "limits", IngestLimits(max_chars=1000))
    status = chat.add_files([tmp_path / n for n in ("macro.docm", "notes.xyz", "long.txt")])
    lines = status.splitlines()
    assert lines[0].startswith("Indexed uploads: 1 added (long.txt)")
    assert any(line.startswith("Rejected macro.docm: ") for line in lines)
    assert "Rejected notes.xyz: unsupported file type '.xyz'" in lines
    assert lines[-1].startswith("Accepted types: .csv, .docx")
    cut = next(line for line in lines if line.startswith("long.txt: "))
    assert cut.count("cut short") == 1


def test_rejections_read_files_as_a_sync_would(tmp_path):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01binary\x00" * 100)
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "fine.md").write_text("# Fine\n\nA fine document.\n")
    found = dict(rejections([tmp_path / n for n in ("blob.txt", ".hidden.txt", "fine.md")]))
    assert "binary content" in found[tmp_path / "blob.txt"]
    assert "hidden files" in found[tmp_path / ".hidden.txt"]
    assert found[tmp_path / "fine.md"] is None


def test_add_folder_needs_a_folder_and_permission(chat, tmp_path):
    assert chat.add_folder("  ").startswith("Not a folder")
    assert chat.add_folder(str(tmp_path / "missing")).startswith("Not a folder")
    chat.folders = False
    assert chat.add_folder(str(tmp_path)) == "Adding folders by path is turned off on this server."
    assert Path(tmp_path).is_dir()
