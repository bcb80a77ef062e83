"""Ingestion: find files, extract their text, and mark what is content.

>>> from rag.ingest import discover_files, extract_file, mark_content
>>> files, skipped = discover_files(["data/counter-trafficking"])
>>> documents = mark_content([extract_file(path) for path in files])
>>> documents[0].title
'Sharing Best Practices to Combat Trafficking in Persons'

A document keeps its whole extracted text, so every offset points into what the reader sees;
``content_spans`` marks the parts worth indexing (not navigation repeated across the collection,
not markup residue).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from charset_normalizer import from_bytes

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "Document",
    "ExtractionError",
    "Skipped",
    "discover_files",
    "extract_file",
    "mark_content",
]

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf"})
MAX_FILE_BYTES = 50 * 1024 * 1024
# A line shared verbatim by this many documents is site furniture, not content.
BOILERPLATE_MIN_DOCS = 3
_RESIDUE = re.compile(r"mailto:|href=|target=|\"\s*>|<\s*/?\s*[a-z]+[^>]*>", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d+[.)])(?:\s|$)")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_WESTERN_PUNCTUATION = frozenset("\u00a0–—‘’‚“”„…•€£¥¢©®™°±·«»§¶×")


class ExtractionError(Exception):
    """A file cannot be turned into text; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    source: str
    reason: str


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
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
        return page + 1

    @property
    def content_sha256(self) -> str:
        """Changes whenever the indexed content or its offsets would change."""
        digest = hashlib.sha256(self.text.encode("utf-8"))
        digest.update(repr((self.title, self.content_spans, self.page_starts)).encode())
        return digest.hexdigest()


def discover_files(paths: list[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders (recursively) into supported files, sorted; report the rest.

    Raises:
        FileNotFoundError: a given path does not exist.
    """
    found: list[Path] = []
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if any(part.startswith(".") for part in candidate.relative_to(path).parts):
                continue  # hidden files and folders (.git, .DS_Store) are never documents
            if candidate.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(candidate.resolve())
            else:
                skipped.append(
                    Skipped(str(candidate), f"unsupported file type '{candidate.suffix}'")
                )
    return sorted(set(found)), skipped


def extract_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file into a ``Document`` (content not yet marked).

    Raises:
        ExtractionError: the file is too large, empty, binary, or cannot be parsed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ExtractionError(f"unsupported file type '{suffix}'")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ExtractionError(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"cannot read file: {exc.strerror or exc}") from exc
    sha = hashlib.sha256(data).hexdigest()
    if suffix == ".pdf":
        from rag._pdf import extract_pdf

        text, page_starts, title = extract_pdf(data)
        fmt = "pdf"
    else:
        raw = _decode(data)
        page_starts = ()
        if suffix in (".html", ".htm"):
            from rag._html import extract_html

            text, title = extract_html(raw)
            fmt = "html"
        else:
            text, title = raw, _markdown_title(raw) if suffix in (".md", ".markdown") else ""
            fmt = "markdown" if suffix in (".md", ".markdown") else "text"
    if not text.strip():
        raise ExtractionError("no text in file (empty, or a scanned PDF without a text layer)")
    return Document(
        source=str(path.resolve()),
        format=fmt,
        text=text,
        file_sha256=sha,
        title=title,
        title_source="metadata" if title else "filename",
        page_starts=page_starts,
    )


def _decode(data: bytes) -> str:
    if not data.strip():
        raise ExtractionError("file is empty")
    head = data[:8192]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractionError("binary content, not text (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise ExtractionError("binary content, not text (control characters)")
    return text


def _decode_legacy(data: bytes) -> str:
    """Windows-1252 (a superset of Latin-1's printable range) when it reads as Western text.

    Detection alone guesses wrong on short Western text ("très" as cp1257 "trčs", "résumé" as
    UTF-16 "狩獵淩"), so it is only asked when cp1252 gives symbols, controls or mostly non-ASCII.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    head = text[:65536]
    extra = [ch for ch in head if ord(ch) > 127]
    if (
        head
        and not any(ord(ch) < 32 and ch not in "\n\r\t\f" for ch in head)
        and all(ch.isalpha() or ch in _WESTERN_PUNCTUATION for ch in extra)
        and len(extra) <= 0.5 * sum(ch.isalpha() for ch in head)
    ):
        return text
    match = from_bytes(data).best()
    if match is None:
        raise ExtractionError("binary content, not text (no text encoding fits)")
    return str(match)


def _markdown_title(text: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, newline excluded."""
    spans, start = [], 0
    for match in re.finditer(r"\n", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _line_key(line: str) -> str:
    return " ".join(line.split()).lower()


def mark_content(documents: list[Document]) -> list[Document]:
    """Mark each document's content spans against its collection, and give it a title.

    Lines that at least ``BOILERPLATE_MIN_DOCS`` documents share verbatim, and lines of markup
    residue (``href=``, ``mailto:``), are left out; a document that would lose most of its
    text that way is a copy of another, and keeps it all.
    """
    shared = Counter()
    for doc in documents:
        shared.update({_line_key(doc.text[s:e]) for s, e in _lines(doc.text)} - {""})
    boilerplate = {key for key, n in shared.items() if n >= BOILERPLATE_MIN_DOCS}
    return [_mark_one(doc, boilerplate) for doc in documents]


def _mark_one(doc: Document, boilerplate: set[str]) -> Document:
    lines = [(s, e) for s, e in _lines(doc.text) if doc.text[s:e].strip()]
    kept = [(s, e) for s, e in lines if not _RESIDUE.search(doc.text[s:e])]
    content = [(s, e) for s, e in kept if _line_key(doc.text[s:e]) not in boilerplate]
    if sum(e - s for s, e in content) < 0.2 * sum(e - s for s, e in kept):
        content = kept
    spans = _merge_adjacent(doc.text, content, doc.page_starts)
    title, title_source = doc.title, doc.title_source
    if not title:
        title, title_source = _find_title(doc, spans)
    return replace(doc, content_spans=tuple(spans), title=title, title_source=title_source)


def _merge_adjacent(
    text: str, lines: list[tuple[int, int]], page_starts: tuple[int, ...]
) -> list[tuple[int, int]]:
    """Join consecutive kept lines into spans; a removed line or a page break ends a span."""
    spans: list[list[int]] = []
    for start, end in lines:
        if (
            spans
            and not text[spans[-1][1] : start].strip()
            and not any(spans[-1][1] <= p <= start for p in page_starts)
        ):
            spans[-1][1] = end
        else:
            spans.append([start, end])
    trimmed = []
    for start, end in spans:
        piece = text[start:end]
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        if end > start:
            trimmed.append((start, end))
    return trimmed


def _find_title(doc: Document, spans: list[tuple[int, int]]) -> tuple[str, str]:
    for start, end in _first_lines(doc.text, spans, limit=12):
        line = doc.text[start:end].strip()
        if _looks_like_headline(line):
            return line, "headline"
    if spans:
        first = " ".join(doc.text[spans[0][0] : spans[0][1]].split())
        sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
        return (sentence if len(sentence) <= 90 else sentence[:87].rsplit(" ", 1)[0] + "…"), "text"
    return Path(doc.source).stem, "filename"


def _first_lines(text: str, spans: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    lines = []
    for span_start, span_end in spans:
        for s, e in _lines(text[span_start:span_end]):
            lines.append((span_start + s, span_start + e))
            if len(lines) >= limit:
                return lines
    return lines


def _looks_like_headline(line: str) -> bool:
    words = _WORD.findall(line)
    if not 3 <= len(words) <= 20 or _BULLET.match(line) or line.endswith((".", ":", ",", ";")):
        return False
    long_words = [w for w in words if len(w) >= 4]
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return bool(long_words) and capitalised >= 0.6 * len(long_words)
