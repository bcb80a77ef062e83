"""Fit the answerer's confidence (logistic regression) on SQuAD v1.1 article 1, never on v2.0.

Answerable examples come from asking every question over all paragraphs (label 1 when the cited
sentence holds a gold answer, so confidence means "the cited sentence answers it"). Unanswerable
ones (label 0) come from asking each question with its own paragraph left out of the search, and
from variants of it made unanswerable the way SQuAD 2.0's were written: a name, a number or
another word swapped for one from elsewhere in the article, a word swapped for its antonym, or a
negation inserted. Prints the
weights for ``rag/answer.py`` (CONFIDENCE_WEIGHTS), the default cut (MIN_CONFIDENCE, the one
that answers 80% of this file's answerable questions) and the fit's accuracy.

    .venv/bin/python eval/fit_confidence.py [SQUAD_V1_FILE]
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
from rag._metrics import normalize_answer
from rag._spans import STOPWORDS
from rag.answer import best_candidate, confidence_features

DEFAULT = (
    Path(__file__).resolve().parents[1].parent
    / "shared/benchmarks/squad/squad-v1.1-dev-article1.json"
)


def _examples(squad_file: Path):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        questions = []
        for article in json.loads(squad_file.read_text("utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                source = folder / f"p{len(questions):05d}.txt"
                source.write_text(paragraph["context"], "utf-8")
                questions += [
                    (qa["question"], [a["text"] for a in qa["answers"]], str(source.resolve()))
                    for qa in paragraph["qas"]
                ]
        index = rag.Index()
        index.sync([folder])
        random = np.random.default_rng(0)
        names = sorted({w for q, _, _ in questions for w in _NAME.findall(q)[1:]})
        vocabulary = sorted(
            {w for q, _, _ in questions for w in _CONTENT.findall(q) if w not in STOPWORDS}
        )
        sources = [d.source for d in index.documents]
        features, labels, answerable, paragraphs = [], [], [], []
        for question, golds, gold_source in tqdm(questions, desc="Asking", unit="question"):
            first = len(features)
            _, _, best = best_candidate(index, question)
            sentence = normalize_answer(best.text)
            answerable.append(len(features))
            features.append(confidence_features(best))
            labels.append(float(any(normalize_answer(g) in sentence for g in golds)))
            others = [s for s in sources if s != gold_source]
            _, _, best = best_candidate(index, question, sources=others)
            features.append(confidence_features(best))
            labels.append(0.0)
            for changed in _perturbed(question, names, vocabulary, random):
                _, _, best = best_candidate(index, changed)
                features.append(confidence_features(best))
                labels.append(0.0)
            paragraphs += [sources.index(gold_source)] * (len(features) - first)
    return (
        np.array(features, dtype=np.float64),
        np.array(labels),
        np.array(answerable),
        np.array(paragraphs),
    )


_NAME = re.compile(r"\b(?:[A-Z][a-z]+|\d+)\b")
_ANTONYM_PAIRS = (
    "first last most least largest smallest highest lowest best worst before after more less "
    "increase decrease north south east west early late earliest latest major minor win lose "
    "won lost start end beginning ending open close above below inside outside upper lower "
    "strong weak public private internal external longest shortest oldest newest older newer "
    "maximum minimum top bottom front back home away offense defense offensive defensive"
).split()
_ANTONYMS = dict(zip(_ANTONYM_PAIRS[::2], _ANTONYM_PAIRS[1::2], strict=True))
_ANTONYMS |= {b: a for a, b in list(_ANTONYMS.items())}
_CONTENT = re.compile(r"\b[a-z]{4,}\b")
_AUXILIARY = re.compile(r"\b(is|was|are|were|did|does|do|can|could|will|would|has|have|had)\b")


def _perturbed(question: str, names: list[str], vocabulary: list[str], random) -> list[str]:
    """Unanswerable variants in the manner of SQuAD 2.0: a name, a number or another word
    swapped for one from elsewhere in the article; a negation inserted."""
    variants = []
    own = _NAME.findall(question)[1:]
    if own:
        swap_out = own[random.integers(len(own))]
        swap_in = names[random.integers(len(names))]
        if swap_in not in own:
            variants.append(re.sub(rf"\b{re.escape(swap_out)}\b", swap_in, question, count=1))
    words = [w for w in _CONTENT.findall(question) if w.lower() not in STOPWORDS]
    if words:
        swap_out = words[random.integers(len(words))]
        swap_in = vocabulary[random.integers(len(vocabulary))]
        if swap_in.lower() != swap_out.lower():
            variants.append(re.sub(rf"\b{re.escape(swap_out)}\b", swap_in, question, count=1))
    if _AUXILIARY.search(question):
        variants.append(_AUXILIARY.sub(r"\1 not", question, count=1))
    for word in _CONTENT.findall(question.lower()):
        if word in _ANTONYMS:
            variants.append(re.sub(rf"\b{word}\b", _ANTONYMS[word], question, count=1, flags=re.I))
            break
    return variants


def _held_out_check(x, y, answerable, paragraphs) -> None:
    """Fit on even paragraphs, test on odd ones: share of unanswerable variants refused at the
    cut that answers 80% of the answerable questions (what the README's abstention rows show)."""
    is_answerable = np.zeros(len(y), dtype=bool)
    is_answerable[answerable] = True
    train = paragraphs % 2 == 0
    p = predict(fit_logistic(x[train], y[train]), x[~train])
    cut = np.quantile(p[is_answerable[~train]], 0.2)
    refused = (p[~is_answerable[~train]] < cut).mean()
    print(f"held-out: refused {refused:.3f} of unanswerable at the 80%-answered cut {cut:.2f}")


def main() -> None:
    squad_file = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    x, y, answerable, paragraphs = _examples(squad_file)
    _held_out_check(x, y, answerable, paragraphs)
    weights = fit_logistic(x, y)
    p = predict(weights, x)
    accuracy = ((p >= 0.5) == y).mean()
    print(f"examples {len(y)}, positives {int(y.sum())}, accuracy at 0.5: {accuracy:.3f}")
    print("CONFIDENCE_WEIGHTS = (" + ", ".join(f"{w:.3f}" for w in weights) + ")")
    # The default cut answers 80% of the answerable questions of this file.
    print(f"MIN_CONFIDENCE = {np.quantile(p[answerable], 0.2):.2f}")


if __name__ == "__main__":
    main()
