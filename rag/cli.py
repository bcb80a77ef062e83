"""The ``rag`` command: a thin shell over the library (parse, call, print)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "run"]

# Commands that only read: once their answer is printed, the process ends without tearing
# PyTorch down (0.3 s of a 1.5 s command); nothing of theirs is left to write.
_READ_ONLY = frozenset({"ask", "search", "info"})

# rag.answer.MIN_CONFIDENCE, for --help without importing PyTorch; a test keeps them equal.
_DEFAULT_MIN_CONFIDENCE = 0.06


def run() -> None:
    """The console script: ``main``, then a fast exit after the read-only commands."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv and argv[0] in _READ_ONLY:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    import rag
    from embeddings import EmbeddingError

    try:
        return args.handler(args)
    except (rag.RagError, EmbeddingError, ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Ask questions of your documents offline; answers are extracted spans with "
        "exact citations.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    index = commands.add_parser(
        "index",
        help="index files and folders (incremental)",
        description="Index files and folders (incremental: only new and changed files are read).",
        epilog=_formats_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    index.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (recursive)")
    _index_option(index)
    index.add_argument(
        "--model",
        help="embedding model name or folder (default: $RAG_MODEL or "
        "the bundled all-MiniLM-L6-v2); only for a new index",
    )
    index.add_argument(
        "--ocr-lang",
        metavar="LANGS",
        help="Tesseract languages for scanned PDF pages, joined by '+' (default eng; e.g. "
        "eng+fra, each installed as tesseract-ocr-LANG)",
    )
    index.add_argument(
        "--no-ocr", action="store_true", help="do not read scanned PDF pages with OCR"
    )
    _ray_option(index, "read and embed new and changed files on the Ray cluster at ADDRESS")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.set_defaults(handler=_index)

    ask = commands.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question")
    _index_option(ask)
    ask.add_argument(
        "--k", type=int, default=5, help="passages to retrieve, read and cite (default 5)"
    )
    ask.add_argument("--source", action="append", help="only search this document (repeatable)")
    ask.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        help=f"report 'not found' below this confidence (default {_DEFAULT_MIN_CONFIDENCE})",
    )
    _ray_option(ask, "the Ray cluster that serves a sharded index (made by 'rag shard')")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(handler=_ask)

    search = commands.add_parser("search", help="show the passages retrieved for a query")
    search.add_argument("query")
    _index_option(search)
    search.add_argument("--k", type=int, default=5, help="passages to show (default 5)")
    search.add_argument("--source", action="append", help="only search this document (repeatable)")
    _ray_option(search, "the Ray cluster that serves a sharded index (made by 'rag shard')")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.set_defaults(handler=_search)

    shard = commands.add_parser(
        "shard",
        help="split an index into shards for a Ray cluster",
        description="Split an index into N shards (each a normal index folder, whole documents "
        "in each) under OUT; 'rag ask --index OUT --ray ADDRESS' serves them, one Ray actor a "
        "shard, with the answers of the whole index.",
    )
    _index_option(shard)
    shard.add_argument("--into", type=int, required=True, metavar="N", help="number of shards")
    shard.add_argument("--out", required=True, metavar="DIR", help="a new folder for the shards")
    shard.set_defaults(handler=_shard)

    info = commands.add_parser("info", help="describe an index")
    _index_option(info)
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(handler=_info)

    verify = commands.add_parser(
        "verify", help="check an index in full: checksums, chunks against documents, vectors"
    )
    _index_option(verify)
    verify.add_argument("--json", action="store_true", help="print as JSON")
    verify.set_defaults(handler=_verify)

    evaluate = commands.add_parser(
        "eval",
        help="measure answer quality on a question set or a SQuAD file",
        description="rag eval QUESTIONS.jsonl --index DIR --out REPORT_DIR | "
        "rag eval --squad FILE.json --out REPORT_DIR [--mode open|gold] | "
        "rag eval --compare A/report.json B/report.json",
    )
    evaluate.add_argument(
        "questions",
        nargs="?",
        metavar="QUESTIONS.jsonl",
        help='one {"id", "question", "answers", "doc"} object a line',
    )
    evaluate.add_argument("--index", metavar="DIR", help="index to ask (with QUESTIONS.jsonl)")
    evaluate.add_argument(
        "--squad",
        metavar="FILE.json",
        help="SQuAD v1.1/v2.0 file: index its paragraphs in a temporary folder",
    )
    evaluate.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="print two report.json files side by side with the differences",
    )
    evaluate.add_argument(
        "--out",
        metavar="REPORT_DIR",
        help="write report.json, report.md, per_question.jsonl, report.png",
    )
    evaluate.add_argument(
        "--mode",
        choices=["open", "gold"],
        default="open",
        help="open: search all documents (default); gold: only each question's own document",
    )
    evaluate.add_argument(
        "--thresholds",
        metavar="T,T,...",
        type=_thresholds,
        help="confidence thresholds to tabulate, comma-separated "
        "(default 0,0.05,0.1,0.2,...,0.8; the default threshold is always added)",
    )
    evaluate.add_argument("--json", action="store_true", help="print report.json to stdout")
    evaluate.set_defaults(handler=_eval)
    return parser


def _formats_help() -> str:
    from rag._extract import FORMATS, REFUSED_SUFFIXES

    by_library: dict[str, list[str]] = {}
    for suffix, (_, library) in FORMATS.items():
        by_library.setdefault(library, []).append(suffix)
    lines = [f"  {' '.join(suffixes):<22} {library}" for library, suffixes in by_library.items()]
    refused = " ".join(REFUSED_SUFFIXES)
    return (
        "file types read, and the library that reads each:\n"
        + "\n".join(lines)
        + f"\nnever read (macros): {refused}"
    )


def _index_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", required=True, metavar="DIR", help="index folder")


def _ray_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help=f"{what} (HOST:PORT of its head; alone: $RAY_ADDRESS). Needs Ray: "
        "pip install -e '.[ray]'",
    )


def _cluster(args):
    """The cluster ``--ray`` names, or None without the option."""
    if getattr(args, "ray", None) is None:
        return None
    from rag.cluster import connect  # only with --ray: nothing else imports Ray

    return connect(args.ray or None)


def _open(args):
    """The index ``--index`` names: a sharded one is served on the ``--ray`` cluster."""
    import rag
    from rag._shards import is_sharded

    if not is_sharded(args.index):
        return rag.Index.load(args.index)
    cluster = _cluster(args)
    if cluster is None:
        raise ValueError(
            f"{args.index} is a sharded index: give the Ray cluster that serves it with --ray "
            "ADDRESS (or --ray and $RAY_ADDRESS)"
        )
    from rag.cluster import ShardedIndex

    return ShardedIndex.open(args.index, cluster)


def _shard(args) -> int:
    from rag._shards import shard_index

    folders = shard_index(args.index, args.out, args.into)
    print(f"Split {args.index} into {len(folders)} shards under {args.out}.")
    return 0


def _index(args) -> int:
    import rag

    started = time.perf_counter()
    limits = rag.IngestLimits(ocr=not args.no_ocr, ocr_lang=args.ocr_lang or "eng")
    if args.ocr_lang and not args.no_ocr:
        from rag._ocr import check_languages
        from rag.errors import ExtractionError

        try:
            check_languages(args.ocr_lang)
        except ExtractionError as exc:
            raise rag.RagError(f"--ocr-lang {args.ocr_lang}: {exc}") from None
    cluster = _cluster(args)  # first: a cluster that is not there fails before the model loads
    index = rag.Index.build(
        args.paths, path=args.index, model=args.model, progress=True, limits=limits, cluster=cluster
    )
    report = index.last_report
    summary = {
        "index": args.index,
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": len(report.unchanged),
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
        "truncated": [{"source": s.source, "reason": s.reason} for s in report.truncated],
        "chunks_embedded": report.chunks_embedded,
        "seconds_embedding": round(report.seconds_embedding, 2),
        "documents": len(index.documents),
        "chunks": index.chunk_count(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"Indexed {summary['documents']} documents ({summary['chunks']} chunks) into {args.index} "
        f"in {summary['seconds']} s: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {summary['unchanged']} unchanged, "
        f"{report.chunks_embedded} chunks embedded."
    )
    for kind, files in (("skipped", report.skipped), ("cut short", report.truncated)):
        for file in files:
            print(f"  {kind} {_one_line(file.source)}: {file.reason}")
    return 0


def _verify(args) -> int:
    import rag

    started = time.perf_counter()
    index = rag.Index.load(args.index)
    problems = index.verify()
    summary = {
        "index": args.index,
        "sound": not problems,
        "documents": len(index.documents),
        "chunks": index.chunk_count(),
        "problems": problems,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    elif problems:
        print(f"Index at {args.index} has {len(problems)} problem(s); rebuild it:")
        for problem in problems:
            print(f"  {problem}")
    else:
        print(
            f"Index at {args.index} is sound: every file matches its checksum; "
            f"{summary['documents']} documents, {summary['chunks']} chunks, vectors and BM25 "
            f"agree ({summary['seconds']} s)."
        )
    return 0 if not problems else 1


def _ask(args) -> int:
    import rag
    from rag.answer import MIN_CONFIDENCE, UNCERTAIN_BELOW

    index = _open(args)
    threshold = MIN_CONFIDENCE if args.min_confidence is None else args.min_confidence
    answer = rag.ask(index, args.question, k=args.k, sources=args.source, min_confidence=threshold)
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    if answer.uncertain:
        print(
            f"Uncertain answer: {answer.text}   (confidence {answer.confidence:.2f}, below "
            f"{UNCERTAIN_BELOW}: check it in its source)"
        )
        print(f"From:   {answer.sentence}")
        for candidate in answer.candidates:
            print(
                f"  or:   {candidate.text}   (confidence {candidate.confidence:.2f}, "
                f"[{candidate.citation}])"
            )
    elif answer.found:
        print(f"Answer: {answer.text}   (confidence {answer.confidence:.2f})")
        print(f"From:   {answer.sentence}")
    else:
        print(
            f"Not found in the documents (best confidence {answer.confidence:.2f}). "
            "Closest passages:"
        )
    for c in answer.citations:
        where = f", {c.location}" if c.location else ""
        print(f"[{c.n}] {c.title}{where} — {c.source} chars {c.start}-{c.end}")
    return 0


def _search(args) -> int:

    index = _open(args)
    hits = index.search(args.query, k=args.k, sources=args.source)
    if args.json:
        fields = ("score", "title", "source", "page", "location", "start", "end", "text")
        print(
            json.dumps(
                [{f: getattr(h, f) for f in fields} for h in hits], indent=2, ensure_ascii=False
            )
        )
        return 0
    for n, hit in enumerate(hits, start=1):
        where = f"{hit.title}, {hit.location}" if hit.location else hit.title
        print(f"[{n}] {hit.score:.4f} {where} — {hit.source} chars {hit.start}-{hit.end}")
        print("    " + " ".join(hit.text.split())[:300])
    return 0


def _info(args) -> int:
    import rag
    from rag._shards import SHARDS_FILE, is_sharded

    if is_sharded(args.index):  # described from its manifest: no cluster needed
        manifest = json.loads((Path(args.index) / SHARDS_FILE).read_text("utf-8"))
        if args.json:
            print(json.dumps(manifest, indent=2))
            return 0
        print(
            f"{args.index}: a sharded index of {sum(manifest['rows'])} chunks in "
            f"{len(manifest['shards'])} shards ({', '.join(map(str, manifest['rows']))} chunks), "
            f"{manifest['embedder']}, split from {manifest['split_from']}; ask it with "
            f"'rag ask QUESTION --index {args.index} --ray ADDRESS'; each shard is an index "
            f"'rag info' describes ({args.index}/{manifest['shards'][0]})"
        )
        return 0
    index = rag.Index.load(args.index)
    info = index.info()
    info["sources"] = [
        {
            "source": d.source,
            "title": d.title,
            "format": d.format,
            "chunks": index.chunk_count(d.source),
        }
        for d in index.documents
    ]
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    for key in ("path", "model", "documents", "chunks", "max_tokens", "overlap_sentences"):
        print(f"{key}: {info[key]}")
    for d in info["sources"]:
        print(f"  {d['chunks']:4d} chunks  {d['title']}  ({d['source']})")
    return 0


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not numbers separated by commas: {text!r}") from None
    if not all(0.0 <= value <= 1.0 for value in values):
        raise argparse.ArgumentTypeError(f"thresholds must be in [0, 1], got {text!r}")
    return values


def _eval(args) -> int:
    # rag.evaluate names the function once rag is imported; the module is reached this way
    from rag.evaluate import (
        DEFAULT_THRESHOLDS,
        compare_reports,
        evaluate,
        evaluate_squad,
        load_questions,
        write_report,
    )

    if args.compare:
        if args.questions or args.squad or args.out:
            raise ValueError("--compare takes only the two report.json files")
        print(compare_reports(*args.compare))
        return 0
    thresholds = args.thresholds or DEFAULT_THRESHOLDS
    if bool(args.questions) == bool(args.squad):
        raise ValueError("give either QUESTIONS.jsonl (with --index DIR) or --squad FILE.json")
    if args.squad:
        if args.index:
            raise ValueError("--squad builds its own index: leave out --index")
        report = evaluate_squad(args.squad, mode=args.mode, progress=True, thresholds=thresholds)
    else:
        if not args.index:
            raise ValueError("QUESTIONS.jsonl needs --index DIR: the index to ask")
        import rag

        questions = load_questions(args.questions)
        index = rag.Index.load(args.index)
        report = evaluate(index, questions, mode=args.mode, progress=True, thresholds=thresholds)
        report = dataclasses.replace(report, dataset=str(args.questions))
    if args.out:
        written = write_report(report, args.out)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(report.summary())
    if args.out:
        print(f"Wrote {', '.join(str(p) for p in written)}")
    return 0


def _one_line(name: str) -> str:
    """A file name as one printable line: newlines and other controls shown escaped."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in name)
