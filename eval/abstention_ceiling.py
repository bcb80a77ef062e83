"""How far the answerer's evidence can separate SQuAD v2.0's unanswerable questions.

A diagnostic, not a fit that ships: it breaks the project's fitting rule on purpose. It asks every
question of the SQuAD v2.0 file in open mode, then fits the confidence logistic regression on
v2.0 itself, leaving one article out at a time and scoring that article (five folds), and, as the
most flattering bound, on all of v2.0 scored on itself. If even a
model fitted on the same kind of data cannot refuse half of the unanswerable questions while
answering 80% of the answerable ones, no threshold on these features can.

It prints the share of unanswerable questions refused at the cut that answers 80% of the
answerable ones, for:
  - the shipped confidence (fitted on SQuAD v1.1 only, rag/answer.py);
  - the same nine features, fitted on the other v2.0 articles;
  - those features plus two from a hypothesis sentence (the question with its wh-phrase replaced
    by the extracted span) compared with the cited sentence by the embedding model.

    .venv/bin/python eval/abstention_ceiling.py [SQUAD_V2_FILE]
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from _logistic import fit_logistic, predict
from tqdm import tqdm

import rag
from rag.answer import CONFIDENCE_WEIGHTS, best_candidate, confidence_features
from rag.evaluate import load_squad

DEFAULT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/benchmarks/squad/squad-v2.0-dev-articles1-5.json"
)
_SHIPPED_WEIGHTS = np.array(CONFIDENCE_WEIGHTS)
_WH_PHRASE = re.compile(
    r"\b(?:how many|how much|what|which|who|whom|whose|when|where|how)\b(?:\s+\w+)?", re.I
)


def _asked(squad_file: Path):
    """(features, hypothesis features, shipped confidence, unanswerable, article) per question."""
    paragraphs, questions = load_squad(squad_file)
    article_of = _article_of_paragraph(squad_file, list(paragraphs))
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in paragraphs.items():
            (Path(tmp) / name).write_text(text, "utf-8")
        index = rag.Index()
        index.sync([tmp])
        rows = []
        for question in tqdm(questions, desc="Asking", unit="question"):
            _, _, best = best_candidate(index, question.question)
            features = confidence_features(best)
            has_span = best.span_end > best.span_start
            rows.append(
                (
                    features,
                    _hypothesis_features(index, question.question, best),
                    predict(_SHIPPED_WEIGHTS, np.array([features]))[0] if has_span else 0.0,
                    not question.answers,
                    article_of[question.doc],
                )
            )
    columns = [np.array(column) for column in zip(*rows, strict=True)]
    features, hypothesis, shipped, impossible, article = columns
    return features, hypothesis, shipped, impossible.astype(bool), article


def _article_of_paragraph(squad_file: Path, names: list[str]) -> dict[str, int]:
    """Paragraph file name (in load_squad's order) -> number of its article."""
    articles = json.loads(squad_file.read_text("utf-8"))["data"]
    numbers = [n for n, article in enumerate(articles) for _ in article["paragraphs"]]
    return dict(zip(names, numbers, strict=True))


def _hypothesis_features(index, question: str, best) -> list[float]:
    """Similarity of "the question answered by the span" to the sentence, and its gain over the
    bare question's similarity."""
    span = best.text[best.span_start : best.span_end]
    hypothesis = _WH_PHRASE.sub(span, question.rstrip("? "), count=1)
    vectors = index.embedder.embed([hypothesis, question, " ".join(best.text.split())])
    return [float(vectors[0] @ vectors[2]), float((vectors[0] - vectors[1]) @ vectors[2])]


def _refused_at_80(confidence: np.ndarray, impossible: np.ndarray) -> float:
    cut = np.quantile(confidence[~impossible], 0.2)
    return float((confidence[impossible] < cut).mean())


def _fitted_on_other_articles(x, impossible, article) -> np.ndarray:
    confidence = np.zeros(len(x))
    for held_out in np.unique(article):
        train = article != held_out
        weights = fit_logistic(x[train], (~impossible[train]).astype(float))
        confidence[~train] = predict(weights, x[~train])
    return confidence


def main() -> None:
    squad_file = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    features, hypothesis, shipped, impossible, article = _asked(squad_file)
    extended = np.hstack([features, hypothesis])
    print(f"{len(impossible)} questions, {int(impossible.sum())} unanswerable")
    print("unanswerable refused at the cut that answers 80% of the answerable questions:")
    print(f"  {'shipped confidence, fitted on v1.1':58s} {_refused_at_80(shipped, impossible):.3f}")
    for label, x in (("9 features", features), ("9 + 2 hypothesis features", extended)):
        refused = _refused_at_80(_fitted_on_other_articles(x, impossible, article), impossible)
        print(f"  {label + ', fitted on the other v2.0 articles':58s} {refused:.3f}")
        in_sample = predict(fit_logistic(x, (~impossible).astype(float)), x)
        refused = _refused_at_80(in_sample, impossible)
        print(f"  {label + ', fitted on all of v2.0 (in-sample)':58s} {refused:.3f}")


if __name__ == "__main__":
    main()
