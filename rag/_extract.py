"""Reading one file into a ``Document``: the per-file part of ingestion, run in the worker
processes of ``rag._workers`` (which import it, not ``rag.ingest``, so that the two never import
each other) or in the caller's process by ``rag.ingest.extract_file``."""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag._decode import clean_text, decode_text
from rag._layout import Full, Layout
from rag.errors import ExtractionError, one_line

# Each file type, the format name a document records, and the library that reads it.
FORMATS = {
    ".txt": ("text", "charset-normalizer (encoding)"),
    ".md": ("markdown", "charset-normalizer (encoding)"),
    ".markdown": ("markdown", "charset-normalizer (encoding)"),
    ".html": ("html", "selectolax (Lexbor)"),
    ".htm": ("html", "selectolax (Lexbor)"),
    ".pdf": ("pdf", "pypdf; scanned pages: pypdfium2 and Tesseract OCR"),
    ".docx": ("word", "python-docx"),
    ".pptx": ("powerpoint", "python-pptx"),
    ".xlsx": ("spreadsheet", "openpyxl (read-only)"),
    ".csv": ("spreadsheet", "csv (standard library)"),
    ".tsv": ("spreadsheet", "csv (standard library)"),
    ".odt": ("opendocument", "odfpy"),
    ".odp": ("opendocument", "odfpy"),
    ".ods": ("opendocument", "odfpy"),
    ".epub": ("epub", "ebooklib"),
    ".rtf": ("rtf", "striprtf"),
    ".eml": ("email", "email (standard library)"),
    ".msg": ("email", "extract-msg"),
}
SUPPORTED_SUFFIXES = frozenset(FORMATS)
# Found in folders but never read, with the reason: their macros must never run.
REFUSED_SUFFIXES = {
    suffix: f"a macro-enabled Office file ({suffix}) is not read, so its macros can never run: "
    f"save it as {suffix[:-1]}x to index it"
    for suffix in (".docm", ".pptm", ".xlsm", ".dotm", ".potm", ".xltm")
}
MAX_ATTACHMENT_DEPTH = 2  # an e-mail attached to an e-mail attached to an e-mail is not read
MAX_FILE_BYTES = 50 * 1024 * 1024
# A run of more characters than this without a space is not a word (base64, a minified script, a
# hash list): it stays in the text but is never content, so it is never chunked or embedded.
MAX_WORD_CHARS = 160
_LANGUAGES = re.compile(r"[A-Za-z_]+(\+[A-Za-z_]+)*")
_LONG_RUN = re.compile(rf"(?<!\S)\S{{{MAX_WORD_CHARS + 1},}}")


@dataclass(frozen=True)
class IngestLimits:
    """What one file may cost to read; past a limit it is skipped or cut short, with the reason.

    ``timeout_s`` and ``memory_mb`` hold for the worker process that reads the file
    (``extract_files``); ``extract_file`` in the caller's process checks the others.
    """

    max_file_bytes: int = MAX_FILE_BYTES
    max_chars: int = 2_000_000  # about 1,000 pages
    max_pdf_pages: int = 2_000
    timeout_s: float = 60.0
    memory_mb: int = 1024
    max_unpacked_bytes: int = 256 * 1024 * 1024  # what a zip container (Office, EPUB) unpacks to
    ocr: bool = True  # read scanned PDF pages with Tesseract, where it is installed
    ocr_lang: str = "eng"  # Tesseract's language codes, joined by "+": "eng+fra"
    ocr_page_timeout_s: float = 60.0  # per page; a file being read by OCR gets this per page

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name == "ocr":
                if not isinstance(value, bool):
                    raise ValueError(f"IngestLimits.ocr must be True or False, got {value!r}")
            elif name == "ocr_lang":
                if not isinstance(value, str) or not _LANGUAGES.fullmatch(value):
                    raise ValueError(
                        f"IngestLimits.ocr_lang must be Tesseract language codes such as "
                        f"'eng' or 'eng+fra', got {value!r}"
                    )
            elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"IngestLimits.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Document:
    """One file's extracted text and what of it is content.

    ``page_starts[i]`` is the offset where page ``i + 1`` begins: a PDF's page, a slide, a sheet
    (empty for formats without them); chunks never cross one. ``locations`` are (offset, label)
    marks in order, each naming where the text from it on comes from in the file ("page 3, read
    by OCR", "slide 2", "sheet Victims, row 14", "2. Findings › 2.1 Shelters"); a citation names
    the one its sentence starts under. ``title_source`` says where the title came from:
    metadata, headline, text or filename.
    """

    source: str
    format: str
    text: str
    file_sha256: str
    title: str = ""
    title_source: str = "filename"
    page_starts: tuple[int, ...] = ()
    content_spans: tuple[tuple[int, int], ...] = ()
    locations: tuple[tuple[int, str], ...] = ()

    def location_at(self, offset: int) -> str:
        """Where in the file the text at ``offset`` comes from, or "" where the format has none."""
        if self.locations:
            i = bisect.bisect_right(self.locations, offset, key=lambda mark: mark[0])
            return self.locations[i - 1][1] if i else ""
        page = self.page_at(offset)
        return f"page {page}" if page else ""  # indexes saved before locations were kept

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for formats without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))

    @property
    def content_sha256(self) -> str:
        """Changes whenever the indexed content or its offsets would change."""
        digest = hashlib.sha256(self.text.encode("utf-8"))
        digest.update(repr((self.title, self.content_spans, self.page_starts)).encode())
        if self.locations:  # as before where there are none: those documents did not change
            digest.update(repr(self.locations).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Extraction:
    """What reading one file gave: a document, or ``None`` and the reason it was skipped.

    With a document, ``note`` says why it was cut short ("" when it was read whole).
    ``worker_peak_mb`` is the peak resident memory of the worker process that read it, so far.
    """

    source: str
    document: Document | None
    note: str = ""
    worker_peak_mb: float = 0.0


def extract_file(path: str | Path, limits: IngestLimits | None = None) -> Document:
    """Read one file into a ``Document`` (content not yet marked), in this process.

    For files you trust; ``extract_files`` reads untrusted ones in worker processes with a time
    and memory budget.

    Raises:
        ExtractionError: the file is too large, empty, binary, or cannot be parsed.
    """
    return extract(path, limits or IngestLimits())[0]


def file_sha256(path: str | Path) -> str | None:
    """The sha256 of a regular file's bytes, or None when it cannot be read (or is a pipe)."""
    digest = hashlib.sha256()
    try:
        with _open_regular(path) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except (OSError, ExtractionError):
        return None
    return digest.hexdigest()


def _open_regular(path: str | Path):
    """Open for reading without blocking on a pipe; only a regular file is accepted."""
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise ExtractionError("not a regular file (a pipe, socket or device)")
    return handle


def extract(
    path: str | Path, limits: IngestLimits, on_page: Callable[[], None] | None = None
) -> tuple[Document, str]:
    """(document, why it was cut short or ""); ``on_page`` is called after each page read by
    OCR (a worker tells its parent that it is alive)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise ExtractionError(REFUSED_SUFFIXES[suffix])
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(f"unsupported file type '{suffix}'")
    data = _read_bytes(path, limits.max_file_bytes)
    read = _read(data, suffix, path.name, limits, on_page, 0)
    text, note = clean_text(read.text, limits.max_chars)
    title = clean_text(" ".join(read.title.split()), 300)[0]
    if not text.strip():
        raise ExtractionError("no text in file (empty, or a scanned PDF without a text layer)")
    if not _LONG_RUN.sub(" ", text).strip():
        raise ExtractionError(
            f"no readable text: only runs of over {MAX_WORD_CHARS} characters without a space"
        )
    document = Document(
        source=str(path.resolve()),
        format=FORMATS[suffix][0],
        text=text,
        file_sha256=hashlib.sha256(data).hexdigest(),
        title=title,
        title_source="metadata" if title else "filename",
        page_starts=tuple(p for p in read.page_starts if p < len(text)),
        locations=tuple((p, label) for p, label in read.locations if p < len(text)),
    )
    return document, "; ".join(n for n in [read.note, note] if n)


@dataclass(frozen=True)
class _Read:
    text: str
    title: str = ""
    page_starts: tuple[int, ...] = ()
    locations: tuple[tuple[int, str], ...] = ()
    note: str = ""


def _read(data: bytes, suffix: str, name: str, limits: IngestLimits, on_page, depth: int) -> _Read:
    """One file's bytes read by the reader of its type.

    Raises:
        ExtractionError: the reader cannot make sense of it (each reader's failures on a
            malformed file are open-ended, so any of them is this file's reason to be skipped).
    """
    kind = FORMATS[suffix][0]
    if suffix == ".pdf":
        from rag._pdf import extract_pdf

        text, starts, title, note, locations = extract_pdf(
            data,
            limits.max_pdf_pages,
            limits.max_chars,
            ocr_lang=limits.ocr_lang if limits.ocr else None,
            ocr_timeout_s=limits.ocr_page_timeout_s,
            on_page=on_page,
        )
        return _Read(text, title, starts, locations, note)
    if kind in ("text", "markdown", "html"):
        raw = decode_text(data)
        if kind == "html":
            from rag._html import extract_html

            text, title = extract_html(raw)
            return _Read(text, title)
        return _Read(raw, _markdown_title(raw) if kind == "markdown" else "")
    layout = Layout(limits.max_chars)
    notes: list[str] = []
    try:
        title = _read_into(layout, data, suffix, name, limits, on_page, depth, notes)
    except Full:
        title, notes = "", [*notes, f"cut short: indexed the first {layout.length:,} characters"]
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise ExtractionError(f"cannot read this {suffix} file: {one_line(exc)}") from exc
    text = layout.text
    return _Read(text, title, tuple(layout.page_starts), tuple(layout.locations), "; ".join(notes))


def _read_into(layout, data, suffix, name, limits, on_page, depth, notes) -> str:
    """Lay out a structured file; returns its title."""
    unpacked = limits.max_unpacked_bytes
    if suffix == ".docx":
        from rag._office import read_docx

        return read_docx(data, layout, unpacked)
    if suffix == ".pptx":
        from rag._office import read_pptx

        return read_pptx(data, layout, unpacked)
    if suffix == ".xlsx":
        from rag._office import read_xlsx

        return read_xlsx(data, layout, unpacked)
    if suffix in (".csv", ".tsv"):
        from rag._sheet import read_csv

        read_csv(data, layout)
        return ""
    if suffix in (".odt", ".odp", ".ods"):
        from rag._opendocument import read_opendocument

        return read_opendocument(data, suffix, layout, unpacked)
    if suffix == ".epub":
        from rag._ebook import read_epub

        return read_epub(data, layout, unpacked)
    if suffix == ".rtf":
        from striprtf.striprtf import rtf_to_text

        layout.add(rtf_to_text(decode_text(data), errors="replace"))
        return ""
    from rag._mail import Part, read_eml, read_msg

    def read_attachment(filename: str, payload: bytes) -> Part | None:
        inner = Path(filename).suffix.lower()
        if inner not in SUPPORTED_SUFFIXES or depth >= MAX_ATTACHMENT_DEPTH:
            return None
        if len(payload) > limits.max_file_bytes:
            raise ExtractionError(f"{len(payload):,} bytes, over the file size limit")
        read = _read(payload, inner, filename, limits, on_page, depth + 1)
        locations = read.locations or tuple(
            (start, f"page {n}") for n, start in enumerate(read.page_starts, start=1)
        )
        return Part(read.text, locations, read.note)

    reader = read_eml if suffix == ".eml" else read_msg
    title, attachment_notes = reader(data, name, layout, read_attachment)
    notes.extend(attachment_notes)
    return title


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        with _open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ExtractionError(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
            data = handle.read(size + 1)  # not max_bytes: that would reserve 50 MB per file
            if len(data) > size:  # it is growing as we read
                data += handle.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise ExtractionError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise ExtractionError(f"file grew past the {max_bytes:,}-byte limit while being read")
    return data


def _markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""
