"""rag.cite: answers and sources as HTML, highlighted, escaped, and only for indexed documents."""

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import rag
from rag.cite import (
    CONTEXT_CHARS,
    document_key,
    render_answer,
    render_citations,
    render_documents,
    render_error,
    render_source,
)

SAMPLE_CORPUS = Path(__file__).resolve().parent.parent / "data" / "counter-trafficking"

HEAD_OF_UNIT = "Who is the Head of Unit of INTPA G6?"
HOSTILE = (
    "# Harbour <img src=x onerror=\"alert('title')\"> Report\n\n"
    "The harbour master of Port Elwin is Tomasz Wierzbicki.\n"
    "<script>alert('script')</script><img src=x onerror=\"alert('img')\">\n"
    'Her motto is " onmouseover="alert(\'attr\')" data-x=" and ${7*7} {{value}} `tick`.\n'
)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _marked(fragment: str, element_id: str) -> str:
    """The text inside the element with this id, nested elements included."""

    class _Inside(HTMLParser):
        depth, text = 0, ""

        def handle_starttag(self, tag, attrs):
            if self.depth or dict(attrs).get("id") == element_id:
                self.depth += 1

        def handle_endtag(self, tag):
            self.depth = max(0, self.depth - 1)

        def handle_data(self, data):
            self.text += data if self.depth else ""

    parser = _Inside(convert_charrefs=True)
    parser.feed(fragment)
    assert f'id="{element_id}"' in fragment, f"no #{element_id} in the HTML"
    return parser.text


def _hostile_index(embedder, tmp_path) -> rag.Index:
    (tmp_path / "harbour.md").write_text(HOSTILE, encoding="utf-8")
    index = rag.Index(embedder)
    index.sync([tmp_path / "harbour.md"])
    return index


@pytest.fixture(scope="module")
def head_of_unit(sample_index):
    return rag.ask(sample_index, HEAD_OF_UNIT)


def test_answer_is_highlighted_inside_the_cited_sentence(head_of_unit):
    reply = render_answer(head_of_unit)
    quote = re.search(r'<blockquote class="rag-quote">(.*?)</blockquote>', reply).group(1)
    assert '<mark class="rag-answer">Francesco Luciani</mark>' in quote
    assert "Head of Unit, INTPA G6- Migration and Forced Displacement" in quote
    assert 'class="rag-answer-text">Francesco Luciani</strong>' in reply
    assert f"confidence {head_of_unit.confidence:.2f}" in reply


def test_citations_are_numbered_buttons_carrying_document_version_and_offsets(head_of_unit):
    reply = render_answer(head_of_unit)
    buttons = [a for tag, a in _Elements(reply).tags if tag == "button"]
    listed = [b for b in buttons if b["class"] == "rag-cite"]
    assert [b["data-n"] for b in listed] == [str(c.n) for c in head_of_unit.citations]
    first = json.loads(listed[0]["data-cite"])
    cited = head_of_unit.citations[0]
    assert len(cited.file_sha256) == 64
    assert first == {
        "doc": document_key(cited.source),
        "version": cited.file_sha256,
        "start": cited.start,
        "end": cited.end,
        "answer_start": cited.answer_start,
        "answer_end": cited.answer_end,
    }
    assert any("rag-cite-inline" in b["class"] for b in buttons)  # the [1] after the sentence
    assert str(Path(cited.source).parent) not in reply  # file names only, never the server's path


def test_a_reply_can_be_copied_as_plain_text(head_of_unit):
    copy = next(a for tag, a in _Elements(render_answer(head_of_unit)).tags if a.get("data-copy"))
    text = copy["data-copy"]
    assert text.startswith(f"Q: {head_of_unit.question}\nAnswer: Francesco Luciani (confidence ")
    assert f'"{head_of_unit.sentence}"' in text
    first = head_of_unit.citations[0]
    assert f"[1] {first.title}" in text and f"({Path(first.source).name})" in text


def test_a_citation_of_a_changed_document_highlights_nothing_and_says_so(
    sample_index, head_of_unit
):
    cited = head_of_unit.citations[0]
    spans = (cited.start, cited.end, cited.answer_start, cited.answer_end)
    same = render_source(sample_index, cited.source, *spans, version=cited.file_sha256)
    assert 'id="cite-answer"' in same and "has changed" not in same
    changed = render_source(sample_index, cited.source, *spans, version="0" * 64)
    assert "<mark" not in changed
    assert "This document has changed since the answer that cites it" in changed
    # Offsets that no longer fit the new text are no error: the note says why nothing is marked.
    beyond = render_source(sample_index, cited.source, 10**9, 10**9 + 5, version="0" * 64)
    assert "has changed" in beyond


def test_documents_table_names_files_and_offers_open_and_remove(sample_index):
    table = render_documents(sample_index)
    tags = _Elements(table).tags
    keys = {document_key(d.source) for d in sample_index.documents}
    assert {a["data-open"] for _, a in tags if "data-open" in a} == keys
    assert {a["data-remove"] for _, a in tags if "data-remove" in a} == keys
    assert f"{len(sample_index.documents)} documents" in table
    assert "data-remove" not in render_documents(sample_index, removable=False)
    assert str(SAMPLE_CORPUS) not in table


def test_not_found_says_so_and_lists_closest_passages(sample_index):
    answer = rag.ask(sample_index, "What is the boiling point of mercury?")
    reply = render_answer(answer)
    assert not answer.found
    assert "do not answer this question" in reply
    assert "rag-answer" not in reply
    assert reply.count('class="rag-snippet"') == len(answer.citations) > 0


def test_citation_shows_its_page():
    citation = rag.Citation(2, "Report", "/d/r.pdf", 7, 0, 5, None, None, "Hello", 0, 5)
    assert "Report, page 7" in render_citations([citation])
    assert render_citations([]) == ""


def test_question_title_and_passage_text_are_escaped():
    text = "<script>alert(1)</script> said \"x\" onclick='y' ${7*7}"
    title = '<img src=x onerror="alert(1)">'
    citation = rag.Citation(1, title, '/d/a"b.txt', None, 0, len(text), 0, 8, text, 0, len(text))
    answer = rag.Answer("<b>who</b>?", "<script>", True, 0.9, text, [citation])
    reply = render_answer(answer)
    tags = _Elements(reply).tags
    allowed = {"div", "p", "span", "strong", "blockquote", "mark", "button", "ol", "li"}
    assert {tag for tag, _ in tags} <= allowed
    assert all(not name.startswith("on") for _, attrs in tags for name in attrs)
    assert '<mark class="rag-answer">&lt;script&gt;</mark>alert(1)&lt;/script&gt;' in reply
    assert "&lt;b&gt;who&lt;/b&gt;?" in reply
    assert "${" not in reply and "&#36;&#123;7*7&#125;" in reply
    cite = next(a["data-cite"] for t, a in tags if t == "button")
    assert json.loads(cite)["doc"] == document_key('/d/a"b.txt')
    assert "/d/a" not in reply


def test_error_turn_is_escaped():
    turn = render_error("<i>q</i>", "bad <value>")
    assert "&lt;i&gt;q&lt;/i&gt;" in turn and "bad &lt;value&gt;" in turn
    assert "rag-question" not in render_error("", "message only")


def test_source_view_marks_the_sentence_and_the_answer(sample_index, head_of_unit):
    cited = head_of_unit.citations[0]
    view = render_source(
        sample_index, cited.source, cited.start, cited.end, cited.answer_start, cited.answer_end
    )
    document = sample_index.document(cited.source)
    assert _marked(view, "cite-answer") == "Francesco Luciani"
    assert _marked(view, "cite-sentence") == document.text[cited.start : cited.end]
    assert html.escape(document.title) in view
    assert "A long document" not in view  # short documents are shown whole
    text = html.unescape(re.sub(r"<[^>]+>", "", view.split('class="rag-source-text">', 1)[1]))
    assert text == document.text


def test_source_view_without_offsets_shows_the_document_unmarked(sample_index):
    source = sample_index.documents[0].source
    view = render_source(sample_index, source)
    assert "<mark" not in view and "rag-source-text" in view


@pytest.mark.parametrize(
    "make_path",
    [
        lambda s: "../" * 12 + "etc/passwd",
        lambda s: "/etc/passwd",
        lambda s: s.rsplit("/", 1)[0] + "/../counter-trafficking/" + s.rsplit("/", 1)[1],
        lambda s: s.rsplit("/", 1)[1],  # the bare file name
        lambda s: s + "/",
        lambda s: s.upper(),
        lambda s: "",
        lambda s: None,
        lambda s: [s],
    ],
    ids=["dotdot", "absolute", "non-normalised", "name", "slash", "case", "empty", "none", "list"],
)
def test_source_view_refuses_anything_but_an_indexed_source(sample_index, make_path):
    path = make_path(sample_index.documents[0].source)
    with pytest.raises(ValueError, match="is not a document in this index"):
        render_source(sample_index, path, 0, 5)


def test_source_view_refuses_an_existing_file_that_is_not_indexed(sample_index, tmp_path):
    stray = tmp_path / "secret.txt"
    stray.write_text("not for the browser")
    with pytest.raises(ValueError, match="is not a document in this index"):
        render_source(sample_index, str(stray))


@pytest.mark.parametrize(
    ("start", "end", "answer_start", "answer_end", "message"),
    [
        (10, 5, None, None, "sentence offsets 10–5"),
        (0, 10**9, None, None, "outside"),
        ("0", "5", None, None, "two integers"),
        (True, 5, None, None, "two integers"),
        (0, 5, 4, 9, "answer offsets 4–9 are outside 0–5"),
        (0, 5, 2, None, "two integers"),
    ],
)
def test_source_view_refuses_offsets_that_do_not_fit(
    sample_index, start, end, answer_start, answer_end, message
):
    source = sample_index.documents[0].source
    with pytest.raises(ValueError, match=message):
        render_source(sample_index, source, start, end, answer_start, answer_end)


def test_markup_in_a_document_is_shown_as_text(embedder, tmp_path):
    index = _hostile_index(embedder, tmp_path)
    document = index.documents[0]
    answer = rag.ask(index, "Who is the harbour master of Port Elwin?")
    assert answer.found and answer.text == "Tomasz Wierzbicki"
    cited = answer.citations[0]
    for fragment in (
        render_answer(answer),
        render_source(
            index, cited.source, cited.start, cited.end, cited.answer_start, cited.answer_end
        ),
    ):
        parsed = _Elements(fragment)
        assert not any(tag in ("script", "img") for tag, _ in parsed.tags)
        assert all(not name.startswith("on") for _, attrs in parsed.tags for name in attrs)
        assert not re.search(r"[{}$`]", fragment)  # nothing a template engine could evaluate
    view = render_source(index, document.source)
    assert "".join(_Elements(view).text).endswith(document.text)  # every character, as text


def test_long_document_shows_the_passage_in_context(embedder, tmp_path):
    filler = [f"Line {i} talks about the weather in the valley, it was mild." for i in range(400)]
    filler[200] = "The lighthouse keeper of Vardo is Ingrid Solberg."
    (tmp_path / "long.txt").write_text("\n".join(filler), encoding="utf-8")
    index = rag.Index(embedder)
    index.sync([tmp_path / "long.txt"])
    answer = rag.ask(index, "Who is the lighthouse keeper of Vardo?")
    cited = answer.citations[0]
    view = render_source(
        index, cited.source, cited.start, cited.end, cited.answer_start, cited.answer_end
    )
    text = index.document(cited.source).text
    assert _marked(view, "cite-answer") == "Ingrid Solberg"
    assert "A long document: showing the cited passage in its context" in view
    shown = html.unescape(re.sub(r"<[^>]+>", "", view.split('class="rag-source-text">', 1)[1]))
    assert "Line 0 " not in shown and "Line 399 " not in shown
    assert shown.startswith("…") and shown.endswith("…")
    assert len(shown) <= 2 * CONTEXT_CHARS + (cited.end - cited.start) + 2
    assert shown.strip("…") in text


def test_pdf_source_view_names_the_page_and_marks_page_breaks(embedder, tmp_path):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=12)
    pages = ("The first page is about tides.", "The ferry captain of Sula is Erik Dahl.")
    for line in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, line)
    pdf.output(str(tmp_path / "ferry.pdf"))
    index = rag.Index(embedder)
    index.sync([tmp_path / "ferry.pdf"])
    answer = rag.ask(index, "Who is the ferry captain of Sula?")
    cited = answer.citations[0]
    assert cited.page == 2
    view = render_source(
        index, cited.source, cited.start, cited.end, cited.answer_start, cited.answer_end
    )
    assert " · page 2" in view
    assert '<span class="rag-page-break">page 2</span>' in view
    assert _marked(view, "cite-answer") == "Erik Dahl"
    assert ", page 2" in render_answer(answer)


def _with_confidence(answer: rag.Answer, confidence: float) -> rag.Answer:
    """The answer with another confidence and one candidate: another word of its passage."""
    import dataclasses

    cited = answer.citations[0]
    word = re.search(r"[A-Z][a-z]{4,}", cited.text)
    start = cited.passage_start + word.start()
    candidate = rag.Candidate(
        word.group(0), confidence / 2, cited.n, start, start + len(word.group(0)), start,
        start + len(word.group(0)),
    )  # fmt: skip
    return dataclasses.replace(answer, confidence=confidence, candidates=[candidate])


def test_an_uncertain_answer_says_so_and_lists_the_candidates(sample_index, head_of_unit):
    from rag.answer import UNCERTAIN_BELOW

    answer = _with_confidence(head_of_unit, UNCERTAIN_BELOW / 2)
    reply = render_answer(answer)
    assert "Uncertain answer:" in reply and "rag-uncertain" in reply
    assert f"Confidence below {UNCERTAIN_BELOW:.2f}" in reply
    (candidate,) = answer.candidates
    assert f'<span class="rag-candidate-text">{candidate.text}</span>' in reply
    listed = reply.split('<ul class="rag-candidates">', 1)[1].split("</ul>", 1)[0]
    (button,) = [a for tag, a in _Elements(listed).tags if tag == "button"]
    target = json.loads(button["data-cite"])
    assert (target["answer_start"], target["answer_end"]) == (
        candidate.answer_start,
        candidate.answer_end,
    )
    key = target.pop("doc")
    source = next(d.source for d in sample_index.documents if document_key(d.source) == key)
    view = render_source(sample_index, source, **target)
    assert _marked(view, "cite-answer") == candidate.text


def test_a_confident_answer_is_shown_plainly(head_of_unit):
    reply = render_answer(_with_confidence(head_of_unit, 0.9))
    assert "Answer:" in reply and "Uncertain" not in reply and "rag-candidates" not in reply


def test_citations_name_their_file_and_show_other_sentences():
    answer_citation = rag.Citation(
        1, "Report", "/srv/data/report.pdf", 2, 0, 5, 0, 5, "Hello world.", 0, 12, "page 2"
    )
    other = rag.Citation(
        2, "Report", "/srv/data/notes.txt", None, 0, 13, None, None, "Second thing.", 0, 13, ""
    )
    html = rag.cite.render_citations([answer_citation, other])
    assert 'Report, page 2</span> <span class="rag-source-file">report.pdf</span>' in html
    assert "notes.txt" in html and "Second thing." in html
    assert html.count('class="rag-snippet"') == 1  # the answer's sentence is quoted above
