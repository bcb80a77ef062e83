"""CSV files and table rows as "Header: value" paragraphs."""

import datetime

from rag._layout import Layout
from rag._sheet import add_table, cell_text, read_csv, row_text
from rag.ingest import extract_file


def test_cells_read_as_a_person_reads_them():
    assert cell_text(312.0) == "312"
    assert cell_text(0.25) == "0.25"
    assert cell_text(datetime.datetime(2019, 3, 1)) == "2019-03-01"
    assert cell_text(True) == "yes"
    assert cell_text(None) == ""
    assert cell_text("  two\nlines ") == "two lines"


def test_row_text_pairs_headers_and_values():
    header = ["Country", "Year", ""]
    assert row_text(header, ["Moldova", "", "note"]) == "Country: Moldova; note"


def test_csv_file_rows_and_locations(format_files):
    folder, _ = format_files
    document = extract_file(folder / "field-offices.csv")
    assert document.format == "spreadsheet"
    row = "Office: Lithuania office; City: Vilnius; Staff: 47; Opened: 2017"
    assert row in document.text
    assert document.location_at(document.text.index(row)) == "row 3"


def test_semicolon_separated_file_is_sniffed(tmp_path):
    (tmp_path / "cases.csv").write_text("Region;Cases\nNorth;14\nSouth;22\n", encoding="utf-8")
    assert "Region: South; Cases: 22" in extract_file(tmp_path / "cases.csv").text


def test_table_offsets_are_exact():
    layout = Layout(max_chars=10_000)
    add_table(layout, [["A", "B"], ["1", "2"], ["", ""], ["3", "4"]], label="sheet S")
    text = layout.text
    for start, label in layout.locations:
        assert text[start:].startswith("A | B" if label.endswith("row 1") else "A: ")
    assert [label for _, label in layout.locations] == [
        "sheet S, row 1",
        "sheet S, row 2",
        "sheet S, row 4",
    ]


def test_read_csv_with_a_byte_order_mark():
    layout = Layout(max_chars=1000)
    read_csv("\ufeffName,Role\nElira,manager\n".encode(), layout)
    assert layout.text.endswith("Name: Elira; Role: manager")
