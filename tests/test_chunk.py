"""rag/chunk.py: sentence splitting and sentence-aligned chunks within the model's token limit."""

import random
import time

import pytest
from conftest import SAMPLE_CORPUS
from fpdf import FPDF

from rag.chunk import ChunkSettings, line_blocks, split_document, split_sentences
from rag.ingest import Document, discover_files, extract_file, mark_content


def _sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def _document(text: str, name: str = "note.txt") -> Document:
    (document,) = mark_content([Document(source=name, format="text", text=text, file_sha256="0")])
    return document


@pytest.fixture(scope="module")
def sample_documents() -> list[Document]:
    files, _ = discover_files([SAMPLE_CORPUS])
    return mark_content([extract_file(path) for path in files])


def test_defaults():
    assert ChunkSettings() == ChunkSettings(max_tokens=254, overlap_sentences=1)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_tokens": 15}, "max_tokens must be at least 16, got 15"),
        ({"max_tokens": -1}, "max_tokens must be at least 16, got -1"),
        ({"overlap_sentences": -1}, "overlap_sentences must be >= 0, got -1"),
    ],
)
def test_bad_settings(values, message):
    with pytest.raises(ValueError, match=message):
        ChunkSettings(**values)


# Sentences ----------------------------------------------------------------------------------


def test_hard_wrapped_lines_are_joined():
    text = (
        "A two-day European-wide conference hosted by IOM and aimed at\n"
        "advancing counter-trafficking policies and practices in Europe and\n"
        "at strengthening transnational cooperation networks begins tomorrow\n"
        "in the Belgian capital, Brussels.\n"
        "The event will gather more than 25 representatives from the main\n"
        "national organisations in Europe."
    )
    first, second = _sentences(text)
    assert first.startswith("A two-day") and first.endswith("capital, Brussels.")
    assert second.startswith("The event") and second.endswith("in Europe.")


def test_a_wrapped_line_of_capitalised_names_is_prose_not_a_heading():
    text = (
        "It ended in 2006.\n"
        "As part of the programme, a Guide on Best Practices in Combating\n"
        "Trafficking in Persons was developed and translated into nine\n"
        "languages."
    )
    assert _sentences(text)[1] == text.split("\n", 1)[1]


def test_headline_line_stands_alone():
    text = (
        "Sharing Best Practices to Combat Trafficking in Persons\n"
        "A two-day European-wide conference hosted by IOM and aimed at\n"
        "advancing counter-trafficking policies begins tomorrow."
    )
    assert _sentences(text) == [
        "Sharing Best Practices to Combat Trafficking in Persons",
        "A two-day European-wide conference hosted by IOM and aimed at\n"
        "advancing counter-trafficking policies begins tomorrow.",
    ]


def test_initials_and_abbreviations_do_not_end_sentences():
    text = (
        "Ellen Sauerbrey, U.S. Assistant Secretary of State for\n"
        "Population, Refugees and Migration (PRM), Kelly Ryan, Deputy\n"
        "Assistant Secretary of State of PRM, and Vernon E.L. Burrows,\n"
        "Director of The Bahamas Immigration Department will join Danziger\n"
        "during the presentation. Mr. Danziger met Dr. Ryan in 2006. They spoke."
    )
    assert _sentences(text) == [
        text[: text.index(" Mr.")],
        "Mr. Danziger met Dr. Ryan in 2006.",
        "They spoke.",
    ]


def test_list_items_and_fields_stand_alone():
    text = (
        "Speakers\n- Ishita Rony, Deputy Secretary\n- Audrey Jolivel, Policy Officer\nTel +32 2 235"
    )
    assert _sentences(text) == [
        "Speakers",
        "- Ishita Rony, Deputy Secretary",
        "- Audrey Jolivel, Policy Officer",
        "Tel +32 2 235",
    ]


def test_line_blocks_follow_the_layout_not_the_wrapping():
    wrapped = (
        "Ellen Sauerbrey, U.S. Assistant Secretary of State for\n"
        "Population, Refugees and Migration (PRM), Kelly Ryan, Deputy\n"
        "Assistant Secretary of State of PRM, and Vernon E.L. Burrows,\n"
        "Director of The Bahamas Immigration Department will join Danziger\n"
        "during the presentation."
    )
    assert line_blocks(wrapped) == [(0, len(wrapped))]  # a wrapped sentence is one block
    listing = "Speakers\n- Ann Lee, Director, Office A\n- Bo Chan, Adviser, Office B\n\nRegister"
    blocks = [listing[a:b] for a, b in line_blocks(listing)]
    assert blocks == [
        "Speakers",
        "- Ann Lee, Director, Office A",
        "- Bo Chan, Adviser, Office B",
        "",  # the blank line
        "Register",
    ]
    contact = wrapped + "\nFor more, please contact the office:\nMonica Zanette\nIOM Brussels"
    blocks = [contact[a:b] for a, b in line_blocks(contact)]
    assert blocks[1:] == ["For more, please contact the office:", "Monica Zanette", "IOM Brussels"]
    text = "one line, no breaks"
    assert line_blocks(text, 4, 8) == [(4, 8)]


def test_sentences_of_a_range_are_trimmed_offsets():
    text = "Skip this. \n  Keep one! Keep two?  \nSkip too."
    start, end = text.index("Keep"), text.index("Skip too")
    spans = split_sentences(text, start, end)
    assert [text[a:b] for a, b in spans] == ["Keep one!", "Keep two?"]


# Chunks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [254, 40])
def test_sample_chunks_point_at_their_text(sample_documents, embedder, max_tokens):
    settings = ChunkSettings(max_tokens=max_tokens)
    for document in sample_documents:
        chunks = split_document(document, embedder.count_tokens, settings)
        assert chunks
        for chunk in chunks:
            assert document.text[chunk.start : chunk.end] == chunk.text
            assert chunk.source == document.source
            assert chunk.page is None
            assert any(s <= chunk.start and chunk.end <= e for s, e in document.content_spans)
            assert embedder.count_tokens(chunk.text) <= max_tokens


def test_sample_chunks_leave_out_navigation(sample_documents, embedder):
    for document in sample_documents:
        for chunk in split_document(document, embedder.count_tokens):
            assert "Who we are" not in chunk.text
            assert "WHO WE ARE" not in chunk.text
            assert "mailto:" not in chunk.text


def test_giant_sentence_is_cut_at_word_boundaries(embedder):
    vocabulary = ["harbour", "ferry", "counter-trafficking", "Brussels", "2024", "déjà", "x7"]
    words = [f"{vocabulary[i % len(vocabulary)]}{i}" for i in range(3000)]
    text = " ".join(words)
    document = _document(text)

    chunks = split_document(document, embedder.count_tokens)
    assert len(chunks) > 10
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.text) <= 254
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "
    assert " ".join(chunk.text for chunk in chunks) == text  # nothing lost, nothing repeated


def test_consecutive_chunks_share_one_sentence(embedder):
    text = " ".join(
        f"Ferry number {i} left the harbour at {i} o'clock sharp." for i in range(1, 30)
    )
    document = _document(text)
    sentences = split_sentences(text)

    chunks = split_document(document, embedder.count_tokens, ChunkSettings(max_tokens=60))
    assert len(chunks) >= 5
    for previous, following in zip(chunks, chunks[1:], strict=False):
        assert (following.start, previous.end) in sentences  # exactly one sentence in common
        assert following.start > previous.start
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_no_overlap_when_asked(embedder):
    text = " ".join(
        f"Ferry number {i} left the harbour at {i} o'clock sharp." for i in range(1, 30)
    )
    settings = ChunkSettings(max_tokens=60, overlap_sentences=0)
    chunks = split_document(_document(text), embedder.count_tokens, settings)
    for previous, following in zip(chunks, chunks[1:], strict=False):
        assert text[previous.end : following.start] == " "


def test_chunks_never_cross_a_pdf_page(tmp_path, embedder):
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in (
        "The harbour survey began in spring. The divers mapped the eastern wall and",
        "then moved on to the western pier. The results will be published in June.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    path = tmp_path / "survey.pdf"
    path.write_bytes(bytes(pdf.output()))
    (document,) = mark_content([extract_file(path)])

    chunks = split_document(document, embedder.count_tokens)
    assert [chunk.page for chunk in chunks] == [1, 2]  # the whole text would fit in one chunk
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert document.page_at(chunk.start) == document.page_at(chunk.end - 1) == chunk.page
    assert chunks[0].text.endswith("eastern wall and")
    assert chunks[1].text.startswith("then moved on")


# Hostile files ------------------------------------------------------------------------------


def test_1_mb_line_without_a_sentence_end_is_chunked_in_seconds(tmp_path, embedder):
    vocabulary = "harbour ferry cargo tide pier crane ship dock sail rope wharf anchor".split()
    rng = random.Random(3)
    text = " ".join(rng.choice(vocabulary) for _ in range(175_000))  # 1 MB, one line
    path = tmp_path / "line.txt"
    path.write_text(text)
    (document,) = mark_content([extract_file(path)])
    assert document.content_spans == ((0, len(text)),)

    started = time.perf_counter()
    chunks = split_document(document, embedder.count_tokens)
    assert time.perf_counter() - started < 20  # about 2.5 s; the quadratic cutting took minutes
    assert len(chunks) > 500
    for chunk in chunks:
        assert embedder.count_tokens(chunk.text) <= 254
    assert " ".join(chunk.text for chunk in chunks) == text  # nothing lost, nothing repeated


@pytest.mark.parametrize(
    ("marks", "after", "sentences"),
    [("!" * 1_000_000, " after", 1), ("?!" * 500_000, " after", 1), ("!" * 1_000_000, " After", 2)],
    ids=["exclamation-marks", "question-exclamation", "then-a-capital"],
)
def test_long_runs_of_sentence_marks_split_in_linear_time(marks, after, sentences):
    text = "Wait" + marks + after + "."
    started = time.perf_counter()
    spans = split_sentences(text)
    assert time.perf_counter() - started < 2  # about 0.02 s; backtracking took hours
    assert len(spans) == sentences
    assert (spans[0][0], spans[-1][1]) == (0, len(text))
