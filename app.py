"""The web chat: ask in the browser, check the answer in its source, add documents.

    python app.py [--index DIR] [--docs PATH...] [--port N] [--host 127.0.0.1]
                  [--auth-file FILE | --auth USER:PASSWORD | --no-auth] [--read-only]
    python app.py --hash-password USER >> users     # a line for --auth-file

Builds the index when it is missing (updates it from ``--docs`` when present), then serves the chat
on localhost. A thin shell: the HTML comes from ``rag.cite``, the answers from ``rag.ask``.
Programs use the named endpoint ``ask``, which returns the object of ``rag ask --json``:

    from gradio_client import Client
    Client("http://127.0.0.1:7860/").predict("Who heads IOM's Counter-Trafficking Division?", 5,
                                              api_name="/ask")
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

import rag  # noqa: E402
from embeddings import EmbeddingError  # noqa: E402
from rag.answer import MIN_CONFIDENCE, default_reader  # noqa: E402
from rag.cite import render_answer, render_error, render_source  # noqa: E402
from rag.ingest import (  # noqa: E402
    REFUSED_SUFFIXES,
    SUPPORTED_SUFFIXES,
    IngestLimits,
    extract_files,
)

__all__ = ["main", "serve"]

PROJECT = Path(__file__).resolve().parent
SAMPLE_CORPUS = PROJECT / "data" / "counter-trafficking"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_LIMITS = IngestLimits(max_file_bytes=MAX_UPLOAD_BYTES, timeout_s=30.0)
MAX_QUESTION_CHARS = 2000
MAX_K = 50
ASK_CONCURRENCY = 16  # questions answered at once; index updates run one at a time
EXAMPLES = [
    "Who is the Head of Unit of INTPA G6?",
    "Who heads IOM's Counter-Trafficking Division?",
    "In which Chinese city was the two-day workshop on assisting trafficking victims held?",
    "How much money has the United States contributed to IOM for anti-trafficking activities?",
]
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ERRORS = (rag.RagError, EmbeddingError, ValueError, FileNotFoundError, PermissionError)
_CHAT_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-cite]');
  if (button && element.contains(button)) trigger('click', {cite: button.dataset.cite});
});
watch('value', () => {
  // A new reply: bring the start of its turn into view inside the chat box.
  const turns = element.querySelectorAll('.rag-turn');
  if (turns.length) turns[turns.length - 1].scrollIntoView({block: 'start', behavior: 'instant'});
});
"""
# Sends a question: numbers it in the order asked, and (for the question box) empties the box in
# the browser at once, so that what is typed next is never wiped by a reply.
_SEND_JS = """
(question, sequence, ...rest) => {
  window.__ragAsked = (window.__ragAsked || 0) + 1;
  const box = document.querySelector('#rag-question textarea');
  if (CLEAR && box && question && box.value.startsWith(question)) {
    box.value = box.value.slice(question.length).trimStart();  // keep anything typed since
    box.dispatchEvent(new Event('input', {bubbles: true}));
  }
  return [question, window.__ragAsked, ...rest];
}
"""
_SOURCE_JS = """
watch('value', () => {
  const mark = element.querySelector('#cite-answer') || element.querySelector('#cite-sentence');
  if (mark) mark.scrollIntoView({block: 'center'});
});
"""
_PROGRESS = gr.Progress(track_tqdm=True)  # indexing shows the Reading and Embedding bars
_EMPTY_CHAT = '<p class="rag-empty">Ask a question about the indexed documents.</p>'
_EMPTY_SOURCE = '<p class="rag-empty">Click a citation such as [1] to see it in its document.</p>'


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.hash_password:
        print(f"{args.hash_password}:{hash_password(_read_password())}")
        return 0
    started = time.perf_counter()
    try:
        auth = _sign_in(args)
        index = _open_index(Path(args.index), args.docs)
        default_reader()  # loaded now, so the first question is not the slow one
    except _ERRORS as exc:
        print(f"app: error: {exc}", file=sys.stderr)
        return 1
    demo, url = serve(index, host=args.host, port=args.port, auth=auth, read_only=args.read_only)
    if args.host not in _LOOPBACK:
        print(f"Serving on {args.host}: adding folders by path is turned off", flush=True)
    print(
        f"Serving the chat on {len(index.documents)} documents at {url} "
        f"(ready in {time.perf_counter() - started:.1f} s; Ctrl+C stops)",
        flush=True,
    )
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()
    return 0


def serve(
    index: rag.Index,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth=None,
    read_only: bool = False,
) -> tuple[gr.Blocks, str]:
    """Start the chat for ``index`` in the background; return the app and its address.

    Uploads are copied into ``<index>/uploads/`` (an index without a path uses a temp folder).
    ``auth``: gradio's sign-in (a ``(user, password) -> bool`` function, or pairs); with
    ``read_only`` the page has no uploads or folders, and no handler for them exists.
    """
    uploads = index.path / "uploads" if index.path else Path(tempfile.mkdtemp(prefix="uploads-"))
    chat = _Chat(index, uploads, folders=host in _LOOPBACK and not read_only, read_only=read_only)
    demo = chat.build()
    demo.queue(default_concurrency_limit=ASK_CONCURRENCY)
    demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
        allowed_paths=chat.allowed_paths,
        max_file_size=MAX_UPLOAD_BYTES,
        footer_links=["api"],
        css_paths=[PROJECT / "app.css"],
        auth=auth,
    )
    demo.allowed_paths = chat.allowed_paths  # the same list, updated as documents are added
    return demo, demo.local_url


class _Chat:
    """The handlers behind the page; each returns what the page shows."""

    def __init__(self, index: rag.Index, uploads: Path, folders: bool, read_only: bool = False):
        self.index = index
        self.uploads = uploads
        self.folders = folders  # whether a visitor may index a folder of this computer by path
        self.read_only = read_only  # questions only: no uploads, no folders
        self._transcript = _Transcripts()
        # The files the download button may serve: exactly the indexed documents (kept in step
        # with the index, since gradio reads this list on every request).
        self.allowed_paths = [d.source for d in index.documents]

    def build(self) -> gr.Blocks:
        """The page: chat and source view side by side (stacked on a phone), then settings and
        the documents."""
        with gr.Blocks(title="Ask your documents") as demo:
            gr.Markdown("## Ask your documents\nAnswers are extracted from them, with citations.")
            ui = SimpleNamespace()
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    self._chat(ui)
                with gr.Column(scale=2, min_width=300):
                    ui.source = gr.HTML(
                        _EMPTY_SOURCE,
                        elem_id="rag-source",
                        js_on_load=_SOURCE_JS,
                        max_height=620,
                        padding=True,
                    )
                    ui.original = gr.DownloadButton("Original file", visible=False, size="sm")
            with gr.Accordion("Settings", open=False):
                self._settings(ui)
            with gr.Accordion("Documents", open=False):
                self._documents(ui)
            ui.demo = demo
            self._connect(ui)
            gr.api(self.api_ask, api_name="ask")
        return demo

    def _chat(self, ui: SimpleNamespace) -> None:
        ui.chat = gr.HTML(
            _EMPTY_CHAT,
            elem_id="rag-chat",
            js_on_load=_CHAT_JS,
            autoscroll=True,
            max_height=620,
            padding=True,
        )
        with gr.Row():
            ui.question = gr.Textbox(
                placeholder="Ask a question…",
                show_label=False,
                scale=5,
                min_width=180,
                elem_id="rag-question",
                max_length=MAX_QUESTION_CHARS,
            )
            ui.ask = gr.Button("Ask", variant="primary", scale=1, min_width=70)
        # The order questions were asked in this page, numbered in the browser as they are sent.
        ui.sequence = gr.Number(visible=False, precision=0)
        ui.examples = [gr.Button(q, size="sm") for q in self._examples()]

    def _settings(self, ui: SimpleNamespace) -> None:
        ui.k = gr.Slider(1, 20, value=5, step=1, label="Passages to retrieve and cite (k)")
        ui.only = gr.Dropdown(
            self._choices(),
            value=[],
            multiselect=True,
            label="Only these documents",
            info="Leave empty to search all documents.",
        )
        ui.threshold = gr.Slider(
            0,
            1,
            value=MIN_CONFIDENCE,
            step=0.01,
            label="Confidence threshold",
            info="Below it the reply says the documents do not answer.",
        )

    def _documents(self, ui: SimpleNamespace) -> None:
        ui.table = gr.Dataframe(
            self._rows(),
            headers=["Title", "Chunks", "File"],
            interactive=False,
            wrap=True,
            elem_id="rag-documents",
        )
        if self.read_only:
            gr.Markdown("This server answers questions only: documents cannot be added here.")
            ui.files = ui.folder = ui.add_folder = ui.status = None
            return
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        ui.files = gr.File(
            file_count="multiple",
            file_types=sorted(SUPPORTED_SUFFIXES),
            elem_id="rag-upload",
            label=f"Add files ({kinds}; up to {MAX_UPLOAD_BYTES // 2**20} MB each)",
        )
        with gr.Row(visible=self.folders):
            ui.folder = gr.Textbox(label="…or a folder on this computer", scale=4)
            ui.add_folder = gr.Button("Index folder", scale=1, min_width=100)
        ui.status = gr.Textbox(label="Indexing", interactive=False, lines=2, elem_id="rag-status")

    def _connect(self, ui: SimpleNamespace) -> None:
        settings = [ui.k, ui.only, ui.threshold]
        reads = dict(api_visibility="private", show_progress="minimal")
        # Every question is answered, in the order asked, however quickly they come: a trigger
        # fires again while its last answer is pending ("multiple"), and each answer takes its
        # turn's place in the session's transcript (``reply``). A typed question leaves the box
        # at once, so a reply never wipes what is being typed next.
        for trigger in (ui.ask.click, ui.question.submit):
            trigger(
                self.reply,
                [ui.question, ui.sequence, *settings],
                ui.chat,
                js=_SEND_JS.replace("CLEAR", "true"),
                trigger_mode="multiple",
                **reads,
            )
        for button in ui.examples:
            button.click(
                self.reply,
                [button, ui.sequence, *settings],
                ui.chat,
                js=_SEND_JS.replace("CLEAR", "false"),
                trigger_mode="multiple",
                **reads,
            )
        ui.chat.click(self.open_citation, None, [ui.source, ui.original], **reads)
        # Every page load (a reload, another tab) shows the index as it is now, uploads included.
        ui.demo.load(self._lists, None, [ui.table, ui.only], **reads)
        if self.read_only:
            return  # no handler that changes the index exists, so none can be called
        # Index updates run one at a time (Index.sync also holds its own write lock); questions
        # go on being answered from the snapshot of the index that was current when they came.
        writes = dict(
            concurrency_limit=1,
            concurrency_id="writes",
            api_visibility="private",
            show_progress_on=[ui.status],
        )
        updated = [ui.status, ui.table, ui.only, ui.files]
        ui.files.upload(self.add_files, ui.files, updated, **writes)
        ui.add_folder.click(self.add_folder, ui.folder, updated, **writes)

    def reply(
        self,
        question: str,
        sequence: float | None,
        k: float,
        only: list[str],
        threshold: float,
        request: gr.Request,
    ):
        """Answer from the chat: the session's transcript with the new turn in its place (the
        order ``sequence`` numbers the questions in, as the page sent them)."""
        question = (question or "").strip()
        if not question:
            return gr.skip()
        session = request.session_hash if request else ""
        turns, slot = self._transcript.reserve(session, int(sequence or 0))
        try:
            answer = rag.ask(
                self.index,
                *_checked(question, k),
                sources=list(only) or None,
                min_confidence=float(threshold),
            )
            turn = render_answer(answer)
        except _ERRORS as exc:
            turn = render_error(question, str(exc))
        return f'<div class="rag-chat">{self._transcript.fill(turns, slot, turn)}</div>'

    def open_citation(self, event: gr.EventData):
        """The source view for a clicked citation, and the original file to download."""
        try:
            target = json.loads(event.cite)
            if not isinstance(target, dict):
                raise ValueError("a citation is a JSON object")
            view = render_source(
                self.index,
                target.get("source"),
                target.get("start"),
                target.get("end"),
                target.get("answer_start"),
                target.get("answer_end"),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return render_error("", f"Cannot open this citation: {exc}"), gr.skip()
        label = f"Original file: {Path(target['source']).name}"
        return view, gr.DownloadButton(label, value=target["source"], visible=True)

    def add_files(self, paths: list[str] | None, progress=_PROGRESS):
        """Index uploaded files: check each, copy the good ones into the uploads folder, sync."""
        if self.read_only:  # never connected then; refused all the same
            raise gr.Error("This server answers questions only.", print_exception=False)
        lines, accepted = [], []
        for path, reason in _rejections([Path(p) for p in paths or []]):
            if reason:
                lines.append(f"Rejected {path.name}: {reason}")
                continue
            self.uploads.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.uploads / path.name)
            accepted.append(path.name)
        if accepted:
            progress(0, desc=f"Indexing {len(accepted)} file(s)")
            lines.insert(0, self._sync(self.uploads))
        return "\n".join(lines) or "No files given.", *self._lists(), None

    def add_folder(self, folder: str, progress=_PROGRESS):
        """Index (or re-index) a folder given by its path on this computer."""
        path = Path((folder or "").strip()).expanduser()
        if self.read_only:
            raise gr.Error("This server answers questions only.", print_exception=False)
        if not self.folders:
            return "Adding folders by path is turned off on this server.", *self._lists(), None
        if not folder or not path.is_dir():
            message = f"Not a folder: {folder!r}. Give the full path of a folder on this computer."
            return message, *self._lists(), None
        progress(0, desc=f"Indexing {path}")
        return self._sync(path), *self._lists(), None

    def api_ask(
        self,
        question: str,
        k: int = 5,
        min_confidence: float = MIN_CONFIDENCE,
        sources: list[str] | None = None,
    ) -> dict:
        """Answer a question from the indexed documents; the same object as `rag ask --json`,
        with the same checks.

        Args:
            question: the question.
            k: passages to retrieve and cite (default 5).
            min_confidence: below it the answer is "not found" (default 0.06, as `rag ask`).
            sources: only search these indexed documents (their paths, as `rag info` lists
                them); empty or null for all.
        """
        try:
            if sources is not None and not (
                isinstance(sources, list) and all(isinstance(s, str) for s in sources)
            ):
                raise ValueError("sources must be a list of document paths, or null")
            answer = rag.ask(
                self.index,
                *_checked(question, k),
                sources=sources or None,
                min_confidence=float(min_confidence),
            )
            return answer.to_dict()
        except (*_ERRORS, TypeError) as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    def _sync(self, path: Path) -> str:
        try:
            report = self.index.sync([path], progress=True)
        except (*_ERRORS, OSError) as exc:
            return f"Nothing was indexed: {exc}"
        self.allowed_paths[:] = [d.source for d in self.index.documents]
        parts = [
            f"{len(report.added)} added{_names(report.added)}",
            f"{len(report.updated)} updated{_names(report.updated)}",
            f"{len(report.removed)} removed{_names(report.removed)}",
            f"{len(report.unchanged)} unchanged",
        ]
        lines = [
            f"Indexed {path.name or path}: {', '.join(parts)} in {report.seconds:.1f} s. "
            f"The index holds {len(self.index.documents)} documents, "
            f"{self.index.chunk_count()} chunks."
        ]
        lines += [f"Skipped {Path(s.source).name}: {s.reason}" for s in report.skipped]
        lines += [f"Cut short {Path(s.source).name}: {s.reason}" for s in report.truncated]
        return "\n".join(lines)

    def _rows(self) -> list[list]:
        return [
            [d.title, self.index.chunk_count(d.source), Path(d.source).name]
            for d in self.index.documents
        ]

    def _choices(self) -> list[tuple[str, str]]:
        return [(f"{d.title} ({Path(d.source).name})", d.source) for d in self.index.documents]

    def _lists(self) -> tuple[list[list], gr.Dropdown]:
        """The documents table and the document filter, after the index changed."""
        return self._rows(), gr.Dropdown(choices=self._choices())

    def _examples(self) -> list[str]:
        sample = str(SAMPLE_CORPUS)
        return EXAMPLES if any(d.source.startswith(sample) for d in self.index.documents) else []


_HASH = "pbkdf2_sha256"
_ITERATIONS = 600_000  # OWASP's 2023 figure for PBKDF2-HMAC-SHA256


def hash_password(password: str, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    """``pbkdf2_sha256$iterations$salt$hash`` (hex), for a line of an ``--auth-file``."""
    import hashlib

    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{_HASH}${iterations}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    import hashlib
    import hmac

    try:
        kind, iterations, salt, digest = stored.split("$")
        if kind != _HASH:
            return False
        mine = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), bytes.fromhex(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(mine.hex(), digest)


def load_auth_file(path: str | Path):
    """A ``(user, password) -> bool`` for gradio from a file of ``user:hash`` lines.

    Raises:
        ValueError: unreadable, empty, or a line is not ``user:pbkdf2_sha256$…``.
    """
    try:
        lines = Path(path).read_text("utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read --auth-file {path}: {exc.strerror or exc}") from exc
    users = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        user, _, stored = line.strip().partition(":")
        if not user or not stored.startswith(f"{_HASH}$"):
            raise ValueError(
                f"--auth-file {path}, line {number}: expected 'user:hash' made by "
                "'python app.py --hash-password USER'"
            )
        users[user] = stored
    if not users:
        raise ValueError(f"--auth-file {path} names no user")
    return lambda user, password: user in users and check_password(password, users[user])


def _sign_in(args):
    """The sign-in the arguments ask for; ValueError when serving beyond this computer without
    one and without ``--no-auth``."""
    if args.auth_file:
        return load_auth_file(args.auth_file)
    if args.auth:
        user, _, password = args.auth.partition(":")
        if not user or not password:
            raise ValueError("--auth takes USER:PASSWORD")
        return [(user, password)]
    if args.host not in _LOOPBACK and not args.no_auth:
        raise ValueError(
            f"serving on {args.host} lets anyone who can reach it ask and add documents: give "
            "--auth-file FILE (lines from 'python app.py --hash-password USER'), or --no-auth "
            "to allow it (add --read-only to refuse uploads)"
        )
    return None


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


class _Transcripts:
    """Each browser session's chat turns, kept here rather than in the page's state: answers
    computed at once each fill the place of their question, in the order the page numbered the
    questions, so none overwrites another and they stay in the order asked."""

    MAX_TURNS = 200
    MAX_SESSIONS = 1000

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, list[tuple[int, list[str]]]] = {}

    def reserve(self, session: str, sequence: int) -> tuple[list, list[str]]:
        """The session's turns and an empty place for question ``sequence``, among them in order."""
        with self._lock:
            turns = self._sessions.pop(session, [])
            self._sessions[session] = turns  # most recent last: the oldest session goes first
            while len(self._sessions) > self.MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            place = [""]
            at = len(turns)
            while at and turns[at - 1][0] > sequence:
                at -= 1
            turns.insert(at, (sequence, place))
            del turns[: max(0, len(turns) - self.MAX_TURNS)]
            return turns, place

    def fill(self, turns: list, place: list[str], turn: str) -> str:
        """Put ``turn`` in its place; the transcript's HTML (places still pending show nothing)."""
        with self._lock:
            place[0] = turn
            return "".join(cell[0] for _, cell in turns)


def _names(sources: list[str], most: int = 5) -> str:
    """' (a.txt, b.txt)' for a few files, '' for none."""
    if not sources:
        return ""
    names = [Path(s).name for s in sources[:most]]
    return f" ({', '.join(names)}{', …' if len(sources) > most else ''})"


def _checked(question: str, k) -> tuple[str, int]:
    """The question and k, within the limits a shared server sets (ValueError otherwise)."""
    if len(question) > MAX_QUESTION_CHARS or not 1 <= int(k) <= MAX_K:
        raise ValueError(
            f"ask at most {MAX_QUESTION_CHARS} characters with k from 1 to {MAX_K}, "
            f"got {len(question)} characters and k={k}"
        )
    return question, int(k)


def _rejections(paths: list[Path]) -> list[tuple[Path, str | None]]:
    """Each uploaded file with why it cannot be indexed, or None when it can.

    The files are read as a sync would read them (in worker processes, within the upload
    limits), so a hostile upload is refused before it is copied into the uploads folder.
    """
    reasons: dict[Path, str | None] = {}
    for path in paths:
        if path.suffix.lower() in REFUSED_SUFFIXES:
            reasons[path] = REFUSED_SUFFIXES[path.suffix.lower()]
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            reasons[path] = f"unsupported file type '{path.suffix or '(none)'}': use {kinds}"
        elif path.name.startswith("."):
            reasons[path] = "hidden files (names starting with '.') are not indexed"
    to_read = [p for p in paths if p not in reasons]
    for path, result in zip(to_read, extract_files(to_read, UPLOAD_LIMITS), strict=True):
        reasons[path] = None if result.document else result.note
    return [(path, reasons[path]) for path in paths]


def _open_index(path: Path, docs: list[str]) -> rag.Index:
    """Load the index at ``path`` and bring it up to date with ``docs``, or build it there."""
    uploads = path / "uploads"
    sources = [*docs, *([uploads] if uploads.is_dir() else [])]
    verb = "Updating" if rag.Index.exists(path) else "Building"
    print(f"{verb} the index at {path} from {', '.join(map(str, sources))}…", flush=True)
    index = rag.Index.build(sources, path=path, progress=True)
    report = index.last_report
    print(
        f"{len(index.documents)} documents ({index.chunk_count()} chunks): "
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged.",
        flush=True,
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped.source}: {skipped.reason}", flush=True)
    return index


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Serve the rag web chat on localhost.")
    parser.add_argument(
        "--index", default="index", metavar="DIR", help="index folder (default index)"
    )
    parser.add_argument(
        "--docs",
        nargs="+",
        default=[str(SAMPLE_CORPUS)],
        metavar="PATH",
        help="files or folders to index (default: the sample corpus)",
    )
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--auth-file",
        metavar="FILE",
        help="sign-in: lines 'user:hash' made by --hash-password (needed beyond this computer)",
    )
    parser.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="one sign-in, for a quick test (not for a shared server)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve beyond this computer without sign-in: anyone who can reach the port may ask "
        "(and upload, unless --read-only)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="questions only: no uploads or folders"
    )
    parser.add_argument(
        "--hash-password",
        metavar="USER",
        help="print a line for --auth-file (the password is read from the terminal or stdin)",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
