"""Scanned PDFs read by Tesseract (skipped, with how to install it, where it is missing)."""

import sys
import time

import pytest
from conftest import PROJECT, needs_tesseract

from rag._extract import IngestLimits, extract
from rag.errors import ExtractionError

sys.path.insert(0, str(PROJECT / "eval"))
import format_files  # noqa: E402

FACT = (
    "The border crossing at Ruse recorded 93 referrals in 2020. Most of the people referred were "
    "travelling to seasonal agricultural work."
)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    path = tmp_path_factory.mktemp("ocr") / "scan.pdf"
    format_files.write_scanned_pdf(path, ["Border monitoring report", FACT])
    return path


def test_scanned_page_is_read_by_ocr_and_marked(scanned):
    needs_tesseract()
    document, note = extract(scanned, IngestLimits())
    assert note == ""
    words = " ".join(document.text.split())
    assert "The border crossing at Ruse recorded 93 referrals in 2020." in words
    assert document.location_at(document.text.index("Ruse")) == "page 1, read by OCR"


def test_ocr_off_skips_a_scanned_pdf_with_its_reason(scanned):
    with pytest.raises(ExtractionError, match="scanned PDF without a text layer, and OCR is off"):
        extract(scanned, IngestLimits(ocr=False))


def test_a_missing_ocr_language_is_the_reason(scanned):
    needs_tesseract()
    with pytest.raises(ExtractionError, match="OCR language xyz is not installed"):
        extract(scanned, IngestLimits(ocr_lang="eng+xyz"))


def test_text_pages_keep_their_text_and_only_scanned_ones_are_read(tmp_path):
    """A PDF of a text page and a scanned page: the text page is not OCR'd, the other is."""
    needs_tesseract()
    import io

    import pypdfium2

    text_page = format_files.text_pdf(["Minutes of the March meeting of the partners."])
    format_files.write_scanned_pdf(tmp_path / "scan.pdf", [FACT])
    merged = pypdfium2.PdfDocument.new()
    merged.import_pages(pypdfium2.PdfDocument(text_page))
    merged.import_pages(pypdfium2.PdfDocument(tmp_path / "scan.pdf"))
    buffer = io.BytesIO()
    merged.save(buffer)
    (tmp_path / "mixed.pdf").write_bytes(buffer.getvalue())
    document, _ = extract(tmp_path / "mixed.pdf", IngestLimits())
    assert document.location_at(0) == "page 1"
    assert document.location_at(document.text.index("Ruse")) == "page 2, read by OCR"


def test_ocr_language_setting_is_checked():
    with pytest.raises(ValueError, match="ocr_lang"):
        IngestLimits(ocr_lang="eng; rm -rf /")


def test_each_page_read_by_ocr_gives_the_file_more_time(tmp_path):
    """Eight scanned pages take longer than the file's 2 s budget (about 0.6 s each here): the
    worker tells its parent after each page, and the file is read whole, not timed out."""
    needs_tesseract()
    from rag.ingest import extract_files

    source = format_files.text_pdf([FACT])
    import pypdfium2

    pages = pypdfium2.PdfDocument.new()
    for _ in range(8):
        pages.import_pages(pypdfium2.PdfDocument(source))
    import io

    buffer = io.BytesIO()
    pages.save(buffer)
    format_files.write_image_pdf(tmp_path / "eight.pdf", buffer.getvalue())
    started = time.monotonic()
    (result,) = extract_files([tmp_path / "eight.pdf"], IngestLimits(timeout_s=2))
    assert result.document is not None, result.note
    assert result.document.text.count("Ruse") == 8
    if time.monotonic() - started < 2:
        pytest.skip("this machine read the eight pages within the file's budget: nothing shown")
