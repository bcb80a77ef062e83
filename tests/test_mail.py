"""Saved e-mails: header block, body, attachments read as pages of the message."""

from email.message import EmailMessage

import pytest

from rag.errors import ExtractionError
from rag.ingest import extract_file


def test_message_headers_body_and_attachment(format_files):
    folder, _ = format_files
    document = extract_file(folder / "hotline-update.eml")
    assert (document.format, document.title) == ("email", "Hotline update")
    text = document.text
    assert text.startswith("Subject: Hotline update")
    assert "From: Ana Petrova <ana.petrova@example.org>" in text
    assert "Date: Tue, 03 Mar 2020 09:30:00 +0100" in text
    assert document.location_at(text.index("0800 4747")) == "message"
    manager = text.index("Elira Hoxha")
    assert document.location_at(manager) == "hotline-update.eml › shelter-staff.pdf, page 1"
    assert document.page_at(manager) == 1 and len(document.page_starts) == 1


def test_html_only_message_goes_through_the_html_reader(tmp_path):
    message = EmailMessage()
    message["Subject"] = "Shelter capacity"
    message.set_content("<html><body><p>The shelter has <b>40</b> beds.</p></body></html>", "html")
    (tmp_path / "capacity.eml").write_bytes(bytes(message))
    document = extract_file(tmp_path / "capacity.eml")
    assert "The shelter has 40 beds." in document.text and "<b>" not in document.text


def test_unreadable_attachment_is_noted_and_the_message_kept(tmp_path):
    from rag._extract import IngestLimits, extract

    message = EmailMessage()
    message["Subject"] = "Figures"
    message.set_content("The figures are attached.")
    message.add_attachment(
        b"not a spreadsheet",
        maintype="application",
        subtype="octet-stream",
        filename="figures.xlsx",
    )
    message.add_attachment(b"\x00\x01", maintype="image", subtype="png", filename="logo.png")
    (tmp_path / "figures.eml").write_bytes(bytes(message))
    document, note = extract(tmp_path / "figures.eml", IngestLimits())
    assert "The figures are attached." in document.text
    assert "attachment figures.xlsx not read" in note and "logo.png" not in note


def test_broken_outlook_message_is_skipped_with_its_reason(tmp_path):
    (tmp_path / "broken.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 2048)
    with pytest.raises(ExtractionError, match="not a readable Outlook message"):
        extract_file(tmp_path / "broken.msg")


def test_a_short_outlook_message_is_never_taken_for_a_path(tmp_path):
    """olefile opens bytes under 1,536 long as a file name: a .msg holding the path of another
    message must not index that other file."""
    (tmp_path / "pointer.msg").write_bytes(str(tmp_path / "elsewhere.msg").encode())
    with pytest.raises(ExtractionError, match="not a readable Outlook message") as caught:
        extract_file(tmp_path / "pointer.msg")
    assert "No such file" not in str(caught.value) and str(tmp_path) not in str(caught.value)
