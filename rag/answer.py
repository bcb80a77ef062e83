"""Answering: retrieve passages, let the trained reader pick the span, cite where it stands.

>>> answer = ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> answer.found, answer.text, answer.citations[0].title
(True, 'Richard Danziger', 'Unique Tool Launched to Help Fight Human Trafficking Worldwide')
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from rag.chunk import split_sentences
from rag.read import Reader, Span, load_reader
from rag.retrieve import Hit

__all__ = ["Answer", "Candidate", "Citation", "ask"]

DEFAULT_K = 5
# Answers below this confidence are reported as not found; chosen on SQuAD v2.0 dev (see README).
MIN_CONFIDENCE = 0.06
# Found answers below this confidence are shown as uncertain, with the other candidates: fewer
# than half of the answers at such a confidence were right on SQuAD v2.0 dev.
UNCERTAIN_BELOW = 0.5
# The reader reads every one of the k retrieved passages, its best SPANS_PER_PASSAGE spans each;
# the answer is the span that wins this comparison across them (eval/choose_settings.py).
SPANS_PER_PASSAGE = 2
COMPARE_BY = "confidence"  # its null difference; or "score", the span's start + end logit
MAX_CANDIDATES = 3


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
    location: str = ""  # where the cited sentence is in the file: "page 3", "slide 2", …
    # The cited version of the file: its offsets hold only while the indexed file has this hash.
    file_sha256: str = ""


@dataclass(frozen=True)
class Candidate:
    """Another span the reader found, less confident than the answer: its text, confidence, the
    ``n`` of the citation whose passage holds it, and the offsets in that document's text of
    the sentence around it (``start``/``end``) and of the span itself."""

    text: str
    confidence: float
    citation: int
    start: int
    end: int
    answer_start: int
    answer_end: int


@dataclass(frozen=True)
class Answer:
    """The extracted answer; with ``found`` False, ``citations`` are the closest passages.
    ``candidates`` are the runner-up spans (at most ``MAX_CANDIDATES``, each at least as
    confident as the threshold asked for, other words than the answer), best first."""

    question: str
    text: str
    found: bool
    confidence: float
    sentence: str
    citations: list[Citation]
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def uncertain(self) -> bool:
        """Found, but below ``UNCERTAIN_BELOW``: show it as a guess, with the candidates."""
        return self.found and self.confidence < UNCERTAIN_BELOW

    def to_dict(self) -> dict:
        """The JSON shape of ``rag ask --json``."""
        keys = (
            "n",
            "title",
            "source",
            "page",
            "location",
            "start",
            "end",
            "answer_start",
            "answer_end",
            "text",
            "file_sha256",
        )
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "confidence": round(self.confidence, 4),
            "sentence": self.sentence,
            "citations": [{key: getattr(c, key) for key in keys} for c in self.citations],
            "candidates": [
                {
                    "answer": c.text,
                    "confidence": round(c.confidence, 4),
                    "citation": c.citation,
                    "start": c.start,
                    "end": c.end,
                    "answer_start": c.answer_start,
                    "answer_end": c.answer_end,
                }
                for c in self.candidates
            ],
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
        k: passages retrieved, read and cited.
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
    spans = default_reader().read(question, [hit.text for hit in hits], SPANS_PER_PASSAGE)
    spans = [span for span in spans if span.text.strip()]
    ranked = sorted(spans, key=lambda span: -getattr(span, COMPARE_BY))
    best = ranked[0] if ranked else None
    confidence = best.confidence if best else 0.0
    found = best is not None and confidence >= min_confidence
    by_hit = {}  # each hit's most confident span
    for span in sorted(spans, key=lambda span: -span.confidence):
        by_hit.setdefault(_key(hits[span.passage]), span)
    if found:
        by_hit[_key(hits[best.passage])] = best
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
        _candidates(index, hits, ranked[1:], best, citations, min_confidence),
    )


def _key(hit: Hit) -> tuple[str, int]:
    return hit.source, hit.start


def _candidates(index, hits, others: list[Span], best: Span, citations, min_confidence: float):
    """The runner-up spans worth showing: as confident as the threshold, other words than the
    answer and than each other (compared as the SQuAD metric normalises them)."""
    from rag._metrics import normalize_answer

    number = {(c.source, c.passage_start): c.n for c in citations}
    # A hit merged into another citation (the same sentence) is found by its sentence.
    by_sentence = {(c.source, c.start, c.end): c.n for c in citations}
    seen = {normalize_answer(best.text)}
    candidates = []
    for span in others:
        words = normalize_answer(span.text)
        if span.confidence < min_confidence or not words or words in seen:
            continue
        seen.add(words)
        hit = hits[span.passage]
        text = " ".join(span.text.split())
        start, end = hit.start + span.start, hit.start + span.end
        sentence = _sentences_around(index, hit, start, end)
        n = number.get(_key(hit)) or by_sentence.get((hit.source, *sentence))
        if n is None:  # its passage's citation cites another sentence of a merged pair
            n = next(c.n for c in citations if c.source == hit.source)
        candidates.append(Candidate(text, span.confidence, n, *sentence, start, end))
        if len(candidates) == MAX_CANDIDATES:
            break
    return candidates


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
    around its best span, or its whole passage when it was not read. Two hits (overlapping
    chunks) that cite the same sentence of the same document are one citation."""
    ordered = sorted(hits, key=lambda h: not (found and spans.get((h.source, h.start)) is best))
    citations = []
    cited: set[tuple[str, int, int]] = set()
    for hit in ordered:
        span = spans.get((hit.source, hit.start))
        start, end = hit.start, hit.end
        answer = (None, None)
        if span is not None:
            answer_start, answer_end = hit.start + span.start, hit.start + span.end
            start, end = _sentences_around(index, hit, answer_start, answer_end)
            if found and span is best:
                answer = (answer_start, answer_end)
        if (hit.source, start, end) in cited:
            continue
        cited.add((hit.source, start, end))
        document = index.document(hit.source)
        citations.append(
            Citation(
                len(citations) + 1, hit.title, hit.source, hit.page, start, end, *answer,
                hit.text, hit.start, hit.end, document.location_at(start), document.file_sha256,
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
