"""Indexing speed in bfloat16 and float32, what bfloat16 costs in recall, and start-up time of
the command line (issue 35), side by side in one run; optionally against Haystack 2.x.

1. The shared SQuAD paragraphs (one file each), indexed from a cold embedding cache in float32
   and in bfloat16: paragraphs per second; then recall@5 (hybrid and dense) of the dev questions
   on each index, and on each with the other precision's query vectors (may they be mixed?).
2. The hostile-input folder of eval/fuzz_ingest.py, indexed by `rag index` (whole process).
3. `rag ask --json` and `rag search --json` on the 5-document sample index: whole-process wall
   time, median of 5.
4. With --haystack-python PY (a virtualenv holding haystack-ai and sentence-transformers), the
   same paragraphs through Haystack's SentenceTransformersDocumentEmbedder into an
   InMemoryDocumentStore, and its hybrid query pipeline (BM25 + embedding + reciprocal rank
   fusion) against `Index.search`, p50 over the same questions.

5. With --before DIR (a checkout of an older commit: `git worktree add /tmp/old 11711dd`), the
   same CLI, hostile-folder and float32 indexing figures with that code, in the same run.

    python eval/bench_index.py [--haystack-python /tmp/haystack-venv/bin/python] [--before DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "eval"))

import rag  # noqa: E402
from embeddings import load_embedder, precision  # noqa: E402

SQUAD = PROJECT.parent / "shared" / "benchmarks" / "squad"
# Recall is measured with the questions of the files used to choose settings and to report.
QUESTION_FILES = ("squad-v1.1-dev-article1.json", "squad-v2.0-dev-articles1-5.json")
RAG = PROJECT / ".venv" / "bin" / "rag"
ASK = "Who heads IOM's Counter-Trafficking Division?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--haystack-python", help="python of a virtualenv with haystack-ai")
    parser.add_argument("--queries", type=int, default=300, help="for the latency comparison")
    parser.add_argument("--before", type=Path, help="a checkout of older code to compare with")
    args = parser.parse_args()
    if not precision.bfloat16_supported():
        print("this CPU has no bfloat16 units: both runs would be float32", file=sys.stderr)
    results = {"cpu_bfloat16": precision.bfloat16_supported()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paragraphs, questions = _paragraphs(work / "paragraphs")
        results["indexing"], indexes = bench_indexing(work / "paragraphs", len(paragraphs))
        results["recall"] = bench_recall(indexes, questions)
        results["hostile_folder"] = bench_hostile_folder(work / "fuzz")
        results["cli"] = bench_cli(work / "sample-index")
        if args.before:
            results["before"] = bench_before(args.before.resolve(), work)
        if args.haystack_python:
            sample = random.Random(5).sample([q for q, _ in questions], args.queries)
            results["haystack"] = bench_haystack(args.haystack_python, work / "paragraphs", sample)
    print(json.dumps(results, indent=2))


def _paragraphs(folder: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """One .txt per shared SQuAD paragraph; (question, its paragraph's file) for the answerable
    questions of QUESTION_FILES."""
    folder.mkdir(parents=True)
    files, questions = [], []
    for file_path in sorted(SQUAD.glob("*.json")):
        for article in json.loads(file_path.read_text("utf-8"))["data"]:
            for paragraph in article["paragraphs"]:
                source = folder / f"p{len(files):05d}.txt"
                source.write_text(paragraph["context"], "utf-8")
                files.append(source)
                if file_path.name not in QUESTION_FILES:
                    continue
                for qa in paragraph["qas"]:
                    if not qa.get("is_impossible") and qa.get("answers"):
                        questions.append((qa["question"], str(source.resolve())))
    return files, questions


def _set_precision(name: str) -> None:
    os.environ["RAG_PRECISION"] = name  # read on every batch, so it switches at once


def bench_indexing(folder: Path, count: int) -> tuple[dict, dict]:
    """Each precision indexes the folder from scratch (no embedding cache): files per second."""
    embedder = load_embedder(cache=False)
    figures, indexes = {}, {}
    for name in ("float32", "bfloat16"):
        _set_precision(name)
        index = rag.Index(embedder)
        started = time.perf_counter()
        report = index.sync([folder])
        seconds = time.perf_counter() - started
        figures[name] = {
            "seconds": round(seconds, 1),
            "paragraphs_per_second": round(count / seconds, 1),
            "chunks": index.chunk_count(),
            "seconds_embedding": round(report.seconds_embedding, 1),
        }
        indexes[name] = index
    _set_precision("auto")
    figures["speed_bfloat16_over_float32"] = round(
        figures["float32"]["seconds"] / figures["bfloat16"]["seconds"], 2
    )
    return figures, indexes


def bench_recall(indexes: dict, questions: list[tuple[str, str]]) -> dict:
    """recall@5 of each (index vectors, query vectors) precision pair, hybrid and dense."""
    figures = {}
    for made, index in indexes.items():
        for asked in ("float32", "bfloat16"):
            _set_precision(asked)
            row = {}
            for method in ("hybrid", "dense"):
                found = 0
                for question, gold in questions:
                    hits = index.search(question, k=20, method=method)
                    ranked = list(dict.fromkeys(hit.source for hit in hits))
                    found += gold in ranked[:5]
                row[method] = round(100 * found / len(questions), 2)
            figures[f"index {made}, questions {asked}"] = row
    _set_precision("auto")
    figures["questions"] = len(questions)
    return figures


def bench_hostile_folder(folder: Path) -> dict:
    """`rag index` over eval/fuzz_ingest.py's folder (20 good, 1,000 malformed files), a new
    index and a cold cache each time, in each precision."""
    import random as random_module

    import fuzz_ingest

    fuzz_ingest.make_good_files(folder / "corpus" / "good")
    fuzz_ingest.make_bad_files(
        folder / "corpus" / "bad", folder / "outside", 1000, random_module.Random(11)
    )
    figures = {}
    for name in ("float32", "bfloat16"):
        environment = {
            **os.environ,
            "RAG_PRECISION": name,
            "RAG_CACHE_DIR": str(folder / f"cache-{name}"),
        }
        started = time.perf_counter()
        done = subprocess.run(
            [str(RAG), "index", str(folder / "corpus"), "--index", str(folder / f"index-{name}"),
             "--json"],
            capture_output=True, text=True, env=environment, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        report = json.loads(done.stdout) if done.returncode == 0 else {}
        figures[name] = {
            "seconds": round(seconds, 1),
            "seconds_embedding": report.get("seconds_embedding"),
            "chunks": report.get("chunks"),
            "exit": done.returncode,
        }
    return figures


def _median_wall(command: list[str], times: int = 5, env: dict | None = None) -> float:
    walls = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=env)
        walls.append(time.perf_counter() - started)
    return round(statistics.median(walls), 2)


def bench_cli(index: Path) -> dict:
    subprocess.run(
        [str(RAG), "index", str(PROJECT / "data" / "counter-trafficking"), "--index", str(index)],
        capture_output=True, check=True,
    )  # fmt: skip
    return {
        "rag ask --json, median of 5 (s)": _median_wall(
            [str(RAG), "ask", ASK, "--index", str(index), "--json"]
        ),
        "rag search --json, median of 5 (s)": _median_wall(
            [str(RAG), "search", ASK, "--index", str(index), "--json"]
        ),
        "rag info --json, median of 5 (s)": _median_wall(
            [str(RAG), "info", "--index", str(index), "--json"]
        ),
    }


# Runs the older checkout's `rag` command: its folder first on the path (not this checkout's).
_OLD_CLI = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import rag; "
    "assert rag.__file__.startswith(sys.path[0]), rag.__file__; "
    "from rag.cli import main; sys.exit(main(sys.argv[1:]))"
)
_OLD_INDEXING = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
os.environ["RAG_PRECISION"] = "float32"
import rag
from embeddings import load_embedder
assert rag.__file__.startswith(sys.argv[1]), rag.__file__
index = rag.Index(load_embedder(cache=False))
started = time.perf_counter()
report = index.sync([sys.argv[2]])
seconds = time.perf_counter() - started
count = len(os.listdir(sys.argv[2]))
print(json.dumps({"seconds": round(seconds, 1), "paragraphs_per_second": round(count / seconds, 1),
                  "seconds_embedding": round(report.seconds_embedding, 1)}))
"""


def bench_before(code: Path, work: Path) -> dict:
    """The CLI start-up, the hostile folder and float32 indexing with the code in ``code``."""
    python = str(PROJECT / ".venv" / "bin" / "python")
    old = [python, "-c", _OLD_CLI, str(code)]
    environment = {**os.environ, "RAG_CACHE_DIR": str(work / "cache-before")}
    index = work / "sample-index-before"
    subprocess.run(
        [*old, "index", str(PROJECT / "data" / "counter-trafficking"), "--index", str(index)],
        capture_output=True, check=True, env=environment, cwd=work,
    )  # fmt: skip
    figures = {
        "rag ask --json, median of 5 (s)": _median_wall(
            [*old, "ask", ASK, "--index", str(index), "--json"], env=environment
        ),
        "rag search --json, median of 5 (s)": _median_wall(
            [*old, "search", ASK, "--index", str(index), "--json"], env=environment
        ),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [*old, "index", str(work / "fuzz" / "corpus"), "--index", str(work / "fuzz-before"),
         "--json"],
        capture_output=True, text=True, env=environment, check=False, cwd=work,
    )  # fmt: skip
    report = json.loads(done.stdout) if done.returncode == 0 else {}
    figures["hostile_folder"] = {
        "seconds": round(time.perf_counter() - started, 1),
        "seconds_embedding": report.get("seconds_embedding"),
        "exit": done.returncode,
    }
    done = subprocess.run(
        [python, "-c", _OLD_INDEXING, str(code), str(work / "paragraphs")],
        capture_output=True, text=True, check=True, cwd=work,
    )  # fmt: skip
    figures["indexing_float32"] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def bench_haystack(python: str, folder: Path, questions: list[str]) -> dict:
    """The same paragraphs and questions through Haystack, in its own process and virtualenv."""
    from embeddings.sentence_transformer import DEFAULT_MODEL, _resolve_model_folder

    model, _ = _resolve_model_folder(DEFAULT_MODEL)
    job = {"folder": str(folder), "model": str(model), "questions": questions}
    done = subprocess.run(
        [python, str(PROJECT / "eval" / "haystack_side.py")],
        input=json.dumps(job), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    # rag's side: a fresh index in this process's precision (auto), cold cache, same files.
    embedder = load_embedder(cache=False)
    fresh = rag.Index(embedder)
    started = time.perf_counter()
    fresh.sync([folder])
    seconds = time.perf_counter() - started
    count = len(list(folder.iterdir()))
    latencies = []
    for question in questions:
        started = time.perf_counter()
        fresh.search(question, k=5)
        latencies.append(time.perf_counter() - started)
    ours = {
        "paragraphs_per_second": round(count / seconds, 1),
        "query_p50_ms": round(1000 * statistics.median(latencies), 1),
    }
    return {
        "rag": ours,
        "haystack": theirs,
        "indexing_rag_over_haystack": round(
            ours["paragraphs_per_second"] / theirs["paragraphs_per_second"], 2
        ),
        "query_p50_rag_over_haystack": round(ours["query_p50_ms"] / theirs["query_p50_ms"], 2),
    }


if __name__ == "__main__":
    main()
