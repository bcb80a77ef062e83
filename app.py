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
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

import rag  # noqa: E402
from rag._signin import LOOPBACK, hash_password, load_auth_file, sign_in  # noqa: E402
from rag.answer import MIN_CONFIDENCE, default_reader  # noqa: E402
from rag.chat import ERRORS, MAX_QUESTION_CHARS, MAX_UPLOAD_BYTES, Chat  # noqa: E402
from rag.ingest import SUPPORTED_SUFFIXES  # noqa: E402

__all__ = ["hash_password", "load_auth_file", "main", "serve"]

PROJECT = Path(__file__).resolve().parent
SAMPLE_CORPUS = PROJECT / "data" / "counter-trafficking"
ASK_CONCURRENCY = 16  # questions answered at once; index updates run one at a time
REFRESH_S = 3.0  # how often an open page checks whether another tab changed the documents
EXAMPLES = [
    "Who is the Head of Unit of INTPA G6?",
    "Who heads IOM's Counter-Trafficking Division?",
    "In which Chinese city was the two-day workshop on assisting trafficking victims held?",
    "How much money has the United States contributed to IOM for anti-trafficking activities?",
]
_JS = (PROJECT / "app.js").read_text("utf-8")
_PROGRESS = gr.Progress(track_tqdm=True)  # indexing shows the Reading and Embedding bars
_EMPTY_CHAT = '<p class="rag-empty">Ask a question about the indexed documents.</p>'
_EMPTY_SOURCE = (
    '<p class="rag-empty">Click a citation such as [1], or Open in the documents list, to see '
    "the text.</p>"
)
_HISTORY = '<div class="rag-history-list"></div>'


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.hash_password:
        print(f"{args.hash_password}:{hash_password(_read_password())}")
        return 0
    started = time.perf_counter()
    try:
        auth = sign_in(args.host, args.auth_file, args.auth, args.no_auth)
        index = _open_index(Path(args.index), args.docs)
        default_reader()  # loaded now, so the first question is not the slow one
    except ERRORS as exc:
        print(f"app: error: {exc}", file=sys.stderr)
        return 1
    demo, url = serve(index, host=args.host, port=args.port, auth=auth, read_only=args.read_only)
    if args.host not in LOOPBACK:
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
    ``read_only`` the page cannot add or remove documents, and no handler for it exists.
    """
    uploads = index.path / "uploads" if index.path else Path(tempfile.mkdtemp(prefix="uploads-"))
    chat = Chat(index, uploads, folders=host in LOOPBACK, read_only=read_only)
    page = _Page(chat)
    demo = page.build()
    demo.queue(default_concurrency_limit=ASK_CONCURRENCY)
    demo.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
        allowed_paths=page.allowed_paths,
        max_file_size=MAX_UPLOAD_BYTES,
        footer_links=["api"],
        css_paths=[PROJECT / "app.css"],
        head=f"<script>{_JS}</script>",
        auth=auth,
    )
    demo.allowed_paths = page.allowed_paths  # the same list, updated as documents change
    return demo, demo.local_url


class _Page:
    """The Gradio page over a ``rag.chat.Chat``: layout, and each control wired to it."""

    def __init__(self, chat: Chat):
        self.chat = chat
        # The files the download button may serve: exactly the indexed documents (kept in step
        # with the index, since gradio reads this list on every request).
        self.allowed_paths = [d.source for d in chat.index.documents]

    def build(self) -> gr.Blocks:
        """Chat and source view side by side (stacked on a phone), then settings, documents."""
        with gr.Blocks(title="Ask your documents") as demo:
            gr.Markdown("## Ask your documents\nAnswers are extracted from them, with citations.")
            ui = SimpleNamespace(demo=demo)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    self._chat(ui)
                with gr.Column(scale=2, min_width=300):
                    ui.source = gr.HTML(
                        _EMPTY_SOURCE,
                        elem_id="rag-source",
                        js_on_load="ragSource(element, watch);",
                        max_height=620,
                        padding=True,
                    )
                    ui.original = gr.DownloadButton("Original file", visible=False, size="sm")
            with gr.Accordion("Settings", open=False):
                self._settings(ui)
            with gr.Accordion("Documents", open=False, elem_id="rag-documents-panel"):
                self._documents(ui)
            self._connect(ui)
            gr.api(self.api_ask, api_name="ask")
        return demo

    def _chat(self, ui: SimpleNamespace) -> None:
        ui.chat = gr.HTML(
            _EMPTY_CHAT,
            elem_id="rag-chat",
            js_on_load="ragChat(element, trigger, watch);",
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
            ui.ask = gr.Button("Ask", variant="primary", scale=1, min_width=70, elem_id="rag-ask")
        # The order questions were asked in this page, numbered in the browser as they are sent.
        ui.sequence = gr.Number(visible=False, precision=0)
        ui.examples = [gr.Button(q, size="sm") for q in self._examples()]
        with gr.Accordion("Earlier questions", open=False, elem_id="rag-history-panel"):
            # Kept in this browser only (its local storage), never on the server.
            gr.HTML(_HISTORY, elem_id="rag-history", js_on_load="ragHistory(element);")
        ui.clear = gr.Button("Clear conversation", size="sm", elem_id="rag-clear")

    def _settings(self, ui: SimpleNamespace) -> None:
        ui.k = gr.Slider(
            1, 20, value=5, step=1, label="Passages to retrieve and cite (k)", elem_id="rag-k"
        )
        ui.only = gr.Dropdown(
            self.chat.choices(),
            value=[],
            multiselect=True,
            label="Only these documents",
            info="Leave empty to search all documents.",
            elem_id="rag-only",
        )
        ui.threshold = gr.Slider(
            0,
            1,
            value=MIN_CONFIDENCE,
            step=0.01,
            label="Confidence threshold",
            info="Below it the reply says the documents do not answer.",
            elem_id="rag-threshold",
        )

    def _documents(self, ui: SimpleNamespace) -> None:
        ui.table = gr.HTML(
            self.chat.documents_html(),
            elem_id="rag-documents",
            js_on_load="ragDocuments(element, trigger);",
        )
        ui.seen = gr.State(self.chat.changes)
        if self.chat.read_only:
            gr.Markdown("This server answers questions only: documents cannot be added here.")
            ui.files = ui.folder = ui.add_folder = ui.status = None
            return
        # The status sits above the drop zone, so what an upload did is in view where it starts.
        ui.status = gr.Textbox(
            label="Indexing", interactive=False, lines=2, elem_id="rag-status", autoscroll=False
        )
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        # No file_types: gradio would refuse other types in a toast that vanishes; every file
        # reaches the handler, and the status says which were refused, why, and what is accepted.
        ui.files = gr.File(
            file_count="multiple",
            elem_id="rag-upload",
            label=f"Add files ({kinds}; up to {MAX_UPLOAD_BYTES // 2**20} MB each)",
            height=140,
        )
        with gr.Row(visible=self.chat.folders):
            ui.folder = gr.Textbox(label="…or a folder on this computer", scale=4)
            ui.add_folder = gr.Button("Index folder", scale=1, min_width=100)

    def _connect(self, ui: SimpleNamespace) -> None:
        settings = [ui.k, ui.only, ui.threshold]
        reads = dict(api_visibility="private", show_progress="minimal")
        # Every question is answered, in the order asked, however quickly they come: a trigger
        # fires again while its last answer is pending ("multiple"), and each answer takes its
        # turn's place in the session's transcript. A typed question leaves the box at once
        # (ragSend in app.js), so a reply never wipes what is being typed next.
        for trigger in (ui.ask.click, ui.question.submit):
            trigger(
                self.reply,
                [ui.question, ui.sequence, *settings],
                ui.chat,
                js="(...a) => ragSend(true, ...a)",
                trigger_mode="multiple",
                **reads,
            )
        for button in ui.examples:
            button.click(
                self.reply,
                [button, ui.sequence, *settings],
                ui.chat,
                js="(...a) => ragSend(false, ...a)",
                trigger_mode="multiple",
                **reads,
            )
        ui.clear.click(self.clear, None, ui.chat, **reads)
        ui.chat.click(self.open_citation, None, [ui.source, ui.original], **reads)
        ui.table.select(self.open_document, None, [ui.source, ui.original], **reads)
        # Every page load (a reload, another tab) shows the index as it is now, and an open page
        # catches up within REFRESH_S of a change made in another tab.
        lists = [ui.table, ui.only, ui.seen]
        ui.demo.load(self.lists, [ui.only], lists, **reads)
        gr.Timer(REFRESH_S).tick(
            self.lists_if_changed, [ui.only, ui.seen], lists, queue=False, **reads
        )
        if self.chat.read_only:
            return  # no handler that changes the index exists, so none can be called
        # Index updates run one at a time (Index.sync also holds its own write lock); questions
        # go on being answered from the snapshot of the index that was current when they came.
        writes = dict(
            concurrency_limit=1,
            concurrency_id="writes",
            api_visibility="private",
            show_progress_on=[ui.status],
        )
        updated = [ui.status, ui.files, *lists]
        ui.files.upload(self.add_files, [ui.files, ui.only], updated, **writes)
        ui.add_folder.click(self.add_folder, [ui.folder, ui.only], updated, **writes)
        ui.table.delete(self.remove, [ui.only], updated, **writes)

    # Handlers: each turns what the page sent into a Chat call, and its result into the page.

    def reply(self, question, sequence, k, only, threshold, request: gr.Request):
        """Answer from the chat: the session's transcript with the new turn in its place."""
        if not (question or "").strip():
            return gr.skip()
        session = request.session_hash if request else ""
        html = self.chat.reply(session, int(sequence or 0), question, k, only, threshold)
        return gr.skip() if html is None else html

    def clear(self, request: gr.Request):
        self.chat.transcripts.clear(request.session_hash if request else "")
        return _EMPTY_CHAT

    def open_citation(self, event: gr.EventData):
        """The source view for a clicked citation, and the original file to download."""
        return self._shown(*self.chat.open_citation(getattr(event, "cite", None) or ""))

    def open_document(self, event: gr.EventData):
        return self._shown(*self.chat.open_document(getattr(event, "open", None)))

    def add_files(self, paths: list[str] | None, only, progress=_PROGRESS):
        """Index uploaded files; the status, an emptied drop zone and the new lists."""
        status = self.chat.add_files([Path(p) for p in paths or []], progress=True)
        return status, None, *self._after_change(only)

    def add_folder(self, folder: str, only, progress=_PROGRESS):
        return self.chat.add_folder(folder, progress=True), gr.skip(), *self._after_change(only)

    def remove(self, only, event: gr.EventData):
        status = self.chat.remove(getattr(event, "remove", None))
        return status, gr.skip(), *self._after_change(only)

    def lists(self, only):
        """The documents list and filter as the index is now, and the change they show."""
        keys = {key for _, key in self.chat.choices()}
        chosen = [key for key in only or [] if key in keys]
        filter_ = gr.Dropdown(choices=self.chat.choices(), value=chosen)
        return self.chat.documents_html(), filter_, self.chat.changes

    def lists_if_changed(self, only, seen):
        if seen == self.chat.changes:
            return gr.skip(), gr.skip(), gr.skip()
        return self.lists(only)

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
            return self.chat.answer_json(question, k, min_confidence, sources)
        except (*ERRORS, TypeError) as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

    def _after_change(self, only):
        self.allowed_paths[:] = [d.source for d in self.chat.index.documents]
        return self.lists(only)

    def _shown(self, view: str, source: str | None):
        if source is None:
            return view, gr.skip()
        label = f"Original file: {Path(source).name}"
        return view, gr.DownloadButton(label, value=source, visible=True)

    def _examples(self) -> list[str]:
        sample = str(SAMPLE_CORPUS)
        return (
            EXAMPLES if any(d.source.startswith(sample) for d in self.chat.index.documents) else []
        )


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


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
