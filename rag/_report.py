"""Presenting evaluation results: terminal summary, Markdown report, comparison, chart."""

from __future__ import annotations

import json
from pathlib import Path

REQUIRED_KEYS = (
    "n", "exact_match", "f1", "answered_rate", "refused_rate", "recall@1", "recall@5",
    "recall@10", "mrr", "latency_ms_p50", "latency_ms_p95", "mode", "model",
)  # fmt: skip
_MODES = {
    "open": "each question searches all documents",
    "gold": "each question is answered from its own gold document only (measures the answerer "
    "alone)",
}
# (key in report.json, label, kind, what it means)
_METRICS = [
    ("exact_match", "Exact match", "percent",
     "Share of answerable questions whose answer equals a gold answer after SQuAD normalisation "
     "(lower case, no punctuation, no a/an/the); a refused answerable question scores 0."),
    ("f1", "Token F1", "percent",
     "Word overlap of the answer with the best-matching gold answer (harmonic mean of precision "
     "and recall), averaged over answerable questions; a refused one scores 0."),
    ("f1_answered", "F1 when answered", "percent",
     "The same F1 over only the answerable questions that got an answer: how good an answer is "
     "when one is given."),
    ("answered_rate", "Answered", "rate",
     "Share of answerable questions that got an answer (confidence at or above the threshold)."),
    ("refused_rate", "Correctly refused", "rate",
     "Share of questions the corpus cannot answer that were reported as not found."),
    ("refused_at_80pct", "Refused at 80 %", "rate",
     "Share of questions the corpus cannot answer that are refused at the threshold that answers "
     "80 % of the answerable ones (issue 9's operating point; n/a without both kinds)."),
    ("recall@1", "Recall@1", "ratio",
     "Share of answerable questions whose gold document is the first document retrieved "
     "(search of the whole index, whatever the mode)."),
    ("recall@5", "Recall@5", "ratio",
     "Share whose gold document is among the first 5 distinct documents retrieved."),
    ("recall@10", "Recall@10", "ratio",
     "Share whose gold document is among the first 10 distinct documents retrieved."),
    ("mrr", "MRR", "ratio",
     "Mean reciprocal rank of the gold document: 1 when always first, 0.5 when always second; "
     "0 for a question whose gold document is not in the top 10."),
    ("latency_ms_p50", "Latency p50", "ms", "Median time of one answer (`ask`), in milliseconds."),
    ("latency_ms_p95", "Latency p95", "ms",
     "95th percentile of the time of one answer: 1 question in 20 takes longer."),
    ("build_seconds", "Index build", "s",
     "Time to read, chunk and embed the documents; n/a for an index that was loaded, not built."),
]  # fmt: skip


def read(path: str | Path) -> dict:
    """A report.json written by ``rag eval``, checked to be one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such report: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a report.json of 'rag eval': {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a report.json of 'rag eval': not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ValueError(f"{path} is not a report.json of 'rag eval' (no {', '.join(missing)})")
    return data


def _format(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "percent":
        return f"{value:.1f}"
    if kind == "rate":
        return f"{100 * value:.1f} %"
    if kind == "ratio":
        return f"{value:.3f}"
    if kind == "ms":
        return f"{value:.0f} ms"
    if kind == "s":
        return f"{value:.1f} s"
    return str(value)


def _describe(data: dict) -> str:
    return (
        f"{data.get('dataset') or 'question set'}: {data['n']} questions "
        f"({data.get('n_answerable', '?')} answerable, {data.get('n_unanswerable', '?')} not "
        f"answerable from the corpus), mode {data['mode']}, model {data['model']}"
    )


def summary(data: dict) -> str:
    """A few aligned lines for the terminal."""
    lines = [_describe(data) + f", threshold {data.get('threshold')}"]
    for key, label, kind, _ in _METRICS:
        lines.append(f"  {label:<18} {_format(data.get(key), kind)}")
    return "\n".join(lines)


def markdown(data: dict, chart_name: str) -> str:
    """report.md: the figures with a sentence on each, thresholds, question types, the chart."""
    out = [
        f"# Evaluation report: {data.get('dataset') or 'question set'}",
        "",
        f"{_describe(data)}. Mode {data['mode']}: {_MODES.get(data['mode'], '')}. "
        f"The index holds {data['documents']} documents in {data['chunks']} chunks; every "
        f"question retrieves {data['k']} passages. Headline figures use the answerer's default "
        f"confidence threshold, {data['threshold']}: an answer below it is reported as not found.",
        "",
        "| Metric | Value | What it means |",
        "| --- | --- | --- |",
    ]
    for key, label, kind, meaning in _METRICS:
        out.append(f"| {label} | {_format(data.get(key), kind)} | {meaning} |")
    out += [
        "",
        "EM and F1 are percentages, as SQuAD reports them. Retrieval figures count the "
        f"{data['n_retrieval']} answerable questions that name a gold document.",
        "",
        "## Choosing a confidence threshold",
        "",
        "Each question was asked once; the rows below follow from the confidence of its answer. "
        "A higher threshold refuses more questions the corpus cannot answer, but also more that "
        "it can.",
        "",
        "| Threshold | Answered | Correctly refused | Exact match | F1 | F1 when answered |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in data["thresholds"]:
        mark = " (default)" if row["threshold"] == data["threshold"] else ""
        out.append(
            f"| {row['threshold']}{mark} | {_format(row['answered_rate'], 'rate')} | "
            f"{_format(row['refused_rate'], 'rate')} | {_format(row['exact_match'], 'percent')} "
            f"| {_format(row['f1'], 'percent')} | {_format(row['f1_answered'], 'percent')} |"
        )
    out += [
        "",
        "## By question type",
        "",
        "Answerable questions, grouped by the type the answerer detects (who, when, where, "
        "number, organisation, other), at the default threshold.",
        "",
        "| Type | Questions | Answered | Exact match | F1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, row in data["by_type"].items():
        out.append(
            f"| {kind} | {row['n']} | {_format(row['answered_rate'], 'rate')} | "
            f"{_format(row['exact_match'], 'percent')} | {_format(row['f1'], 'percent')} |"
        )
    out += [
        "",
        "## Calibration",
        "",
        "Every answer (asked with no threshold) by its confidence: the share that are right "
        "(F1 ≥ 0.5; any answer to an unanswerable question is wrong). A calibrated answerer's "
        "share right is close to its mean confidence.",
        "",
        "| Confidence | Answers | Mean confidence | Share right |",
        "| --- | --- | --- | --- |",
    ]
    for row in data.get("calibration", []):
        out.append(
            f"| {row['low']:.1f}–{row['high']:.1f} | {row['n']} | "
            f"{row['mean_confidence']:.2f} | {row['right']:.2f} |"
        )
    out += [
        "",
        "## Chart",
        "",
        f"![F1 by question type, threshold curve and calibration]({chart_name})",
        "",
        "Left: F1 by question type, at the default threshold and if nothing were refused. "
        "Middle: share answered (answerable questions), share correctly refused (unanswerable "
        "ones) and F1 as the threshold rises. Right: calibration, the share of answers that are "
        "right (F1 ≥ 0.5) against their confidence; a calibrated answerer follows the diagonal.",
        "",
        "Every question's answer, confidence, scores, gold-document rank and latency are in "
        "`per_question.jsonl`.",
        "",
    ]
    return "\n".join(out)


def comparison(a: dict, b: dict, name_a: str, name_b: str) -> str:
    """Two reports' figures side by side with B − A."""
    lines = [f"A: {name_a}\n   {_describe(a)}", f"B: {name_b}\n   {_describe(b)}"]
    if (a.get("dataset"), a["n"], a["mode"]) != (b.get("dataset"), b["n"], b["mode"]):
        lines.append("note: different question sets or modes; the differences compare unlike runs")
    rows = [("Threshold", "ratio", a.get("threshold"), b.get("threshold"))]
    rows += [(label, kind, a.get(key), b.get(key)) for key, label, kind, _ in _METRICS]
    for kind_name in sorted(set(a.get("by_type", {})) | set(b.get("by_type", {}))):
        f1_a = a.get("by_type", {}).get(kind_name, {}).get("f1")
        f1_b = b.get("by_type", {}).get(kind_name, {}).get("f1")
        rows.append((f"F1 ({kind_name})", "percent", f1_a, f1_b))
    lines.append(f"\n{'':<20} {'A':>10} {'B':>10} {'B - A':>10}")
    for label, kind, value_a, value_b in rows:
        difference = "n/a"
        if value_a is not None and value_b is not None:
            difference = _signed(value_b - value_a, kind)
        lines.append(
            f"{label:<20} {_format(value_a, kind):>10} {_format(value_b, kind):>10} "
            f"{difference:>10}"
        )
    return "\n".join(lines)


def _signed(delta: float, kind: str) -> str:
    # A difference of rates is in percentage points, not a percentage of anything.
    text = f"{100 * abs(delta):.1f} pp" if kind == "rate" else _format(abs(delta), kind)
    return ("-" if delta < 0 else "+") + text


def chart(report, path: Path) -> None:
    """report.png: F1 by question type, the threshold curve, and a calibration plot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(16, 4.8), layout="constrained")
    FigureCanvasAgg(figure)
    by_type, curve, calibration = figure.subplots(1, 3)
    _plot_types(by_type, report)
    _plot_thresholds(curve, report)
    _plot_calibration(calibration, report)
    figure.suptitle(f"{report.dataset or 'question set'} — mode {report.mode}, {report.model}")
    figure.savefig(path, dpi=100)


def _plot_types(axes, report) -> None:
    groups: dict[str, list] = {}
    for r in report.results:
        if r.answerable:
            groups.setdefault(r.type, []).append(r)
    kinds = sorted(groups)
    at_default = [100 * _mean([r.span_f1 * r.found_at(report.threshold) for r in groups[k]])
                  for k in kinds]  # fmt: skip
    unrefused = [100 * _mean([r.span_f1 for r in groups[k]]) for k in kinds]
    positions = range(len(kinds))
    axes.bar([p - 0.2 for p in positions], at_default, 0.4, label=f"at {report.threshold}")
    axes.bar([p + 0.2 for p in positions], unrefused, 0.4, label="never refusing")
    axes.set_xticks(list(positions), [f"{k}\n(n={len(groups[k])})" for k in kinds])
    axes.set_ylim(0, 100)
    axes.set_ylabel("F1 (%)")
    axes.set_title("F1 by question type (answerable)")
    axes.legend(loc="upper right", fontsize="small")


def _plot_thresholds(axes, report) -> None:
    grid = [i / 50 for i in range(51)]
    rows = [report.scores_at(t) for t in grid]
    if any(r.answerable for r in report.results):
        axes.plot(grid, [r["answered_rate"] for r in rows], label="answered (answerable)")
        axes.plot(grid, [r["f1"] / 100 for r in rows], label="F1 / 100", linestyle="--")
    if any(not r.answerable for r in report.results):
        axes.plot(grid, [r["refused_rate"] for r in rows], label="refused (unanswerable)")
    axes.axvline(report.threshold, color="grey", linestyle=":", label="default threshold")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("confidence threshold")
    axes.set_title("Answering or refusing by threshold")
    axes.legend(loc="best", fontsize="small")


def _plot_calibration(axes, report) -> None:
    from rag._metrics import calibration

    rows = calibration(report.results)
    centres = [(row["low"] + row["high"]) / 2 for row in rows]
    right = [row["right"] for row in rows]
    counts = [row["n"] for row in rows]
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    axes.bar(centres, right, 0.09, alpha=0.7, label="share right (F1 ≥ 0.5)")
    for x, y, n in zip(centres, right, counts, strict=True):
        axes.annotate(str(n), (x, y), ha="center", va="bottom", fontsize="x-small")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("answer confidence (bins of 0.1; count above each bar)")
    axes.set_title("Calibration")
    axes.legend(loc="upper left", fontsize="small")


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
