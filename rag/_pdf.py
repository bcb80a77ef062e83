"""PDF to text with page offsets, via pypdf; scanned pages through OCR (``rag._ocr``)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable

from rag.errors import ExtractionError, one_line

_PAGE_BREAK = "\n\n"
_WORD_CHARACTER = re.compile(r"\w")


def extract_pdf(
    data: bytes,
    max_pages: int,
    max_chars: int,
    ocr_lang: str | None = None,
    ocr_timeout_s: float = 60.0,
    on_page: Callable[[], None] | None = None,
) -> tuple[str, tuple[int, ...], str, str, tuple[tuple[int, str], ...]]:
    """Return (text, page start offsets, metadata title, why it was cut short or "", locations)
    of a PDF.

    Reading stops after ``max_pages`` pages or once ``max_chars`` characters are taken. With
    ``ocr_lang`` (e.g. "eng+fra"), a page without a usable text layer that shows an image is
    read by Tesseract (``rag._ocr``), and the locations name every page, those "read by OCR";
    ``on_page`` is called after each such page (the worker tells its parent it is alive).

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
    notes, scanned = [], set()
    unreadable = [n for n, text in enumerate(pages) if len(_WORD_CHARACTER.findall(text)) < 8]
    if unreadable and ocr_lang:
        try:
            scanned, failures = _ocr(data, pages, unreadable, ocr_lang, ocr_timeout_s, on_page)
        except ExtractionError as exc:  # no Tesseract, or it cannot render: keep the text pages
            if len(unreadable) == len(pages):
                raise ExtractionError(f"a scanned PDF without a text layer: {exc}") from None
            failures = [f"{len(unreadable)} page(s) without a text layer not read: {exc}"]
        notes += failures
    elif unreadable and len(unreadable) == len(pages):
        raise ExtractionError("a scanned PDF without a text layer, and OCR is off")
    starts, parts, offset = [], [], 0
    for page_text in pages:
        starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + len(_PAGE_BREAK)
    if len(pages) < page_count:
        notes.insert(0, f"cut short: read the first {len(pages):,} of {page_count:,} pages")
    locations = ()
    if scanned:
        locations = tuple(
            (start, f"page {n + 1}" + (", read by OCR" if n in scanned else ""))
            for n, start in enumerate(starts)
        )
    return _PAGE_BREAK.join(parts), tuple(starts), title, "; ".join(notes), locations


def _ocr(data, pages, numbers, lang, timeout_s, on_page) -> tuple[set[int], list[str]]:
    """OCR the pages ``numbers`` (0-based) that show images, in place in ``pages``; (the pages
    read, why others were not)."""
    from rag._ocr import PageReader, check_languages

    check_languages(lang)
    try:
        reader = PageReader(data, lang, timeout_s)
    except Exception as exc:  # noqa: BLE001 - pdfium's failures on malformed files are open-ended
        raise ExtractionError(f"broken PDF (cannot render it for OCR): {one_line(exc)}") from exc
    scanned, failures = set(), []
    try:
        for number in numbers:
            try:
                if not reader.has_images(number):
                    continue
                pages[number] = reader.read(number)
                scanned.add(number)
            except ExtractionError as exc:
                failures.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - pdfium's failures on a bad page
                failures.append(f"cannot render page {number + 1}: {one_line(exc)}")
            if on_page is not None:
                on_page()
    finally:
        reader.close()
    if failures:
        failures = [f"{len(failures)} page(s) not read: {failures[0]}"]
    return scanned, failures
