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

import bisect
import hashlib
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from rag._extract import (
    _LONG_RUN,
    MAX_FILE_BYTES,
    MAX_WORD_CHARS,
    REFUSED_SUFFIXES,
    SUPPORTED_SUFFIXES,
    Document,
    Extraction,
    IngestLimits,
    extract_file,
    file_sha256,
)
from rag._workers import extract_isolated
from rag.errors import ExtractionError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_WORD_CHARS",
    "REFUSED_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "Document",
    "Extraction",
    "ExtractionError",
    "IngestLimits",
    "Skipped",
    "discover_files",
    "discover_sources",
    "extract_file",
    "extract_files",
    "SharedLines",
    "boilerplate_lines",
    "file_sha256",
    "line_hashes",
    "mark_content",
]

# A line shared verbatim by this many documents is site furniture, not content.
BOILERPLATE_MIN_DOCS = 3
# Bounded repetitions: a 3 MB line of "<a<a<a" must cost linear time, not quadratic.
_RESIDUE = re.compile(
    r"mailto:|href=|target=|\"\s*>|<\s*/?\s*[a-z][a-z0-9]{0,15}(?:\s[^<>]{0,300})?>",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d+[.)])(?:\s|$)")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed (or, in ``SyncReport.truncated``, only partly), and why."""

    source: str
    reason: str


def discover_files(paths: list[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders (recursively) into supported regular files, sorted; report the
    rest. Links to folders are not followed; links to files are followed only within the folder
    given, so no link (or loop of links) leads the walk outside it.

    Raises:
        FileNotFoundError: a given path does not exist.
    """
    sources, skipped = discover_sources(paths)
    return [Path(source) for source in sources], skipped


def discover_sources(paths: list[str | Path]) -> tuple[list[str], list[Skipped]]:
    """``discover_files`` with the paths as text (a hundred thousand Path objects cost a
    second)."""
    found: set[str] = set()
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        if path.is_dir():
            _walk(path, found, skipped)
        else:
            _consider(path, None, found, skipped)
    return sorted(found), skipped


def _walk(root: Path, found: set[str], skipped: list[Skipped]) -> None:
    """Walk the folder from its real path, so a plain file's path needs no resolving."""
    inside = root.resolve()
    folders = [inside]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            skipped.append(Skipped(_shown(folder), f"cannot list folder: {error.strerror}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are never documents
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif entry.is_symlink() and _links_to_folder(entry):
                skipped.append(Skipped(_shown(entry.path), "link to a folder, not followed"))
            elif entry.is_file(follow_symlinks=False) and _plain_name(entry.name):
                found.add(entry.path)
            else:
                _consider(Path(entry.path), inside, found, skipped)


def _links_to_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a loop of links
        return False


def _plain_name(name: str) -> bool:
    """A supported file name that is valid UTF-8: nothing more to check for a regular file."""
    suffix = os.path.splitext(name)[1].lower()
    return suffix in SUPPORTED_SUFFIXES and (name.isascii() or _shown(name) == name)


def _consider(path: Path, inside: Path | None, found: set[str], skipped: list[Skipped]) -> None:
    """Add ``path`` to ``found``, or say in ``skipped`` why not."""
    shown = _shown(path)
    reason = None
    if shown != str(path):
        reason = "file name is not valid UTF-8: rename the file"
    elif path.suffix.lower() in REFUSED_SUFFIXES:
        reason = REFUSED_SUFFIXES[path.suffix.lower()]
    elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
        reason = f"unsupported file type '{path.suffix}'"
    else:
        try:
            real = path.resolve(strict=True)
            mode = real.stat().st_mode
        except (OSError, RuntimeError):
            reason = "broken link, or a loop of links"
        else:
            if inside is not None and path.is_symlink() and not real.is_relative_to(inside):
                reason = "link to a file outside the folder, not followed"
            elif not stat.S_ISREG(mode):
                reason = "not a regular file (a pipe, socket or device)"
    if reason:
        skipped.append(Skipped(shown, reason))
    else:
        found.add(str(real))


def _shown(path: str | Path) -> str:
    """The path as text that can be stored and printed (bytes that are not UTF-8 escaped)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def extract_files(
    paths: list[str | Path], limits: IngestLimits | None = None, progress: bool = False
) -> list[Extraction]:
    """Read files in worker processes, in parallel; one per file, in the order given.

    A file that crashes its worker, runs past ``limits.timeout_s`` or needs more than
    ``limits.memory_mb`` is skipped with that reason; the others are read as usual.
    """
    return extract_isolated([str(p) for p in paths], limits or IngestLimits(), progress)


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


def mark_content(documents: list[Document], boilerplate: set[int] | None = None) -> list[Document]:
    """Mark each document's content spans against its collection, and give it a title.

    Lines that at least ``BOILERPLATE_MIN_DOCS`` documents share verbatim, and lines of markup
    residue (``href=``, ``mailto:``), are left out; a document that would lose most of its
    text that way is a copy of another, and keeps it all. ``boilerplate`` (from
    ``boilerplate_lines`` over the whole collection) lets a caller mark a few documents of a
    large collection without reading the others.
    """
    if boilerplate is None:
        boilerplate = boilerplate_lines([line_hashes(doc) for doc in documents])
    return [_mark_one(doc, boilerplate) for doc in documents]


def line_hashes(document: Document) -> frozenset[int]:
    """64-bit hashes of the document's distinct non-empty lines (as boilerplate sees them)."""
    keys = {_line_key(document.text[s:e]) for s, e in _lines(document.text)} - {""}
    return frozenset(_hash64(key) for key in keys)


def boilerplate_lines(collection: list[frozenset[int]]) -> set[int]:
    """The line hashes that at least ``BOILERPLATE_MIN_DOCS`` documents of a collection share."""
    return SharedLines(collection).boilerplate


class SharedLines:
    """How many documents of a collection hold each line hash, and which lines are boilerplate
    (held by ``BOILERPLATE_MIN_DOCS`` or more), kept up to date as documents come and go: a
    change costs the lines of the documents it touches, not a recount of the collection."""

    def __init__(self, collection=()):
        self.counts: Counter = Counter()
        for hashes in collection:
            self.counts.update(hashes)
        self.boilerplate = {key for key, n in self.counts.items() if n >= BOILERPLATE_MIN_DOCS}

    def update(self, removed, added) -> set[int]:
        """Take out the documents' line hashes in ``removed``, put in those in ``added``;
        returns the lines that became, or stopped being, boilerplate."""
        touched = set()
        for hashes in removed:
            self.counts.subtract(hashes)
            touched |= hashes
        for hashes in added:
            self.counts.update(hashes)
            touched |= hashes
        flipped = set()
        for key in touched:
            count = self.counts[key]
            if count <= 0:
                del self.counts[key]
            if (count >= BOILERPLATE_MIN_DOCS) != (key in self.boilerplate):
                flipped.add(key)
        self.boilerplate ^= flipped
        return flipped


def _hash64(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def _mark_one(doc: Document, boilerplate: set[int]) -> Document:
    lines = [(s, e) for s, e in _lines(doc.text) if doc.text[s:e].strip()]
    kept = [(s, e) for s, e in lines if not _RESIDUE.search(doc.text[s:e])]
    content = [(s, e) for s, e in kept if _hash64(_line_key(doc.text[s:e])) not in boilerplate]
    if sum(e - s for s, e in content) < 0.2 * sum(e - s for s, e in kept):
        content = kept
    content = [piece for s, e in content for piece in _without_long_runs(doc.text, s, e)]
    spans = _merge_adjacent(doc.text, content, doc.page_starts)
    title, title_source = doc.title, doc.title_source
    if not title:
        title, title_source = _find_title(doc, spans)
    return replace(doc, content_spans=tuple(spans), title=title, title_source=title_source)


def _without_long_runs(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``text[start:end]`` between runs of over ``MAX_WORD_CHARS`` non-spaces."""
    pieces = []
    for run in _LONG_RUN.finditer(text, start, end):
        if text[start : run.start()].strip():
            pieces.append((start, run.start()))
        start = run.end()
    if text[start:end].strip():
        pieces.append((start, end))
    return pieces


def _merge_adjacent(
    text: str, lines: list[tuple[int, int]], page_starts: tuple[int, ...]
) -> list[tuple[int, int]]:
    """Join consecutive kept lines into spans; a removed line or a page break ends a span."""
    spans: list[list[int]] = []
    for start, end in lines:
        if (
            spans
            and not text[spans[-1][1] : start].strip()
            and not _page_starts_between(page_starts, spans[-1][1], start)
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


def _page_starts_between(page_starts: tuple[int, ...], start: int, end: int) -> bool:
    """Whether a page begins in ``[start, end]`` (a binary search: PDFs have thousands)."""
    i = bisect.bisect_left(page_starts, start)
    return i < len(page_starts) and page_starts[i] <= end


def _find_title(doc: Document, spans: list[tuple[int, int]]) -> tuple[str, str]:
    for start, end in _first_lines(doc.text, spans, limit=12):
        line = doc.text[start:end].strip()
        if _looks_like_headline(line):
            return line, "headline"
    if spans:
        first = " ".join(doc.text[spans[0][0] : spans[0][1]].split())
        sentence = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
        if len(sentence) <= 90:  # a longer one cut short reads as a broken title: the file's name
            return sentence, "text"
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
