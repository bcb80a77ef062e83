"""EPUB books, written by ebooklib, read chapter by chapter."""

from rag.ingest import extract_file


def test_chapters_in_reading_order_are_pages(format_files):
    folder, _ = format_files
    document = extract_file(folder / "field-guide.epub")
    assert (document.format, document.title) == ("epub", "Field guide")
    text = document.text
    assert text.index("outreach workers identify") < text.index("written by Amara Okafor")
    assert document.location_at(text.index("Amara Okafor")) == "chapter 2: Authors"
    assert len(document.page_starts) == 2
