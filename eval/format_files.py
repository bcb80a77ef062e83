"""A folder with one file of every format rag reads, each holding a distinct fact, written by
the formats' own libraries (python-docx, python-pptx, openpyxl, odfpy, ebooklib, email, fpdf2),
and hostile containers of the same formats. Used by eval/bench_formats.py and the tests.

    python eval/format_files.py OUT_FOLDER        # writes the files, prints the questions
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path


@dataclass(frozen=True)
class Fact:
    """A question one file answers: the answer, the file and where in it (the citation's
    location, or "" where the format has none)."""

    file: str
    question: str
    answer: str
    location: str


FACTS = [
    Fact(
        "annual-report.docx",
        "How many survivors did the shelter in Chisinau host in 2019?",
        "214",
        "2. Findings › 2.1 Shelters",
    ),
    Fact(
        "hotline-briefing.pptx",
        "How many calls did the Sofia hotline receive in March?",
        "5,300",
        "slide 3",
    ),
    Fact(
        "assistance-figures.xlsx",
        "How many victims were assisted in Moldova in 2019?",
        "312",
        "sheet Assistance, row 3",
    ),
    Fact("field-offices.csv", "How many staff work at the Vilnius office?", "47", "row 3"),
    Fact(
        "training-minutes.odt",
        "How long did the training course in Tirana last?",
        "eleven days",
        "Training › Course in Tirana",
    ),
    Fact("project-lantern.odp", "Where was Project Lantern launched?", "Dakar", "slide 2"),
    Fact(
        "budget.ods",
        "How much did the translation of the handbook cost?",
        "18,400 euros",
        "sheet Budget, row 3",
    ),
    Fact("field-guide.epub", "Who wrote the field guide?", "Amara Okafor", "chapter 2: Authors"),
    Fact("workshop-notes.rtf", "Where was the regional workshop held?", "Valletta", ""),
    Fact(
        "hotline-update.eml",
        "What is the new hotline number for Albania?",
        "0800 4747",
        "message",
    ),
    Fact(
        "hotline-update.eml",
        "Who manages the shelter in Durres?",
        "Elira Hoxha",
        "hotline-update.eml › shelter-staff.pdf, page 1",
    ),
    Fact(
        "scanned-letter.pdf",
        "How many referrals did the border crossing at Ruse record in 2020?",
        "93",
        "page 1, read by OCR",
    ),
]


def write_all(folder: Path) -> list[Fact]:
    """Write every format's file into ``folder``; the facts they hold."""
    folder.mkdir(parents=True, exist_ok=True)
    write_docx(folder / "annual-report.docx")
    write_pptx(folder / "hotline-briefing.pptx")
    write_xlsx(folder / "assistance-figures.xlsx")
    (folder / "field-offices.csv").write_text(
        "Office,City,Staff,Opened\nBaltic office,Riga,12,2015\nLithuania office,Vilnius,47,2017\n"
        "Nordic office,Helsinki,9,2019\n",
        encoding="utf-8",
    )
    write_odt(folder / "training-minutes.odt")
    write_odp(folder / "project-lantern.odp")
    write_ods(folder / "budget.ods")
    write_epub(folder / "field-guide.epub")
    (folder / "workshop-notes.rtf").write_text(
        r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}\f0\fs24 "
        r"{\b Workshop notes}\par The regional workshop on victim identification was held in "
        r"Valletta in October, with delegates from eleven Mediterranean countries.\par}",
        encoding="ascii",
    )
    write_eml(folder / "hotline-update.eml")
    write_scanned_pdf(
        folder / "scanned-letter.pdf",
        [
            "Border monitoring report",
            "The border crossing at Ruse recorded 93 referrals in 2020. Most of the people "
            "referred were travelling to seasonal agricultural work and had been promised jobs "
            "that did not exist.",
        ],
    )
    return FACTS


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Annual Report 2019"
    document.add_heading("1. Introduction", level=1)
    document.add_paragraph("This report covers the assistance programme in Moldova.")
    document.add_heading("2. Findings", level=1)
    document.add_heading("2.1 Shelters", level=2)
    document.add_paragraph(
        "The shelter in Chisinau hosted 214 survivors in 2019, most of them women referred by "
        "the police."
    )
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(
        table.rows,
        [("Service", "Cases"), ("Legal aid", "88"), ("Medical care", "131")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("2.2 Returns", level=2)
    document.add_paragraph("Forty returns were organised with partner organisations.")
    document.sections[0].header.paragraphs[0].text = "CONFIDENTIAL DRAFT"
    document.save(path)


def write_pptx(path: Path) -> None:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slides = [
        ("Hotline briefing", "Quarterly figures for the national hotlines"),
        ("Staffing", "Six operators work in shifts around the clock."),
        (
            "Call volume",
            "The Sofia hotline received 5,300 calls in March, twice as many as in January.",
        ),
    ]
    for number, (title, body) in enumerate(slides, start=1):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if number == 2:
            slide.notes_slide.notes_text_frame.text = "Mention the new training schedule."
        if number == 3:
            rows = [("Month", "Calls"), ("January", "2,650"), ("March", "5,300")]
            shape = slide.shapes.add_table(3, 2, Inches(1), Inches(5), Inches(4), Inches(1))
            for r, values in enumerate(rows):
                for c, value in enumerate(values):
                    shape.table.cell(r, c).text = value
    presentation.core_properties.title = "Hotline briefing"
    presentation.save(path)


def write_xlsx(path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes.append(["Figures compiled by the regional office."])
    sheet = workbook.create_sheet("Assistance")
    sheet.append(["Country", "Year", "Victims assisted"])
    counts = {"Moldova": (287, 312, 298), "Ukraine": (511, 540, 602), "Romania": (140, 133, 171)}
    for country, by_year in counts.items():  # Moldova's 2019 figure is on row 3
        for year, count in zip((2018, 2019, 2020), by_year, strict=True):
            sheet.append([country, year, count])
    workbook.properties.title = "Assistance figures"
    workbook.save(path)


def write_odt(path: Path) -> None:
    from odf import dc, text
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    document.meta.addElement(dc.Title(text="Training minutes"))
    document.text.addElement(text.H(outlinelevel=1, text="Training"))
    document.text.addElement(text.P(text="Minutes of the partners' meeting."))
    document.text.addElement(text.H(outlinelevel=2, text="Course in Tirana"))
    document.text.addElement(
        text.P(text="The training course in Tirana lasted eleven days and trained 30 inspectors.")
    )
    document.save(str(path))


def write_odp(path: Path) -> None:
    from odf import draw, style, text
    from odf.opendocument import OpenDocumentPresentation

    document = OpenDocumentPresentation()
    layout = style.PageLayout(name="layout")
    document.automaticstyles.addElement(layout)
    master = style.MasterPage(name="master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    for words in ["Project Lantern: an overview", "Project Lantern was launched in Dakar in 2021."]:
        page = draw.Page(masterpagename=master)
        frame = draw.Frame(width="20cm", height="3cm", x="2cm", y="2cm")
        box = draw.TextBox()
        box.addElement(text.P(text=words))
        frame.addElement(box)
        page.addElement(frame)
        document.presentation.addElement(page)
    document.save(str(path))


def write_ods(path: Path) -> None:
    from odf import table, text
    from odf.opendocument import OpenDocumentSpreadsheet

    document = OpenDocumentSpreadsheet()
    sheet = table.Table(name="Budget")
    for values in [
        ("Item", "Cost"),
        ("Printing of leaflets", "2,100 euros"),
        ("Translation of the handbook", "18,400 euros"),
    ]:
        row = table.TableRow()
        for value in values:
            cell = table.TableCell(valuetype="string")
            cell.addElement(text.P(text=value))
            row.addElement(cell)
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    document.save(str(path))


def write_epub(path: Path) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("field-guide-1")
    book.set_title("Field guide")
    book.set_language("en")
    chapters = []
    for number, (heading, body) in enumerate(
        [
            ("Introduction", "This guide helps outreach workers identify victims."),
            ("Authors", "The field guide was written by Amara Okafor with outreach workers."),
        ],
        start=1,
    ):
        chapter = epub.EpubHtml(title=heading, file_name=f"chapter{number}.xhtml", lang="en")
        chapter.content = f"<h1>{heading}</h1><p>{body}</p>"
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    epub.write_epub(str(path), book)


def write_eml(path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "Hotline update"
    message["From"] = "Ana Petrova <ana.petrova@example.org>"
    message["To"] = "partners@example.org"
    message["Date"] = "Tue, 03 Mar 2020 09:30:00 +0100"
    message.set_content(
        "Dear partners,\n\nThe new hotline number for Albania is 0800 4747, free from every "
        "network.\n\nRegards,\nAna"
    )
    message.add_attachment(
        text_pdf(["Shelter staff", "The shelter in Durres is managed by Elira Hoxha."]),
        maintype="application",
        subtype="pdf",
        filename="shelter-staff.pdf",
    )
    path.write_bytes(bytes(message))


def text_pdf(paragraphs: list[str], font_size: int = 12) -> bytes:
    """A PDF with a text layer (fpdf2's core font: Latin-1 text only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=font_size)
    pdf.add_page()
    for paragraph in paragraphs:
        pdf.multi_cell(0, font_size * 0.6, paragraph)
        pdf.ln(font_size * 0.4)
    return bytes(pdf.output())


def write_scanned_pdf(path: Path, paragraphs: list[str], dpi: int = 200) -> None:
    """An image-only PDF: text pages rendered to pictures, as a scanner makes them."""
    write_image_pdf(path, text_pdf(paragraphs), dpi)


def write_image_pdf(path: Path, source_pdf: bytes, dpi: int = 200) -> None:
    """Every page of ``source_pdf`` rendered at ``dpi`` and wrapped as a PDF of images only."""
    import pypdfium2
    from fpdf import FPDF

    document = pypdfium2.PdfDocument(source_pdf)
    pdf = FPDF(unit="pt")
    for page in document:
        width, height = page.get_size()
        image = page.render(scale=dpi / 72, grayscale=True).to_pil()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pdf.add_page(format=(width, height))
        pdf.image(buffer, x=0, y=0, w=width, h=height)
    document.close()
    pdf.output(str(path))


def write_hostile(folder: Path) -> dict[str, str]:
    """Hostile containers; {file name: what it is}."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    # A zip bomb: a Word file whose document part inflates to 1 GB of zeros (1 MB packed).
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(1024):
                member.write(block)
    (folder / "zip-bomb.docx").write_bytes(bomb.getvalue())
    made["zip-bomb.docx"] = "zip bomb (1 GB unpacked)"
    # Billion laughs in a spreadsheet's workbook part.
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
            for i in range(10)
        )
        + ']><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol9;</workbook>'
    )
    clean = io.BytesIO()
    write_xlsx_to = folder / "_clean.xlsx"
    write_xlsx(write_xlsx_to)
    with zipfile.ZipFile(write_xlsx_to) as source, zipfile.ZipFile(clean, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                data = laughs.encode()
            target.writestr(item, data)
    write_xlsx_to.unlink()
    (folder / "billion-laughs.xlsx").write_bytes(clean.getvalue())
    made["billion-laughs.xlsx"] = "XML entity expansion (billion laughs)"
    # Encrypted: Office stores a password-protected file as a compound (OLE) file.
    (folder / "encrypted.docx").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + b"EncryptedPackage" + b"\0" * 4096
    )
    made["encrypted.docx"] = "password-protected Office file"
    # A zip whose members are encrypted (the zip format's own password).
    locked = io.BytesIO()
    with zipfile.ZipFile(locked, "w") as archive:
        archive.writestr("content.xml", "<x/>")
    data = bytearray(locked.getvalue())
    for signature in (b"PK\x03\x04", b"PK\x01\x02"):
        at = data.find(signature)
        flag = at + (6 if signature == b"PK\x03\x04" else 8)
        data[flag] |= 0x1
    (folder / "zip-password.odt").write_bytes(bytes(data))
    made["zip-password.odt"] = "zip with encrypted members"
    # Truncated and corrupt containers.
    report = folder / "_report.docx"
    write_docx(report)
    whole = report.read_bytes()
    report.unlink()
    (folder / "truncated.docx").write_bytes(whole[: len(whole) // 2])
    made["truncated.docx"] = "truncated Word file"
    (folder / "corrupt.pptx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    made["corrupt.pptx"] = "corrupt PowerPoint file"
    (folder / "not-a-book.epub").write_bytes(b"this is not a zip at all " * 100)
    made["not-a-book.epub"] = "an EPUB that is not a zip"
    (folder / "macros.docm").write_bytes(whole)
    made["macros.docm"] = "macro-enabled Word file"
    (folder / "broken.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 2048)
    made["broken.msg"] = "corrupt Outlook message"
    return made


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "format-files")
    for fact in write_all(out):
        print(json.dumps(fact.__dict__))
    write_hostile(out / "hostile")
