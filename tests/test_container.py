"""Hostile containers: zip bombs, entity expansion, encryption, truncation, corruption. Each is
skipped with its reason, in the worker processes, within the memory budget; nothing crashes."""

import io
import sys
import zipfile

import pytest
from conftest import PROJECT

from rag._container import open_zip
from rag.errors import ExtractionError
from rag.ingest import IngestLimits, extract_files

sys.path.insert(0, str(PROJECT / "eval"))
import format_files  # noqa: E402

EXPECTED = {
    "zip-bomb.docx": "over the 268,435,456-byte limit (a zip bomb",
    "billion-laughs.xlsx": "declares XML entities",
    "encrypted.docx": "password-protected or encrypted",
    "zip-password.odt": "password-protected (its parts are encrypted)",
    "truncated.docx": "truncated or corrupt",
    "corrupt.pptx": "truncated or corrupt",
    "not-a-book.epub": "truncated or corrupt",
    "macros.docm": "macro-enabled",
    "broken.msg": "not a readable Outlook message",
}


def test_each_hostile_container_is_skipped_with_its_reason(tmp_path):
    made = format_files.write_hostile(tmp_path)
    assert set(made) == set(EXPECTED)
    limits = IngestLimits()
    paths = sorted(str(tmp_path / name) for name in made)
    results = extract_files(paths, limits)
    for result in results:
        name = result.source.rsplit("/", 1)[-1]
        assert result.document is None, name
        assert EXPECTED[name] in result.note, (name, result.note)
        assert result.worker_peak_mb < limits.memory_mb


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "prolog",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>',
        b'<?xml version="1.0"?>\n<!-- note -->\n<!DOCTYPE d [\n  <!entity a SYSTEM "file:///etc/passwd">\n]><d/>',
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY a "b">]><d/>'.encode(
            "utf-16-le"
        ),
    ],
)
def test_xml_declaring_entities_is_refused(prolog):
    with pytest.raises(ExtractionError, match="declares XML entities"):
        open_zip(_zip({"content.xml": prolog}), "OpenDocument file", 10**8)


def test_a_plain_doctype_without_entities_is_fine():
    xhtml = b'<?xml version="1.0"?><!DOCTYPE html><html><body><p>Hi</p></body></html>'
    assert open_zip(_zip({"chapter.xhtml": xhtml}), "EPUB book", 10**8).namelist()


def test_unpacked_size_limit_counts_every_member():
    data = _zip({f"part{i}.xml": b"<a/>" + b" " * 400_000 for i in range(10)})
    with pytest.raises(ExtractionError, match="unpacks to 4,000,040 bytes"):
        open_zip(data, "Word file", 1_000_000)


def test_billion_laughs_in_word_and_opendocument_files_too(tmp_path, format_files):
    folder, _ = format_files
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]><x>&l2;</x>'
    )
    for name, part in (
        ("annual-report.docx", "word/document.xml"),
        ("training-minutes.odt", "content.xml"),
    ):
        source = zipfile.ZipFile(folder / name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as target:
            for item in source.infolist():
                target.writestr(item, laughs if item.filename == part else source.read(item))
        (tmp_path / name).write_bytes(buffer.getvalue())
    results = extract_files(sorted(str(p) for p in tmp_path.iterdir()), IngestLimits())
    assert all(r.document is None and "declares XML entities" in r.note for r in results)
