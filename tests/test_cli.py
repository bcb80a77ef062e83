"""rag/cli.py: the ``rag`` command end to end, and its one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from embeddings import DEFAULT_MODEL
from rag.cli import main

HIT_KEYS = {"score", "title", "source", "page", "location", "start", "end", "text"}
ANSWER_KEYS = {"question", "answer", "found", "confidence", "sentence", "citations", "candidates"}
CITATION_KEYS = {
    "n",
    "location",
    "title",
    "source",
    "page",
    "start",
    "end",
    "answer_start",
    "answer_end",
    "text",
    "file_sha256",
}


@pytest.fixture(autouse=True)
def _session_model(embedder, monkeypatch):
    """The CLI loads its model by name; hand it the session's instead of loading it again."""

    def load_embedder(name=None, cache=True):
        assert name in (None, DEFAULT_MODEL)
        return embedder

    monkeypatch.setattr("rag.index.load_embedder", load_embedder)


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "lighthouse.txt").write_text(
        "Lighthouse Keeper News\nThe lighthouse keeper of Vardo is Ingrid Solberg. She lit it.\n"
    )
    (folder / "bakery.md").write_text(
        "# Village Bakery\n\nThe bakery sells rye bread on Tuesdays.\n"
    )
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    return folder


@pytest.fixture
def index_dir(corpus, tmp_path, capsys) -> Path:
    path = tmp_path / "index"
    assert main(["index", str(corpus), "--index", str(path)]) == 0
    capsys.readouterr()
    return path


def test_index_reports_what_it_did(corpus, tmp_path, capsys):
    path = tmp_path / "index"
    assert main(["index", str(corpus), "--index", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"Indexed 2 documents (2 chunks) into {path}" in out
    assert "2 added, 0 updated, 0 removed, 0 unchanged, 2 chunks embedded" in out
    assert "skipped" in out and "photo.txt: binary content" in out

    assert main(["index", str(corpus), "--index", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["unchanged"], report["chunks_embedded"]) == ([], 2, 0)
    assert (report["documents"], report["chunks"]) == (2, 2)
    (skipped,) = report["skipped"]
    assert Path(skipped["source"]).name == "photo.txt" and "binary" in skipped["reason"]


def test_info(index_dir, capsys):
    assert main(["info", "--index", str(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "model: all-MiniLM-L6-v2 (384 d" in out
    assert "documents: 2" in out and "chunks: 2" in out
    assert "Lighthouse Keeper News" in out and "Village Bakery" in out

    assert main(["info", "--index", str(index_dir), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["documents"], info["chunks"], info["max_tokens"]) == (2, 2, 254)
    assert sorted(s["title"] for s in info["sources"]) == [
        "Lighthouse Keeper News",
        "Village Bakery",
    ]


def test_ask_json(index_dir, corpus, capsys):
    question = "Who is the lighthouse keeper of Vardo?"
    assert main(["ask", question, "--index", str(index_dir), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert set(answer) == ANSWER_KEYS
    assert answer["question"] == question
    assert isinstance(answer["found"], bool) and 0.0 <= answer["confidence"] <= 1.0
    assert 1 <= len(answer["citations"]) <= 2
    for citation in answer["citations"]:
        assert set(citation) == CITATION_KEYS
        assert Path(citation["source"]).parent == corpus.resolve()
    lighthouse = (corpus / "lighthouse.txt").read_text()
    first = answer["citations"][0]
    assert lighthouse[first["start"] : first["end"]] in first["text"]


def test_help_names_the_default_threshold(capsys):
    from rag.answer import MIN_CONFIDENCE
    from rag.cli import _DEFAULT_MIN_CONFIDENCE

    assert _DEFAULT_MIN_CONFIDENCE == MIN_CONFIDENCE
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    assert f"(default {MIN_CONFIDENCE})" in " ".join(capsys.readouterr().out.split())


def test_the_package_and_the_help_start_without_pytorch():
    # A Ray worker reading files or serving a shard, and `rag --help`, import the package: its
    # names load on first use, so none of these pays PyTorch's 2 s.
    script = (
        "import sys, rag, rag.cli, rag._shards\n"
        "rag.cli._parser(); rag.Hit, rag.IngestLimits, rag.RagError\n"
        "print('torch' in sys.modules, rag.evaluate.__name__)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "evaluate"], result.stderr


def test_index_help_lists_every_format_and_its_library(capsys):
    from rag.ingest import SUPPORTED_SUFFIXES

    with pytest.raises(SystemExit):
        main(["index", "--help"])
    out = capsys.readouterr().out
    assert all(suffix in out for suffix in SUPPORTED_SUFFIXES)
    assert "python-docx" in out and "Tesseract" in out and "--ocr-lang" in out


def test_ask_text(index_dir, capsys):
    question = "Who is the lighthouse keeper of Vardo?"
    assert main(["ask", question, "--index", str(index_dir), "--k", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Below rag.answer.UNCERTAIN_BELOW the same answer is printed as "Uncertain answer:".
    assert lines[0].startswith(("Answer: Ingrid Solberg", "Uncertain answer: Ingrid Solberg"))
    assert "(confidence 0." in lines[0]
    assert lines[-1].startswith("[1] Lighthouse Keeper News")


def test_search_json(index_dir, capsys):
    assert main(["search", "rye bread", "--index", str(index_dir), "--json", "--k", "2"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    assert all(set(hit) == HIT_KEYS for hit in hits)
    assert hits[0]["title"] == "Village Bakery"
    assert hits[0]["score"] >= hits[1]["score"]


def test_search_text(index_dir, capsys):
    assert main(["search", "rye bread", "--index", str(index_dir), "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] ") and "Village Bakery" in out and "rye bread" in out


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage: rag" in capsys.readouterr().out


def _corrupt(index_dir: Path) -> None:
    """A changed byte in a document's text, inside the store."""
    store = index_dir / "store.sqlite"
    data = bytearray(store.read_bytes())
    data[data.index(b"rye bread")] ^= 0x01
    store.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "Who?", "--index", "{missing}"], "no index at"),
        (["search", "harbour", "--index", "{missing}"], "no index at"),
        (["info", "--index", "{missing}"], "no index at"),
        (["index", "{missing}", "--index", "{index}"], "no such file or folder"),
        (["index", "{corpus}", "--index", "{corpus}/bakery.md"], "is a file, not a folder"),
        (["ask", "   ", "--index", "{index}"], "empty"),
        (["search", "", "--index", "{index}"], "empty"),
        (["ask", "Who?", "--index", "{index}", "--k", "0"], "k must be at least 1"),
        (["ask", "Who?", "--index", "{index}", "--source", "nowhere.txt"], "no indexed document"),
        (["ask", "Who?", "--index", "{index}", "--min-confidence", "2"], "min_confidence"),
        (["info", "--index", "{corrupted}"], "corrupted"),
        (["index", "{corpus}", "--index", "{index}", "--ocr-lang", "eng+xq"], "not installed"),
        (["index", "{corpus}", "--index", "{index}", "--ocr-lang", "eng;x"], "ocr_lang"),
    ],
)
def test_errors_are_one_line(index_dir, corpus, tmp_path, capsys, argv, message):
    if "{corrupted}" in argv:
        _corrupt(index_dir)
    paths = {"missing": tmp_path / "missing", "index": index_dir, "corrupted": index_dir}
    argv = [part.format(corpus=corpus, **paths) for part in argv]

    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rag: error: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_installed_console_script():
    script = Path(sys.executable).parent / "rag"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rag")
    for command in ("index", "ask", "search", "info", "verify"):
        assert command in result.stdout


def test_index_prints_each_skipped_file_on_one_line(tmp_path, capsys):
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "good.txt").write_text("The ferry leaves at noon.\n")
    (folder / "two\nlines.pdf").write_bytes(b"not a pdf at all " * 10)
    assert main(["index", str(folder), "--index", str(tmp_path / "index")]) == 0
    lines = capsys.readouterr().out.splitlines()
    (skipped,) = [line for line in lines if line.startswith("  skipped ")]
    assert skipped.endswith(
        "two\\nlines.pdf: broken PDF: PdfStreamError: Stream has ended unexpectedly"
    )


def test_verify(index_dir, capsys):
    assert main(["verify", "--index", str(index_dir)]) == 0
    assert "is sound: every file matches its checksum; 2 documents, 2 chunks" in (
        capsys.readouterr().out
    )
    vectors = next(index_dir.glob("vectors-*.faiss"))
    vectors.write_bytes(vectors.read_bytes()[:-10] + b"0123456789")
    assert main(["verify", "--index", str(index_dir), "--json"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("rag: error: index file") and "corrupted" in error


def test_ask_search_and_info_never_import_sentence_transformers_or_transformers(index_dir):
    """Those imports were 3 s of every command's start; the bundled model runs without them."""
    import subprocess
    import sys

    script = (
        "import sys, contextlib, io\n"
        "from rag.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['ask', 'Who keeps the lighthouse?', '--index', {str(index_dir)!r}, '--json'])\n"
        f"    main(['search', 'lighthouse', '--index', {str(index_dir)!r}, '--json'])\n"
        f"    main(['info', '--index', {str(index_dir)!r}, '--json'])\n"
        "heavy = ('sentence_transformers', 'transformers', 'matplotlib', 'gradio', 'sklearn')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
