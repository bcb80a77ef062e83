"""Choose how ``rag.ask`` weighs what it reads, on SQuAD v2.0 dev in open mode (the only file
settings are chosen on): how answers from different passages are compared, the confidence curve
and the default confidence threshold.

    .venv/bin/python eval/choose_settings.py        # about 4 min on 2 cores
    .venv/bin/python eval/choose_settings.py --weights /tmp/r.safetensors  # a freshly trained file
    RAG_PRECISION=float32 .venv/bin/python eval/choose_settings.py  # the curve in float32

Every question retrieves ``DEFAULT_K`` passages and the reader reads them all, as ``rag.ask``
does (it reads every passage it retrieves, so that a user's k means what it says and an
unrelated document cannot push the answer out of what is read). For information it also scores
reading only the first n of them (each passage is read on its own, so one pass gives every n):
F1 on the answerable questions never refusing, the share of unanswerable questions refused at
the cut that answers 80 % of answerable ones (the issue's bar), and SQuAD 2.0's overall F1 (a
refused unanswerable question scores 1, a refused answerable one 0) at its best threshold. The
refusals at the 80 % cut are also given for the span's probability in place of the confidence.

The comparison chosen is the one of the two that refuses most at the 80 % cut when all
``DEFAULT_K`` passages are read (within a point, the higher F1). Its default threshold is the
largest (in steps of 0.001 up to 0.02, 0.01 up to 0.3, then 0.05) that keeps F1 on the
answerable questions within 1 point of never refusing: the best overall F1 sits at thresholds
that refuse three answerable questions in four, and a tool that refuses most of what it could
answer is not what a user asked for.

The confidence is then fitted for the setting chosen: a logistic curve of "the answer is right"
(F1 ≥ 0.5; an answer to an unanswerable question is wrong) over the span's null difference, so
that a confidence is the share of such answers that were right. It orders answers as the null
difference does, so it changes none of the figures above; the threshold table is in its terms.
Copy the chosen figures into ``rag/answer.py`` and ``rag/read.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV = ROOT.parent / "shared" / "benchmarks" / "squad" / "squad-v2.0-dev-articles1-5.json"
RANKINGS = ("confidence", "score")
TIE = 0.01  # refusal shares this close are taken as equal (7 of SQuAD v2.0 dev's 702)
THRESHOLDS = (
    [step / 1000 for step in range(20)]
    + [step / 100 for step in range(2, 30)]
    + [step / 100 for step in range(30, 100, 5)]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a reader file to read with (default: the shipped one)")
    args = parser.parse_args()
    from tqdm import tqdm

    from embeddings import EmbeddingCache, load_embedder
    from rag._metrics import best_scores, refused_at_cut
    from rag.answer import DEFAULT_K
    from rag.evaluate import load_squad, squad_index
    from rag.read import calibrated, load_reader

    paragraphs, questions = load_squad(DEV)
    reader = load_reader(args.weights)
    read = []  # per question: (gold answers, spans of the DEFAULT_K passages)
    with tempfile.TemporaryDirectory(prefix="choose-") as folder:
        embedder = load_embedder(cache=EmbeddingCache(Path(folder) / "embeddings.sqlite"))
        index = squad_index(paragraphs, Path(folder), embedder)
        for question in tqdm(questions, desc="Reading", unit="question"):
            hits = index.search(question.question, k=DEFAULT_K)
            spans = reader.read(question.question, [hit.text for hit in hits])
            read.append((question.answers, spans))
    print(f"{DEV.name}: {len(read)} questions, {sum(1 for g, _ in read if g)} answerable")
    print(
        "passages  compared by  F1 never refusing  refused at 80 %  best overall F1"
        "  refused at 80 % by span probability"
    )
    results = []
    for n in range(1, DEFAULT_K + 1):
        for ranking in RANKINGS:
            scored = []  # (null difference, f1, answerable)
            probabilities = ([], [])  # the best span's probability: (unanswerable, answerable)
            for gold, spans in read:
                kept = [s for s in spans if s.passage < n]
                best = max(kept, key=lambda s: getattr(s, ranking), default=None)
                f1 = best_scores(best.text, gold)[1] if best and gold else 0.0
                scored.append((best.null_difference if best else -math.inf, f1, bool(gold)))
                probabilities[bool(gold)].append(best.probability if best else 0.0)
            never, refused, overall = _figures(scored)
            by_probability = refused_at_cut(probabilities[1], probabilities[0])[0]
            results.append((refused, never, n, ranking, scored))
            print(
                f"{n:8d}  {ranking:>11}  {never:17.1f}  {refused:15.3f}  {overall:15.1f}"
                f"  {by_probability:35.3f}"
            )
    # rag.ask reads all it retrieves; of the two comparisons, the one that refuses most.
    read_all = [r for r in results if r[2] == DEFAULT_K]
    most = max(r[0] for r in read_all)
    near = [r for r in read_all if r[0] >= most - TIE]
    refused, never, n, ranking, scored = max(near, key=lambda r: (r[1], r[0]))
    scale, shift = fit_confidence(scored)
    print(f"confidence = sigmoid({scale:.4f} × null difference + {shift:.4f})")
    scored = [(calibrated(d, scale, shift), f1, a) for d, f1, a in scored]
    answerable = [s for s in scored if s[2]]
    unanswerable = [s for s in scored if not s[2]]
    print("threshold  answered  refused  F1 (answerable)")
    for t in THRESHOLDS:
        f1 = _f1_at(answerable, t)
        answered = sum(1 for s in answerable if s[0] >= t) / len(answerable)
        refused_now = sum(1 for s in unanswerable if s[0] < t) / len(unanswerable)
        print(f"{t:9.3f}  {answered:8.3f}  {refused_now:7.3f}  {f1:15.1f}")
    default = default_threshold(scored)
    found = [s for s in scored if s[0] > 0.0]
    for low, high in ((0.0, 0.5), (0.5, 1.01)):
        group = [s for s in found if low <= s[0] < high]
        right = sum(1 for s in group if s[2] and s[1] >= 0.5)
        print(f"confidence {low:.1f}–{min(high, 1.0):.1f}: {len(group)} answers, "
              f"{right / max(len(group), 1):.2f} of them right")  # fmt: skip
    print(
        f"chosen: read {n} passages, compared by {ranking} (refused at the 80 % cut {refused:.3f}),"
        f" confidence scale {scale:.4f} shift {shift:.4f}, default threshold {default:.3f}"
    )


def _figures(scored):
    """F1 never refusing, unanswerable refused at the cut answering 80 %, best overall F1."""
    from rag._metrics import best_squad2_f1, refused_at_cut

    answerable = [s for s in scored if s[2]]
    unanswerable = [s for s in scored if not s[2]]
    never = 100 * sum(s[1] for s in answerable) / len(answerable)
    refused = refused_at_cut([s[0] for s in answerable], [s[0] for s in unanswerable])[0]
    best = best_squad2_f1([(s[0], s[1] if s[2] else None) for s in scored])[0]
    return never, refused, 100 * best


def fit_confidence(scored) -> tuple[float, float]:
    """(scale, shift) of the confidence curve: "the answer is right" (F1 ≥ 0.5; any answer to an
    unanswerable question is wrong) over the null difference of ``scored``'s (null difference,
    F1, answerable) rows; a question with no span at all has no part in it."""
    found = [s for s in scored if s[0] > -math.inf]
    return _fit_logistic([s[0] for s in found], [s[2] and s[1] >= 0.5 for s in found])


def default_threshold(scored) -> float:
    """The largest of ``THRESHOLDS`` that keeps F1 on the answerable questions of ``scored``'s
    (confidence, F1, answerable) rows within 1 point of never refusing."""
    answerable = [s for s in scored if s[2]]
    never = _f1_at(answerable, 0.0)
    return max((t for t in THRESHOLDS if _f1_at(answerable, t) >= never - 1.0), default=0.0)


def _f1_at(answerable, threshold: float) -> float:
    """F1 (in points) on ``answerable``'s (confidence, F1, …) rows, refusing below ``threshold``."""
    return 100 * sum(s[1] for s in answerable if s[0] >= threshold) / len(answerable)


def _fit_logistic(x: list[float], y: list[bool]) -> tuple[float, float]:
    """(a, b) of P(y) = sigmoid(a x + b) by maximum likelihood (Newton's method)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    design = np.stack([x, np.ones_like(x)], axis=1)
    weights = np.zeros(2)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ weights))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - p))
        weights += step
        if np.abs(step).max() < 1e-9:
            break
    return float(weights[0]), float(weights[1])


if __name__ == "__main__":
    main()
