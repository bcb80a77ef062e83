"""How far several trained readers go together: their start and end logits averaged, on SQuAD v2.0
dev (the file settings are chosen on), tried and not shipped (eval/TRIED.md):

    .venv/bin/python eval/ensemble_readers.py A.safetensors B.safetensors ...  # ~2 min a file

Every question is read as ``rag.ask`` reads it (the best 2 of 5 retrieved passages, the answer
with the highest null difference) and on its own paragraph (gold mode); each reader reads the same
windows once, and every ensemble is scored from those logits. For each reader alone and for the
ensembles of each size it prints F1 on the answerable questions never refusing and the share of
unanswerable questions refused at the cut that answers 80 % of answerable ones (the issue's bar).
Then all of them ranked by the lowest null difference among them (refuse when any reader doubts),
and how alike the readers err: the unanswerable questions refused by every reader and by at least
one, each at its own cut. If they refuse different questions, an ensemble (or a student distilled
from it) could refuse more than any one of them; if the same, more runs of this training give
nothing.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from choose_settings import DEV, _figures  # eval/: a setting is scored as it is there

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="+", help="reader files (e.g. the shipped one and others)")
    args = parser.parse_args()
    import torch
    from tqdm import tqdm

    from embeddings import EmbeddingCache, load_embedder
    from rag import _reader_model
    from rag.answer import DEFAULT_K, PASSAGES_READ
    from rag.evaluate import load_squad, squad_index
    from rag.read import encode_windows, model_inputs

    nets = []
    for path in args.weights:
        tokenizer, net = _reader_model.load_trained(Path(path), expected_sha256=None)
        nets.append(net)
    paragraphs, questions = load_squad(DEV)
    read = {"open": [], "gold": []}  # per question: (gold answers, windows, passages, logits)
    with tempfile.TemporaryDirectory(prefix="ensemble-") as folder:
        embedder = load_embedder(cache=EmbeddingCache(Path(folder) / "embeddings.sqlite"))
        index = squad_index(paragraphs, Path(folder), embedder)
        for question in tqdm(questions, desc="Reading", unit="question"):
            hits = index.search(question.question, k=DEFAULT_K)[:PASSAGES_READ]
            for mode, passages in (
                ("open", [hit.text for hit in hits]),
                ("gold", [paragraphs[question.doc]]),
            ):
                windows = encode_windows(tokenizer, question.question, passages)
                with torch.inference_mode():
                    logits = [[t.numpy() for t in net(**model_inputs(windows))] for net in nets]
                read[mode].append((question.answers, windows, passages, logits))
    names = [Path(path).name for path in args.weights]
    print(f"{DEV.name}: {len(questions)} questions; F1 never refusing, refused at the 80 % cut")
    for mode, entries in read.items():
        print(f"{mode} mode")
        scored = {  # every ensemble's (null difference, F1, answerable) rows, by its members
            members: _scored(entries, list(members))
            for size in range(1, len(nets) + 1)
            for members in itertools.combinations(range(len(nets)), size)
        }
        alone = [scored[(m,)] for m in range(len(nets))]
        for name, rows in zip(names, alone, strict=True):
            never, refused, _ = _figures(rows)
            print(f"  {name:32s} {never:5.1f}  {100 * refused:5.1f} %")
        for size in range(2, len(nets) + 1):
            figures = [_figures(rows) for members, rows in scored.items() if len(members) == size]
            f1 = np.mean([f[0] for f in figures])
            refused = [100 * f[1] for f in figures]
            print(
                f"  ensembles of {size} ({len(figures)}): F1 {f1:5.1f} on average, refused"
                f" {np.mean(refused):5.1f} % on average, {max(refused):5.1f} % at most"
            )
        # The least confident reader decides: refuse when any of them doubts.
        together = scored[tuple(range(len(nets)))]
        doubt = [
            (min(rows[i][0] for rows in alone), row[1], row[2]) for i, row in enumerate(together)
        ]
        refused = _figures(doubt)[1]
        print(f"  all {len(nets)}, ranked by the lowest null difference: {100 * refused:5.1f} %")
        refusals = [_refused(rows) for rows in alone]
        unanswerable = sum(1 for gold, *_ in entries if not gold)
        every = set.intersection(*refusals)
        some = set.union(*refusals)
        print(
            f"  unanswerable refused at each reader's own cut: by every reader"
            f" {100 * len(every) / unanswerable:.1f} %, by at least one"
            f" {100 * len(some) / unanswerable:.1f} %"
        )


def _scored(entries, members: list[int]) -> list[tuple[float, float, bool]]:
    """(null difference, F1, answerable) per question, reading with the mean logits of
    ``members``; the answer is the passage span with the highest null difference."""
    from rag._metrics import best_scores
    from rag.read import best_spans

    scored = []
    for gold, windows, passages, logits in entries:
        start = np.mean([logits[m][0] for m in members], axis=0)
        end = np.mean([logits[m][1] for m in members], axis=0)
        spans = best_spans(windows, start, end, passages)
        best = max(spans, key=lambda s: s.null_difference, default=None)
        f1 = best_scores(best.text, gold)[1] if best and gold else 0.0
        scored.append((best.null_difference if best else -math.inf, f1, bool(gold)))
    return scored


def _refused(scored) -> set[int]:
    """The unanswerable questions refused at the 80 % cut: their positions in ``scored``."""
    from rag._metrics import refused_at_cut

    answerable = [s[0] for s in scored if s[2]]
    cut = refused_at_cut(answerable, [s[0] for s in scored if not s[2]])[1]
    return {i for i, s in enumerate(scored) if not s[2] and s[0] < cut}


if __name__ == "__main__":
    main()
