"""The README's threshold table, from the per-question files `eval/quality_bar.sh` writes.

    .venv/bin/python eval/threshold_table.py reports

Every question was asked once; its best span and that span's confidence are in
``per_question.jsonl``, so the figures at any threshold follow without asking again: an answer
below the threshold is a refusal (F1 0 on an answerable question, right on an unanswerable one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag._metrics import best_scores  # noqa: E402

THRESHOLDS = (0.0, 0.04, 0.06, 0.08, 0.10, 0.15, 0.20, 0.30)
RUNS = ("v1-gold", "v1-open", "v2-open", "ct")


def answers(folder: Path) -> list[tuple[float, float | None]]:
    """(confidence, F1 of the best span) per question; F1 None where it has no answer."""
    rows = []
    with (folder / "per_question.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            f1 = best_scores(row["best_span"] or "", row["gold"])[1] if row["gold"] else None
            rows.append((row["confidence"], f1))
    return rows


def table(runs: dict[str, list[tuple[float, float | None]]]) -> str:
    lines = [
        "| threshold | v1.1 gold F1 | v1.1 open F1 | v2.0 answered / refused "
        "| sample set right / refused |",
        "| --- | --- | --- | --- | --- |",
    ]
    for threshold in THRESHOLDS:
        cells = [f"{threshold:g}"]
        for run in ("v1-gold", "v1-open"):
            scored = runs[run]
            cells.append(f"{100 * sum(f1 for c, f1 in scored if c >= threshold) / len(scored):.1f}")
        answerable = [c for c, f1 in runs["v2-open"] if f1 is not None]
        unanswerable = [c for c, f1 in runs["v2-open"] if f1 is None]
        answered = 100 * sum(c >= threshold for c in answerable) / len(answerable)
        refused = 100 * sum(c < threshold for c in unanswerable) / len(unanswerable)
        cells.append(f"{answered:.1f} % / {refused:.1f} %")
        sample = runs["ct"]
        right = sum(1 for c, f1 in sample if f1 is not None and c >= threshold and f1 >= 0.5)
        held = [c for c, f1 in sample if f1 is None]
        cells.append(
            f"{right} of {len(sample) - len(held)} / "
            f"{sum(c < threshold for c in held)} of {len(held)}"
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", help="the folder eval/quality_bar.sh wrote")
    folder = Path(parser.parse_args().reports)
    missing = [run for run in RUNS if not (folder / run / "per_question.jsonl").is_file()]
    if missing:
        sys.exit(f"error: {folder} lacks {', '.join(missing)}: run bash eval/quality_bar.sh first")
    print(table({run: answers(folder / run) for run in RUNS}))


if __name__ == "__main__":
    main()
