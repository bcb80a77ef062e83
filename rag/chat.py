"""The web chat's work, without a web framework: answers as transcript HTML, citations and
documents opened in their source, files added and documents removed, each with a status line.

``app.py`` lays these out in a Gradio page; everything a test needs to reach is here.

>>> chat = Chat(index, uploads=Path("index/uploads"))
>>> html = chat.reply("a-session", 1, "Who heads IOM's Counter-Trafficking Division?")
>>> view, source = chat.open_citation(button_data_cite)   # the JSON a [1] button carries

The page never holds a server path: documents are named by ``document_key`` and shown by file
name only.
"""

from __future__ import annotations

import functools
import json
import shutil
import threading
from pathlib import Path

import rag
from embeddings import EmbeddingError
from rag.answer import MIN_CONFIDENCE
from rag.cite import (
    document_key,
    render_answer,
    render_documents,
    render_error,
    render_source,
)
from rag.ingest import REFUSED_SUFFIXES, SUPPORTED_SUFFIXES, IngestLimits, extract_files

__all__ = ["Chat", "Transcripts"]

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
UPLOAD_LIMITS = IngestLimits(max_file_bytes=MAX_UPLOAD_BYTES, timeout_s=30.0)
MAX_QUESTION_CHARS = 2000
MAX_K = 50
ERRORS = (rag.RagError, EmbeddingError, ValueError, FileNotFoundError, PermissionError)


class Chat:
    """What the page's controls do, over one index.

    Args:
        index: the index questions are answered from and files are added to.
        uploads: where uploaded files are kept (they are indexed from there).
        folders: whether a visitor may index a folder of this computer by its path.
        read_only: questions only: adding and removing documents are refused.
    """

    def __init__(self, index: rag.Index, uploads: Path, folders: bool = False, read_only=False):
        self.index = index
        self.uploads = uploads
        self.folders = folders and not read_only
        self.read_only = read_only
        self.transcripts = Transcripts()
        self.changes = 0  # documents added or removed through this chat: open pages catch up

    # Questions ---------------------------------------------------------------------------------

    def reply(
        self,
        session: str,
        sequence: int,
        question: str,
        k: int = 5,
        only: list[str] | None = None,
        threshold: float = MIN_CONFIDENCE,
    ) -> str | None:
        """The session's transcript as HTML with this question's turn in its place (``sequence``
        numbers the questions in the order the page sent them), or None when the conversation
        was cleared while it was answered; ``only``: document keys."""
        turns, place = self.transcripts.reserve(session, sequence)
        try:
            sources = [self._source(key) for key in only or []]
            answer = rag.ask(
                self.index,
                *checked(question, k),
                sources=sources or None,
                min_confidence=float(threshold),
            )
            turn = render_answer(answer)
        except ERRORS as exc:
            turn = render_error(question, str(exc))
        transcript = self.transcripts.fill(session, turns, place, turn)
        return None if transcript is None else f'<div class="rag-chat">{transcript}</div>'

    def answer_json(self, question: str, k=5, min_confidence=MIN_CONFIDENCE, sources=None) -> dict:
        """The object of ``rag ask --json``, with the same checks; ``sources``: document paths.

        Raises:
            ValueError, TypeError, RagError: a bad question, k, threshold or source.
        """
        if not isinstance(question, str):
            raise TypeError("question must be a string")
        if sources is not None and not (
            isinstance(sources, list) and all(isinstance(s, str) for s in sources)
        ):
            raise ValueError("sources must be a list of document paths, or null")
        answer = rag.ask(
            self.index,
            *checked(question, k),
            sources=sources or None,
            min_confidence=float(min_confidence),
        )
        return answer.to_dict()

    # Sources -----------------------------------------------------------------------------------

    def open_citation(self, cite: str) -> tuple[str, str | None]:
        """The source view for a citation button's ``data-cite`` JSON, and the file it shows
        (None when it cannot be shown: the view then says why)."""
        try:
            target = json.loads(cite)
            if not isinstance(target, dict):
                raise ValueError("a citation is a JSON object")
            source = self._source(target.get("doc"))
            view = render_source(
                self.index,
                source,
                target.get("start"),
                target.get("end"),
                target.get("answer_start"),
                target.get("answer_end"),
                version=target.get("version") or None,
            )
        except (ValueError, TypeError) as exc:
            return render_error("", f"Cannot open this citation: {exc}"), None
        return view, source

    def open_document(self, key: str) -> tuple[str, str | None]:
        """A document's source view, from the documents list."""
        try:
            source = self._source(key)
            return render_source(self.index, source), source
        except ValueError as exc:
            return render_error("", f"Cannot open this document: {exc}"), None

    def documents_html(self) -> str:
        """The documents list: title, file name, chunks, and Open (and Remove) for each."""
        return render_documents(self.index, removable=not self.read_only)

    def choices(self) -> list[tuple[str, str]]:
        """The document filter's (label, document key) pairs."""
        return [
            (f"{d.title} ({Path(d.source).name})", document_key(d.source))
            for d in self.index.documents
        ]

    # Changing the index --------------------------------------------------------------------------

    def add_files(self, paths: list[Path], progress: bool = False) -> str:
        """Index uploaded files: check each, copy the good ones into the uploads folder, sync.
        Returns the status: what was added, rejected, skipped and why."""
        self._check_writable()
        lines, accepted = [], 0
        for path, reason in rejections(paths):
            if reason:
                lines.append(f"Rejected {path.name}: {reason}")
                continue
            self.uploads.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.uploads / path.name)
            accepted += 1
        if accepted:
            lines.insert(0, self._sync(self.uploads, progress))
        elif lines:
            lines.insert(0, "Nothing was added.")
        if any(line.startswith("Rejected") for line in lines):
            lines.append(f"Accepted types: {', '.join(sorted(SUPPORTED_SUFFIXES))}.")
        return "\n".join(lines) or "No files given."

    def add_folder(self, folder: str, progress: bool = False) -> str:
        """Index (or re-index) a folder given by its path on this computer; the status."""
        self._check_writable()
        if not self.folders:
            return "Adding folders by path is turned off on this server."
        path = Path((folder or "").strip()).expanduser()
        if not (folder or "").strip() or not path.is_dir():
            return f"Not a folder: {folder!r}. Give the full path of a folder on this computer."
        return self._sync(path, progress)

    def remove(self, key: str) -> str:
        """Take a document out of the index (an uploaded file's copy is deleted too); the status.

        Raises:
            PermissionError: on a read-only server.
        """
        self._check_writable()
        try:
            source = self._source(key)
            self.index.remove([source])
        except (*ERRORS, OSError) as exc:
            return f"Nothing was removed: {exc}"
        finally:
            self.changes += 1
        name = Path(source).name
        uploaded = Path(source).parent == self.uploads.resolve()
        if uploaded:
            Path(source).unlink(missing_ok=True)
        where = (
            "its uploaded copy is deleted"
            if uploaded
            else "the file itself is untouched, and comes back when its folder is indexed again"
        )
        return (
            f"Removed {name} from the index ({where}). The index holds "
            f"{len(self.index.documents)} documents, {self.index.chunk_count()} chunks."
        )

    def _sync(self, path: Path, progress: bool) -> str:
        try:
            report = self.index.sync([path], progress=progress)
        except (*ERRORS, OSError) as exc:
            return f"Nothing was indexed: {exc}"
        finally:
            self.changes += 1
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
        # The reason says "cut short: …" itself.
        lines += [f"{Path(s.source).name}: {s.reason}" for s in report.truncated]
        return "\n".join(lines)

    def _check_writable(self) -> None:
        if self.read_only:
            raise PermissionError("this server answers questions only: documents cannot change")

    @functools.lru_cache(maxsize=1_000_000)  # noqa: B019 - one Chat per server; sources are str
    def _key(self, source: str) -> str:
        return document_key(source)  # a sha256 per source once, not per document per click

    def _source(self, key) -> str:
        """The indexed document a page's key names (ValueError when none does)."""
        if isinstance(key, str):
            for document in self.index.documents:
                if self._key(document.source) == key:
                    return document.source
        raise ValueError("no such document in the index (it may have been removed)")


class Transcripts:
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

    def fill(self, session: str, turns: list, place: list[str], turn: str) -> str | None:
        """Put ``turn`` in its place; the transcript's HTML (places still pending show nothing),
        or None when the session's transcript was cleared meanwhile."""
        with self._lock:
            place[0] = turn
            if self._sessions.get(session) is not turns:
                return None
            return "".join(cell[0] for _, cell in turns)

    def clear(self, session: str) -> None:
        """Forget the session's turns (answers still pending are dropped with them)."""
        with self._lock:
            self._sessions.pop(session, None)


def checked(question: str, k) -> tuple[str, int]:
    """The question and k, within the limits a shared server sets (ValueError otherwise)."""
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS or not 1 <= int(k) <= MAX_K:
        raise ValueError(
            f"ask at most {MAX_QUESTION_CHARS} characters with k from 1 to {MAX_K}, "
            f"got {len(question)} characters and k={k}"
        )
    return question, int(k)


def rejections(paths: list[Path]) -> list[tuple[Path, str | None]]:
    """Each uploaded file with why it cannot be indexed, or None when it can.

    The files are read as a sync would read them (in worker processes, within the upload
    limits), so a hostile upload is refused before it is copied into the uploads folder.
    """
    reasons: dict[Path, str | None] = {}
    for path in paths:
        suffix = path.suffix.lower()
        if suffix in REFUSED_SUFFIXES:
            reasons[path] = REFUSED_SUFFIXES[suffix]
        elif suffix not in SUPPORTED_SUFFIXES:
            reasons[path] = f"unsupported file type '{path.suffix or '(none)'}'"
        elif path.name.startswith("."):
            reasons[path] = "hidden files (names starting with '.') are not indexed"
    to_read = [p for p in paths if p not in reasons]
    for path, result in zip(to_read, extract_files(to_read, UPLOAD_LIMITS), strict=True):
        reasons[path] = None if result.document else result.note
    return [(path, reasons[path]) for path in paths]


def _names(sources: list[str], most: int = 5) -> str:
    """' (a.txt, b.txt)' for a few files, '' for none."""
    if not sources:
        return ""
    names = [Path(s).name for s in sources[:most]]
    return f" ({', '.join(names)}{', …' if len(sources) > most else ''})"
