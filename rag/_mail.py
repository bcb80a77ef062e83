"""Saved e-mails: ``.eml`` through the standard ``email`` package, Outlook ``.msg`` through
extract-msg. The subject is the title; From, To, Cc and Date are kept as a header block; the body
is the plain-text part, or the HTML part through the HTML reader. Attachments of a readable type
follow the message, each as pages of their own named "message.eml › report.pdf" (their own pages,
slides and rows inside), read by the same readers as files are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag._layout import Layout
from rag.errors import ExtractionError

MAX_ATTACHMENTS = 50


@dataclass(frozen=True)
class Part:
    """What a reader made of one attachment: its text and locations (offsets into that text)."""

    text: str
    locations: tuple[tuple[int, str], ...]
    note: str = ""


# (attachment file name, its bytes) -> what the file readers made of it; None when its type is
# not one they read. Given by ``rag._extract``, which knows every format.
ReadAttachment = Callable[[str, bytes], Part | None]

_HEADERS = ("From", "To", "Cc", "Date")


def read_eml(
    data: bytes, name: str, layout: Layout, read_attachment: ReadAttachment
) -> tuple[str, list[str]]:
    """(title, notes) of an ``.eml`` message laid out into ``layout``."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(data)
    subject = _header(message, "Subject")
    layout.mark("message")
    for field in ("Subject", *_HEADERS):
        value = _header(message, field)
        if value:
            layout.add(f"{field}: {value}")
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        layout.add(_body_text(body.get_content(), body.get_content_type() == "text/html"))
    attachments = []
    for part in message.iter_attachments():
        filename = part.get_filename() or ""
        if filename and len(attachments) < MAX_ATTACHMENTS:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                attachments.append((filename, payload))
    return subject, _add_attachments(layout, name, attachments, read_attachment)


def read_msg(
    data: bytes, name: str, layout: Layout, read_attachment: ReadAttachment
) -> tuple[str, list[str]]:
    """(title, notes) of an Outlook ``.msg`` message laid out into ``layout``."""
    import io

    import extract_msg

    try:
        # A file object, never bytes: olefile takes bytes under 1,536 long for a path to open.
        message = extract_msg.openMsg(io.BytesIO(data), delayAttachments=False)
    except Exception as exc:  # noqa: BLE001 - the library's failures on bad files are open-ended
        raise ExtractionError(f"not a readable Outlook message: {exc}") from exc
    try:
        subject = " ".join((message.subject or "").split())
        layout.mark("message")
        fields = {
            "Subject": subject,
            "From": message.sender,
            "To": message.to,
            "Cc": message.cc,
            "Date": message.date.isoformat(" ") if message.date else "",
        }
        for field, value in fields.items():
            if value:
                layout.add(f"{field}: {' '.join(str(value).split())}")
        body = message.body
        if body and body.strip():
            layout.add(_body_text(body, False))
        elif message.htmlBody:
            html = message.htmlBody
            html = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
            layout.add(_body_text(html, True))
        attachments = []
        for attachment in message.attachments[:MAX_ATTACHMENTS]:
            filename = getattr(attachment, "longFilename", None) or getattr(
                attachment, "shortFilename", None
            )
            payload = getattr(attachment, "data", None)
            if filename and isinstance(payload, bytes):
                attachments.append((filename, payload))
    finally:
        message.close()
    return subject, _add_attachments(layout, name, attachments, read_attachment)


def _header(message, field: str) -> str:
    try:
        return " ".join(str(message.get(field, "") or "").split())
    except (ValueError, TypeError, IndexError):  # a malformed header: keep the rest
        return ""


def _body_text(content: str, html: bool) -> str:
    if html:
        from rag._html import extract_html

        return extract_html(content)[0]
    return content


def _add_attachments(layout: Layout, name: str, attachments, read_attachment) -> list[str]:
    """Each readable attachment as a page of the message; the notes on those skipped."""
    notes = []
    for filename, payload in attachments:
        try:
            part = read_attachment(filename, payload)
        except ExtractionError as exc:
            notes.append(f"attachment {filename} not read: {exc}")
            continue
        if part is None:
            continue
        label = f"{name} › {filename}"
        layout.page(label)
        _add_part(layout, part, label)
        if part.note:
            notes.append(f"attachment {filename}: {part.note}")
    return notes


def _add_part(layout: Layout, part: Part, label: str) -> None:
    """The attachment's text, its own locations kept under the attachment's name."""
    marks = list(part.locations) or [(0, "")]
    if marks[0][0] > 0:
        marks.insert(0, (0, ""))
    ends = [start for start, _ in marks[1:]] + [len(part.text)]
    for (start, where), end in zip(marks, ends, strict=True):
        layout.mark(f"{label}, {where}" if where else label)
        layout.add(part.text[start:end])
