"""Tables as text a reader can answer from: each row a paragraph of "Header: value" pairs, so
"how many victims were assisted in Moldova in 2019" finds "Country: Moldova; Year: 2019; Victims
assisted: 312". Shared by spreadsheets (``rag._office``, ``rag._opendocument``), CSV files and the
tables of Word, slides and OpenDocument text."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable

from rag._decode import decode_text
from rag._layout import Layout

MAX_COLUMNS = 1_000  # a row of 16,384 repeated empty cells is not 16,384 columns of content


def cell_text(value) -> str:
    """A cell as a person would read it: 312, not 312.0; a date without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return " ".join(str(value).split())


def add_table(
    layout: Layout, rows: Iterable[list], label: str | None = None, first_row: int = 1
) -> None:
    """Add a table: its first non-empty row is the header, each other row a paragraph.

    With ``label`` (e.g. "sheet Victims"; "" for a file that is one table), each row is marked
    "label, row n", n counted from ``first_row`` as the file counts rows.
    """
    header: list[str] | None = None
    where = f"{label}, row" if label else "row"
    for number, row in enumerate(rows, start=first_row):
        cells = [cell_text(v) for v in list(row)[:MAX_COLUMNS]]
        if not any(cells):
            continue
        if header is None:
            header = cells
            if label is not None:
                layout.page(f"{where} {number}")
            layout.add(" | ".join(c for c in cells if c))
            continue
        if label is not None:
            layout.page(f"{where} {number}")
        layout.add(row_text(header, cells))


def row_text(header: list[str], cells: list[str]) -> str:
    """ "Header: value; Header: value" for the row's non-empty cells (a cell without a header
    name is given as it is)."""
    pairs = []
    for i, value in enumerate(cells):
        if not value:
            continue
        name = header[i] if i < len(header) else ""
        pairs.append(f"{name}: {value}" if name and name != value else value)
    return "; ".join(pairs)


def read_csv(data: bytes, layout: Layout) -> None:
    """A CSV (or tab- or semicolon-separated) file; its dialect guessed from its first lines."""
    text = decode_text(data)
    sample = text[: 64 * 1024]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(1 << 20)
    rows = csv.reader(io.StringIO(text, newline=""), dialect)
    add_table(layout, rows, label="")
