"""Checks on zip containers (Office, OpenDocument, EPUB) before any parser opens them.

A zip member declares its unpacked size and Python's ``zipfile`` never inflates past it, so the
declared sizes bound what reading can cost: a zip bomb is refused from its directory alone. XML
in these formats never carries a document type with entity declarations, so one that does (the
"billion laughs") is refused before a parser sees it.
"""

from __future__ import annotations

import io
import re
import zipfile

from rag.errors import ExtractionError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: how Office stores encryption
MAX_MEMBERS = 20_000
_XML_SUFFIXES = (".xml", ".rels", ".opf", ".ncx", ".xhtml", ".htm", ".html", ".svg")
_PROLOG_BYTES = 64 * 1024
_ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")


def open_zip(data: bytes, kind: str, max_unpacked_bytes: int) -> zipfile.ZipFile:
    """The container, checked: its size unpacked, encryption, and entity declarations in its XML.

    Raises:
        ExtractionError: encrypted or password-protected, not a zip (truncated or corrupt),
            unpacking past ``max_unpacked_bytes``, too many members, or XML declaring entities.
    """
    if data.startswith(OLE_MAGIC):
        raise ExtractionError(
            f"{kind} is password-protected or encrypted (or an old binary Office file): "
            "save it without a password, as a current format"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise ExtractionError(f"{kind} is truncated or corrupt (not a zip: {exc})") from exc
    if len(members) > MAX_MEMBERS:
        raise ExtractionError(f"{kind} holds {len(members):,} parts, over {MAX_MEMBERS:,}")
    if any(member.flag_bits & 0x1 for member in members):
        raise ExtractionError(f"{kind} is password-protected (its parts are encrypted)")
    unpacked = sum(member.file_size for member in members)
    if unpacked > max_unpacked_bytes:
        raise ExtractionError(
            f"{kind} unpacks to {unpacked:,} bytes, over the {max_unpacked_bytes:,}-byte limit "
            "(a zip bomb, or too large to read)"
        )
    for member in members:
        if member.filename.lower().endswith(_XML_SUFFIXES):
            _check_prolog(archive, member, kind)
    return archive


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo, kind: str) -> None:
    """Refuse a part whose XML declares entities before its root element."""
    try:
        with archive.open(member) as handle:
            head = handle.read(_PROLOG_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ExtractionError(f"{kind} is corrupt: part {member.filename} ({exc})") from exc
    root = _ROOT_ELEMENT.search(head)
    prolog = head[: root.start()] if root else head
    if b"<!ENTITY" in prolog.upper() or b"<\x00!\x00E\x00N\x00T" in prolog:
        raise ExtractionError(
            f"{kind} declares XML entities in {member.filename} (an entity-expansion attack); "
            "not read"
        )
