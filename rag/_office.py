"""Word, PowerPoint and Excel files (Office Open XML), each through the library made for it:
python-docx, python-pptx and openpyxl (read-only). The container is checked first
(``rag._container``); nothing in a file is ever run."""

from __future__ import annotations

import io
import re

from rag._container import open_zip
from rag._layout import Layout
from rag._sheet import add_table
from rag.errors import ExtractionError

_HEADING = re.compile(r"^(?:heading|überschrift|titre)\s*(\d)$", re.IGNORECASE)


def read_docx(data: bytes, layout: Layout, max_unpacked_bytes: int) -> str:
    """Paragraphs and tables in order, each heading marking the section path; returns the title
    (the document's title property, else its first heading). Headers, footers, footnotes and
    comments are left out: they are page furniture or asides, not the body.

    Read through python-docx's XML layer (its element classes, ``Paragraph`` and ``Table``) on
    the parts it needs, not ``docx.Document``, which parses every part of the package first (6
    ms a file, more than embedding a short one: a folder of one-page Word files then indexed at
    two thirds of the speed of the same text as .txt).
    """
    from docx.oxml.parser import parse_xml
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    archive = open_zip(data, "Word file", max_unpacked_bytes)
    main = _main_part(archive)
    try:
        body = parse_xml(archive.read(main)).body
    except KeyError:
        raise ExtractionError(f"Word file has no document part ({main})") from None
    if body is None:
        raise ExtractionError("Word file has no document body")
    title = _core_title(archive)
    path: list[tuple[int, str]] = []
    names: dict[str, str] | None = None  # style id -> name, read once a paragraph names a style
    for element in body.inner_content_elements:
        if element.tag.endswith("}tbl"):
            table = Table(element, None)
            add_table(layout, ([cell.text for cell in row.cells] for row in table.rows))
            continue
        text = Paragraph(element, None).text
        style_id = element.style
        if style_id and names is None:
            names = _style_names(archive, main)
        level = _heading_level((names or {}).get(style_id, "") if style_id else "")
        if level is not None and text.strip():
            title = title or " ".join(text.split())
            path = [(lvl, name) for lvl, name in path if lvl < level]
            path.append((level, " ".join(text.split())))
            layout.mark(" › ".join(name for _, name in path))
        layout.add(text)
    return title


_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_DOCUMENT = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)


def _main_part(archive) -> str:
    """The document part's name, from the package's relationships (word/document.xml as a rule)."""
    from docx.oxml.parser import parse_xml

    try:
        relationships = parse_xml(archive.read("_rels/.rels"))
    except KeyError:
        return "word/document.xml"
    for relationship in relationships.iter(f"{{{_RELATIONSHIPS}}}Relationship"):
        if relationship.get("Type") == _OFFICE_DOCUMENT:
            return relationship.get("Target", "").lstrip("/") or "word/document.xml"
    return "word/document.xml"


def _core_title(archive) -> str:
    from docx.oxml.parser import parse_xml

    try:
        core = parse_xml(archive.read("docProps/core.xml"))
    except KeyError:
        return ""
    found = core.find("{http://purl.org/dc/elements/1.1/}title")
    return (found.text or "").strip() if found is not None else ""


def _style_names(archive, main: str) -> dict[str, str]:
    """Style id -> style name, from the styles part beside the document part."""
    from docx.oxml.ns import qn
    from docx.oxml.parser import parse_xml

    folder = main.rsplit("/", 1)[0] + "/" if "/" in main else ""
    try:
        styles = parse_xml(archive.read(f"{folder}styles.xml"))
    except KeyError:
        return {}
    names = {}
    for style in styles.iter(qn("w:style")):
        name = style.find(qn("w:name"))
        if name is not None:
            names[style.get(qn("w:styleId"), "")] = name.get(qn("w:val"), "")
    return names


def _heading_level(style: str) -> int | None:
    if style.strip().lower() == "title":
        return 0
    match = _HEADING.match(style.strip())
    return int(match.group(1)) if match else None


def read_pptx(data: bytes, layout: Layout, max_unpacked_bytes: int) -> str:
    """Each slide a page: its title, its text boxes and tables top to bottom, left to right, then
    its speaker notes; returns the title (the title property, else the first slide's title)."""
    import pptx

    open_zip(data, "PowerPoint file", max_unpacked_bytes)
    presentation = pptx.Presentation(io.BytesIO(data))
    title = (presentation.core_properties.title or "").strip()
    for number, slide in enumerate(presentation.slides, start=1):
        layout.page(f"slide {number}")
        heading = slide.shapes.title
        if heading is not None and heading.has_text_frame:
            title = title or " ".join(heading.text_frame.text.split())
            layout.add(heading.text_frame.text)
        others = [shape for shape in slide.shapes if heading is None or shape != heading]
        for shape in _reading_order(others):
            _add_shape(layout, shape)
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
            if notes.strip():
                layout.mark(f"slide {number}, speaker notes")
                layout.add(notes)
    return title


def _reading_order(shapes):
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def _add_shape(layout: Layout, shape, depth: int = 0) -> None:
    if depth < 10 and hasattr(shape, "shapes"):  # a group
        for inner in _reading_order(list(shape.shapes)):
            _add_shape(layout, inner, depth + 1)
    elif getattr(shape, "has_table", False):
        add_table(layout, ([cell.text for cell in row.cells] for row in shape.table.rows))
    elif getattr(shape, "has_text_frame", False):
        for paragraph in shape.text_frame.paragraphs:
            layout.add("".join(run.text for run in paragraph.runs))


def read_xlsx(data: bytes, layout: Layout, max_unpacked_bytes: int) -> str:
    """Each sheet a page headed by its name, each row "Header: value; …" marked with its sheet
    and row; cell values as last calculated (formulas are not evaluated); returns the title
    property."""
    import openpyxl

    open_zip(data, "Excel file", max_unpacked_bytes)
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        title = (workbook.properties.title or "").strip()
        for sheet in workbook.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            layout.page(f"sheet {sheet.title}")
            layout.add(f"Sheet {sheet.title}")
            rows = sheet.iter_rows(values_only=True)
            add_table(layout, rows, label=f"sheet {sheet.title}", first_row=sheet.min_row or 1)
    finally:
        workbook.close()
    return title
