"""Load on the web chat: start-up time, and concurrent ``ask`` calls through the API endpoint.

Starts ``app.py`` on a free port against the sample corpus (a fresh index and embedding cache in
a temporary folder, so the figures do not depend on earlier runs), times ``python app.py`` until
it serves its page, then fires ``--calls`` concurrent ``/ask`` calls through ``gradio_client``, one
client per caller, all released at once. Round 1 meets a cold embedding cache for the sentences it
scores, round 2 a warm one. Every concurrent answer is compared with the same question asked alone.
A second start on the now existing index gives the start-up time of a reused index.

    .venv/bin/python eval/bench_web.py [--calls 50] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client

PROJECT = Path(__file__).resolve().parents[1]
QUESTIONS = PROJECT / "eval" / "counter-trafficking.jsonl"
START_TIMEOUT_S = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="concurrent calls per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of concurrent calls")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines()]
    questions = [questions[i % len(questions)] for i in range(args.calls)]
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAG_CACHE_DIR": str(Path(tmp) / "cache")}
        index = Path(tmp) / "index"
        figures = {"calls_per_round": args.calls, "load_average": os.getloadavg()[0]}
        process, url, figures["start_to_served_s_new_index"] = _start(index, env)
        try:
            rounds = [_round(url, questions) for _ in range(args.rounds)]
            expected, alone = _sequential(url, questions)
        finally:
            _stop(process)
        for n, (latencies, errors, answers, wall) in enumerate(rounds, start=1):
            figures[f"round_{n}"] = _summary(latencies, errors, wall)
            figures[f"round_{n}"]["same_as_asked_alone"] = sum(
                a == e for a, e in zip(answers, expected, strict=True)
            )
        figures["asked_alone"] = {"p50_s": round(statistics.median(alone), 3)}
        process, _, figures["start_to_served_s_existing_index"] = _start(index, env)
        _stop(process)
    figures["load_average_end"] = os.getloadavg()[0]
    _print(figures, args.json)
    failed = sum(figures[f"round_{n}"]["errors"] for n in range(1, args.rounds + 1))
    return 1 if failed else 0


def _start(index: Path, env: dict) -> tuple[subprocess.Popen, str, float]:
    """Run ``python app.py``; return it, its address and the seconds until its page was served."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "app.py"), "--index", str(index), "--port", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - started < START_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and b"<html" in response.read(4096).lower():
                    return process, url, round(time.perf_counter() - started, 2)
        except OSError:
            time.sleep(0.1)
    _stop(process)
    raise RuntimeError(f"app.py did not serve {url} within {START_TIMEOUT_S} s")


def _round(url: str, questions: list[str]):
    """All questions at once, one client each; (latencies, errors, answers, wall seconds)."""
    clients = [Client(url, verbose=False) for _ in questions]
    release = threading.Barrier(len(questions))

    def call(i: int):
        release.wait()
        started = time.perf_counter()
        try:
            answer = clients[i].predict(questions[i], api_name="/ask")
            return time.perf_counter() - started, None, answer
        except Exception as exc:  # every failure is counted and shown, whatever its kind
            return time.perf_counter() - started, f"{type(exc).__name__}: {exc}", None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(pool.map(call, range(len(questions))))
    wall = time.perf_counter() - started
    for client in clients:
        client.close()
    latencies = [r[0] for r in results if r[1] is None]
    errors = [r[1] for r in results if r[1] is not None]
    return latencies, errors, [r[2] for r in results], wall


def _sequential(url: str, questions: list[str]) -> tuple[list[dict], list[float]]:
    """Each question asked alone, one after another: (answers, latencies)."""
    client = Client(url, verbose=False)
    answers, latencies = [], []
    try:
        for question in questions:
            started = time.perf_counter()
            answers.append(client.predict(question, api_name="/ask"))
            latencies.append(time.perf_counter() - started)
    finally:
        client.close()
    return answers, latencies


def _summary(latencies: list[float], errors: list[str], wall: float) -> dict:
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3) if ordered else 0.0

    return {
        "ok": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "p50_s": round(statistics.median(ordered), 3) if ordered else 0.0,
        "p95_s": percentile(0.95),
        "max_s": round(ordered[-1], 3) if ordered else 0.0,
        "wall_s": round(wall, 2),
        "answers_per_s": round(len(latencies) / wall, 1),
    }


def _print(figures: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    new, existing = (figures[f"start_to_served_s_{k}_index"] for k in ("new", "existing"))
    print(f"start to served page: {new} s building the index, {existing} s reusing it")
    print(f"one question at a time: p50 {figures['asked_alone']['p50_s']} s")
    print(
        f"machine: {os.cpu_count()} CPUs, load average {figures['load_average']:.1f} at the start, "
        f"{figures['load_average_end']:.1f} at the end"
    )
    for key in sorted(k for k in figures if k.startswith("round_")):
        r = figures[key]
        print(
            f"{key}: {figures['calls_per_round']} concurrent asks, {r['errors']} errors, "
            f"p50 {r['p50_s']} s, p95 {r['p95_s']} s, max {r['max_s']} s, wall {r['wall_s']} s, "
            f"{r['answers_per_s']} answers/s, {r['same_as_asked_alone']} same as asked alone"
        )
        for example in r["error_examples"]:
            print(f"  error: {example}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
