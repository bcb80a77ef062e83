"""Bytes of a text file to clean text: the encoding found, binary refused, the text made safe."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from rag.errors import ExtractionError

_WESTERN_PUNCTUATION = frozenset("\u00a0–—‘’‚“”„…•€£¥¢©®™°±·«»§¶×")
# UTF-32 before UTF-16: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 and C1 controls but tab, line feed, form feed and carriage return (U+009B is a terminal's CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# What counts towards "binary": C1 codes are rare in text but too few to tell binary by.
_C0_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Above this share of control characters a "text" file is binary.
MAX_CONTROL_SHARE = 0.05
# Below this many bytes encoding detection is a guess: 2 random bytes "decode" as a CJK character.
MIN_DETECTION_BYTES = 64


def decode_text(data: bytes) -> str:
    """The text of a plain-text file (UTF-8, UTF-16/32 with or without a byte-order mark, or a
    legacy 8-bit encoding), line ends as ``\\n``.

    Raises:
        ExtractionError: empty, binary, or not valid in the encoding its byte-order mark names.
    """
    if not data.strip(b" \t\r\n\f\v\x00"):
        raise ExtractionError("file is empty")
    encoding = _marked_encoding(data) or _wide_encoding(data)
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ExtractionError(f"not valid {encoding} text: {exc.reason}") from exc
    elif data[:8192].count(0) > MAX_CONTROL_SHARE * len(data[:8192]):
        raise ExtractionError("binary content, not text (NUL bytes)")
    else:
        text = _decode_utf8(data) or _decode_legacy(data)
    controls = len(text) - len(_C0_CONTROLS.sub("", text))
    if controls > MAX_CONTROL_SHARE * len(text):
        raise ExtractionError("binary content, not text (control characters)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(text: str, max_chars: int) -> tuple[str, str]:
    """(text safe to store and show, why it was cut short or ""): line ends as ``\\n``, control
    characters and unpaired surrogates gone, at most ``max_chars`` characters."""
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    if len(text) <= max_chars:
        return text, ""
    cut = text.rfind(" ", max_chars - 200, max_chars)
    cut = cut if cut > 0 else max_chars
    return text[:cut], f"cut short: indexed the first {cut:,} of {len(text):,} characters"


def _marked_encoding(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where mostly-ASCII text has zeros."""
    sample = data[: 4096 - 4096 % 4]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    quarter = [sample[i::4].count(0) / (len(sample) / 4) for i in range(4)]
    if min(quarter[1:]) > 0.9 and quarter[0] < 0.5:
        return "utf-32-le"
    if min(quarter[:3]) > 0.9 and quarter[3] < 0.5:
        return "utf-32-be"
    even = (quarter[0] + quarter[2]) / 2
    odd = (quarter[1] + quarter[3]) / 2
    if odd > 0.6 and even < 0.1:
        return "utf-16-le"
    if even > 0.6 and odd < 0.1:
        return "utf-16-be"
    return None


def _decode_utf8(data: bytes) -> str | None:
    """UTF-8, or UTF-8 with a few damaged bytes (each shown as U+FFFD), else None.

    Damaged means at most one bad byte per ten good non-ASCII characters: legacy 8-bit text
    ("café" in Latin-1) has no valid multi-byte sequences at all.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    damaged = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for ch in text if ord(ch) > 127 and ch != "\ufffd")
    return text if good and damaged <= 0.1 * good else None


def _decode_legacy(data: bytes) -> str:
    """Windows-1252 (a superset of Latin-1's printable range) when it reads as Western text.

    Detection alone guesses wrong on short Western text ("très" as cp1257 "trčs", "résumé" as
    UTF-16 "狩獵淩"), so it is only asked when cp1252 gives symbols, controls or mostly non-ASCII.
    """
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    head = text[:65536]
    extra = [ch for ch in head if ord(ch) > 127]
    if (
        head
        and not any(ord(ch) < 32 and ch not in "\n\r\t\f" for ch in head)
        and all(ch.isalpha() or ch in _WESTERN_PUNCTUATION for ch in extra)
        and len(extra) <= 0.5 * sum(ch.isalpha() for ch in head)
    ):
        return text
    if len(data) < MIN_DETECTION_BYTES:
        raise ExtractionError("binary content, not text (too short to tell its encoding)")
    match = from_bytes(data).best()
    if match is None:
        raise ExtractionError("binary content, not text (no text encoding fits)")
    return str(match)
