"""Answering: retrieve passages, let the trained reader pick the span, cite where it stands.

>>> answer = ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> answer.found, answer.text, answer.citations[0].title
(True, 'Richard Danziger', 'Unique Tool Launched to Help Fight Human Trafficking Worldwide')
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rag.chunk import split_sentences
from rag.read import Reader, Span, load_reader
from rag.retrieve import Hit

__all__ = ["Answer", "Citation", "ask"]

DEFAULT_K = 5
# Answers below this confidence are reported as not found; chosen on SQuAD v2.0 dev (see README).
MIN_CONFIDENCE = 0.06
# The reader reads only the best few retrieved passages, and the answer is the span that wins
# this comparison across them; both chosen on SQuAD v2.0 dev by eval/choose_settings.py.
PASSAGES_READ = 2
COMPARE_BY = "confidence"  # its null difference; or "score", the span's start + end logit


@dataclass(frozen=True)
class Citation:
    """A numbered source: the cited sentence (``start``/``end``) in the document's text, the answer
    span inside it (``answer_start``/``answer_end``, only on the citation that holds the answer),
    and the retrieved passage around it."""

    n: int
    title: str
    source: str
    page: int | None
    start: int
    end: int
    answer_start: int | None
    answer_end: int | None
    text: str
    passage_start: int
    passage_end: int


@dataclass(frozen=True)
class Answer:
    """The extracted answer; with ``found`` False, ``citations`` are the closest passages."""

    question: str
    text: str
    found: bool
    confidence: float
    sentence: str
    citations: list[Citation]

    def to_dict(self) -> dict:
        """The JSON shape of ``rag ask --json``."""
        keys = (
            "n",
            "title",
            "source",
            "page",
            "start",
            "end",
            "answer_start",
            "answer_end",
            "text",
        )
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "confidence": round(self.confidence, 4),
            "sentence": self.sentence,
            "citations": [{key: getattr(c, key) for key in keys} for c in self.citations],
        }


def ask(
    index,
    question: str,
    k: int = DEFAULT_K,
    sources: list[str] | None = None,
    min_confidence: float = MIN_CONFIDENCE,
) -> Answer:
    """Answer a question from the index with an extracted span and numbered citations.

    Args:
        k: passages retrieved and cited (the reader reads the best ``PASSAGES_READ`` of them).
        sources: only search these documents (source paths).
        min_confidence: below this the answer is reported as not found.

    Raises:
        ValueError: empty question, ``k`` < 1, or ``min_confidence`` outside [0, 1].
        ReaderWeightsError: the reader's weights are missing or damaged.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    index = index.pinned()  # one consistent snapshot, even while documents are being added
    hits = index.search(question, k=k, sources=sources)
    if not hits:
        return Answer(question, "", False, 0.0, "", [])
    read = hits[:PASSAGES_READ]
    spans = default_reader().read(question, [hit.text for hit in read])
    best = max(spans, key=lambda span: getattr(span, COMPARE_BY), default=None)
    if best is not None and not best.text.strip():
        best = None
    confidence = best.confidence if best else 0.0
    found = best is not None and confidence >= min_confidence
    by_hit = {(read[s.passage].source, read[s.passage].start): s for s in spans}
    citations = _citations(index, hits, by_hit, best, found)
    if not found:
        return Answer(question, "", False, confidence, "", citations)
    cited = citations[0]
    document_text = index.document(cited.source).text
    return Answer(
        question,
        " ".join(best.text.split()),
        True,
        confidence,
        " ".join(document_text[cited.start : cited.end].split()),
        citations,
    )


_READER: Reader | None = None
_READER_LOCK = threading.Lock()


def default_reader() -> Reader:
    """The shipped reader, loaded once per process."""
    global _READER
    with _READER_LOCK:
        if _READER is None:
            _READER = load_reader()
        return _READER


def _citations(index, hits: list[Hit], spans: dict, best: Span | None, found: bool):
    """Hits as numbered citations, the one holding the answer first; each cites the sentence(s)
    around its best span, or its whole passage when it was not read."""
    ordered = sorted(hits, key=lambda h: not (found and spans.get((h.source, h.start)) is best))
    citations = []
    for n, hit in enumerate(ordered, start=1):
        span = spans.get((hit.source, hit.start))
        start, end = hit.start, hit.end
        answer = (None, None)
        if span is not None:
            answer_start, answer_end = hit.start + span.start, hit.start + span.end
            start, end = _sentences_around(index, hit, answer_start, answer_end)
            if found and span is best:
                answer = (answer_start, answer_end)
        citations.append(
            Citation(
                n, hit.title, hit.source, hit.page, start, end, *answer,
                hit.text, hit.start, hit.end,
            )
        )  # fmt: skip
    return citations


def _sentences_around(index, hit: Hit, start: int, end: int) -> tuple[int, int]:
    """The passage's sentences that the span [start, end) touches, as one range."""
    text = index.document(hit.source).text
    sentences = split_sentences(text, hit.start, hit.end)
    touched = [(s, e) for s, e in sentences if e > start and s < end]
    if not touched:
        return hit.start, hit.end
    return touched[0][0], touched[-1][1]
