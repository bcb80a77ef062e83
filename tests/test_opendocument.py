"""OpenDocument text, presentations and spreadsheets, written by odfpy, read into documents."""

from odf import table, text
from odf.opendocument import OpenDocumentSpreadsheet

from rag.ingest import extract_file


def test_text_headings_mark_the_section_path(format_files):
    folder, _ = format_files
    document = extract_file(folder / "training-minutes.odt")
    assert (document.format, document.title) == ("opendocument", "Training minutes")
    position = document.text.index("eleven days")
    assert document.location_at(position) == "Training › Course in Tirana"


def test_presentation_slides_are_pages(format_files):
    folder, _ = format_files
    document = extract_file(folder / "project-lantern.odp")
    assert len(document.page_starts) == 2
    assert document.location_at(document.text.index("Dakar")) == "slide 2"


def test_spreadsheet_rows_and_sheet(format_files):
    folder, _ = format_files
    document = extract_file(folder / "budget.ods")
    row = "Item: Translation of the handbook; Cost: 18,400 euros"
    assert row in document.text
    assert document.location_at(document.text.index(row)) == "sheet Budget, row 3"


def test_a_million_repeated_cells_are_not_spelled_out(tmp_path):
    """Spreadsheet programs end a sheet with an empty row repeated a million times, and rows
    with 16,384 repeated cells: neither becomes text or costs memory."""
    document = OpenDocumentSpreadsheet()
    sheet = table.Table(name="Cases")
    for values in (("Region", "Cases"), ("North", "14")):
        row = table.TableRow()
        for value in values:
            cell = table.TableCell(valuetype="string")
            cell.addElement(text.P(text=value))
            row.addElement(cell)
        row.addElement(table.TableCell(numbercolumnsrepeated=16_000))
        sheet.addElement(row)
    empty = table.TableRow(numberrowsrepeated=1_048_000)
    empty.addElement(table.TableCell(numbercolumnsrepeated=1024))
    sheet.addElement(empty)
    document.spreadsheet.addElement(sheet)
    document.save(str(tmp_path / "cases.ods"))
    read = extract_file(tmp_path / "cases.ods")
    assert "Region: North; Cases: 14" in read.text
    assert len(read.text) < 200
