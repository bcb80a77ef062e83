"""Answering: pick the sentence and the shortest span that answers, or say it is not there.

>>> answer = ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> answer.found, answer.text, answer.citations[0].title
(True, 'Richard Danziger', 'Unique Tool Launched to Help Fight Human Trafficking Worldwide')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from rag import _spans
from rag.chunk import split_sentences
from rag.retrieve import Hit

__all__ = ["Answer", "Citation", "ask"]

DEFAULT_K = 5
# Answers below this confidence are reported as not found.
MIN_CONFIDENCE = 0.13
_SENTENCES_SCORED = 12
# How a span is scored: a grid search on SQuAD v2.0's answerable questions in gold mode
# (F1 45.3 -> 47.6 there); SQuAD v1.1 is kept for reporting.
_SPAN_WEIGHTS = {
    "adjacency": 0.5,  # question words right next to the span
    "nearness": 0.7,  # the closest question word
    "repeated": 0.8,  # penalty: the span repeats the question's words
    "length": 0.08,  # penalty per word past four
    "sentence": 0.35,  # span quality against sentence relevance, choosing the sentence
}


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


@dataclass(frozen=True)
class _Candidate:
    hit: Hit
    start: int  # sentence offsets in the document text
    end: int
    text: str
    relevance: float  # sentence-level evidence
    similarity: float
    overlap: float
    passage_overlap: float  # share of the question's weight found anywhere in the passage
    missing: float  # the heaviest question word absent from the passage, relative to the heaviest
    names_missing: float  # share of the question's names and numbers absent from the sentence
    sentence_missing: float  # the heaviest question word absent from the sentence, relative
    negation_mismatch: float  # 1 when the question negates and the sentence does not
    span_start: int = 0  # answer offsets within the sentence text
    span_end: int = 0
    span_fit: float = 0.0


def ask(
    index,
    question: str,
    k: int = DEFAULT_K,
    sources: list[str] | None = None,
    min_confidence: float = MIN_CONFIDENCE,
) -> Answer:
    """Answer a question from the index with an extracted span and numbered citations.

    Args:
        k: passages retrieved and cited.
        sources: only search these documents (source paths).
        min_confidence: below this the answer is reported as not found.

    Raises:
        ValueError: empty question, ``k`` < 1, or ``min_confidence`` outside [0, 1].
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    hits, candidates, best = best_candidate(index, question, k=k, sources=sources)
    if best is None:
        return Answer(question, "", False, 0.0, "", [])
    confidence = _confidence(best) if best.span_end > best.span_start else 0.0
    found = confidence >= min_confidence
    answer_text = " ".join(best.text[best.span_start : best.span_end].split()) if found else ""
    return Answer(
        question,
        answer_text,
        found,
        confidence,
        " ".join(best.text.split()) if found else "",
        _citations(hits, candidates, best if found else None),
    )


def best_candidate(index, question: str, k: int = DEFAULT_K, sources: list[str] | None = None):
    """(hits, scored sentences, best sentence with its span), before any confidence cut."""
    index = index.pinned()  # one consistent snapshot, even while documents are being added
    hits = index.search(question, k=k, sources=sources)
    if not hits:
        return hits, [], None
    question_terms = _question_terms(question, index)
    candidates = _score_sentences(index, question, question_terms, hits)
    shape = _spans.analyse_question(question)
    best = max(
        (_with_span(c, question_terms, shape) for c in candidates),
        key=lambda c: c.relevance + _SPAN_WEIGHTS["sentence"] * c.span_fit,
    )
    return hits, candidates, best


def _question_terms(question: str, index) -> dict[str, float]:
    """Content-word stems of the question, weighted by inverse document frequency."""
    words = [w for _, _, w in _spans.tokens(question) if w not in _spans.STOPWORDS]
    stems = {_spans.stem(w) for w in words}
    return {s: index.term_weight(s) for s in stems}


def _score_sentences(index, question: str, terms: dict[str, float], hits: list[Hit]):
    seen, pending = set(), []
    for rank, hit in enumerate(hits):
        document = index.document(hit.source)
        for start, end in split_sentences(document.text, hit.start, hit.end):
            if (hit.source, start) not in seen:
                seen.add((hit.source, start))
                pending.append((rank, hit, start, end, document.text[start:end]))
    vectors = index.embedder.embed([question] + [" ".join(p[4].split()) for p in pending])
    similarities = vectors[1:] @ vectors[0]  # (n_sentences,)
    total = sum(terms.values()) or 1.0
    heaviest = max(terms.values(), default=1.0) or 1.0
    names = _names(question)
    negated = bool(_NEGATION.search(question))
    in_passage = {}
    candidates = []
    for (rank, hit, start, end, text), similarity in zip(pending, similarities, strict=True):
        if hit.start not in in_passage:
            passage = {_spans.stem(w) for _, _, w in _spans.tokens(f"{hit.title} {hit.text}")}
            absent = [weight for s, weight in terms.items() if s not in passage]
            in_passage[hit.start] = (1 - sum(absent) / total, max(absent, default=0.0) / heaviest)
        present = {_spans.stem(w) for _, _, w in _spans.tokens(text)}
        overlap = sum(weight for s, weight in terms.items() if s in present) / total
        sentence_evidence = (
            sum(1 for n in names if n not in present) / max(len(names), 1),
            max((w for s, w in terms.items() if s not in present), default=0.0) / heaviest,
            float(negated and not _NEGATION.search(text)),
        )
        relevance = 0.5 * float(similarity) + 0.5 * overlap + 0.05 / (1 + rank)
        candidates.append(
            _Candidate(
                hit,
                start,
                end,
                text,
                relevance,
                float(similarity),
                overlap,
                *in_passage[hit.start],
                *sentence_evidence,
            )
        )
    candidates.sort(key=lambda c: -c.relevance)
    return candidates[:_SENTENCES_SCORED]


_NEGATION = re.compile(r"\b(?:not|never|no|none|nor|without)\b|n't\b", re.IGNORECASE)


def _names(question: str) -> set[str]:
    """Stems of the question's capitalised words (past its first word) and numbers."""
    words = _spans.tokens(question)
    return {
        _spans.stem(w)
        for i, (start, _, w) in enumerate(words)
        if ((i > 0 and question[start].isupper()) or w[0].isdigit()) and w not in _spans.STOPWORDS
    }


def _with_span(
    candidate: _Candidate, terms: dict[str, float], shape: _spans.QuestionShape
) -> _Candidate:
    text = candidate.text
    words = _spans.tokens(text)
    matched = [i for i, (_, _, w) in enumerate(words) if _spans.stem(w) in terms]
    total = sum(terms.values()) or 1.0
    best, best_score = None, -math.inf
    for span in _spans.candidate_spans(text):
        inside = [i for i, (s, e, _) in enumerate(words) if s >= span.start and e <= span.end]
        if not inside:
            continue
        repeated = sum(1 for i in inside if i in matched) / len(inside)
        fit = _spans.type_fit(span, text[span.start : span.end], shape, text[: span.start])
        adjacency = _adjacent_evidence(words, inside, terms) / total
        nearness = _nearness(inside, matched)
        length_penalty = _SPAN_WEIGHTS["length"] * max(0, len(inside) - 4)
        slot = _spans.slot_fit(words, inside, shape.kind_of)
        score = (
            fit
            + _SPAN_WEIGHTS["adjacency"] * adjacency
            + _SPAN_WEIGHTS["nearness"] * nearness
            - _SPAN_WEIGHTS["repeated"] * repeated
            - length_penalty
            + slot
        )
        if score > best_score:
            best, best_score = span, score
    if best is None:
        return candidate
    fit = max(0.0, min(1.0, best_score / 2.0))
    start, end = best.start, best.end
    if shape.several and best.kind == "proper":
        start, end = _spans.whole_list(text, start, end)
    return replace(candidate, span_start=start, span_end=end, span_fit=fit)


def _adjacent_evidence(words, inside: list[int], terms: dict[str, float]) -> float:
    """Weight of question words next to the span, walking out over stop words on each side."""
    evidence = 0.0
    for step, edge in ((-1, inside[0] - 1), (1, inside[-1] + 1)):
        i, seen = edge, 0.0
        while 0 <= i < len(words):
            word = words[i][2]
            weight = terms.get(_spans.stem(word))
            if weight is not None:
                seen += weight
            elif word not in _spans.STOPWORDS:
                break
            i += step
        evidence = max(evidence, seen)
    return evidence


def _nearness(inside: list[int], matched: list[int]) -> float:
    if not matched:
        return 0.0
    distance = min(min(abs(i - m) for m in matched) for i in inside)
    return 1.0 / (1.0 + distance)


def confidence_features(candidate: _Candidate) -> list[float]:
    """The evidence the confidence is computed from (see eval/fit_confidence.py)."""
    return [
        candidate.overlap,
        candidate.similarity,
        candidate.span_fit,
        candidate.passage_overlap,
        candidate.missing,
        candidate.hit.similarity,
        candidate.names_missing,
        candidate.sentence_missing,
        candidate.negation_mismatch,
    ]


# Logistic regression weights (bias first) fitted by eval/fit_confidence.py on SQuAD v1.1
# (article 1); the SQuAD v2.0 file is kept for reporting.
CONFIDENCE_WEIGHTS = (-4.266, 1.646, 1.958, 0.882, 0.918, 0.275, 0.601, -0.544, -0.829, -2.849)


def _confidence(candidate: _Candidate) -> float:
    """Chance the answer is right, from sentence evidence and span fit (logistic)."""
    bias, *weights = CONFIDENCE_WEIGHTS
    z = bias + sum(w * f for w, f in zip(weights, confidence_features(candidate), strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def _citations(hits: list[Hit], candidates, best: _Candidate | None) -> list[Citation]:
    citations = []
    best_by_hit = {}
    for c in candidates:
        best_by_hit.setdefault((c.hit.source, c.hit.start), c)
    ordered = list(hits)
    if best is not None:
        ordered.sort(key=lambda h: h is not best.hit)
    for n, hit in enumerate(ordered, start=1):
        top = (
            best
            if best is not None and hit is best.hit
            else best_by_hit.get((hit.source, hit.start))
        )
        start, end = (top.start, top.end) if top else (hit.start, hit.end)
        answer = (
            (best.start + best.span_start, best.start + best.span_end)
            if best is not None and top is best
            else (None, None)
        )
        citations.append(
            Citation(
                n,
                hit.title,
                hit.source,
                hit.page,
                start,
                end,
                *answer,
                hit.text,
                hit.start,
                hit.end,
            )
        )
    return citations
