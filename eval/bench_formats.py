"""The formats bar (issue 33), in one run:

1. A folder with one file of every format (eval/format_files.py, written by each format's own
   library), indexed and asked: every fact answered, from the right file and location; 0 crashes.
2. OCR: the sample corpus laid out as a 10-page PDF, rendered at 200 dpi into an image-only PDF,
   indexed: word accuracy against the text layer, pages per second, and the sample set's
   questions asked of it and of the text-layer PDF (the same answers?).
3. Hostile containers: each skipped with its reason, no crash, the worker's peak memory.
4. Throughput: the shared SQuAD paragraphs as .docx files and as .txt files, indexed from
   scratch: one paragraph a file, and reports of 40 paragraphs a file.

    python eval/bench_formats.py [--out DIR] [--paragraphs N]
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "eval"))

import format_files  # noqa: E402

import rag  # noqa: E402
from embeddings import load_embedder  # noqa: E402
from rag._metrics import token_f1  # noqa: E402
from rag.ingest import IngestLimits, extract_files  # noqa: E402

SAMPLE = PROJECT / "data" / "counter-trafficking"
QUESTIONS = PROJECT / "eval" / "counter-trafficking.jsonl"
SQUAD_DIR = PROJECT.parent / "shared" / "benchmarks" / "squad"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="keep the files and indexes here")
    parser.add_argument(
        "--paragraphs", type=int, default=0, help="for the throughput check (0: all shared)"
    )
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    embedder = load_embedder(cache=False)
    results = {
        "formats": bench_facts(work / "formats", embedder),
        "hostile": bench_hostile(work / "hostile"),
        "ocr": bench_ocr(work / "ocr", embedder),
        "throughput": bench_throughput(work / "throughput", embedder, args.paragraphs),
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.out is None:
        shutil.rmtree(work, ignore_errors=True)


def _build(folder: Path, embedder, index_dir: Path | None = None) -> tuple[rag.Index, float]:
    index = rag.Index(embedder, path=index_dir)
    started = time.perf_counter()
    index.last_report = index.sync([folder])
    return index, time.perf_counter() - started


def _cited(answer: rag.Answer):
    held = [c for c in answer.citations if c.answer_start is not None]
    return held[0] if held else (answer.citations[0] if answer.citations else None)


def bench_facts(folder: Path, embedder) -> dict:
    facts = format_files.write_all(folder)
    index, seconds = _build(folder, embedder)
    rows, right = [], 0
    for fact in facts:
        answer = rag.ask(index, fact.question)
        cited = _cited(answer)
        ok = (
            answer.found
            and token_f1(answer.text, fact.answer) >= 0.5
            and cited is not None
            and Path(cited.source).name == fact.file
            and cited.location == fact.location
        )
        right += ok
        rows.append(
            {
                "file": fact.file,
                "answer": answer.text if answer.found else None,
                "confidence": round(answer.confidence, 3),
                "cited": f"{Path(cited.source).name} · {cited.location}" if cited else None,
                "right": bool(ok),
            }
        )
    report = index.last_report
    return {
        "facts_right": f"{right}/{len(facts)}",
        "files_indexed": len(index.documents),
        "skipped": [(Path(s.source).name, s.reason) for s in report.skipped],
        "seconds": round(seconds, 1),
        "answers": rows,
    }


def bench_hostile(folder: Path) -> dict:
    made = format_files.write_hostile(folder)
    limits = IngestLimits()
    paths = sorted(str(folder / name) for name in made)
    started = time.perf_counter()
    results = extract_files(paths, limits)
    return {
        "files": len(paths),
        "skipped_with_reason": sum(1 for r in results if r.document is None and r.note),
        "crashes": sum(1 for r in results if "crashed" in r.note or "failed" in r.note),
        "peak_worker_mb": round(max(r.worker_peak_mb for r in results), 1),
        "memory_budget_mb": limits.memory_mb,
        "seconds": round(time.perf_counter() - started, 2),
        "reasons": {Path(r.source).name: r.note for r in results},
    }


def sample_pdf(pages: int = 10) -> tuple[bytes, int]:
    """The sample corpus's five texts, each from a new page, in the smallest type size from 12 pt
    that fills ``pages`` pages; (the first ``pages`` of them, the size)."""
    import io

    import pypdfium2

    for size in range(12, 30):
        document = pypdfium2.PdfDocument(_laid_out(size))
        if len(document) >= pages:
            break
    trimmed = pypdfium2.PdfDocument.new()
    trimmed.import_pages(document, list(range(pages)))
    buffer = io.BytesIO()
    trimmed.save(buffer)
    return buffer.getvalue(), size


def _laid_out(size: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    if FONT.is_file():
        pdf.add_font("body", fname=str(FONT))
        pdf.set_font("body", size=size)
    else:  # Latin-1 core font: typographic quotes and dashes as plain ones
        pdf.set_font("Helvetica", size=size)
    for path in sorted(SAMPLE.glob("*.txt")):
        text = path.read_text("utf-8")
        if not FONT.is_file():
            text = text.translate(str.maketrans("‘’“”–—…", "''\"\"--."))
            text = text.encode("latin-1", "replace").decode("latin-1")
        pdf.add_page()
        for paragraph in re.split(r"\n\s*\n", text):
            if paragraph.strip():
                pdf.multi_cell(0, size * 0.5, " ".join(paragraph.split()))
                pdf.ln(size * 0.15)
    return bytes(pdf.output())


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bench_ocr(folder: Path, embedder) -> dict:
    from rag._ocr import tesseract

    if tesseract() is None:
        return {"skipped": "Tesseract is not installed: apt-get install tesseract-ocr"}
    text_dir, scan_dir = folder / "text", folder / "scanned"
    text_dir.mkdir(parents=True, exist_ok=True)
    scan_dir.mkdir(parents=True, exist_ok=True)
    source, type_size = sample_pdf()
    (text_dir / "sample-corpus.pdf").write_bytes(source)
    format_files.write_image_pdf(scan_dir / "sample-corpus.pdf", source, dpi=200)
    limits = IngestLimits()
    started = time.perf_counter()
    (scanned,) = extract_files([str(scan_dir / "sample-corpus.pdf")], limits)
    ocr_seconds = time.perf_counter() - started
    (layer,) = extract_files([str(text_dir / "sample-corpus.pdf")], limits)
    truth, read = _words(layer.document.text), _words(scanned.document.text)
    matcher = difflib.SequenceMatcher(None, truth, read, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    pages = len(scanned.document.page_starts)
    text_index, _ = _build(text_dir, embedder)
    scan_index, _ = _build(scan_dir, embedder)
    questions = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines()]
    answerable = [q for q in questions if q.get("answers")]
    counts = {"same_answer": 0, "text_right": 0, "scanned_right": 0, "both_refused": 0}
    for question in answerable:
        a = rag.ask(text_index, question["question"])
        b = rag.ask(scan_index, question["question"])
        gold = question["answers"]
        right_a = a.found and max(token_f1(a.text, g) for g in gold) >= 0.5
        right_b = b.found and max(token_f1(b.text, g) for g in gold) >= 0.5
        counts["text_right"] += right_a
        counts["scanned_right"] += right_b
        counts["same_answer"] += (a.found, a.text) == (b.found, b.text)
        counts["both_refused"] += not a.found and not b.found
    return {
        "pages": pages,
        "dpi": 200,
        "type_size_pt": type_size,
        "ocr_seconds": round(ocr_seconds, 1),
        "pages_per_second": round(pages / ocr_seconds, 3),
        "word_accuracy": round(matched / len(truth), 4),
        "words": len(truth),
        "questions": len(answerable),
        **counts,
        "note": scanned.note,
    }


def _squad_paragraphs(count: int) -> list[str]:
    """The shared SQuAD files' paragraphs (all of them with ``count`` 0); without ../shared, the
    sample corpus's paragraphs, repeated with a number."""
    files = sorted(SQUAD_DIR.glob("*.json")) if SQUAD_DIR.is_dir() else []
    if files:
        paragraphs = [
            p["context"]
            for path in files
            for article in json.loads(path.read_text("utf-8"))["data"]
            for p in article["paragraphs"]
        ]
    else:
        texts = [p.read_text("utf-8") for p in sorted(SAMPLE.glob("*.txt"))]
        base = [p for t in texts for p in re.split(r"\n\s*\n", t) if len(p) > 200]
        paragraphs = [f"{base[i % len(base)]} ({i})" for i in range(count or 300)]
    return paragraphs[:count] if count else paragraphs


def bench_throughput(folder: Path, embedder, count: int) -> dict:
    """The same text as .docx and as .txt files, indexed from scratch: one paragraph a file (the
    worst case for a per-file cost), and reports of 40 paragraphs a file."""
    import docx

    paragraphs = _squad_paragraphs(count)
    results = {"paragraphs": len(paragraphs)}
    for layout, size in (("one_paragraph_per_file", 1), ("reports_of_40_paragraphs", 40)):
        groups = [paragraphs[i : i + size] for i in range(0, len(paragraphs), size)]
        txt_dir, docx_dir = folder / layout / "txt", folder / layout / "docx"
        txt_dir.mkdir(parents=True, exist_ok=True)
        docx_dir.mkdir(parents=True, exist_ok=True)
        for i, group in enumerate(groups):
            (txt_dir / f"f{i:05d}.txt").write_text("\n\n".join(group), encoding="utf-8")
            document = docx.Document()
            for paragraph in group:
                document.add_paragraph(paragraph)
            document.save(docx_dir / f"f{i:05d}.docx")
        timings = {}
        for name, source in (("txt", txt_dir), ("docx", docx_dir), ("txt_again", txt_dir)):
            index, seconds = _build(source, embedder)
            timings[name] = {
                "seconds": round(seconds, 1),
                "chunks": index.chunk_count(),
                "seconds_embedding": round(index.last_report.seconds_embedding, 1),
            }
        txt_seconds = (timings["txt"]["seconds"] + timings["txt_again"]["seconds"]) / 2
        results[layout] = {
            "files": len(groups),
            **timings,
            "docx_throughput_vs_txt": round(txt_seconds / timings["docx"]["seconds"], 3),
        }
    return results


if __name__ == "__main__":
    main()
