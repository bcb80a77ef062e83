"""The README's threshold table, from the reports `eval/quality_bar.sh` writes.

    .venv/bin/python eval/threshold_table.py reports

`quality_bar.sh` runs `rag eval --thresholds` with THRESHOLDS below, so each report.json
tabulates them: every question was asked once, and the figures at each threshold follow from
its answer's confidence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import _report  # noqa: E402

THRESHOLDS = (0.0, 0.04, 0.06, 0.08, 0.10, 0.15, 0.20, 0.30)
RUNS = ("v1-gold", "v1-open", "v2-open", "ct")


def rows_by_threshold(run: str, report: dict) -> dict[float, dict]:
    """A report.json's threshold rows, by threshold; each of THRESHOLDS must be there."""
    rows = {row["threshold"]: row for row in report["thresholds"]}
    missing = [t for t in THRESHOLDS if t not in rows]
    if missing:
        raise ValueError(
            f"{run}/report.json does not tabulate {', '.join(f'{t:g}' for t in missing)}: "
            "run bash eval/quality_bar.sh again"
        )
    return rows


def table(reports: dict[str, dict]) -> str:
    """The table's Markdown, from each of RUNS' report.json."""
    runs = {run: rows_by_threshold(run, reports[run]) for run in RUNS}
    sample = reports["ct"]
    lines = [
        "| threshold | v1.1 gold F1 | v1.1 open F1 | v2.0 answered / refused "
        "| sample set right / refused |",
        "| --- | --- | --- | --- | --- |",
    ]
    for threshold in THRESHOLDS:
        v2, ct = runs["v2-open"][threshold], runs["ct"][threshold]
        cells = [
            f"{threshold:g}",
            f"{runs['v1-gold'][threshold]['f1']:.1f}",
            f"{runs['v1-open'][threshold]['f1']:.1f}",
            f"{100 * v2['answered_rate']:.1f} % / {100 * v2['refused_rate']:.1f} %",
            f"{ct['n_right']} of {sample['n_answerable']} / "
            f"{ct['n_refused']} of {sample['n_unanswerable']}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", help="the folder eval/quality_bar.sh wrote")
    folder = Path(parser.parse_args().reports)
    missing = [run for run in RUNS if not (folder / run / "report.json").is_file()]
    if missing:
        sys.exit(f"error: {folder} lacks {', '.join(missing)}: run bash eval/quality_bar.sh first")
    try:
        print(table({run: _report.read(folder / run / "report.json") for run in RUNS}))
    except ValueError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
