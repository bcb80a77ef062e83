"""Evaluation metrics: SQuAD answer scores, gold-document ranks, percentiles."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lower-case, drop punctuation and a/an/the, fold spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after normalisation, in [0, 1]."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:  # as the SQuAD v2 script: both empty counts as a match
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_scores(prediction: str, golds: Iterable[str]) -> tuple[float, float]:
    """(exact match, F1) of a prediction, each the maximum over the gold answers."""
    golds = list(golds)
    if not golds:
        raise ValueError("no gold answers to score against")
    return (
        max(exact_match(prediction, g) for g in golds),
        max(token_f1(prediction, g) for g in golds),
    )


def matches_document(doc: str, source: str) -> bool:
    """Whether a question's ``doc`` (a file name, a relative or an absolute path) names ``source``.

    A file name or relative path matches the trailing parts of the source path.
    """
    wanted, actual = Path(doc).expanduser(), Path(source)
    if wanted.is_absolute():
        return wanted.resolve() == actual.resolve()
    parts = wanted.parts
    return bool(parts) and actual.parts[-len(parts) :] == parts


def distinct_sources(sources: Iterable[str], limit: int) -> list[str]:
    """The first ``limit`` distinct sources, in order of first appearance."""
    seen: list[str] = []
    for source in sources:
        if source not in seen:
            seen.append(source)
            if len(seen) == limit:
                break
    return seen


def gold_rank(ranked_sources: list[str], gold: frozenset[str]) -> int | None:
    """1-based rank of the first gold source in ``ranked_sources``; None when absent."""
    for rank, source in enumerate(ranked_sources, start=1):
        if source in gold:
            return rank
    return None


def recall_at(ranks: list[int | None], k: int) -> float | None:
    """Share of questions whose gold document ranks within the top ``k``; None without questions."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: list[int | None]) -> float | None:
    """Mean of 1/rank, counting a gold document not retrieved as 0; None without questions."""
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r is not None) / len(ranks)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation); None for no values."""
    return float(np.percentile(values, q)) if values else None


def mean(values: list[float], over: list | None = None) -> float | None:
    """Sum of ``values`` over the number of ``over`` (default: of ``values``); None over none.

    ``over`` counts questions that score 0 without a value, e.g. refused ones.
    """
    count = len(values if over is None else over)
    return sum(values) / count if count else None


def percent(share: float | None) -> float | None:
    return None if share is None else 100.0 * share


def rounded(value):
    """Floats rounded to 4 decimals, inside dicts and lists too (for report.json)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: rounded(v) for key, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def refused_at_cut(answerable: list[float], unanswerable: list[float], answered: float = 0.8):
    """(share of unanswerable questions refused, the cut): the cut is the confidence that
    answers the ``answered`` share of answerable questions, the issue-9 bar's operating point."""
    ranked = sorted(answerable, reverse=True)
    cut = ranked[math.ceil(answered * len(ranked)) - 1]
    return sum(1 for c in unanswerable if c < cut) / len(unanswerable), cut


def best_squad2_f1(scored, thresholds=None) -> tuple[float, float]:
    """(SQuAD 2.0's overall F1 as a share, the threshold) at the best threshold, answering when
    the confidence is at least the threshold. ``scored`` holds (confidence, F1 or None for an
    unanswerable question); a refused unanswerable question scores 1, a refused answerable one
    0. ``thresholds`` default to every confidence and infinity (refuse all); ties go to the
    higher threshold. One pass over the sorted confidences, not one per threshold."""
    if thresholds is None:
        thresholds = {c for c, _ in scored} | {math.inf}
    ranked = sorted(scored, key=lambda s: s[0])
    total = sum(f1 for _, f1 in ranked if f1 is not None)  # threshold below everything
    best, below = (-1.0, -math.inf), 0
    for threshold in sorted(thresholds):
        while below < len(ranked) and ranked[below][0] < threshold:
            f1 = ranked[below][1]
            total += 1.0 if f1 is None else -f1  # now refused
            below += 1
        best = max(best, (total / len(scored), threshold))
    return best


def calibration(results: Sequence, bins: int = 10) -> list[dict]:
    """For each confidence bin holding answers of ``results`` (``rag.evaluate.QuestionResult``
    rows): how many, and the share that are right (F1 >= 0.5; an answer to an unanswerable
    question is wrong)."""
    groups: list[list] = [[] for _ in range(bins)]
    for r in results:
        if r.retrieved:
            groups[min(int(r.confidence * bins), bins - 1)].append(r)
    return [
        {
            "low": i / bins,
            "high": (i + 1) / bins,
            "n": len(group),
            "mean_confidence": mean([r.confidence for r in group]),
            "right": mean([r.answerable and r.span_f1 >= 0.5 for r in group]),
        }
        for i, group in enumerate(groups)
        if group
    ]
