"""PDF to text with page offsets, via pypdf."""

from __future__ import annotations

import io
import logging

from rag.ingest import ExtractionError

_PAGE_BREAK = "\n\n"


def extract_pdf(data: bytes) -> tuple[str, tuple[int, ...], str]:
    """Return (text, page start offsets, metadata title) of a PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # warnings about odd files are not errors
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("PDF is encrypted")
        pages = [(page.extract_text() or "").replace("\r\n", "\n").strip() for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except ExtractionError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise ExtractionError(f"broken PDF: {exc}") from exc
    starts, text = [], ""
    for page_text in pages:
        if text:
            text += _PAGE_BREAK
        starts.append(len(text))
        text += page_text
    return text, tuple(starts), title
