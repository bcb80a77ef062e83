"""Fuzz ingestion: about 1,000 malformed files beside good ones with known facts.

    python eval/fuzz_ingest.py              # folder indexing (`rag index`), then a second sync
    python eval/fuzz_ingest.py --uploads    # the same files through the web chat's upload path

Makes the files in a temporary folder (``--keep DIR`` keeps them there), indexes them with the real
model, then asks one question about each good file. Prints crashes, good documents lost or
unanswerable, skipped and cut-short files by reason, wall time (reading apart from embedding) and
peak resident memory (this process, which holds the model, and the worker processes apart).
Exits 1 when a bar of issue 11 is missed: a crash, a good document lost or unanswerable, a bad file
indexed with insane text, over 60 s or 1 GB without embedding, a second sync over 5 s.
"""

from __future__ import annotations

import argparse
import codecs
import io
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
import zlib
from collections import Counter
from pathlib import Path

from fpdf import FPDF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TOWNS = [
    "Varnholm", "Quellbury", "Ostravik", "Lindqvarn", "Tessaport", "Brimwater", "Kelloway",
    "Morrowdale", "Fenwick Bay", "Saltmere", "Drumcaster", "Elverholt", "Grantsby", "Hollowmere",
    "Ivybridge Cove", "Jorvath", "Kestrel Point", "Larkspur", "Mossgiel", "Northwold",
]  # fmt: skip
PEOPLE = [
    "Amara Okonkwo", "Bastian Vogt", "Celia Marchetti", "Dmitri Sokolov", "Elena Ruiz",
    "Farid Haddad", "Greta Lindholm", "Hiro Tanaka", "Ines Carvalho", "Jonas Berg",
    "Katya Petrova", "Liam O'Connell", "Mina Rahimi", "Nils Andersen", "Olga Kowalska",
    "Pavel Novak", "Rosa Delgado", "Samir Naidu", "Tova Eriksen", "Umar Siddiqui",
]  # fmt: skip
ROLES = [
    "harbour master", "head librarian", "fire chief", "mayor", "museum director",
    "chief engineer", "school principal", "lighthouse keeper", "police commissioner",
    "hospital administrator", "chief judge", "station master", "park ranger", "town clerk",
    "festival organiser", "head chef", "bridge inspector", "postmaster", "choir conductor",
    "ferry captain",
]  # fmt: skip
WORDS = (
    "the of report migration office border trafficking victims support training police "
    "regional partners data shelter protection programme counter network referral"
).split()
MAX_WALL_S, MAX_RSS_MB, MAX_RESYNC_S = 60.0, 1024, 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="malformed files (about)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", type=Path, help="make the files here and keep them")
    parser.add_argument("--uploads", action="store_true", help="go through the upload path")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fuzz-ingest-"))
    folder = work / "corpus"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["RAG_CACHE_DIR"] = str(work / "cache")  # embed for real, not from an earlier run
    started = time.perf_counter()
    facts = make_good_files(folder / "good")
    bad = make_bad_files(folder / "bad", work / "outside", args.files, random.Random(args.seed))
    print(
        f"Made {len(facts)} good and {bad} malformed files in {folder} "
        f"({time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    try:
        run = fuzz_uploads if args.uploads else fuzz_folder
        return run(folder, work / "index", facts)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# Good files -------------------------------------------------------------------------------------


def make_good_files(folder: Path) -> dict[str, tuple[str, str]]:
    """One file per town, in every format and encoding; file name -> (question, answer)."""
    folder.mkdir(parents=True)
    facts = {}
    kinds = ["txt", "md", "html", "pdf", "utf16", "utf16-nobom", "utf32", "cp1252", "crlf", "nul"]
    kinds += ["docx", "pptx", "xlsx", "csv", "odt", "epub", "rtf", "eml", "scan-pdf"]
    for i, (town, person, role) in enumerate(zip(TOWNS, PEOPLE, ROLES, strict=True)):
        kind = kinds[i % len(kinds)]
        rng = random.Random(i)
        filler = " ".join(rng.choice(WORDS) for _ in range(60))
        fact = f"{person} is the {role} of {town}."
        body = f"Annual notes from {town}\n\n{filler.capitalize()}.\n\n{fact}\n\n{filler}.\n"
        suffix = {"md": ".md", "html": ".html", "pdf": ".pdf", "scan-pdf": ".pdf"}.get(kind, ".txt")
        suffix = f".{kind}" if kind in CONTAINERS or kind in ("csv", "rtf", "eml") else suffix
        name = f"good-{i:02d}-{kind}{suffix}"
        (folder / name).write_bytes(_encode_good(kind, town, body))
        facts[name] = (f"Who is the {role} of {town}?", person)
    return facts


def _encode_good(kind: str, town: str, body: str) -> bytes:
    if kind in CONTAINERS or kind in ("csv", "rtf", "eml", "scan-pdf"):
        return _encode_structured(kind, town, body.split("\n\n"))
    if kind == "html":
        paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
        return f"<html><head><title>{town}</title></head><body>{paragraphs}</body></html>".encode()
    if kind == "pdf":
        return _pdf(body.split("\n\n"))
    if kind == "md":
        return f"# Notes from {town}\n\n{body}".encode()
    encodings = {
        "utf16": ("utf-16", b""),
        "utf16-nobom": ("utf-16-le", b""),
        "utf32": ("utf-32-be", codecs.BOM_UTF32_BE),
        "cp1252": ("cp1252", b""),
    }
    if kind in encodings:
        encoding, bom = encodings[kind]
        return bom + body.replace("notes", "notes – résumé").encode(encoding)
    if kind == "crlf":
        return body.replace("\n", "\r\n").encode()
    if kind == "nul":
        return body.encode() + b"\x00" * 3 + b"\ntrailing words after stray NUL bytes\n"
    return body.encode()


CONTAINERS = ("docx", "pptx", "xlsx", "odt", "epub")


def _encode_structured(kind: str, town: str, paragraphs: list[str]) -> bytes:
    """The town's notes as a file of a structured format, written by that format's library."""
    import format_files

    paragraphs = [p.strip() for p in paragraphs if p.strip()]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"notes.{kind}"
        if kind == "docx":
            import docx

            document = docx.Document()
            document.add_heading(f"Annual notes from {town}", level=1)
            for paragraph in paragraphs[1:]:
                document.add_paragraph(paragraph)
            document.save(path)
        elif kind == "pptx":
            import pptx

            presentation = pptx.Presentation()
            for paragraph in paragraphs:
                slide = presentation.slides.add_slide(presentation.slide_layouts[1])
                slide.shapes.title.text = f"Notes from {town}"
                slide.placeholders[1].text = paragraph
            presentation.save(path)
        elif kind == "xlsx":
            import openpyxl

            workbook = openpyxl.Workbook()
            workbook.active.append(["Town", "Note"])
            for paragraph in paragraphs:
                workbook.active.append([town, paragraph])
            workbook.save(path)
        elif kind == "csv":
            rows = [["Town", "Note"], *([town, p] for p in paragraphs)]
            path.write_text("\n".join(",".join(f'"{v}"' for v in row) for row in rows) + "\n")
        elif kind == "odt":
            from odf import text
            from odf.opendocument import OpenDocumentText

            document = OpenDocumentText()
            for paragraph in paragraphs:
                document.text.addElement(text.P(text=paragraph))
            document.save(str(path))
        elif kind == "epub":
            from ebooklib import epub

            book = epub.EpubBook()
            book.set_identifier(town)
            book.set_title(f"Notes from {town}")
            chapter = epub.EpubHtml(title=town, file_name="notes.xhtml", lang="en")
            chapter.content = "".join(f"<p>{p}</p>" for p in paragraphs)
            book.add_item(chapter)
            book.add_item(epub.EpubNav())
            book.spine = [chapter]
            epub.write_epub(str(path), book)
        elif kind == "rtf":
            path.write_text(r"{\rtf1\ansi " + r"\par ".join(paragraphs) + "}")
        elif kind == "eml":
            from email.message import EmailMessage

            message = EmailMessage()
            message["Subject"] = f"Notes from {town}"
            message.set_content("\n\n".join(paragraphs))
            path.write_bytes(bytes(message))
        else:  # an image-only PDF, read by OCR
            format_files.write_scanned_pdf(path, paragraphs)
        return path.read_bytes()


def _pdf(pages: list[str], compress: bool = True) -> bytes:
    pdf = FPDF()
    pdf.set_compression(compress)
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    return bytes(pdf.output())


# Malformed files --------------------------------------------------------------------------------


def make_bad_files(folder: Path, outside: Path, count: int, rng: random.Random) -> int:
    """About ``count`` malformed files of every kind in ``folder``; returns how many."""
    folder.mkdir(parents=True)
    outside.mkdir(parents=True, exist_ok=True)
    made = 0
    fixed = list(_fixed_cases(rng))
    for name, data in fixed:
        _write(folder / name, data)
        made += 1
    made += _special_files(folder, outside)
    pdf = _pdf([" ".join(rng.choice(WORDS) for _ in range(200)) for _ in range(3)])
    containers = _good_containers(rng)
    generators = [_random_bytes, _mutated_pdf, _truncated_pdf, _bad_text, _bad_html]
    generators += [lambda rng, pdf: _mutated_container(rng, containers)] * 3
    while made < count:
        name, data = rng.choice(generators)(rng, pdf)
        _write(folder / f"{made:04d}-{name}", data)
        made += 1
    return made


def _good_containers(rng: random.Random) -> list[tuple[str, bytes]]:
    """One good file of each zip-based format, to mutate."""
    body = " ".join(rng.choice(WORDS) for _ in range(120))
    return [(kind, _encode_structured(kind, "Varnholm", [body, body])) for kind in CONTAINERS]


def _mutated_container(rng: random.Random, containers) -> tuple[str, bytes]:
    """A Word, PowerPoint, Excel, OpenDocument or EPUB file with bytes flipped, cut short, or a
    member's declared size changed."""
    kind, good = rng.choice(containers)
    data = bytearray(good)
    how = rng.choice(["flip", "truncate", "size"])
    if how == "truncate":
        return f"truncated.{kind}", bytes(data[: rng.randrange(1, len(data))])
    if how == "size":  # a central directory that lies about a member's unpacked size
        at = data.rfind(b"PK\x01\x02")
        if at >= 0:
            data[at + 24 : at + 28] = rng.randrange(1, 2**32).to_bytes(4, "little")
        return f"lying-size.{kind}", bytes(data)
    for _ in range(rng.choice([1, 5, 40])):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return f"mutated.{kind}", bytes(data)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _fixed_cases(rng: random.Random):
    """One of each named hostile kind."""
    words = " ".join(rng.choice(WORDS) for _ in range(133_000))
    for suffix in (".txt", ".md", ".markdown", ".html", ".htm", ".pdf"):
        yield f"empty{suffix}", b""
        yield f"spaces{suffix}", b" \n\t \r\n" * 100
    yield "one-line-1mb-words.txt", words.encode()
    yield "one-line-3mb-nospace.txt", rng.randbytes(2_250_000).hex()[:3_000_000].encode()
    yield "one-line-3mb-bang.txt", b"!" * 3_000_000
    yield "one-line-3mb-dots.md", b"Start. " + b"." * 3_000_000
    yield "one-line-3mb-tags.html", b"<a" * 1_500_000
    yield (
        "one-line-base64.md",
        b"Intro line.\n\n![img](data:image/png;base64,"
        + (codecs.encode(rng.randbytes(1_500_000), "base64").replace(b"\n", b""))
        + b")\n",
    )
    yield "nested-20000.html", b"<div>" * 20_000 + b"deep text" + b"</div>" * 20_000
    yield "nested-unclosed.html", b"<div><p><b><i><span>" * 20_000 + b"never closed"
    yield "nested-tables.html", b"<table><tr><td>" * 10_000 + b"cell"
    yield "unclosed-comment.html", b"<html><body><p>visible</p><!-- " + b"x" * 100_000
    yield "script-only.html", b"<script>" + b"var a = 1;" * 10_000 + b"</script>"
    yield "huge-attribute.html", b'<p title="' + b"y" * 2_000_000 + b'">short text</p>'
    yield "surrogate-entity.html", b"<p>bad &#xD800; entity &#x110000; and &#0; here</p>"
    yield "surrogates-utf8.txt", b"text with a lone \xed\xa0\x80 surrogate"
    yield "all-nul.txt", b"\x00" * 100_000
    yield "controls.txt", bytes(range(1, 32)) * 1000
    yield "nul-after-head.txt", b"plain words here. " * 600 + b"\x00\x00" + b" more words."
    yield "invalid-utf8.txt", "Caf\u00e9 ol\u00e9 ".encode() * 50 + b"\xff\xfe\xc3\x28 end"
    yield "utf16-odd-length.txt", codecs.BOM_UTF16_LE + "broken".encode("utf-16-le") + b"\x41"
    yield "utf32-bad.txt", codecs.BOM_UTF32_LE + b"\xff\xff\xff\x7f" * 10
    yield "utf7.txt", b"+AGEAYgBj- plus utf7"
    yield "pdf-unknown-filter.pdf", _pdf(["Some words."]).replace(b"/FlateDecode", b"/FlatmDecode")
    yield "pdf-self-reference.pdf", _self_referencing_pdf()
    yield "pdf-bomb.pdf", _pdf_bomb(300_000_000)
    yield "pdf-many-pages.pdf", _pdf(["page"] * 2500, compress=True)
    yield "pdf-header-only.pdf", b"%PDF-1.7\n"
    encrypt = b"trailer\n<</Encrypt 9 0 R>>"
    yield "pdf-encrypted-marker.pdf", _pdf(["x"]).replace(b"trailer", encrypt)
    yield "zip-bomb.pdf", _zip_bomb()
    yield "zip-bomb.txt", _zip_bomb()
    yield "zip-bomb.zip", _zip_bomb()
    yield "gzip.html", zlib.compress(b"<p>" + b"a " * 1_000_000)
    with tempfile.TemporaryDirectory() as hostile:
        import format_files

        for name in format_files.write_hostile(Path(hostile)):
            yield f"container-{name}", (Path(hostile) / name).read_bytes()
    for suffix in (".docx", ".pptx", ".xlsx", ".csv", ".odt", ".odp", ".ods", ".epub", ".rtf"):
        yield f"empty{suffix}", b""
    yield "empty.eml", b""
    yield "empty.msg", b""


def _special_files(folder: Path, outside: Path) -> int:
    """Links, pipes, unreadable files, odd names, an oversized sparse file; returns how many."""
    (outside / "secret.txt").write_text("Outside the folder: must not be indexed.")
    (outside / "dir").mkdir(exist_ok=True)
    (outside / "dir" / "inner.txt").write_text("Inside a linked folder: must not be indexed.")
    made = 0
    links = {
        "link-outside.txt": outside / "secret.txt",
        "link-folder": outside / "dir",
        "link-self.txt": folder / "link-self.txt",
        "link-loop-a.txt": folder / "link-loop-b.txt",
        "link-loop-b.txt": folder / "link-loop-a.txt",
        "link-broken.txt": folder / "nowhere.txt",
        "link-parent": folder,
    }
    for name, target in links.items():
        os.symlink(target, folder / name)
        made += 1
    os.mkfifo(folder / "pipe.txt")
    unreadable = folder / "unreadable.txt"
    unreadable.write_text("This file has no read permission.")
    unreadable.chmod(0)
    sparse = folder / "sparse-60mb.txt"
    with sparse.open("wb") as handle:
        handle.truncate(60 * 2**20)
    names = [
        "new\nline.txt",
        "tab\tand\rreturn.md",
        "ünïcødé-名前-🙂.txt",
        "x" * 250 + ".txt",
        "-leading-dash.txt",
        "spaces   inside .txt",
        "no-extension",
        "UPPER.TXT",
        "double.pdf.txt",
    ]
    for name in names:
        (folder / name).write_text(f"A file named {name!r} with ordinary words in it.")
    bad_name = os.fsencode(str(folder)) + b"/bad-\xff\xfe-name.txt"
    with open(bad_name, "wb") as handle:
        handle.write(b"A file whose name is not UTF-8.")
    return made + 3 + len(names) + 1


def _random_bytes(rng: random.Random, pdf: bytes) -> tuple[str, bytes]:
    suffix = rng.choice([".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".pptx"])
    suffix = rng.choice([suffix, rng.choice([".xlsx", ".odt", ".epub", ".eml", ".msg", ".rtf"])])
    size = rng.choice([1, 2, 7, 100, 4096, 70_000])
    return f"random{suffix}", rng.randbytes(size)


def _mutated_pdf(rng: random.Random, pdf: bytes) -> tuple[str, bytes]:
    data = bytearray(pdf)
    for _ in range(rng.choice([1, 3, 20])):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return "mutated.pdf", bytes(data)


def _truncated_pdf(rng: random.Random, pdf: bytes) -> tuple[str, bytes]:
    return "truncated.pdf", pdf[: rng.randrange(1, len(pdf))]


def _bad_text(rng: random.Random, pdf: bytes) -> tuple[str, bytes]:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 400))).encode()
    kind = rng.choice(["latin", "utf16", "utf32", "nul", "junk", "long-line", "cr"])
    if kind == "latin":
        return "latin.txt", words.replace(b"o", b"\xf6").replace(b"e", b"\x80")
    if kind == "utf16":
        return "utf16.md", words.decode().encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be"]))
    if kind == "utf32":
        return "utf32.txt", words.decode().encode(rng.choice(["utf-32", "utf-32-le", "utf-32-be"]))
    if kind == "nul":
        cut = rng.randrange(len(words))
        return "nul.txt", words[:cut] + b"\x00" * rng.randrange(1, 50) + words[cut:]
    if kind == "junk":
        return "junk.md", words + bytes(rng.randrange(128, 256) for _ in range(200))
    if kind == "long-line":
        return "long-line.txt", words + b"z" * rng.randrange(161, 100_000)
    return "cr-only.txt", words.replace(b" ", b"\r")


def _bad_html(rng: random.Random, pdf: bytes) -> tuple[str, bytes]:
    depth = rng.choice([100, 1000, 5000])
    tag = rng.choice([b"div", b"span", b"li", b"table", b"p", b"svg", b"template"])
    text = " ".join(rng.choice(WORDS) for _ in range(30)).encode()
    body = b"<" + tag + b">" + (b"<" + tag + b">") * depth + text
    if rng.random() < 0.5:
        body += (b"</" + tag + b">") * depth
    return "nested.html", body


def _self_referencing_pdf() -> bytes:
    """A page tree whose Kids name itself, and an xref pointing into a loop."""
    objects = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        b"2 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 /Parent 2 0 R >> endobj\n",
        b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 3 0 R /Resources 3 0 R >> endobj\n",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for obj in objects:
        offsets.append(out.tell())
        out.write(obj)
    xref = out.tell()
    out.write(b"xref\n0 4\n0000000000 65535 f \n")
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    trailer = f"trailer << /Size 4 /Root 1 0 R /Prev {xref} >>\nstartxref\n{xref}\n%%EOF\n"
    out.write(trailer.encode())
    return out.getvalue()


def _pdf_bomb(size: int) -> bytes:
    """One page whose content stream inflates to ``size`` bytes of a repeated text operator."""
    unit = b"BT /F1 12 Tf 72 712 Td (bomb) Tj ET\n"
    compressor = zlib.compressobj(9)
    block = unit * 100_000
    stream = b"".join(compressor.compress(block) for _ in range(size // len(block)))
    stream += compressor.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out.write(trailer % (len(objects) + 1, xref))
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.txt", b"\x00" * 200_000_000)
    return out.getvalue()


# Running ----------------------------------------------------------------------------------------


def fuzz_folder(folder: Path, index_path: Path, facts: dict[str, tuple[str, str]]) -> int:
    """Read and chunk everything as a sync does (timed without embedding), then sync for real,
    ask about each good file, and sync again."""
    import rag

    index = rag.Index(path=index_path)
    model_mb = _peak_rss_mb()
    try:
        reading, chunks, worker_mb = _read_and_chunk(index, folder)
        reading_mb = _peak_rss_mb()
        report = index.sync([folder], progress=False)
    except Exception:  # noqa: BLE001 - a crash is what this harness counts
        print("CRASH:\n" + traceback.format_exc())
        return 1
    rss = _peak_rss_mb()
    print(f"\nIndexed {len(index.documents)} documents ({index.chunk_count()} chunks).")
    _print_reasons("Skipped", report.skipped)
    _print_reasons("Cut short", report.truncated)
    insane = _insane_documents(index, report.skipped + report.truncated)
    lost, wrong = _check_good(index, folder / "good", facts)
    leaked = [d.source for d in index.documents if not Path(d.source).is_relative_to(folder)]
    resync_started = time.perf_counter()
    again = rag.Index.load(index_path).sync([folder])
    resync = time.perf_counter() - resync_started
    changed = again.added + again.updated + again.removed
    print(
        f"\nReading and chunking (no embedding): {reading:.1f} s wall, {chunks} chunks; peak "
        f"resident memory: this process {reading_mb:.0f} MB of which the model "
        f"{model_mb:.0f} MB, largest worker {worker_mb:.0f} MB.\n"
        f"Sync with embedding: {report.seconds:.1f} s wall, of it embedding "
        f"{report.seconds_embedding:.1f} s ({report.chunks_embedded} chunks); peak resident "
        f"memory of this process {rss:.0f} MB.\n"
        f"Second sync (nothing changed): {resync:.1f} s, {len(changed)} changed.\n"
        f"Crashes: 0. Good documents lost: {len(lost)}, unanswerable: {len(wrong)}. "
        f"Indexed with insane text: {len(insane)}. From outside the folder: {len(leaked)}."
    )
    for problem in [*lost, *wrong, *insane, *leaked]:
        print(f"  {problem}")
    within = reading <= MAX_WALL_S and reading_mb - model_mb + worker_mb <= MAX_RSS_MB
    failed = bool(lost or wrong or insane or leaked or changed) or not within
    failed |= resync > MAX_RESYNC_S
    print("\nBar met." if not failed else "\nBar NOT met.")
    return int(failed)


def _read_and_chunk(index, folder: Path) -> tuple[float, int, float]:
    """(seconds, chunks, largest worker's peak MB) to read and chunk ``folder`` as a sync does."""
    from rag.chunk import split_document
    from rag.ingest import discover_files, extract_files, mark_content

    started = time.perf_counter()
    files, _ = discover_files([folder])
    extractions = extract_files(files, index.limits)
    documents = mark_content([e.document for e in extractions if e.document])
    count = index.embedder.count_tokens
    chunks = sum(len(split_document(d, count, index.settings)) for d in documents)
    worker_mb = max(e.worker_peak_mb for e in extractions)
    return time.perf_counter() - started, chunks, worker_mb


def fuzz_uploads(folder: Path, index_path: Path, facts: dict[str, tuple[str, str]]) -> int:
    """Every regular file, uploaded through the web chat's handler as Gradio hands them over."""
    import app
    import rag

    index = rag.Index(path=index_path)
    chat = app._Chat(index, index_path / "uploads", folders=False)
    paths = [p for p in folder.rglob("*") if not p.is_symlink() and p.is_file()]
    paths = [p for p in paths if os.access(p, os.R_OK) and _shown(p) == str(p)]
    started = time.perf_counter()
    try:
        message = chat.add_files([str(p) for p in paths], progress=lambda *a, **k: None)[0]
    except Exception:  # noqa: BLE001
        print("CRASH during upload:\n" + traceback.format_exc())
        return 1
    wall = time.perf_counter() - started
    lines = message.splitlines()
    rejected = Counter(
        _reason_kind(line.split(": ", 1)[-1]) for line in lines if line.startswith("Rejected ")
    )
    print(f"\n{lines[0]}\nUploaded {len(paths)} files in {wall:.1f} s; rejected by reason:")
    for reason, n in rejected.most_common():
        print(f"  {n:4d}  {reason}")
    uploads = index_path / "uploads"
    lost, wrong = _check_good(index, uploads, {k: v for k, v in facts.items()})
    insane = _insane_documents(index, [])
    print(
        f"Peak resident memory: this process {_peak_rss_mb():.0f} MB.\n"
        f"Crashes: 0. Good documents lost: {len(lost)}, unanswerable: {len(wrong)}. "
        f"Bad documents with insane text: {len(insane)}."
    )
    for problem in [*lost, *wrong, *insane]:
        print(f"  {problem}")
    failed = bool(lost or wrong or insane)
    print("\nBar met." if not failed else "\nBar NOT met.")
    return int(failed)


def _check_good(index, folder: Path, facts) -> tuple[list[str], list[str]]:
    """Good files missing from the index, and those whose question is not answered right."""
    import rag

    lost, wrong = [], []
    for name, (question, person) in facts.items():
        source = str((folder / name).resolve())
        if index.document(source) is None:
            lost.append(f"lost: {name}")
            continue
        answer = rag.ask(index, question)
        cited = answer.citations[0].source if answer.citations else ""
        if not answer.found or person.split()[-1] not in answer.text or cited != source:
            wrong.append(f"unanswered: {name}: {question} -> {answer.text!r} from {cited}")
    return lost, wrong


_INSANE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")


def _insane_documents(index, reported) -> list[str]:
    """Indexed files whose text holds controls or surrogates, or chunks of runaway size; reasons
    that are not one line."""
    problems = [f"reason of more than one line: {r!r}" for r in reported if "\n" in r.reason]
    for document in index.documents:
        if _INSANE.search(document.text):
            problems.append(f"control characters in {document.source!r}")
        if index.chunk_count(document.source) > 2_000:
            problems.append(f"{index.chunk_count(document.source)} chunks in {document.source!r}")
    return problems


def _print_reasons(title: str, files) -> None:
    kinds = Counter(_reason_kind(f.reason) for f in files)
    print(f"{title}: {len(files)} files")
    for reason, n in kinds.most_common():
        print(f"  {n:4d}  {reason}")


def _reason_kind(reason: str) -> str:
    """A reason without its file-specific figures, to count alike reasons together."""
    if reason.startswith("broken PDF: "):
        return reason.split(":")[0] + ":" + reason.split(":")[1]  # the error's type
    return re.sub(r"\d[\d,.]*", "N", reason)[:110]


def _shown(path: Path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
