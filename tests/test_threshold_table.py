"""eval/threshold_table.py: figures at each threshold from per-question files."""

import json
import sys

import pytest
from conftest import PROJECT

sys.path.insert(0, str(PROJECT / "eval"))
import threshold_table  # noqa: E402


def _write(folder, rows):
    folder.mkdir(parents=True)
    with (folder / "per_question.jsonl").open("w", encoding="utf-8") as out:
        for best_span, gold, confidence in rows:
            out.write(json.dumps({"best_span": best_span, "gold": gold, "confidence": confidence}))
            out.write("\n")


def test_a_refused_answer_scores_nothing_and_a_refused_unanswerable_counts(tmp_path):
    squad = [("Denver Broncos", ["Denver Broncos"], 0.5), ("Carolina", ["Carolina Panthers"], 0.05)]
    _write(tmp_path / "v1-gold", squad)
    _write(tmp_path / "v1-open", squad)
    _write(tmp_path / "v2-open", [("Paris", ["Paris"], 0.3), ("Rome", [], 0.05), ("Oslo", [], 0.5)])
    _write(tmp_path / "ct", [("Geneva", ["Geneva"], 0.07), ("Bernd", [], 0.061)])
    runs = {run: threshold_table.answers(tmp_path / run) for run in threshold_table.RUNS}
    lines = threshold_table.table(runs).splitlines()
    at = {line.split(" | ")[0].strip("| "): line for line in lines[2:]}
    # Carolina vs Carolina Panthers: F1 2/3; counted below 0.06 only.
    assert at["0.04"] == "| 0.04 | 83.3 | 83.3 | 100.0 % / 0.0 % | 1 of 1 / 0 of 1 |"
    assert at["0.06"] == "| 0.06 | 50.0 | 50.0 | 100.0 % / 50.0 % | 1 of 1 / 0 of 1 |"
    assert at["0.08"] == "| 0.08 | 50.0 | 50.0 | 100.0 % / 50.0 % | 0 of 1 / 1 of 1 |"


def test_a_missing_run_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["threshold_table.py", str(tmp_path)])
    with pytest.raises(SystemExit, match="run bash eval/quality_bar.sh first"):
        threshold_table.main()
