"""OpenDocument text, presentations and spreadsheets (``.odt``, ``.odp``, ``.ods``) through odfpy,
laid out as their Office counterparts are in ``rag._office``: headings mark the section path,
slides and sheets are pages, table rows are "Header: value" paragraphs."""

from __future__ import annotations

import io

from rag._container import open_zip
from rag._layout import Layout
from rag._sheet import MAX_COLUMNS, add_table

_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
_PRESENTATION = "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"
MAX_DEPTH = 64
MAX_REPEATED_ROWS = 1_000  # a sheet ends in a million repeated empty rows; content rarely repeats


def read_opendocument(data: bytes, suffix: str, layout: Layout, max_unpacked_bytes: int) -> str:
    """An ``.odt``, ``.odp`` or ``.ods`` file into ``layout``; returns its title (from its
    metadata, else its first heading)."""
    from odf import dc
    from odf.opendocument import load

    open_zip(data, "OpenDocument file", max_unpacked_bytes)
    document = load(io.BytesIO(data))
    titles = document.meta.getElementsByType(dc.Title) if document.meta else []
    state = {"title": _text(titles[0]).strip() if titles else "", "path": []}
    if suffix == ".ods":
        for number, sheet in enumerate(_children(document.spreadsheet, _TABLE, "table"), 1):
            name = sheet.getAttribute("name") or f"Sheet{number}"
            layout.page(f"sheet {name}")
            layout.add(f"Sheet {name}")
            add_table(layout, _rows(sheet), label=f"sheet {name}")
    elif suffix == ".odp":
        for number, slide in enumerate(_children(document.presentation, _DRAW, "page"), 1):
            layout.page(f"slide {number}")
            _walk(slide, layout, state, 0, slide=number)
    else:
        _walk(document.text, layout, state, 0)
    return state["title"]


def _walk(element, layout: Layout, state: dict, depth: int, slide: int | None = None) -> None:
    if depth > MAX_DEPTH:
        return
    for node in element.childNodes:
        if node.nodeType != node.ELEMENT_NODE:
            continue
        namespace, name = node.qname
        if namespace == _TEXT and name == "h":
            heading = " ".join(_text(node).split())
            if heading:
                level = int(node.getAttribute("outlinelevel") or 1)
                state["title"] = state["title"] or heading
                state["path"] = [(lvl, h) for lvl, h in state["path"] if lvl < level]
                state["path"].append((level, heading))
                layout.mark(" › ".join(h for _, h in state["path"]))
            layout.add(heading)
        elif namespace == _TEXT and name == "p":
            layout.add(_text(node))
        elif namespace == _TABLE and name == "table":
            add_table(layout, _rows(node))
        elif namespace == _PRESENTATION and name == "notes":
            layout.mark(f"slide {slide}, speaker notes")
            _walk(node, layout, state, depth + 1, slide)
        else:  # lists, sections, frames, text boxes
            _walk(node, layout, state, depth + 1, slide)


def _children(element, namespace: str, name: str) -> list:
    if element is None:
        return []
    nodes = element.childNodes
    return [n for n in nodes if n.nodeType == n.ELEMENT_NODE and n.qname == (namespace, name)]


def _rows(table):
    """The table's rows as lists of cell texts, repeated cells and rows spelled out (within
    limits: a sheet's last row is often an empty one repeated a million times)."""
    stack = [iter(table.childNodes)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        if node.nodeType != node.ELEMENT_NODE or node.qname[0] != _TABLE:
            continue
        if node.qname[1] == "table-row":
            cells: list[str] = []
            for cell in node.childNodes:
                if cell.nodeType != cell.ELEMENT_NODE or len(cells) >= MAX_COLUMNS:
                    continue
                repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                cells.extend([_text(cell)] * min(repeat, MAX_COLUMNS - len(cells)))
            repeat = int(node.getAttribute("numberrowsrepeated") or 1)
            yield from [cells] * min(repeat, MAX_REPEATED_ROWS)
        elif len(stack) < MAX_DEPTH:  # header rows, row groups
            stack.append(iter(node.childNodes))


def _text(node) -> str:
    from odf import teletype

    return teletype.extractText(node)
