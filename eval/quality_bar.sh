#!/usr/bin/env bash
# Runs every evaluation of the quality bar (issues 4, 9 and 37) into OUT (default reports/), then
# prints one line per run (SQuAD v1.1 open and gold, SQuAD v2.0 open, the sample-corpus question
# set), the threshold table, and the bar: each figure beside its target (eval/robustness.py adds
# the lantern files and the filler document). About 8 minutes on 2 cores.
#   bash eval/quality_bar.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-reports}
squad=../shared/benchmarks/squad
bin=.venv/bin
export HF_HUB_OFFLINE=1
mkdir -p "$out"
# The README's threshold table's rows (eval/threshold_table.py), tabulated in every report.json.
thresholds=$(PYTHONPATH=eval $bin/python -c 'from threshold_table import THRESHOLDS; print(",".join(map(str, THRESHOLDS)))')
evaluate() { $bin/rag eval --thresholds "$thresholds" "$@"; }
evaluate --squad $squad/squad-v1.1-dev-article1.json --out "$out/v1-open" > "$out/v1-open.log" 2>&1
evaluate --squad $squad/squad-v1.1-dev-article1.json --out "$out/v1-gold" --mode gold > "$out/v1-gold.log" 2>&1
evaluate --squad $squad/squad-v2.0-dev-articles1-5.json --out "$out/v2-open" > "$out/v2-open.log" 2>&1
rm -rf "$out/ct-index"
$bin/rag index data/counter-trafficking --index "$out/ct-index" > "$out/ct-index.log" 2>&1
evaluate eval/counter-trafficking.jsonl --index "$out/ct-index" --out "$out/ct" > "$out/ct.log" 2>&1
$bin/python eval/robustness.py --json > "$out/robustness.json" 2> "$out/robustness.log"
for run in v1-open v1-gold v2-open ct; do
  $bin/python - "$out/$run/report.json" <<'PY'
import json, sys
from pathlib import Path
path = Path(sys.argv[1])
r = json.loads(path.read_text())
line = (f"{path.parent.name}: EM {r['exact_match']:.1f} F1 {r['f1']:.1f} "
        f"answered {r['answered_rate']:.3f} R@5 {r['recall@5']:.3f} "
        f"answerable with F1>=0.5: {r['n_right']} of {r['n_answerable']}")
if r["n_unanswerable"]:
    line += (f"; unanswerable refused: {r['n_refused']} of {r['n_unanswerable']} "
             f"({r['refused_rate']:.3f})")
    # The cut that answers 80 % of answerable questions, and what it refuses.
    line += f"; refused at the cut answering 80 % ({r['cut_at_80pct']:.3f}): {r['refused_at_80pct']:.3f}"
print(line)
PY
done
# The same runs at other thresholds (the README's threshold table).
$bin/python eval/threshold_table.py "$out"
# The bar of issue 37: each figure and its target.
$bin/python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
report = {run: json.loads((out / run / "report.json").read_text()) for run in ("v1-open", "v1-gold", "v2-open", "ct")}
robust = json.loads((out / "robustness.json").read_text())
ct = report["ct"]
rows = [
    ("SQuAD v2.0 articles 1-5, open: unanswerable refused at the 80 % cut",
     f"{100 * report['v2-open']['refused_at_80pct']:.1f} %", "55 %", report["v2-open"]["refused_at_80pct"] >= 0.55),
    ("SQuAD v1.1 article 1, gold, F1", f"{report['v1-gold']['f1']:.1f}", "68", report["v1-gold"]["f1"] >= 68),
    ("SQuAD v1.1 article 1, open, F1", f"{report['v1-open']['f1']:.1f}", "58", report["v1-open"]["f1"] >= 58),
    ("sample set, answerable right (F1 >= 0.5)", f"{ct['n_right']} / {ct['n_answerable']}", "45 / 58", ct["n_right"] >= 45),
    ("sample set, unanswerable refused", f"{ct['n_refused']} / {ct['n_unanswerable']}", "11 / 13", ct["n_refused"] >= 11),
    ("lantern files answered with the exact number", f"{robust['lanterns']['right']} / {robust['lanterns']['of']}", "20 / 20",
     robust["lanterns"]["right"] == robust["lanterns"]["of"]),
    ("Danziger question after adding 2 MB of filler", repr(robust["filler"]["after"]), "'Richard Danziger'",
     robust["filler"]["after"] == "Richard Danziger"),
]
print("\nThe bar (issue 37):")
for name, value, target, met in rows:
    print(f"  {name:<70} {value:>20}  target {target:<20} {'met' if met else 'NOT MET'}")
PY
