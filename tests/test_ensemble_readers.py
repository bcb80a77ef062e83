"""eval/ensemble_readers.py: several readers' averaged logits, scored as rag.ask ranks answers."""

import math
import sys

import torch
from conftest import PROJECT

from rag.read import encode_windows, model_inputs

sys.path.insert(0, str(PROJECT / "eval"))
import ensemble_readers  # noqa: E402

PASSAGES = [
    "The Counter-Trafficking Division is headed by Richard Danziger. It was set up in 1997.",
    "The conference was held in Islamabad. Hassan Abdel Moneim Mostafa gave the closing remarks.",
]


def _entries(reader, questions):
    entries = []
    for question, answers in questions:
        windows = encode_windows(reader._tokenizer, question, PASSAGES)
        with torch.inference_mode():
            logits = [t.numpy() for t in reader._net(**model_inputs(windows))]
        entries.append((answers, windows, PASSAGES, [logits, logits]))
    return entries


def test_one_reader_alone_scores_as_rag_reads(reader):
    questions = [("Who heads the Counter-Trafficking Division?", ("Richard Danziger",)),
                 ("Who is the Director General of IOM?", ())]  # fmt: skip
    entries = _entries(reader, questions)
    alone = ensemble_readers._scored(entries, [0])
    for (question, _), (difference, _, _) in zip(questions, alone, strict=True):
        best = max(reader.read(question, PASSAGES), key=lambda s: s.null_difference)
        assert math.isclose(difference, best.null_difference, abs_tol=1e-4)
    assert alone[0][1] == 1.0 and alone[0][2] and not alone[1][2]
    # Two copies of one reader average to that reader.
    assert ensemble_readers._scored(entries, [0, 1]) == alone


def test_figures_count_refusals_below_the_80_percent_cut():
    # Five answerable questions (null differences 5..1): the cut answering 80 % is 2.
    scored = [(float(d), 1.0, True) for d in (5, 4, 3, 2, 1)]
    scored += [(1.5, 0.0, False), (2.5, 0.0, False), (-math.inf, 0.0, False)]
    never, refused, _ = ensemble_readers._figures(scored)
    assert never == 100.0
    assert math.isclose(refused, 2 / 3)
    assert ensemble_readers._refused(scored) == {5, 7}
