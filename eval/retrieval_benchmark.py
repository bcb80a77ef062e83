"""Recall@1 and @5 of dense-only, BM25-only and hybrid retrieval on the shared SQuAD paragraphs.

All paragraphs of both shared SQuAD files form one corpus (one document per paragraph); every
answerable question counts, its own paragraph being the relevant document.

    .venv/bin/python eval/retrieval_benchmark.py [--squad-dir ../shared/benchmarks/squad] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import rag
from rag.retrieve import METHODS

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks" / "squad"


def _corpus(squad_dir: Path, folder: Path) -> list[tuple[str, str]]:
    """Write one .txt per paragraph; return (question, gold source) for answerable questions."""
    questions = []
    for file_path in sorted(squad_dir.glob("*.json")):
        for article in json.loads(file_path.read_text("utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                source = folder / f"{file_path.stem}-{len(list(folder.iterdir())):04d}.txt"
                source.write_text(paragraph["context"], "utf-8")
                for qa in paragraph["qas"]:
                    if not qa.get("is_impossible") and qa.get("answers"):
                        questions.append((qa["question"], str(source.resolve())))
    return questions


def _document_ranks(hits: list[rag.Hit]) -> list[str]:
    ranked: list[str] = []
    for hit in hits:
        if hit.source not in ranked:
            ranked.append(hit.source)
    return ranked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "paragraphs"
        folder.mkdir()
        questions = _corpus(args.squad_dir, folder)
        started = time.perf_counter()
        index = rag.Index(path=None)
        index.sync([folder], progress=True)
        build_seconds = time.perf_counter() - started
        results = {}
        for method in METHODS:
            at1 = at5 = 0
            for question, gold in questions:
                ranked = _document_ranks(index.search(question, k=20, method=method))
                at1 += ranked[:1] == [gold]
                at5 += gold in ranked[:5]
            results[method] = {"recall@1": at1 / len(questions), "recall@5": at5 / len(questions)}
    summary = {
        "paragraphs": len(index.documents),
        "chunks": index.chunk_count(),
        "questions": len(questions),
        "build_seconds": round(build_seconds, 1),
        "methods": results,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(
        f"{summary['paragraphs']} paragraphs, {summary['chunks']} chunks, "
        f"{summary['questions']} answerable questions, index built in {build_seconds:.1f} s"
    )
    print("| method | recall@1 | recall@5 |\n| --- | --- | --- |")
    for method, figures in results.items():
        print(f"| {method} | {figures['recall@1']:.3f} | {figures['recall@5']:.3f} |")


if __name__ == "__main__":
    main()
