"""Word, PowerPoint and Excel files, each written by its own library, read into documents."""

import docx
import openpyxl
import pptx
import pytest

from rag.errors import ExtractionError
from rag.ingest import IngestLimits, discover_files, extract_file


def _document(folder, name):
    return extract_file(folder / name)


def test_word_paragraphs_headings_and_tables(format_files):
    folder, _ = format_files
    document = _document(folder, "annual-report.docx")
    assert (document.format, document.title) == ("word", "Annual Report 2019")
    text = document.text
    assert "The shelter in Chisinau hosted 214 survivors in 2019" in text
    assert text.index("1. Introduction") < text.index("2.1 Shelters") < text.index("2.2 Returns")
    assert "Service: Legal aid; Cases: 88" in text  # a table row with its header's names
    assert "CONFIDENTIAL DRAFT" not in text  # the page header is furniture, not the body
    assert document.location_at(text.index("214")) == "2. Findings › 2.1 Shelters"
    assert document.location_at(text.index("Forty returns")) == "2. Findings › 2.2 Returns"
    assert document.location_at(text.index("This report")) == "1. Introduction"


def test_word_title_falls_back_to_the_first_heading(tmp_path):
    document = docx.Document()
    document.add_heading("Shelter review", level=1)
    document.add_paragraph("Twelve shelters were reviewed.")
    document.save(tmp_path / "review.docx")
    assert extract_file(tmp_path / "review.docx").title == "Shelter review"


def test_powerpoint_slides_notes_and_tables(format_files):
    folder, _ = format_files
    document = _document(folder, "hotline-briefing.pptx")
    text = document.text
    assert document.format == "powerpoint"
    assert len(document.page_starts) == 3  # one page per slide: chunks never cross slides
    assert document.location_at(text.index("5,300 calls")) == "slide 3"
    assert document.location_at(text.index("Six operators")) == "slide 2"
    notes = text.index("Mention the new training schedule")
    assert notes > text.index("Six operators")  # speaker notes after the slide's text
    assert document.location_at(notes) == "slide 2, speaker notes"
    assert "Month: March; Calls: 5,300" in text
    assert document.page_at(text.index("Month: March")) == 3


def test_powerpoint_reads_text_boxes_top_to_bottom(tmp_path):
    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
    inch = 914400
    for top, words in ((3, "Second box"), (1, "First box")):
        box = slide.shapes.add_textbox(inch, top * inch, 4 * inch, inch)
        box.text_frame.text = words
    presentation.save(tmp_path / "boxes.pptx")
    text = extract_file(tmp_path / "boxes.pptx").text
    assert text.index("First box") < text.index("Second box")


def test_spreadsheet_rows_name_their_sheet_and_row(format_files):
    folder, _ = format_files
    document = _document(folder, "assistance-figures.xlsx")
    text = document.text
    row = "Country: Moldova; Year: 2019; Victims assisted: 312"
    assert row in text
    assert document.location_at(text.index(row)) == "sheet Assistance, row 3"
    assert document.location_at(text.index("Figures compiled")) == "sheet Notes, row 1"
    # Each row stands alone (a page of its own), so a chunk is one row with its header's names.
    assert document.page_at(text.index(row)) != document.page_at(text.index("Moldova; Year: 2018"))


def test_spreadsheet_shows_values_not_formulas_and_whole_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Costs"
    sheet.append(["Item", "Cost", "Share"])
    sheet.append(["Leaflets", 2100.0, 0.25])
    workbook.save(tmp_path / "costs.xlsx")
    text = extract_file(tmp_path / "costs.xlsx").text
    assert "Item: Leaflets; Cost: 2100; Share: 0.25" in text


def test_long_workbook_is_cut_short_with_its_reason(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Country", "Cases"])
    for i in range(2000):
        sheet.append([f"Country {i}", i])
    workbook.save(tmp_path / "long.xlsx")
    from rag._extract import extract

    document, note = extract(tmp_path / "long.xlsx", IngestLimits(max_chars=5000))
    assert len(document.text) <= 5000 and note.startswith("cut short")
    assert "Country: Country 10; Cases: 10" in document.text


def test_macro_enabled_files_are_never_read(tmp_path, format_files):
    folder, _ = format_files
    (tmp_path / "macros.docm").write_bytes((folder / "annual-report.docx").read_bytes())
    with pytest.raises(ExtractionError, match="macro-enabled .* never run"):
        extract_file(tmp_path / "macros.docm")
    found, skipped = discover_files([tmp_path])
    assert found == [] and "macro-enabled" in skipped[0].reason
