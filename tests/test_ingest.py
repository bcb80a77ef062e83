"""rag/ingest.py (and rag/_html.py, rag/_pdf.py): finding files, extracting text, content."""

import base64
import codecs
import os
import random
import re
import threading
import unicodedata
from pathlib import Path

import pytest
from conftest import SAMPLE_CORPUS
from fpdf import FPDF

from rag._extract import extract
from rag.ingest import (
    BOILERPLATE_MIN_DOCS,
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    Document,
    ExtractionError,
    IngestLimits,
    Skipped,
    discover_files,
    extract_file,
    extract_files,
    mark_content,
)

IOM_TITLES = {
    "000": "Sharing Best Practices to Combat Trafficking in Persons",
    "001": "Unique Tool Launched to Help Fight Human Trafficking Worldwide",
    "002": "IOM Wraps Up Successful Regional Counter-Trafficking Conference",
    "003": "IOM, EU Experts Train Chinese Police, Officials to Aid Victims of Human Trafficking",
}
# The website navigation at the top of the four IOM press releases.
NAVIGATION = {
    "-",
    "Who we are",
    "Our Work",
    "What We Do",
    "Partnerships",
    "Highlights",
    "- Where we work",
    "Take Action",
    "Work with us",
    "Get involved",
    "- Data and Research",
    "- 2030 Agenda",
}


def pdf_bytes(pages: list[str], title: str | None = None) -> bytes:
    """A real PDF with one page per text, made with fpdf2."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def _lines(document: Document) -> list[tuple[int, int, str]]:
    """(start, end, text) of every line of the document."""
    lines, start = [], 0
    for line in document.text.split("\n"):
        lines.append((start, start + len(line), line))
        start += len(line) + 1
    return lines


def _outside_content(document: Document, start: int, end: int) -> bool:
    return all(e <= start or s >= end for s, e in document.content_spans)


@pytest.fixture(scope="module")
def sample_documents() -> dict[str, Document]:
    """The sample corpus, extracted and marked, by file-name prefix ("000" ...)."""
    files, _ = discover_files([SAMPLE_CORPUS])
    documents = mark_content([extract_file(path) for path in files])
    return {Path(d.source).name[:3]: d for d in documents}


def test_defaults():
    assert {".txt", ".md", ".html", ".htm", ".pdf"} <= SUPPORTED_SUFFIXES
    assert MAX_FILE_BYTES == 50 * 1024 * 1024
    assert BOILERPLATE_MIN_DOCS == 3


# Formats ------------------------------------------------------------------------------------


def test_txt_keeps_text_and_finds_headline(tmp_path):
    path = tmp_path / "harbour.txt"
    path.write_bytes(
        b"Harbour Opening Hours Announced\r\nThe harbour opens at six. It closes at nine.\r\n"
    )

    document = extract_file(path)
    assert document.format == "text"
    assert document.source == str(path.resolve())
    assert (
        document.text
        == "Harbour Opening Hours Announced\nThe harbour opens at six. It closes at nine.\n"
    )
    assert document.page_starts == ()
    assert document.page_at(10) is None

    (marked,) = mark_content([document])
    assert marked.title == "Harbour Opening Hours Announced"
    assert marked.title_source == "headline"
    assert [marked.text[s:e] for s, e in marked.content_spans] == [marked.text.strip()]


def test_txt_without_headline_takes_title_from_first_sentence(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("the ferry was late again today. nobody knows why.\n")
    (document,) = mark_content([extract_file(path)])
    assert document.title == "the ferry was late again today."
    assert document.title_source == "text"


@pytest.mark.parametrize("suffix", [".md", ".markdown"])
def test_markdown_title_from_heading(tmp_path, suffix):
    path = tmp_path / f"bakery{suffix}"
    path.write_text(
        "Intro line.\n\n# Village Bakery Opens\n\nThe bakery sells rye bread on Tuesdays.\n"
    )
    document = extract_file(path)
    assert document.format == "markdown"
    assert document.title == "Village Bakery Opens"
    assert "rye bread on Tuesdays" in document.text


def test_html_text_title_and_dropped_chrome(tmp_path):
    path = tmp_path / "harbour.html"
    path.write_text(
        "<!doctype html><html><head><title>Harbour Guide | Example Site</title>"
        "<style>body { color: red; }</style><script>var tracking = 'SCRIPT_TEXT';</script></head>"
        "<body><nav><a href='/'>Home</a> <a href='/about'>About us</a></nav>"
        "<header>Site banner</header><main><h1>Visiting the Old Harbour</h1>"
        "<p>The old harbour opened in <b>1872</b> and still <a href='/x'>handles</a> ferries.</p>"
        "<ul><li>Ferries leave hourly.</li><li>Tickets cost five euros.</li></ul></main>"
        "<footer>Copyright footer</footer><script>console.log('MORE_SCRIPT')</script></body></html>"
    )
    document = extract_file(path)
    assert document.format == "html"
    assert document.title == "Visiting the Old Harbour"  # the <h1>, not the <title> with site name
    assert "The old harbour opened in 1872 and still handles ferries." in document.text
    assert "Ferries leave hourly.\n" in document.text  # block elements become line breaks
    for chrome in ("SCRIPT_TEXT", "MORE_SCRIPT", "color: red", "About us", "Site banner", "footer"):
        assert chrome not in document.text


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_title_from_title_element(tmp_path, suffix):
    path = tmp_path / f"museum{suffix}"
    path.write_text(
        "<html><head><title>Town Museum</title></head><body><p>A whale.</p></body></html>"
    )
    document = extract_file(path)
    assert (document.title, document.text) == ("Town Museum", "A whale.")


def test_pdf_keeps_pages(tmp_path):
    path = tmp_path / "report.pdf"
    first = "The first page talks about ships. Ships carry containers across the sea."
    second = "The second page covers ports and harbours. Cranes unload the containers."
    path.write_bytes(pdf_bytes([first, second], title="Quarterly Shipping Report"))

    document = extract_file(path)
    assert document.format == "pdf"
    assert document.title == "Quarterly Shipping Report"
    assert len(document.page_starts) == 2
    assert document.page_starts[0] == 0
    assert document.text.startswith(first)
    assert document.text[document.page_starts[1] :].startswith(second)
    assert document.page_at(document.text.index("containers across")) == 1
    assert document.page_at(document.text.index("Cranes")) == 2


# Files and folders --------------------------------------------------------------------------


def test_discover_files_recursive_skips_hidden_reports_unsupported(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "sub" / "b.md").write_text("B.")
    (tmp_path / "sub" / "deeper" / "c.HTML").write_text("<p>C.</p>")
    (tmp_path / "sub" / "deeper" / "d.pdf").write_bytes(pdf_bytes(["D."]))
    (tmp_path / ".hidden.txt").write_text("hidden")
    (tmp_path / ".git" / "notes.txt").write_text("hidden too")
    (tmp_path / "sub" / "photo.jpg").write_bytes(b"\xff\xd8\xff")

    files, skipped = discover_files([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a.txt",
        "sub/b.md",
        "sub/deeper/c.HTML",
        "sub/deeper/d.pdf",
    ]
    assert [(Path(s.source).name, s.reason) for s in skipped] == [
        ("photo.jpg", "unsupported file type '.jpg'")
    ]


def test_discover_files_accepts_single_files_once(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("A.")
    files, skipped = discover_files([path, tmp_path])
    assert (files, skipped) == ([path.resolve()], [])


def test_discover_files_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*nowhere"):
        discover_files([tmp_path / "nowhere"])


def test_extract_unsupported_type(tmp_path):
    path = tmp_path / "drawing.dwg"
    path.write_bytes(b"AC1032" + bytes(64))
    with pytest.raises(ExtractionError, match="unsupported file type '.dwg'"):
        extract_file(path)


# Encodings and bad files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Le café du port ouvre à six heures. Déjà complet, la façade est très belle.", "utf-8"),
        ("Grüße aus München: schöne Straße, süße Äpfel.", "utf-8-sig"),
        ("Grüße aus München: schöne Straße, süße Äpfel.", "utf-16"),
        ("Le café du port ouvre à six heures. Déjà complet, la façade est très belle.", "latin-1"),
        ("Grüße aus München: schöne Straße, süße Äpfel.", "latin-1"),
        ("A résumé, naïve.", "latin-1"),
        ("The café’s “special” costs €5 – a bargain… naïve, très bien.", "cp1252"),
    ],
    ids=[
        "utf-8",
        "utf-8-bom",
        "utf-16",
        "latin-1-french",
        "latin-1-german",
        "latin-1-short",
        "cp1252",
    ],
)
def test_text_encodings_decode(tmp_path, text, encoding):
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode(encoding))
    assert extract_file(path).text == text


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8,  # NUL bytes
        bytes(b for b in random.Random(7).randbytes(6000) if b),  # no NULs, still not text
    ],
    ids=["png", "random-bytes"],
)
def test_binary_file_renamed_txt(tmp_path, data):
    path = tmp_path / "photo.txt"
    path.write_bytes(data)
    with pytest.raises(ExtractionError, match="binary"):
        extract_file(path)


@pytest.mark.parametrize("content", [b"", b"  \n\n\t \n"], ids=["zero-bytes", "white-space"])
@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
def test_empty_file(tmp_path, content, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(content)
    with pytest.raises(ExtractionError, match="empty"):
        extract_file(path)


def test_html_without_text(tmp_path):
    path = tmp_path / "blank.html"
    path.write_text("<html><body><script>var x = 1;</script></body></html>")
    with pytest.raises(ExtractionError, match="no text"):
        extract_file(path)


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(ExtractionError, match="5,000 bytes, over the 4,096-byte limit"):
        extract_file(path, IngestLimits(max_file_bytes=4096))
    assert extract_file(path, IngestLimits(max_file_bytes=5000)).text.startswith("word word")


def test_broken_pdf_garbage(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"this is not a pdf at all, just words " * 20)
    with pytest.raises(ExtractionError, match="broken PDF"):
        extract_file(path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_broken_pdf_truncated(tmp_path, keep):
    data = pdf_bytes(["A real page of text that will be cut off."] * 2)
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ExtractionError, match="broken PDF"):
        extract_file(path)


def test_pdf_without_text_layer(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([""]))
    with pytest.raises(ExtractionError, match="no text in file"):
        extract_file(path)


# Content marking ----------------------------------------------------------------------------


def _document(name: str, text: str) -> Document:
    return Document(source=name, format="text", text=text, file_sha256=name)


def test_lines_shared_by_many_documents_are_not_content():
    nav = "Home | Products | Contact\n"
    documents = mark_content(
        [
            _document("a", nav + "Shared by two only.\nThe apple harvest was early this year.\n"),
            _document("b", nav + "Shared by two only.\nBees swarmed near the mill on Sunday.\n"),
            _document("c", nav + "The river froze for the first time in a decade.\n"),
        ]
    )
    for document in documents:
        content = [document.text[s:e] for s, e in document.content_spans]
        assert not any("Home | Products" in piece for piece in content)
    assert [documents[0].text[s:e] for s, e in documents[0].content_spans] == [
        "Shared by two only.\nThe apple harvest was early this year."
    ]


def test_document_that_is_mostly_shared_lines_keeps_them():
    shared = "".join(f"Shared line number {i}.\n" for i in range(10))
    documents = mark_content(
        [_document("a", shared), _document("b", shared + "Unique."), _document("c", shared)]
    )
    assert documents[0].content_spans == ((0, len(shared) - 1),)


def test_sample_navigation_is_not_content(sample_documents):
    for prefix in IOM_TITLES:
        document = sample_documents[prefix]
        navigation = [
            (s, e)
            for s, e, line in _lines(document)
            if line.strip() in NAVIGATION or line.startswith(("WHO WE ARE", "Our WorkAs"))
        ]
        assert len(navigation) >= 20
        for start, end in navigation:
            assert _outside_content(document, start, end), document.text[start:end]


def test_sample_body_is_content(sample_documents):
    for prefix, title in IOM_TITLES.items():
        document = sample_documents[prefix]
        start = document.text.index(title)
        first_span = document.content_spans[0]
        assert first_span[0] == start  # content begins at the headline, right after the menu
        assert first_span[1] > start + 500


@pytest.mark.parametrize(("prefix", "title"), IOM_TITLES.items())
def test_sample_titles_are_headlines(sample_documents, prefix, title):
    assert sample_documents[prefix].title == title
    assert sample_documents[prefix].title_source == "headline"


def test_sample_markup_residue_is_not_content(sample_documents):
    residue = [
        (document, s, e)
        for document in sample_documents.values()
        for s, e, line in _lines(document)
        if "mailto:" in line or "href=" in line
    ]
    assert len(residue) >= 4
    for document, start, end in residue:
        assert _outside_content(document, start, end), document.text[start:end]


def test_sample_document_without_navigation_keeps_everything(sample_documents):
    document = sample_documents["004"]
    assert document.content_spans[0][0] == 0
    assert "Ishita Rony, Deputy Secretary" in " ".join(
        document.text[s:e] for s, e in document.content_spans
    )


# Hostile files ------------------------------------------------------------------------------

SENTENCE = "The ferry leaves the harbour at noon and returns at six."


def _is_clean(text: str) -> bool:
    """No C0 control characters but line ends, tabs and form feeds; no DEL, no lone surrogates."""
    return not re.search(r"[\x00-\x08\x0b\x0d-\x1f\x7f\ud800-\udfff]", text)


def test_html_20000_nested_divs(tmp_path):
    path = tmp_path / "deep.html"
    path.write_text("<html><body>" + "<div>" * 20_000 + SENTENCE + "</div>" * 20_000)
    assert extract_file(path).text == SENTENCE


def test_html_deeply_nested_and_never_closed(tmp_path):
    path = tmp_path / "unclosed.html"
    path.write_text("<div><p><b>" * 5000 + SENTENCE + " <i>Unclosed to the end")
    text = extract_file(path).text
    assert SENTENCE in text
    assert "Unclosed to the end" in text
    assert "<" not in text


def test_pdf_with_unknown_stream_filter(tmp_path):
    data = pdf_bytes([SENTENCE])
    assert data.count(b"/FlateDecode") >= 1  # fpdf2 compresses page streams by default
    path = tmp_path / "filter.pdf"
    path.write_bytes(data.replace(b"/FlateDecode", b"/FlatmDecode"))
    with pytest.raises(ExtractionError, match="broken PDF"):
        extract_file(path)


def _slow_pdf(pages: int) -> bytes:
    """A PDF that pypdf needs about 3.5 ms a page for (65 lines of text each)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=8)
    for _ in range(pages):
        pdf.add_page()
        for y in range(20, 280, 4):
            pdf.text(10, y, f"Ferry {y} leaves the harbour at noon and returns late.")
    return bytes(pdf.output())


def test_file_that_hangs_the_reader_times_out(tmp_path):
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(_slow_pdf(1000))  # pypdf takes about 3.5 s, seven times the limit
    good = tmp_path / "good.txt"
    good.write_text(SENTENCE)

    first, second = extract_files([slow, good], IngestLimits(timeout_s=0.5))
    assert first.document is None
    assert first.note.startswith("timed out")
    assert second.document is not None
    assert second.document.text == SENTENCE


def test_file_over_the_memory_budget_is_skipped(tmp_path):
    # 44 MB of UTF-8, all ASCII but the last character: Python holds the decoded text at four
    # bytes a character (176 MB), so reading it needs over 400 MB. A worker starts in 30 MB
    # and reads a small file within 60 MB (see the test below).
    big = tmp_path / "big.txt"
    big.write_bytes(("The harbour opens at six. " * 1_700_000 + "🚢\n").encode())
    good = tmp_path / "good.txt"
    good.write_text(SENTENCE)

    first, second = extract_files([big, good], IngestLimits(memory_mb=200))
    assert first.document is None
    assert "memory" in first.note
    assert second.document is not None
    assert second.document.text == SENTENCE


def test_small_file_within_a_small_memory_budget(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(SENTENCE)
    (result,) = extract_files([good], IngestLimits(memory_mb=60))
    assert result.note == ""
    assert result.document is not None


def _hostile_bytes(suffix: str, kind: str) -> bytes:
    """Random bytes; or, for "sprinkled-N", a real file with every 40th (PDF: 300th) byte random."""
    rng = random.Random(f"{suffix}{kind}")
    if kind.startswith("sprinkled"):
        if suffix == ".pdf":
            data, step = bytearray(pdf_bytes([SENTENCE * 5] * 3)), 300
        else:
            data, step = bytearray(((SENTENCE + " ") * 300).encode()), 40
        for i in range(rng.randrange(step), len(data), step):
            data[i] = rng.randrange(256)
        return bytes(data)
    data = rng.randbytes(20_000)
    if kind == "no-nul":
        return data.replace(b"\x00", b"")
    if kind == "high-bytes":
        return bytes(128 + b % 128 for b in data)
    return data


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".pdf"])
@pytest.mark.parametrize(
    "kind", ["any-byte", "no-nul", "high-bytes", "sprinkled-0", "sprinkled-1", "sprinkled-2"]
)
def test_random_bytes_are_refused_or_clean(tmp_path, suffix, kind):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(_hostile_bytes(suffix, kind))
    try:
        document = extract_file(path)
    except ExtractionError:
        return
    assert _is_clean(document.text)
    assert _is_clean(document.title)


def test_c1_control_characters_are_removed(tmp_path):
    path = tmp_path / "c1.txt"
    path.write_text("The ferry\u009b31m leaves\u0085 the harbour\u0090 at noon.", encoding="utf-8")
    text = extract_file(path).text
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\f" for ch in text)
    assert text == "The ferry31m leaves the harbour at noon."


def test_zero_byte_file_is_empty(tmp_path):
    path = tmp_path / "zero.txt"
    path.touch()
    with pytest.raises(ExtractionError, match="empty"):
        extract_file(path)


def _with_bad_bytes(text: str) -> bytes:
    data = text.encode()
    return data[:100] + b"\xff" + data[100:500] + b"\xff\xfe" + data[500:] + b"\xff"


def test_invalid_utf8_bytes_in_english_text(tmp_path):
    path = tmp_path / "stray.txt"
    path.write_bytes(_with_bad_bytes(SENTENCE + "\n" + (SENTENCE + " ") * 20))
    text = extract_file(path).text
    assert text.startswith(SENTENCE + "\n")
    assert text.count(SENTENCE) >= 17  # only the sentences with a stray byte in them differ
    assert _is_clean(text)


def test_invalid_utf8_bytes_keep_accents(tmp_path):
    path = tmp_path / "stray.txt"
    path.write_bytes(_with_bad_bytes("Le café du port ouvre à six heures. Déjà complet. " * 20))
    text = extract_file(path).text
    assert text.count("\ufffd") == 4  # each damaged byte, not the whole file as cp1252 mojibake
    assert text.replace("\ufffd", "") == "Le café du port ouvre à six heures. Déjà complet. " * 20


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
@pytest.mark.parametrize(
    "encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"], ids=lambda e: e
)
def test_wide_encodings_with_and_without_bom(tmp_path, encoding, bom):
    marks = {
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    path = tmp_path / "wide.txt"
    path.write_bytes((marks[encoding] if bom else b"") + SENTENCE.encode(encoding))
    assert extract_file(path).text == SENTENCE


def test_file_of_nul_bytes_is_refused(tmp_path):
    path = tmp_path / "nuls.txt"
    path.write_bytes(b"\x00" * 10_000)
    with pytest.raises(ExtractionError, match="empty|binary"):
        extract_file(path)


def test_nul_bytes_past_the_first_8_kb_are_removed(tmp_path):
    head = (SENTENCE + "\n") * 200  # 11 KB
    path = tmp_path / "late-nuls.txt"
    path.write_bytes(head.encode() + b"More\x00 text\x00\x00 here.\n" + head.encode())
    text = extract_file(path).text
    assert "\x00" not in text
    assert "More text here." in text
    assert text.count(SENTENCE) == 400


def test_3_mb_line_without_a_space_is_not_readable(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"A" * 3_000_000)
    with pytest.raises(ExtractionError, match="no readable text"):
        extract_file(path)


def test_long_base64_run_is_never_content(tmp_path):
    paragraph = f"{SENTENCE} The harbour master keeps the timetable."
    run = base64.b64encode(random.Random(5).randbytes(2_250_000)).decode()  # 3 MB, no spaces
    path = tmp_path / "attachment.txt"
    path.write_text(paragraph + "\n\n" + run + "\n")
    (document,) = mark_content([extract_file(path)])
    assert document.text.startswith(paragraph)
    content = [document.text[s:e] for s, e in document.content_spans]
    assert content == [paragraph]


def _in_thread(function, *args, timeout_s: float = 10):
    """``function(*args)``, failing the test (not hanging it) when it blocks."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((function(*args), None))
        except Exception as exc:  # re-raised in the test's thread
            outcome.append((None, exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), f"{function.__name__} blocked for over {timeout_s} s"
    result, error = outcome[0]
    if error is not None:
        raise error
    return result


def test_discover_files_hostile_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret.")
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "real.txt").write_text("Real.")
    (root / "sub" / "inner.txt").write_text("Inner.")
    (root / "folder-outside").symlink_to(outside, target_is_directory=True)
    (root / "folder-inside").symlink_to(root / "sub", target_is_directory=True)
    (root / "file-outside.txt").symlink_to(outside / "secret.txt")
    (root / "alias.txt").symlink_to(root / "real.txt")
    (root / "loop-a.txt").symlink_to(root / "loop-b.txt")
    (root / "loop-b.txt").symlink_to(root / "loop-a.txt")
    (root / "dangling.txt").symlink_to(root / "gone.txt")
    os.mkfifo(root / "x.txt")
    odd_names = ["two\nlines.txt", "café 日本 🚢.txt", "n" * 246 + ".txt"]
    for name in odd_names:
        (root / name).write_text("Odd.")
    descriptor = os.open(os.fsencode(root) + b"/bad\xff.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(descriptor)

    files, skipped = _in_thread(discover_files, [root])
    assert sorted(f.relative_to(root.resolve()).as_posix() for f in files) == sorted(
        ["real.txt", "sub/inner.txt", *odd_names]
    )
    assert {(s.source, s.reason) for s in skipped} == {
        (str(root / "folder-outside"), "link to a folder, not followed"),
        (str(root / "folder-inside"), "link to a folder, not followed"),
        (str(root / "file-outside.txt"), "link to a file outside the folder, not followed"),
        (str(root / "loop-a.txt"), "broken link, or a loop of links"),
        (str(root / "loop-b.txt"), "broken link, or a loop of links"),
        (str(root / "dangling.txt"), "broken link, or a loop of links"),
        (str(root / "x.txt"), "not a regular file (a pipe, socket or device)"),
        (str(root) + "/bad\\xff.txt", "file name is not valid UTF-8: rename the file"),
    }
    assert len(skipped) == 8


def test_fifo_given_directly_does_not_block(tmp_path):
    fifo = tmp_path / "x.txt"
    os.mkfifo(fifo)
    assert _in_thread(discover_files, [fifo]) == (
        [],
        [Skipped(str(fifo), "not a regular file (a pipe, socket or device)")],
    )
    with pytest.raises(ExtractionError, match="not a regular file"):
        _in_thread(extract_file, fifo)


def test_pdf_page_limit(tmp_path):
    path = tmp_path / "five.pdf"
    path.write_bytes(pdf_bytes([f"Page number {n} of the harbour report." for n in range(1, 6)]))
    document, note = extract(path, IngestLimits(max_pdf_pages=2))
    assert note == "cut short: read the first 2 of 5 pages"
    assert len(document.page_starts) == 2
    assert "Page number 2" in document.text
    assert "Page number 3" not in document.text


def test_character_limit(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("harbour " * 625)  # 5,000 characters
    document, note = extract(path, IngestLimits(max_chars=1000))
    assert 0 < len(document.text) <= 1000
    assert note.startswith("cut short")
