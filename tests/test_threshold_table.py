"""eval/threshold_table.py: the README's threshold table from the reports quality_bar.sh writes."""

import json
import sys

import pytest
from conftest import PROJECT

from rag.evaluate import QuestionResult, Report

sys.path.insert(0, str(PROJECT / "eval"))
import threshold_table  # noqa: E402


def _write(folder, rows, thresholds=threshold_table.THRESHOLDS):
    """A report.json as `rag eval --thresholds` writes it, from (span F1 or None, confidence)."""
    results = tuple(
        QuestionResult(
            str(n),
            "q?",
            "who",
            ("x",) if f1 is not None else (),
            None,
            "span",
            True,
            confidence,
            0.0,
            f1 or 0.0,
            None,
            1.0,
        )  # fmt: skip
        for n, (f1, confidence) in enumerate(rows)
    )
    folder.mkdir(parents=True)
    report = Report(results, "open", "m", 5, 0.06, tuple(thresholds))
    (folder / "report.json").write_text(json.dumps(report.to_dict()), encoding="utf-8")


def _reports(tmp_path):
    squad = [(1.0, 0.5), (2 / 3, 0.05)]
    _write(tmp_path / "v1-gold", squad)
    _write(tmp_path / "v1-open", squad)
    _write(tmp_path / "v2-open", [(1.0, 0.3), (None, 0.05), (None, 0.5)])
    _write(tmp_path / "ct", [(1.0, 0.07), (None, 0.061)])


def test_a_refused_answer_scores_nothing_and_a_refused_unanswerable_counts(tmp_path, capsys):
    _reports(tmp_path)
    sys.argv = ["threshold_table.py", str(tmp_path)]
    threshold_table.main()
    lines = capsys.readouterr().out.splitlines()
    at = {line.split(" | ")[0].strip("| "): line for line in lines[2:]}
    assert len(at) == len(threshold_table.THRESHOLDS)
    # The second answer (F1 2/3) counts below 0.06 only.
    assert at["0.04"] == "| 0.04 | 83.3 | 83.3 | 100.0 % / 0.0 % | 1 of 1 / 0 of 1 |"
    assert at["0.06"] == "| 0.06 | 50.0 | 50.0 | 100.0 % / 50.0 % | 1 of 1 / 0 of 1 |"
    assert at["0.08"] == "| 0.08 | 50.0 | 50.0 | 100.0 % / 50.0 % | 0 of 1 / 1 of 1 |"


def test_a_missing_run_or_threshold_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["threshold_table.py", str(tmp_path)])
    with pytest.raises(SystemExit, match="lacks v1-gold, v1-open, v2-open, ct: run bash eval"):
        threshold_table.main()
    _reports(tmp_path)
    _write(tmp_path / "v1-old", [(1.0, 0.5)], thresholds=(0.0, 0.1))
    (tmp_path / "v1-gold").rename(tmp_path / "v1-new")
    (tmp_path / "v1-old").rename(tmp_path / "v1-gold")
    with pytest.raises(SystemExit, match=r"v1-gold/report.json does not tabulate 0\.04, 0\.06"):
        threshold_table.main()
