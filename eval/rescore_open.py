"""Three ways of re-weighing the reader's answers after reading, on SQuAD v2.0 dev in open mode,
each tried and not shipped (eval/TRIED.md):

    .venv/bin/python eval/rescore_open.py        # about 9 min on 2 cores
    git show b467292:rag/weights/reader.safetensors > /tmp/previous.safetensors
    .venv/bin/python eval/rescore_open.py --weights /tmp/previous.safetensors \
        --curve 0.1474 -1.8456 --threshold 0.08   # the previous release, with its own settings

- a rank penalty: δ times the passage's rank (0 for the first) taken off the null difference
  (retrieval already ranked the later passages lower); also on the sample set, where it prints
  the answerable questions answered right (F1 ≥ 0.5) and the unanswerable ones refused, at the
  shipped confidence curve and default threshold;
- names missing: w × the count of the question's capitalised words and numbers (its first word
  aside) that the answer's sentence and its neighbours lack, taken off the null difference;
- similarity: λ × the bundled sentence embedder's cosine between the question and the answer's
  sentence, added to the null difference.

For the last two, also what each weight would do if shipped: the confidence curve and default
threshold `eval/choose_settings.py` would fit on v2.0 dev with it, and what they give on the files
nothing is chosen on: SQuAD v1.1 article 1 read in gold mode (each question in its own paragraph,
by the reader alone) and the sample set.

Every question retrieves passages as ``rag.ask`` does and the reader reads the best 3 once. For
each weight it prints F1 on the answerable questions never refusing and the unanswerable
questions refused at the cut that answers 80 % of answerable ones (the issue's bar), on the whole
file and on its halves (questions in file order, so by article): a weight that helps only one
half is not one effect.
"""

from __future__ import annotations

import argparse
import functools
import math
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV = ROOT.parent / "shared" / "benchmarks" / "squad" / "squad-v2.0-dev-articles1-5.json"
REPORT = DEV.with_name("squad-v1.1-dev-article1.json")
_NAME = re.compile(r"\b[A-Z0-9]\w*")  # capitalised words and numbers
_WORD = re.compile(r"\w+")


def main() -> None:
    from rag.answer import MIN_CONFIDENCE
    from rag.read import CONFIDENCE_SCALE, CONFIDENCE_SHIFT

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a reader file to read with (default: the shipped one)")
    parser.add_argument("--curve", nargs=2, type=float, metavar=("SCALE", "SHIFT"),
                        default=(CONFIDENCE_SCALE, CONFIDENCE_SHIFT),
                        help="the confidence curve, for the sample set")  # fmt: skip
    parser.add_argument("--threshold", type=float, default=MIN_CONFIDENCE,
                        help="the default threshold, for the sample set")  # fmt: skip
    args = parser.parse_args()
    from tqdm import tqdm

    from embeddings import EmbeddingCache, load_embedder
    from rag.answer import DEFAULT_K
    from rag.evaluate import load_squad, squad_index
    from rag.read import load_reader

    paragraphs, questions = load_squad(DEV)
    reader = load_reader(args.weights)
    read = []  # per question: (question, gold answers, passages read, spans)
    with tempfile.TemporaryDirectory(prefix="rescore-") as folder:
        embedder = load_embedder(cache=EmbeddingCache(Path(folder) / "embeddings.sqlite"))
        index = squad_index(paragraphs, Path(folder), embedder)
        for question in tqdm(questions, desc="Reading", unit="question"):
            hits = index.search(question.question, k=DEFAULT_K)[:3]  # as rag.ask retrieves
            passages = [hit.text for hit in hits]
            spans = reader.read(question.question, passages)
            read.append((question.question, question.answers, passages, spans))
        sample_set = _read_sample_set(reader, embedder)
        report_paragraphs, report_questions = load_squad(REPORT)
        gold_read = []  # SQuAD v1.1, each question in its own paragraph
        for question in tqdm(report_questions, desc="Reading SQuAD v1.1", unit="question"):
            passages = [report_paragraphs[question.doc]]
            spans = reader.read(question.question, passages)
            gold_read.append((question.question, question.answers, passages, spans))
        similarity = [_similarities(embedder, r) for r in (read, gold_read, sample_set)]
    print(f"{DEV.name}: {len(read)} questions, {sum(1 for r in read if r[1])} answerable")
    print("F1 never refusing / refused at the 80 % cut: whole file | first half | second half")
    for n in (2, 3):
        for delta in (0, 1, 2, 3, 4):
            penalty = functools.partial(_rank_penalty, delta)
            _report(f"rank penalty, {n} passages, δ {delta}", read, n, penalty)
    for weight in (0, 1, 2, 3, 4, 6, 8):
        _report(f"names missing, w {weight}", read, 2, functools.partial(_names_missing, weight))
    answerable = [v for v, r in zip(similarity[0], read, strict=True) if r[1]]
    unanswerable = [v for v, r in zip(similarity[0], read, strict=True) if not r[1]]
    higher = _auc(answerable, unanswerable)
    print(f"similarity: AUC answerable against unanswerable {higher:.3f}")
    for weight in (0, 5, 10, 20, 40):
        added = functools.partial(_similar, weight, similarity[0])
        _report(f"similarity, λ {weight}", read, 2, added)
    print(
        "Fitted on v2.0 dev open as eval/choose_settings.py fits them, the confidence curve and"
        " default threshold; with them, on the files nothing is chosen on: SQuAD v1.1 gold F1 at"
        " that threshold (answered), v1.1's right answers ranked above its wrong ones (AUC), and"
        " the sample set's answerable questions right / unanswerable ones refused"
    )
    for weight in (0, 1, 2, 3, 4):
        names = functools.partial(_names_missing, weight)
        _report_held_out(f"names missing, w {weight}", (names,) * 3, read, gold_read, sample_set)
    for weight in (5, 10, 20):
        added = [functools.partial(_similar, weight, values) for values in similarity]
        _report_held_out(f"similarity, λ {weight}", added, read, gold_read, sample_set)
    _report_sample_set(sample_set, args.curve, args.threshold)


def _read_sample_set(reader, embedder):
    """The sample set's questions read as the SQuAD ones are, with the same (cached) embedder."""
    import rag
    from rag.answer import DEFAULT_K
    from rag.evaluate import load_questions

    index = rag.Index(embedder)
    index.sync([ROOT / "data" / "counter-trafficking"])
    read = []
    for question in load_questions(ROOT / "eval" / "counter-trafficking.jsonl"):
        passages = [hit.text for hit in index.search(question.question, k=DEFAULT_K)[:3]]
        spans = reader.read(question.question, passages)
        read.append((question.question, question.answers, passages, spans))
    return read


def _report_sample_set(read, curve: tuple[float, float], threshold: float) -> None:
    """The rank penalty on the sample set: right answers and refusals as ``rag eval`` counts."""
    print(f"sample set: {len(read)} questions; right of answerable, refused of unanswerable")
    for n in (2, 3):
        for delta in (0, 1, 2, 3):
            penalty = functools.partial(_rank_penalty, delta)
            right, refused = _sample_set_figures(read, penalty, curve, threshold, n)
            answerable = sum(1 for r in read if r[1])
            print(
                f"rank penalty, {n} passages, δ {delta}: right {right} of {answerable},"
                f" refused {refused} of {len(read) - answerable}"
            )


def _report_held_out(label: str, adjust, read, gold_read, sample_set) -> None:
    """One line: a re-weighing (``adjust`` for v2.0 dev, v1.1 gold and the sample set) with the
    curve and threshold fitted on v2.0 dev as choose_settings does, on the other files."""
    from choose_settings import default_threshold, fit_confidence

    from rag.read import calibrated

    scored = _scored(read, 2, adjust[0])  # v2.0 dev open
    curve = fit_confidence(scored)
    threshold = default_threshold([(calibrated(v, *curve), f1, a) for v, f1, a in scored])
    # v1.1 gold: (confidence, F1)
    answers = [(calibrated(v, *curve), f1) for v, f1, _ in _scored(gold_read, 1, adjust[1])]
    at = sum(f1 for c, f1 in answers if c >= threshold) / len(answers)
    answered = sum(1 for c, _ in answers if c >= threshold) / len(answers)
    right = [c for c, f1 in answers if f1 >= 0.5]
    wrong = [c for c, f1 in answers if f1 < 0.5]
    auc = _auc(right, wrong)
    sample = _sample_set_figures(sample_set, adjust[2], curve, threshold)
    print(
        f"{label:22} curve {curve[0]:.4f} {curve[1]:.4f}, threshold {threshold:.3f}:"
        f" v1.1 gold F1 {100 * at:.1f} ({100 * answered:.1f} % answered), AUC {auc:.3f};"
        f" sample set {sample[0]} / {sample[1]}"
    )


def _sample_set_figures(read, adjust, curve, threshold: float, passages: int = 2):
    """(answerable answered right, unanswerable refused) on the sample set."""
    from rag.read import calibrated

    right = refused = 0
    for value, f1, answerable in _scored(read, passages, adjust):
        found = value > -math.inf and calibrated(value, *curve) >= threshold
        if answerable:
            right += found and f1 >= 0.5
        else:
            refused += not found
    return right, refused


def _scored(read, passages: int, adjust) -> list[tuple[float, float, bool]]:
    """Per question: (adjusted null difference of its best span, that span's F1, answerable)."""
    from rag._metrics import best_scores

    scored = []
    for i, (question, gold, texts, spans) in enumerate(read):
        value, best = _best(spans, passages, adjust, question, texts, i)
        f1 = best_scores(best.text, gold)[1] if best is not None and gold else 0.0
        scored.append((value, f1, bool(gold)))
    return scored


def _auc(higher: list[float], lower: list[float]) -> float:
    """The share of (higher, lower) pairs that the values order rightly."""
    return float(np.mean([[h > lo for lo in lower] for h in higher]))


def _no_change(_span, _question, _passage, _i) -> float:
    return 0.0


def _rank_penalty(delta: float, span, _question, _passage, _i) -> float:
    return -delta * span.passage


def _similar(weight: float, similarity: list[float], _span, _question, _passage, i) -> float:
    return weight * similarity[i]


def _names_missing(weight: float, span, question: str, passage: str, _i) -> float:
    around = {w.lower() for w in _WORD.findall(_sentence_around(passage, span, width=1))}
    names = [m.group() for m in _NAME.finditer(question) if question[: m.start()].strip()]
    return -weight * sum(1 for name in names if name.lower() not in around)


def _report(label: str, read, passages: int, adjust) -> None:
    """One line: the figures with ``adjust(span, question, passage, question number)`` added to
    each span's null difference."""
    from rag._metrics import refused_at_cut

    scored = _scored(read, passages, adjust)
    half = len(scored) // 2
    figures = []
    for part in (scored, scored[:half], scored[half:]):
        answerable = [s for s in part if s[2]]
        unanswerable = [s for s in part if not s[2]]
        f1 = 100 * sum(s[1] for s in answerable) / len(answerable)
        refused = refused_at_cut([s[0] for s in answerable], [s[0] for s in unanswerable])[0]
        figures.append(f"{f1:.1f} / {100 * refused:.1f} %")
    print(f"{label:34} " + " | ".join(figures))


def _best(spans, passages: int, adjust, question: str, texts: list[str], i: int):
    """(adjusted null difference, span) of the best span among the first ``passages`` passages;
    (-inf, None) when there is none."""
    kept = [s for s in spans if s.passage < passages]
    values = [s.null_difference + adjust(s, question, texts[s.passage], i) for s in kept]
    if not kept:
        return -math.inf, None
    best = int(np.argmax(values))
    return values[best], kept[best]


def _sentence_around(passage: str, span, width: int = 0) -> str:
    from rag.chunk import split_sentences

    sentences = split_sentences(passage) or [(0, len(passage))]
    at = next((k for k, (s, e) in enumerate(sentences) if s <= span.start < e), 0)
    first, last = max(0, at - width), min(len(sentences) - 1, at + width)
    return passage[sentences[first][0] : sentences[last][1]]


def _similarities(embedder, read) -> list[float]:
    """Per question: cosine of the question and the sentence of its best span (2 passages)."""
    pairs = []
    for i, (question, _, texts, spans) in enumerate(read):
        best = _best(spans, 2, _no_change, question, texts, i)[1]
        pairs.append((question, _sentence_around(texts[best.passage], best) if best else ""))
    vectors = embedder.embed([text for pair in pairs for text in pair])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return [float(vectors[2 * i] @ vectors[2 * i + 1]) for i in range(len(pairs))]


if __name__ == "__main__":
    main()
