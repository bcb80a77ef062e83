"""Choose how ``rag.ask`` reads, on SQuAD v2.0 dev in open mode (the only file settings are
chosen on): how many retrieved passages the reader reads, how answers from different passages are
compared, and the default confidence threshold.

    .venv/bin/python eval/choose_settings.py        # about 4 min on 2 cores
    .venv/bin/python eval/choose_settings.py --weights /tmp/r.safetensors  # a freshly trained file

Every question retrieves 5 passages and the reader reads all 5 once; reading only the first n
gives the same spans for those n (each passage is read on its own), so every setting is scored
from one pass. For each setting it prints F1 on the answerable questions never refusing, the
share of unanswerable questions refused at the cut that answers 80 % of answerable ones (the
issue's bar), and SQuAD 2.0's overall F1 (a refused unanswerable question scores 1, a refused
answerable one 0) at its best threshold.

The setting chosen is the one that refuses most at the 80 % cut. Its default threshold is the
largest (in steps of 0.001 up to 0.02, then 0.01) that keeps F1 on the answerable questions
within 1 point of never refusing: the best overall F1 sits at thresholds that refuse three
answerable questions in four, and a tool that refuses most of what it could answer is not what
a user asked for.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "benchmarks" / "squad" / "squad-v2.0-dev-articles1-5.json"
RANKINGS = ("confidence", "score")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", help="a reader file to read with (default: the shipped one)")
    args = parser.parse_args()
    from tqdm import tqdm

    from embeddings import EmbeddingCache, load_embedder
    from rag._metrics import best_scores
    from rag.answer import DEFAULT_K
    from rag.evaluate import load_squad, squad_index
    from rag.read import load_reader

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
    print("passages  compared by  F1 never refusing  refused at 80 %  best overall F1 (threshold)")
    results = []
    for n in range(1, DEFAULT_K + 1):
        for ranking in RANKINGS:
            scored = []  # (confidence, f1, answerable)
            for gold, spans in read:
                kept = [s for s in spans if s.passage < n]
                best = max(kept, key=lambda s: getattr(s, ranking), default=None)
                confidence = best.confidence if best else 0.0
                f1 = best_scores(best.text, gold)[1] if best and gold else 0.0
                scored.append((confidence, f1, bool(gold)))
            never, refused, overall, threshold = _figures(scored)
            results.append((refused, never, n, ranking, scored))
            print(
                f"{n:8d}  {ranking:>11}  {never:17.1f}  {refused:15.3f}  "
                f"{overall:14.1f} ({threshold:.2f})"
            )
    refused, never, n, ranking, scored = max(results, key=lambda r: r[:2])
    answerable = [s for s in scored if s[2]]
    unanswerable = [s for s in scored if not s[2]]
    print("threshold  answered  refused  F1 (answerable)")
    default = 0.0
    # Thousandths below 0.02: the confidences of answerable questions crowd near 0, where one
    # hundredth can refuse several in a hundred.
    for t in [step / 1000 for step in range(20)] + [step / 100 for step in range(2, 31)]:
        f1 = 100 * sum(s[1] for s in answerable if s[0] >= t) / len(answerable)
        if f1 >= never - 1.0:
            default = t
        answered = sum(1 for s in answerable if s[0] >= t) / len(answerable)
        refused_now = sum(1 for s in unanswerable if s[0] < t) / len(unanswerable)
        print(f"{t:9.3f}  {answered:8.3f}  {refused_now:7.3f}  {f1:15.1f}")
    print(
        f"chosen: read {n} passages, compared by {ranking} (refused at the 80 % cut {refused:.3f}),"
        f" default threshold {default:.3f}"
    )


def _figures(scored):
    answerable = [s for s in scored if s[2]]
    unanswerable = [s for s in scored if not s[2]]
    never = 100 * sum(s[1] for s in answerable) / len(answerable)
    ranked = sorted((s[0] for s in answerable), reverse=True)
    cut = ranked[math.ceil(0.8 * len(ranked)) - 1]
    refused = sum(1 for s in unanswerable if s[0] < cut) / len(unanswerable)
    best = (-1.0, 0.0)
    for step in range(101):
        t = step / 100
        total = sum(s[1] if s[0] >= t else 0.0 for s in answerable)
        total += sum(1 for s in unanswerable if s[0] < t)
        best = max(best, (100 * total / len(scored), t))
    return never, refused, best[0], best[1]


if __name__ == "__main__":
    main()
