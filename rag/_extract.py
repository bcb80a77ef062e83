"""Reading one file into a ``Document``: the per-file part of ingestion, run in the worker
processes of ``rag._workers`` (which import it, not ``rag.ingest``, so that the two never import
each other) or in the caller's process by ``rag.ingest.extract_file``."""

from __future__ import annotations

import bisect
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from rag._decode import clean_text, decode_text
from rag.errors import ExtractionError

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})
MAX_FILE_BYTES = 50 * 1024 * 1024
# A run of more characters than this without a space is not a word (base64, a minified script, a
# hash list): it stays in the text but is never content, so it is never chunked or embedded.
MAX_WORD_CHARS = 160
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

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"IngestLimits.{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class Document:
    """One file's extracted text and what of it is content.

    ``page_starts[i]`` is the offset where page ``i + 1`` begins (PDF only; empty otherwise).
    ``title_source`` says where the title came from: metadata, headline, text or filename.
    """

    source: str
    format: str
    text: str
    file_sha256: str
    title: str = ""
    title_source: str = "filename"
    page_starts: tuple[int, ...] = ()
    content_spans: tuple[tuple[int, int], ...] = ()

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


def extract(path: str | Path, limits: IngestLimits) -> tuple[Document, str]:
    """(document, why it was cut short or "")."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(f"unsupported file type '{suffix}'")
    data = _read_bytes(path, limits.max_file_bytes)
    notes = []
    if suffix == ".pdf":
        from rag._pdf import extract_pdf

        text, page_starts, title, note = extract_pdf(data, limits.max_pdf_pages, limits.max_chars)
        fmt, notes = "pdf", [note]
    else:
        raw = decode_text(data)
        page_starts = ()
        if suffix in (".html", ".htm"):
            from rag._html import extract_html

            text, title = extract_html(raw)
            fmt = "html"
        else:
            text, title = raw, _markdown_title(raw) if suffix in (".md", ".markdown") else ""
            fmt = "markdown" if suffix in (".md", ".markdown") else "text"
    text, note = clean_text(text, limits.max_chars)
    title = clean_text(" ".join(title.split()), 300)[0]
    if not text.strip():
        raise ExtractionError("no text in file (empty, or a scanned PDF without a text layer)")
    if not _LONG_RUN.sub(" ", text).strip():
        raise ExtractionError(
            f"no readable text: only runs of over {MAX_WORD_CHARS} characters without a space"
        )
    document = Document(
        source=str(path.resolve()),
        format=fmt,
        text=text,
        file_sha256=hashlib.sha256(data).hexdigest(),
        title=title,
        title_source="metadata" if title else "filename",
        page_starts=tuple(p for p in page_starts if p <= len(text)),
    )
    return document, "; ".join(n for n in [*notes, note] if n)


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
