"""PDF to text with page offsets, via pypdf."""

from __future__ import annotations

import io
import logging

from rag.errors import ExtractionError, one_line

_PAGE_BREAK = "\n\n"


def extract_pdf(
    data: bytes, max_pages: int, max_chars: int
) -> tuple[str, tuple[int, ...], str, str]:
    """Return (text, page start offsets, metadata title, why it was cut short or "") of a PDF.

    Reading stops after ``max_pages`` pages or once ``max_chars`` characters are taken.

    Raises:
        ExtractionError: encrypted, or malformed in any way pypdf reports.
    """
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # warnings about odd files are not errors
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("PDF is encrypted")
        title = str((reader.metadata or {}).get("/Title") or "").strip()
        page_count = len(reader.pages)
        pages, taken = [], 0
        for page in reader.pages[:max_pages]:
            pages.append((page.extract_text() or "").replace("\r\n", "\n").strip())
            taken += len(pages[-1]) + len(_PAGE_BREAK)
            if taken > max_chars:
                break
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf's failures on malformed files are open-ended
        raise ExtractionError(f"broken PDF: {one_line(exc)}") from exc
    starts, parts, offset = [], [], 0
    for page_text in pages:
        starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + len(_PAGE_BREAK)
    note = ""
    if len(pages) < page_count:
        note = f"cut short: read the first {len(pages):,} of {page_count:,} pages"
    return _PAGE_BREAK.join(parts), tuple(starts), title, note
