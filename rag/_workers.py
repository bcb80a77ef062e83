"""Extraction in worker processes: a file that hangs, crashes or bloats a parser costs one skip.

Each worker is a plain Python process that reads one path per line on stdin and answers one JSON
line on a private copy of stdout (what the parsers print goes to stderr, which is discarded). It
runs under an address-space limit; the parent kills a worker that passes the time limit and starts
a new one for the next file. Workers import only ``rag._extract`` and the parsers, not the package's
``__init__`` (which would load PyTorch), so one starts in about 0.15 s.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from rag._extract import Document, Extraction, IngestLimits, extract
from rag.errors import RagError

# Run as `python -c _BOOT <package folder> <limits>`: `rag` becomes a bare namespace for `rag/`.
_BOOT = (
    "import sys, types; package = types.ModuleType('rag'); package.__path__ = [sys.argv[1]]; "
    "sys.modules['rag'] = package; from rag._workers import serve; serve(sys.argv[2])"
)
MAX_WORKERS = 4
STARTUP_TIMEOUT_S = 60.0


def extract_isolated(paths: list[str], limits: IngestLimits, progress: bool) -> list[Extraction]:
    """One ``Extraction`` per path, in order; see ``rag.ingest.extract_files``."""
    from tqdm import tqdm

    if not paths:
        return []
    results: dict[str, Extraction] = {}
    workers = [_Worker(limits) for _ in range(min(MAX_WORKERS, os.cpu_count() or 1, len(paths)))]
    waiting = list(reversed(paths))
    bar = tqdm(total=len(paths), desc="Reading", unit="file", disable=not progress)
    try:
        while waiting or any(w.path for w in workers):
            for worker in workers:
                if worker.path is None and waiting:
                    worker.send(waiting.pop())
            for result in _collect(workers, limits):
                results[result.source] = result
                bar.update()
    finally:
        bar.close()
        for worker in workers:
            worker.stop()
    return [results[p] for p in paths]


def _collect(workers: list[_Worker], limits: IngestLimits) -> list[Extraction]:
    """Wait until a busy worker answers or runs out of time; the results that came."""
    busy = [w for w in workers if w.path]
    wait = max(0.0, min(w.deadline for w in busy) - time.monotonic())
    ready, _, _ = select.select([w.stdout for w in busy], [], [], wait)
    results = []
    for worker in busy:
        if worker.stdout in ready:
            result = worker.receive()
        elif time.monotonic() >= worker.deadline:
            worker.stop()
            result = worker.fail(f"timed out: reading took over {limits.timeout_s:g} s")
        else:
            continue
        if result is not None:
            results.append(result)
    return results


class _Worker:
    """One worker process, started when first needed and again after it was stopped."""

    def __init__(self, limits: IngestLimits):
        self.limits = limits
        self.process: subprocess.Popen | None = None
        self.path: str | None = None
        self.deadline = 0.0
        self.buffer = b""
        self.returncode = 0

    @property
    def stdout(self):
        return self.process.stdout

    def send(self, path: str) -> None:
        if self.process is None:
            self._start()
        self.path, self.buffer = path, b""
        self.deadline = time.monotonic() + self.limits.timeout_s
        try:
            self.process.stdin.write(json.dumps(path).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the worker died; receive() reports it

    def _start(self) -> None:
        """Start the process and wait for it to say it is ready.

        Raises:
            RagError: it did not start (a broken installation, not a bad file).
        """
        package = str(Path(__file__).resolve().parent)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, package, json.dumps(asdict(self.limits))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT_S)
        if not ready or self.process.stdout.readline() != b"ready\n":
            self.process.kill()
            error = self.process.stderr.read().decode(errors="replace").strip().splitlines()
            self.stop()
            raise RagError(
                "cannot start a file-reading worker process"
                f"{': ' + error[-1] if error else ''}; check that rag is installed"
            )
        self.process.stderr.close()  # from here on the parsers' chatter is not read

    def receive(self) -> Extraction | None:
        """The answer once a whole line has come, a crash report at end of file, else None."""
        data = os.read(self.stdout.fileno(), 1 << 20)
        if not data:
            self.stop()
            return self.fail(f"the reader crashed ({_exit_reason(self.returncode)})")
        self.buffer += data
        while self.buffer.startswith(b"+\n"):  # a page read by OCR: that page's time again
            self.buffer = self.buffer[2:]
            self.deadline = time.monotonic() + self.limits.ocr_page_timeout_s + 5.0
        if not self.buffer.endswith(b"\n"):
            return None
        reply = json.loads(self.buffer)
        source, self.path, self.buffer = self.path, None, b""
        if "skip" in reply:
            return Extraction(source, None, reply["skip"], reply["peak_mb"])
        fields = reply["document"]
        fields["page_starts"] = tuple(fields["page_starts"])
        fields["content_spans"] = tuple(map(tuple, fields["content_spans"]))
        fields["locations"] = tuple(map(tuple, fields["locations"]))
        return Extraction(source, Document(**fields), reply["note"], reply["peak_mb"])

    def fail(self, reason: str) -> Extraction:
        source, self.path = self.path, None
        return Extraction(source, None, reason)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.returncode = self.process.wait()
            for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
                pipe.close()
            self.process = None


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def serve(limits_json: str) -> None:
    """The worker's loop: one path in, one JSON answer out, until stdin closes."""
    import resource

    from rag.errors import ExtractionError, one_line

    limits = IngestLimits(**json.loads(limits_json))
    budget = limits.memory_mb * 2**20
    # Where the system has no address-space limit (macOS), the time limit still holds.
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # whatever a parser prints must not mix with the answers
    answers.write("ready\n")
    answers.flush()
    os.dup2(devnull, 2)

    def alive() -> None:  # after each page read by OCR: the parent gives the file more time
        answers.write("+\n")
        answers.flush()

    for line in sys.stdin:
        try:
            document, note = extract(json.loads(line), limits, on_page=alive)
            reply = {"document": asdict(document), "note": note}
        except ExtractionError as exc:
            reply = {"skip": str(exc)}
        except MemoryError:
            reply = {"skip": f"needs more than {limits.memory_mb:,} MB of memory to read"}
        except Exception as exc:  # noqa: BLE001 - any parser failure is this file's, not the run's
            reply = {"skip": f"the reader failed: {one_line(exc)}"}
        reply["peak_mb"] = _peak_resident_mb()
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


def _peak_resident_mb() -> float:
    """This process's peak resident memory since it started its own program (Linux), else 0."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
