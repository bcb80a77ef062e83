"""Evaluation: ask every question of a set; score answers, abstention and retrieval; time it.

>>> questions = load_questions("eval/counter-trafficking.jsonl")
>>> report = evaluate(rag.Index.load("index"), questions)
>>> report.f1, report.answered_rate, report.to_dict()["recall@5"]
>>> write_report(report, "reports/counter-trafficking")
>>> report = evaluate_squad("squad-v1.1-dev-article1.json", mode="gold", progress=True)
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag import _metrics, _report
from rag import answer as _answer
from rag._questions import Question, load_questions, load_squad, question_type
from rag.index import Index

__all__ = [
    "Question",
    "QuestionResult",
    "Report",
    "compare_reports",
    "evaluate",
    "evaluate_squad",
    "load_questions",
    "load_squad",
    "write_report",
]

MODES = ("open", "gold")
DEFAULT_THRESHOLDS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
RECALL_AT = (1, 5, 10)
# Chunk hits searched to rank the gold document among up to max(RECALL_AT) distinct documents.
_CHUNK_HITS = 50


@dataclass(frozen=True)
class QuestionResult:
    """What the answerer did with one question, asked once with ``min_confidence=0``.

    ``best_span`` is the extracted answer whatever its confidence (empty when nothing was
    retrieved); ``span_em``/``span_f1`` score it against the gold answers (0 when unanswerable).
    ``gold_rank`` is the rank of the gold document among the retrieved documents (None: not in
    the top 10, or no gold document).
    """

    id: str
    question: str
    type: str
    answers: tuple[str, ...]
    doc: str | None
    best_span: str
    retrieved: bool
    confidence: float
    span_em: float
    span_f1: float
    gold_rank: int | None
    latency_ms: float

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def found_at(self, threshold: float) -> bool:
        """Whether ``ask(..., min_confidence=threshold)`` reports this answer as found."""
        return self.retrieved and self.confidence >= threshold

    def to_dict(self, threshold: float) -> dict:
        """One line of per_question.jsonl, judged at ``threshold``."""
        found = self.found_at(threshold)
        return {
            "id": self.id,
            "question": self.question,
            "type": self.type,
            "gold": list(self.answers),
            "doc": self.doc,
            "answer": self.best_span if found else "",
            "found": found,
            "confidence": round(self.confidence, 4),
            "best_span": self.best_span,
            "em": self.span_em if found else 0.0,
            "f1": round(self.span_f1 if found else 0.0, 4),
            "gold_rank": self.gold_rank,
            "latency_ms": round(self.latency_ms, 1),
        }


@dataclass(frozen=True)
class Report:
    """Results of one evaluation run; every figure is computed from ``results``.

    ``threshold`` is the confidence the headline figures use (the answerer's default);
    ``thresholds`` are the alternatives tabulated for a user choosing one.
    """

    results: tuple[QuestionResult, ...]
    mode: str
    model: str
    k: int
    threshold: float
    thresholds: tuple[float, ...]
    dataset: str = ""
    documents: int = 0
    chunks: int = 0
    build_seconds: float | None = None

    @property
    def exact_match(self) -> float | None:
        return self.scores_at(self.threshold)["exact_match"]

    @property
    def f1(self) -> float | None:
        return self.scores_at(self.threshold)["f1"]

    @property
    def answered_rate(self) -> float | None:
        return self.scores_at(self.threshold)["answered_rate"]

    @property
    def refused_rate(self) -> float | None:
        return self.scores_at(self.threshold)["refused_rate"]

    def scores_at(self, threshold: float) -> dict:
        """EM and F1 (percent, refusals score 0) and the abstention rates at one threshold."""
        return {"threshold": threshold, **_scores(self.results, threshold)}

    def to_dict(self) -> dict:
        """The content of report.json (rates in [0, 1], EM and F1 in percent)."""
        ranks = [r.gold_rank for r in self.results if r.answerable and r.doc is not None]
        latencies = [r.latency_ms for r in self.results]
        data = {
            "dataset": self.dataset,
            "mode": self.mode,
            "model": self.model,
            "k": self.k,
            "documents": self.documents,
            "chunks": self.chunks,
            "n": len(self.results),
            "n_answerable": sum(r.answerable for r in self.results),
            "n_unanswerable": sum(not r.answerable for r in self.results),
            **self.scores_at(self.threshold),
            "n_retrieval": len(ranks),
            **{f"recall@{k}": _metrics.recall_at(ranks, k) for k in RECALL_AT},
            "mrr": _metrics.mean_reciprocal_rank(ranks),
            "latency_ms_p50": _metrics.percentile(latencies, 50),
            "latency_ms_p95": _metrics.percentile(latencies, 95),
            "build_seconds": self.build_seconds,
            **self._refused_at_cut(),
            "thresholds": [self.scores_at(t) for t in self.thresholds],
            "by_type": self._by_type(),
            "calibration": _metrics.calibration(self.results),
        }
        return _metrics.rounded(data)

    def summary(self) -> str:
        """A few lines for the terminal."""
        return _report.summary(self.to_dict())

    def _refused_at_cut(self) -> dict:
        # Issue 9's operating point: the cut that answers 80 % of the answerable questions.
        answerable = [r.confidence for r in self.results if r.answerable]
        unanswerable = [r.confidence for r in self.results if not r.answerable]
        if not answerable or not unanswerable:
            return {"refused_at_80pct": None, "cut_at_80pct": None}
        refused, cut = _metrics.refused_at_cut(answerable, unanswerable)
        return {"refused_at_80pct": refused, "cut_at_80pct": cut}

    def _by_type(self) -> dict:
        groups: dict[str, list[QuestionResult]] = {}
        for r in self.results:
            if r.answerable:
                groups.setdefault(r.type, []).append(r)
        return {
            kind: {"n": len(group), **_scores(group, self.threshold, refusals=False)}
            for kind, group in sorted(groups.items())
        }


def _scores(results: Sequence[QuestionResult], threshold: float, refusals: bool = True) -> dict:
    answerable = [r for r in results if r.answerable]
    answered = [r for r in answerable if r.found_at(threshold)]
    scores = {
        "exact_match": _metrics.percent(_metrics.mean([r.span_em for r in answered], answerable)),
        "f1": _metrics.percent(_metrics.mean([r.span_f1 for r in answered], answerable)),
        "f1_answered": _metrics.percent(_metrics.mean([r.span_f1 for r in answered])),
        "answered_rate": len(answered) / len(answerable) if answerable else None,
        "n_right": sum(r.span_f1 >= 0.5 for r in answered),
    }
    if refusals:
        refused = [not r.found_at(threshold) for r in results if not r.answerable]
        scores["refused_rate"] = _metrics.mean(refused)
        scores["n_refused"] = sum(refused)
    return scores


def evaluate(
    index: Index,
    questions: Iterable[Question],
    k: int = _answer.DEFAULT_K,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
    mode: str = "open",
    progress: bool = False,
) -> Report:
    """Ask every question once and measure answers, abstention, retrieval and latency.

    Each question is asked with ``min_confidence=0``; found/refused at any threshold follows
    from the answer's confidence. The headline figures use ``rag.answer.MIN_CONFIDENCE``.

    Args:
        k: passages ``ask`` retrieves.
        thresholds: confidence thresholds to tabulate (the default threshold is always added).
        mode: ``"open"`` searches the whole index; ``"gold"`` answers each question from its
            gold document only (questions without one search the whole index).
        progress: show a progress bar.

    Raises:
        ValueError: no questions, a bad mode, k or threshold, or a ``doc`` not in the index.
    """
    questions = list(questions)
    thresholds = sorted({*thresholds, _answer.MIN_CONFIDENCE})
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not questions:
        raise ValueError("no questions to evaluate")
    if not all(0.0 <= t <= 1.0 for t in thresholds):
        raise ValueError(f"thresholds must be in [0, 1], got {thresholds}")
    gold = _gold_sources(index, questions)
    from tqdm import tqdm

    bar = tqdm(questions, desc="Asking", unit="question", disable=not progress)
    results = [
        _ask_one(index, question, sources, k, mode)
        for question, sources in zip(bar, gold, strict=True)
    ]
    info = index.info()
    model, threshold = index.embedder.identity.name, _answer.MIN_CONFIDENCE
    return Report(
        tuple(results), mode, model, k, threshold, tuple(thresholds),
        documents=info["documents"], chunks=info["chunks"],
    )  # fmt: skip


def evaluate_squad(
    path: str | Path,
    mode: str = "open",
    embedder=None,
    progress: bool = False,
    thresholds: Iterable[float] = DEFAULT_THRESHOLDS,
) -> Report:
    """Evaluate on a SQuAD v1.1/v2.0 file: index its paragraphs (one file each), ask everything.

    The throw-away index lives in a temporary folder; without ``embedder`` the bundled model is
    used with a fresh embedding cache, so build time and latency do not depend on earlier runs.
    ``thresholds`` are tabulated as by ``evaluate``.

    Raises:
        FileNotFoundError, ValueError: see ``load_squad`` and ``evaluate``.
    """
    paragraphs, questions = load_squad(path)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    with tempfile.TemporaryDirectory(prefix="rag-squad-") as folder:
        if embedder is None:
            from embeddings import EmbeddingCache, load_embedder

            embedder = load_embedder(cache=EmbeddingCache(Path(folder) / "embeddings.sqlite"))
        started = time.perf_counter()
        index = squad_index(paragraphs, Path(folder), embedder, progress)
        build_seconds = time.perf_counter() - started
        report = evaluate(index, questions, mode=mode, progress=progress, thresholds=thresholds)
    return replace(report, dataset=Path(path).name, build_seconds=build_seconds)


def squad_index(paragraphs: dict[str, str], folder: Path, embedder, progress=False) -> Index:
    """An in-memory index of SQuAD paragraphs (see ``load_squad``), each written as a file under
    ``folder``."""
    documents = folder / "paragraphs"
    documents.mkdir()
    for name, text in paragraphs.items():
        (documents / name).write_text(text, encoding="utf-8")
    index = Index(embedder)
    index.sync([documents], progress=progress)
    return index


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write report.json, report.md, per_question.jsonl and report.png into ``out_dir``.

    Returns:
        The paths written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    paths = [out / "report.json", out / "report.md", out / "per_question.jsonl", out / "report.png"]
    paths[0].write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths[1].write_text(_report.markdown(data, paths[3].name), encoding="utf-8")
    lines = [json.dumps(r.to_dict(report.threshold), ensure_ascii=False) for r in report.results]
    paths[2].write_text("\n".join(lines) + "\n", encoding="utf-8")
    _report.chart(report, paths[3])
    return paths


def compare_reports(a: str | Path, b: str | Path) -> str:
    """Two report.json files side by side, with B − A for every figure.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file is not a report.json written by ``rag eval``.
    """
    return _report.comparison(_report.read(a), _report.read(b), str(a), str(b))


def _gold_sources(index: Index, questions: list[Question]) -> list[frozenset[str]]:
    """Indexed sources each question's ``doc`` names (empty set for no doc)."""
    sources = [d.source for d in index.documents]
    by_doc: dict[str, frozenset[str]] = {}
    gold = []
    for q in questions:
        if q.doc is None:
            gold.append(frozenset())
            continue
        if q.doc not in by_doc:
            by_doc[q.doc] = frozenset(s for s in sources if _metrics.matches_document(q.doc, s))
        if not by_doc[q.doc]:
            raise ValueError(
                f"question {q.id}: document {q.doc!r} is not in the index ({len(sources)} "
                "documents): index the folder that holds it, or correct 'doc'"
            )
        gold.append(by_doc[q.doc])
    return gold


def _ask_one(index: Index, question: Question, gold: frozenset[str], k: int, mode: str):
    sources = sorted(gold) if mode == "gold" and gold else None
    started = time.perf_counter()
    answer = _answer.ask(index, question.question, k=k, sources=sources, min_confidence=0.0)
    latency_ms = (time.perf_counter() - started) * 1000
    rank = None
    if gold and question.answerable:  # after ask, so ask's latency is not helped by this search
        hits = index.search(question.question, k=_CHUNK_HITS)
        ranked = _metrics.distinct_sources((h.source for h in hits), max(RECALL_AT))
        rank = _metrics.gold_rank(ranked, gold)
    em, f1 = (0.0, 0.0)
    if question.answerable and answer.found:
        em, f1 = _metrics.best_scores(answer.text, question.answers)
    span = answer.text if answer.found else ""
    kind = question_type(question.question)
    return QuestionResult(
        question.id, question.question, kind, question.answers, question.doc, span,
        answer.found, answer.confidence, em, f1, rank, latency_ms,
    )  # fmt: skip
