"""rag/answer.py: extracted answers with cited spans on the sample corpus, or "not found"."""

import json
from pathlib import Path

import pytest

import rag
from rag.answer import DEFAULT_K, MAX_CANDIDATES, MIN_CONFIDENCE, UNCERTAIN_BELOW

QUESTIONS = [
    ("Who heads IOM's Counter-Trafficking Division?", "Richard Danziger", "001_"),
    ("Since what year has the US been funding IOM's anti-trafficking activities?", "1998", "001_"),
    ("Who is IOM's regional representative in Islamabad?", "Hassan Abdel Moneim Mostafa", "002_"),
    # A rephrasing the hand-written span rules refused (issue 9).
    (
        "Who gave the concluding remarks at the end of the conference in Islamabad?",
        "Hassan Abdel Moneim Mostafa",
        "002_",
    ),
    ("What position does Nicole Voorhuis hold?", "Senior Public Prosecutor", "003_"),
    # An answer in a list item. The sample set's longer "… INTPA G6 - Migration and Forced
    # Displacement?" gets the next item's name since the made negatives (README).
    ("Who is the Head of Unit of INTPA G6?", "Francesco Luciani", "004_"),
]
OFF_TOPIC = "What is the boiling point of mercury?"
ANSWER_KEYS = {"question", "answer", "found", "confidence", "sentence", "citations", "candidates"}
CANDIDATE_KEYS = {"answer", "confidence", "citation", "start", "end", "answer_start", "answer_end"}
CITATION_KEYS = {
    "n",
    "title",
    "source",
    "location",
    "page",
    "start",
    "end",
    "answer_start",
    "answer_end",
    "text",
    "file_sha256",
}


@pytest.fixture(scope="module")
def answer_of(sample_index):
    """rag.ask with default settings, each question asked once per module."""
    answers: dict[str, rag.Answer] = {}

    def ask(question: str) -> rag.Answer:
        if question not in answers:
            answers[question] = rag.ask(sample_index, question)
        return answers[question]

    return ask


def test_defaults():
    assert DEFAULT_K == 5
    assert 0.0 < MIN_CONFIDENCE < UNCERTAIN_BELOW < 1.0


@pytest.mark.parametrize(("question", "expected", "prefix"), QUESTIONS)
def test_sample_questions(sample_index, answer_of, question, expected, prefix):
    answer = answer_of(question)
    assert answer.found
    assert " ".join(answer.text.split()) == expected
    assert 0.0 <= answer.confidence <= 1.0
    assert expected in answer.sentence

    (cited,) = [c for c in answer.citations if c.answer_start is not None]
    assert Path(cited.source).name.startswith(prefix)
    document = sample_index.document(cited.source)
    assert " ".join(document.text[cited.answer_start : cited.answer_end].split()) == expected
    assert cited.start <= cited.answer_start < cited.answer_end <= cited.end
    assert " ".join(document.text[cited.start : cited.end].split()) == answer.sentence
    assert cited.title == document.title


def test_citations_are_numbered_passages(sample_index, answer_of):
    answer = answer_of(QUESTIONS[2][0])
    assert 1 <= len(answer.citations) <= DEFAULT_K
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        document = sample_index.document(citation.source)
        assert document.text[citation.passage_start : citation.passage_end] == citation.text
        assert citation.passage_start <= citation.start < citation.end <= citation.passage_end


def test_off_topic_question_is_not_found(sample_index, answer_of):
    answer = answer_of(OFF_TOPIC)
    assert not answer.found
    assert answer.text == "" and answer.sentence == ""
    assert 0.0 <= answer.confidence < MIN_CONFIDENCE
    assert answer.citations  # the closest passages are still shown
    for citation in answer.citations:
        assert citation.answer_start is None and citation.answer_end is None
        assert sample_index.document(citation.source) is not None


def test_to_dict_has_the_json_shape(answer_of):
    answer = answer_of(QUESTIONS[0][0])
    data = json.loads(json.dumps(answer.to_dict()))
    assert set(data) == ANSWER_KEYS
    assert data["question"] == QUESTIONS[0][0]
    assert (data["answer"], data["found"]) == (answer.text, True)
    assert data["citations"] and all(set(c) == CITATION_KEYS for c in data["citations"])
    assert data["citations"][0]["n"] == 1


@pytest.mark.parametrize("min_confidence", [-0.1, 1.5])
def test_bad_min_confidence(sample_index, min_confidence):
    with pytest.raises(ValueError, match=r"min_confidence must be in \[0, 1\]"):
        rag.ask(sample_index, QUESTIONS[0][0], min_confidence=min_confidence)


def test_empty_question(sample_index):
    with pytest.raises(ValueError, match="empty"):
        rag.ask(sample_index, "  ")


def test_threshold_decides_found(sample_index, answer_of):
    lenient = rag.ask(sample_index, OFF_TOPIC, min_confidence=0.0)
    assert lenient.found and lenient.text
    assert lenient.confidence == pytest.approx(answer_of(OFF_TOPIC).confidence)


def test_answer_lies_in_content_inside_its_passage(sample_index, answer_of):
    """A span never crosses a passage boundary and never lands in boilerplate (site navigation)."""
    for question, _, _ in QUESTIONS:
        answer = answer_of(question)
        (cited,) = [c for c in answer.citations if c.answer_start is not None]
        assert cited.n == 1
        assert cited.passage_start <= cited.answer_start < cited.answer_end <= cited.passage_end
        document = sample_index.document(cited.source)
        assert any(
            s <= cited.answer_start and cited.answer_end <= e for s, e in document.content_spans
        )


def test_boilerplate_is_never_the_answer(embedder, tmp_path):
    shared = "Contact: the director of the Centre is Paul Navarro, tel. 555 0100.\n"
    facts = [
        "The harbour museum opened in 1987. Its director is Lena Ortiz.",
        "The river ferry runs every hour. It was built in 1950.",
        "The old mill grinds flour. Farmers bring wheat in August.",
    ]
    for i, fact in enumerate(facts):
        (tmp_path / f"page{i}.txt").write_text(shared + fact + "\n", encoding="utf-8")
    index = rag.Index(embedder)
    index.sync([tmp_path])
    answer = rag.ask(index, "Who is the director?", min_confidence=0.0)
    assert "Navarro" not in answer.text
    for citation in answer.citations:
        assert "Navarro" not in citation.text


def test_to_dict_lists_the_candidates(answer_of):
    answer = answer_of("Who is the Deputy Secretary of the Ministry of Home Affairs of Bangladesh?")
    data = json.loads(json.dumps(answer.to_dict()))
    assert isinstance(data["candidates"], list)
    for candidate in data["candidates"]:
        assert set(candidate) == CANDIDATE_KEYS


def test_candidates_are_other_spans_of_the_cited_passages(sample_index, answer_of):
    answer = answer_of("Who is the Deputy Secretary of the Ministry of Home Affairs of Bangladesh?")
    assert answer.found and answer.candidates
    assert len(answer.candidates) <= MAX_CANDIDATES
    confidences = [c.confidence for c in answer.candidates]
    assert confidences == sorted(confidences, reverse=True)
    assert all(MIN_CONFIDENCE <= c <= answer.confidence for c in confidences)
    texts = [answer.text] + [c.text for c in answer.candidates]
    assert len(set(texts)) == len(texts)
    citations = {c.n: c for c in answer.citations}
    for candidate in answer.candidates:
        cited = citations[candidate.citation]
        text = sample_index.document(cited.source).text
        span = text[candidate.answer_start : candidate.answer_end]
        assert " ".join(span.split()) == candidate.text
        assert cited.passage_start <= candidate.answer_start < candidate.answer_end
        assert candidate.answer_end <= cited.passage_end
        assert candidate.start <= candidate.answer_start < candidate.answer_end <= candidate.end


def test_not_found_has_no_candidates(answer_of):
    assert answer_of(OFF_TOPIC).candidates == []


@pytest.mark.parametrize("k", [1, 3, 5])
def test_every_passage_k_retrieves_is_read(sample_index, monkeypatch, k):
    from rag import answer as answer_module

    reader = answer_module.default_reader()
    read = []

    def spy(question, passages, per_passage=1):
        read.append(len(passages))
        return type(reader).read(reader, question, passages, per_passage)

    monkeypatch.setattr(reader, "read", spy)
    answer = rag.ask(sample_index, QUESTIONS[0][0], k=k)
    assert read == [k] and len(answer.citations) == k


def test_an_unrelated_document_leaves_a_found_answer_unchanged(embedder, sample_copy):
    import sys

    from conftest import PROJECT

    sys.path.insert(0, str(PROJECT / "eval"))
    from robustness import DANZIGER, filler_text

    index = rag.Index(embedder)
    index.sync([sample_copy])
    before = rag.ask(index, DANZIGER)
    # This much filler, this often using the question's phrase, ranks the passage 3rd of 5:
    # past the 2 passages the reader used to read, inside the k it reads now.
    filler = filler_text(120_000, phrase_chance=0.2)
    (sample_copy / "field-notes.txt").write_text(filler, encoding="utf-8")
    index.sync([sample_copy])
    hits = index.search(DANZIGER, k=DEFAULT_K)
    rank = next(n for n, h in enumerate(hits, 1) if "Richard Danziger" in h.text)
    assert rank > 2 and any(h.source.endswith("field-notes.txt") for h in hits)
    after = rag.ask(index, DANZIGER)
    assert before.found and after.found
    assert after.text == before.text == "Richard Danziger"
    assert after.confidence == pytest.approx(before.confidence, abs=0.02)


@pytest.fixture(scope="module")
def format_index(format_files, embedder):
    folder, module = format_files
    index = rag.Index(embedder)
    report = index.sync([folder])
    return index, module, report


def _format_facts():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))
    from format_files import FACTS

    return FACTS


@pytest.mark.parametrize("fact", _format_facts(), ids=lambda fact: fact.file)
def test_every_format_round_trips_to_a_cited_answer(format_index, fact):
    """A file of each format, written by its own library: the fact it holds is the answer, cited
    in that file at its location (a section, slide, sheet row, attachment page or OCR page)."""
    index, _, report = format_index
    if fact.file.startswith("scanned"):
        from conftest import needs_tesseract

        needs_tesseract()
    # Only the scanned PDF may be skipped: where Tesseract is missing (its test then skips).
    assert {Path(s.source).name for s in report.skipped} <= {"scanned-letter.pdf"}
    answer = rag.ask(index, fact.question)
    assert answer.found and answer.text == fact.answer
    cited = next(c for c in answer.citations if c.answer_start is not None)
    assert (Path(cited.source).name, cited.location) == (fact.file, fact.location)
    document = index.document(cited.source)
    assert document.text[cited.answer_start : cited.answer_end] == fact.answer
    assert cited.start <= cited.answer_start < cited.answer_end <= cited.end


def test_no_two_citations_cite_the_same_sentence(sample_index):
    """Overlapping chunks can hold the same best sentence: it is cited once, and every
    candidate points at a citation that exists."""
    import json as json_module

    questions = [
        json_module.loads(line)["question"]
        for line in (Path(__file__).resolve().parent.parent / "eval" / "counter-trafficking.jsonl")
        .read_text()
        .splitlines()
    ]
    for question in questions[:25]:
        answer = rag.ask(sample_index, question, k=10)
        keys = [(c.source, c.start, c.end) for c in answer.citations]
        assert len(keys) == len(set(keys)), question
        assert [c.n for c in answer.citations] == list(range(1, len(keys) + 1))
        assert all(1 <= c.citation <= len(keys) for c in answer.candidates)


def test_the_cited_sentence_runs_across_a_hard_line_break(answer_of):
    """The sample page wraps "…a Guide on Best Practices in Combating" onto the next line: the
    quoted sentence starts where the sentence starts, not at the wrapped line."""
    answer = answer_of("Into how many languages was the guide translated?")
    assert answer.text == "nine"
    assert answer.sentence.startswith("As part of the programme, a Guide on Best Practices")
