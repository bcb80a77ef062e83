"""Choose the default confidence threshold from a ``rag eval`` run on SQuAD v2.0 dev (open mode).

    .venv/bin/rag eval --squad ../shared/benchmarks/squad/squad-v2.0-dev-articles1-5.json --out r
    .venv/bin/python eval/choose_threshold.py r/per_question.jsonl

Prints, for a range of thresholds, the share of answerable questions answered, the share of
unanswerable ones refused and SQuAD 2.0's overall F1 (a refused unanswerable question scores 1,
a refused answerable one 0), and the threshold with the best overall F1: the default
(``MIN_CONFIDENCE`` in rag/answer.py). Only the v2.0 dev file may be used here, never a file that
is reported on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    lines = Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    answerable = [r for r in rows if r["gold"]]
    unanswerable = [r for r in rows if not r["gold"]]
    if not answerable or not unanswerable:
        sys.exit("choose_threshold: needs answerable and unanswerable questions (SQuAD v2.0)")
    # Asked with no threshold, so best_span and confidence are known for every question.
    f1 = {r["id"]: _f1(r) for r in answerable}
    print("threshold  answered  refused  overall F1")
    best = None
    for step in range(0, 101):
        t = step / 100
        answered = [r for r in answerable if r["confidence"] >= t]
        refused = [r for r in unanswerable if r["confidence"] < t]
        overall = (sum(f1[r["id"]] for r in answered) + len(refused)) / len(rows)
        if best is None or overall > best[1]:
            best = (t, overall)
        if step % 5 == 0:
            print(
                f"{t:9.2f}  {len(answered) / len(answerable):8.3f}  "
                f"{len(refused) / len(unanswerable):7.3f}  {100 * overall:10.1f}"
            )
    print(f"best overall F1 {100 * best[1]:.1f} at threshold {best[0]:.2f}")


def _f1(row: dict) -> float:
    from rag._metrics import best_scores

    return best_scores(row["best_span"], row["gold"])[1] if row["best_span"] else 0.0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
