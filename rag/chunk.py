"""Chunking: sentence-aligned pieces of a document's content that fit the embedding model.

>>> chunks = split_document(document, count_tokens=embedder.count_tokens, max_tokens=254)
>>> document.text[chunks[0].start : chunks[0].end] == chunks[0].text
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.ingest import Document

__all__ = ["Chunk", "ChunkSettings", "split_document", "split_sentences"]

_FUNCTION_WORDS = frozenset(
    "a an the of for to in on at by with from and or but as that which who whose than into onto "
    "over under between among about via per is are was were be been has have had".split()
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr inc ltd co corp vs etc e.g i.e no nos gen gov sen rep dept univ "
    "est approx fig jan feb mar apr jun jul aug sep sept oct nov dec mt ft al".split()
)
# A sentence ends at . ! ? (closing quotes/brackets may follow) before white space and a capital,
# digit or opening quote. A match starts only where a run of end marks starts and never gives
# back what it took, so a line of a million "!" costs linear time.
_SENTENCE_END = re.compile(r"(?<![.!?])[.!?]++[\"'”’)\]]*+(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d+[.)])(?:\s|$)")


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut; saved with the index that used them."""

    max_tokens: int = 254
    overlap_sentences: int = 1

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {self.max_tokens}")
        if self.overlap_sentences < 0:
            raise ValueError(f"overlap_sentences must be >= 0, got {self.overlap_sentences}")


@dataclass(frozen=True)
class Chunk:
    """A piece of one document: ``document.text[start:end] == text``."""

    source: str
    start: int
    end: int
    page: int | None
    text: str


def split_document(
    document: Document, count_tokens: Callable[[str], int], settings: ChunkSettings | None = None
) -> list[Chunk]:
    """Cut a document's content spans into chunks of whole sentences, each within the token limit.

    Consecutive chunks share ``overlap_sentences`` sentences; a single sentence longer than the
    limit is cut at word boundaries. Chunks never cross a page or a removed (boilerplate) line.
    """
    settings = settings or ChunkSettings()
    chunks: list[Chunk] = []
    for span_start, span_end in document.content_spans:
        pieces: list[tuple[int, int]] = []
        for start, end in split_sentences(document.text, span_start, span_end):
            pieces.extend(_fit(document.text, start, end, count_tokens, settings.max_tokens))
        for start, end in _pack(document.text, pieces, count_tokens, settings):
            chunks.append(
                Chunk(
                    document.source, start, end, document.page_at(start), document.text[start:end]
                )
            )
    return chunks


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text[start:end]``, white space trimmed.

    Hard-wrapped lines are joined; a line that stands alone (a headline, a list item, a field
    like "Tel +32 ...") is its own sentence.
    """
    end = len(text) if end is None else end
    sentences = []
    for block_start, block_end in line_blocks(text, start, end):
        cut = block_start
        for match in _SENTENCE_END.finditer(text, block_start, block_end):
            if _is_abbreviation(text, block_start, match.start()):
                continue
            sentences.append((cut, match.end()))
            cut = match.end()
        sentences.append((cut, block_end))
    return [s for s in (_trim(text, a, b) for a, b in sentences) if s[1] > s[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_abbreviation(text: str, block_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    window = max(block_start, dot - 20)
    word = re.search(r"[\w.]+$", text[window:dot])
    if not word:
        return False
    token = word.group(0).lower()
    if token in _ABBREVIATIONS or "." in token:  # "Dr.", dotted acronyms: "U.S.", "E.L."
        return True
    if len(token) == 1 and token.isalpha():
        # An initial follows a name ("John F. Kennedy"); "reduces to Y. There" ends a sentence.
        before = re.search(r"(\S+)\s+$", text[max(block_start, dot - 40) : window + word.start()])
        return bool(before and before.group(1)[0].isupper())
    return False


def line_blocks(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each run of lines in ``text[start:end]`` that belong together: a paragraph
    hard-wrapped over lines is one block; a list item, a headline, a field like "Tel +32 ..." or
    a blank line is its own."""
    end = len(text) if end is None else end
    lines = []
    position = start
    for line in text[start:end].split("\n"):
        lines.append((position, position + len(line)))
        position += len(line) + 1
    blocks: list[list[int]] = []
    continues = False
    for i, (line_start, line_end) in enumerate(lines):
        if blocks and continues:
            blocks[-1][1] = line_end
        else:
            blocks.append([line_start, line_end])
        following = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else ""
        joined_before = continues
        continues = _wraps_onto(text[line_start:line_end], following, joined_before)
    return [(a, b) for a, b in blocks]


def _wraps_onto(line: str, following: str, joined_before: bool) -> bool:
    line, following = line.strip(), following.strip()
    if not line or not following or _BULLET.match(following):
        return False
    if line[-1] in ".!?:" or line.endswith(('."', ".”", '?"', "?”")):
        return False
    if line[-1] in ",;-–—(" or not following[0].isupper():
        return True
    last_word = line.rsplit(None, 1)[-1].lower()
    if last_word in _FUNCTION_WORDS or joined_before:
        return True
    return not (_BULLET.match(line) or _is_heading(line))


def _is_heading(line: str) -> bool:
    words = re.findall(r"[A-Za-z][\w'’-]*", line)
    if len(words) > 6 and re.search(r"\w,\s+[a-z]", line):
        return False  # a clause after a comma ("As part of the programme, a Guide on…"): prose
    long_words = [w for w in words if len(w) >= 4]
    capitalised = sum(1 for w in long_words if w[0].isupper())
    return len(words) <= 6 or capitalised >= 0.6 * max(len(long_words), 1)


def _fit(
    text: str, start: int, end: int, count_tokens: Callable[[str], int], max_tokens: int
) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces within ``max_tokens``.

    Every word is at least one token, so a piece never holds more than ``max_tokens`` words: each
    search looks at a bounded window, and a sentence of a million words costs linear time.
    """
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= max_tokens and count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    pieces, first = [], 0
    while first < len(words):
        low, high = first + 1, min(len(words), first + max_tokens)
        while low < high:  # the longest run of words from `first` that fits
            middle = (low + high + 1) // 2
            if count_tokens(text[words[first][0] : words[middle - 1][1]]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        pieces.append((words[first][0], words[low - 1][1]))
        first = low
    return pieces


def _pack(
    text: str,
    sentences: list[tuple[int, int]],
    count_tokens: Callable[[str], int],
    settings: ChunkSettings,
) -> list[tuple[int, int]]:
    """Greedily group consecutive sentences into chunks, repeating the last few as overlap."""
    sizes = [count_tokens(text[a:b]) + 1 for a, b in sentences]
    chunks, first = [], 0
    while first < len(sentences):
        last, total = first, sizes[first]
        while last + 1 < len(sentences) and total + sizes[last + 1] <= settings.max_tokens:
            last += 1
            total += sizes[last]
        chunks.append((sentences[first][0], sentences[last][1]))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - settings.overlap_sentences)
    return chunks
