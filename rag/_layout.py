"""The text of a structured file as it is laid out for indexing: paragraphs separated by blank
lines, hard breaks (pages, slides, sheets) that chunks never cross, and location marks that name
where each part comes from. Every format reader in ``rag._office``, ``rag._opendocument``,
``rag._mail`` and ``rag._ocr`` writes through one ``Layout``."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag._decode import clean_text

PARAGRAPH_BREAK = "\n\n"


class Full(Exception):
    """The layout holds ``max_chars`` characters: the reader stops, and says it cut the file."""


@dataclass
class Layout:
    """Text built paragraph by paragraph, with the offsets of its breaks and marks exact.

    Each paragraph is cleaned as it is added (line ends, control characters), so the offsets
    stay true after ``rag._extract`` cleans the whole text again.
    """

    max_chars: int
    parts: list[str] = field(default_factory=list)
    length: int = 0
    page_starts: list[int] = field(default_factory=list)
    locations: list[tuple[int, str]] = field(default_factory=list)
    _pending_page: bool = False
    _pending_label: str | None = None

    def page(self, label: str | None = None) -> None:
        """Start a page (a slide, a sheet) with the next paragraph; ``label`` names it."""
        self._pending_page = True
        if label is not None:
            self._pending_label = label

    def mark(self, label: str) -> None:
        """Name where the text from the next paragraph on comes from."""
        self._pending_label = label

    def add(self, paragraph: str) -> None:
        """Append one paragraph (blank ones are dropped).

        Raises:
            Full: ``max_chars`` is reached; what fits of this paragraph was kept.
        """
        paragraph = clean_text(paragraph.strip(), self.max_chars)[0].strip()
        if not paragraph:
            return
        start = self.length + (len(PARAGRAPH_BREAK) if self.parts else 0)
        if self._pending_page:
            self.page_starts.append(start)
            self._pending_page = False
        if self._pending_label is not None:
            if not self.locations or self.locations[-1][1] != self._pending_label:
                self.locations.append((start, self._pending_label))
            self._pending_label = None
        room = self.max_chars - start
        if self.parts:
            self.parts.append(PARAGRAPH_BREAK)
        self.parts.append(paragraph[: max(room, 0)])
        self.length = start + len(self.parts[-1])
        if len(paragraph) > room:
            raise Full

    @property
    def text(self) -> str:
        return "".join(self.parts)
