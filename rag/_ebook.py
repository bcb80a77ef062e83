"""EPUB books through ebooklib: the chapters in reading order (the spine), each through the HTML
reader and each a page named "chapter n" (with its heading where it has one)."""

from __future__ import annotations

import io

from rag._container import open_zip
from rag._decode import decode_text
from rag._html import extract_html
from rag._layout import Layout


def read_epub(data: bytes, layout: Layout, max_unpacked_bytes: int) -> str:
    """The book's chapters into ``layout``; returns its title (Dublin Core metadata)."""
    import ebooklib
    from ebooklib import epub

    open_zip(data, "EPUB book", max_unpacked_bytes)
    book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    titles = book.get_metadata("DC", "title")
    title = " ".join(str(titles[0][0]).split()) if titles else ""
    number = 0
    for item_id, _linear in book.spine:
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        text, heading = extract_html(decode_text(item.get_content()))
        if not text.strip():
            continue
        number += 1
        layout.page(f"chapter {number}" + (f": {heading}" if heading else ""))
        layout.add(text)
    return title
