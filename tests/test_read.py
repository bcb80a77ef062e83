"""rag/read.py and rag/_reader_model.py: the trained span reader and its shipped weights."""

import math
import shutil

import numpy as np
import pytest
from conftest import SAMPLE_CORPUS

from rag import _reader_model
from rag.read import (
    MAX_ANSWER_TOKENS,
    MAX_TOKENS,
    STRIDE,
    _Window,
    calibrated,
    encode_windows,
    load_reader,
    word_logits,
)

FILLER = (
    "The committee met again in the spring to review the budget of the regional office. "
    "Members discussed the schedule of visits, the printing of leaflets and the hiring of staff. "
)


def test_defaults():
    assert STRIDE < MAX_TOKENS
    assert 0 < MAX_ANSWER_TOKENS < STRIDE


def test_shipped_weights_are_verified_and_small():
    path = _reader_model.WEIGHTS_PATH
    assert path.stat().st_size <= 25 * 1024 * 1024
    assert _reader_model.file_sha256(path) == _reader_model.WEIGHTS_SHA256


@pytest.mark.parametrize(
    ("question", "expected", "document"),
    [
        ("Who heads IOM's Counter-Trafficking Division?", "Richard Danziger", "001_"),
        (
            "Who gave the concluding remarks at the end of the conference in Islamabad?",
            "Hassan Abdel Moneim Mostafa",
            "002_",
        ),
        ("Which Dutch prosecutor was among the trainers in China?", "Nicole Voorhuis", "003_"),
    ],
)
def test_reads_the_answer_from_a_sample_document(reader, question, expected, document):
    (path,) = SAMPLE_CORPUS.glob(f"{document}*.txt")
    text = path.read_text(encoding="utf-8")
    decoy = FILLER * 3
    (span,) = reader.read(question, [text, decoy])[:1]
    assert span.passage == 0
    assert expected in " ".join(span.text.split())
    assert text[span.start : span.end] == span.text
    assert 0.0 < span.confidence <= 1.0


def test_a_long_passage_is_read_in_strides(reader):
    passage = FILLER * 20 + "The new director of the regional office is Marta Kowalski. " + FILLER
    windows = encode_windows(reader._tokenizer, "Who is the director of the office?", [passage])
    assert len(windows["input_ids"]) > 2  # several overlapping windows
    (span,) = reader.read("Who is the director of the regional office?", [passage])
    assert span.text == "Marta Kowalski"
    assert passage[span.start : span.end] == "Marta Kowalski"
    assert span.start > len(FILLER * 20) - 1


@pytest.mark.parametrize(
    ("question", "document", "first", "last", "not_crossed"),
    [
        (
            "Who is the Deputy Secretary of the Ministry of Home Affairs of Bangladesh?",
            "004_", "Speakers", "Registration", "\n-",
        ),
        (
            "Who can be contacted at IOM Brussels for further information about the conference?",
            "000_", "Trafficking in Persons was developed", "E-mail:", "\nIOM Brussels",
        ),
    ],
)  # fmt: skip
def test_a_span_never_crosses_a_list_item_or_a_short_line(
    reader, question, document, first, last, not_crossed
):
    # Passages cut as the index chunks them; unconstrained, the reader's span ran across both.
    (path,) = SAMPLE_CORPUS.glob(f"{document}*.txt")
    text = path.read_text(encoding="utf-8")
    passage = text[text.index(first) : text.index(last) + len(last)]
    (span,) = reader.read(question, [passage])
    assert not_crossed not in span.text
    assert passage[span.start : span.end] == span.text


def test_off_topic_passage_has_low_confidence(reader):
    spans = reader.read("What is the boiling point of mercury?", [FILLER * 2])
    assert all(s.confidence < 0.1 for s in spans)


def test_empty_question_and_no_passages(reader):
    with pytest.raises(ValueError, match="empty"):
        reader.read("   ", ["text"])
    assert reader.read("Who?", []) == []
    assert reader.read("Who?", ["  "]) == []


def test_damaged_weights_are_refused(tmp_path):
    copy = tmp_path / "reader.safetensors"
    shutil.copy(_reader_model.WEIGHTS_PATH, copy)
    data = bytearray(copy.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(_reader_model.ReaderWeightsError, match="sha256 .* expected"):
        _reader_model.load_trained(copy, expected_sha256=_reader_model.WEIGHTS_SHA256)


def test_missing_weights_are_refused(tmp_path):
    with pytest.raises(_reader_model.ReaderWeightsError, match="not found.*train_reader"):
        load_reader(tmp_path / "absent.safetensors")


def test_weights_of_another_shape_are_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"head.weight": torch.zeros(3, 3)}, str(path))
    with pytest.raises(_reader_model.ReaderWeightsError, match="do not fit"):
        load_reader(path)


def test_confidence_weighs_the_span_against_no_answer_alone(reader):
    # Spans of slightly different extent share the span probability; the confidence compares
    # the best one with "no answer" only, through the calibration chosen on SQuAD v2.0 dev.
    (path,) = SAMPLE_CORPUS.glob("001_*.txt")
    spans = reader.read(
        "Who heads IOM's Counter-Trafficking Division?", [path.read_text(encoding="utf-8"), FILLER]
    )
    assert len(spans) == 2
    for span in spans:
        assert span.null_difference == pytest.approx(
            math.log(span.probability) - math.log(span.no_answer), abs=1e-3
        )
        assert span.confidence == pytest.approx(calibrated(span.null_difference))
    answer, filler = spans
    assert answer.null_difference > filler.null_difference
    assert answer.confidence > filler.confidence
    assert calibrated(-50.0) < calibrated(0.0) < calibrated(50.0)


def _lantern(team: int) -> tuple[str, str, str]:
    count = str(1000 + team)
    return (
        f"The inspection team number {team} counted {count} lanterns in the harbour of "
        f"Vexmoor{team} on Tuesday.",
        f"How many lanterns did inspection team number {team} count in the harbour of "
        f"Vexmoor{team}?",
        count,
    )


def _at_word_edges(text: str, start: int, end: int) -> bool:
    inside = [p for p in (start, end) if 0 < p < len(text) and text[p - 1 : p + 1].isalnum()]
    return not inside


@pytest.mark.parametrize("team", [5, 6, 8, 15])
def test_a_number_is_never_cut_to_its_first_word_piece(reader, team):
    # "1005" is the word pieces "100" + "##5"; the old reader answered "100" for teams 5, 6, 8.
    sentence, question, count = _lantern(team)
    spans = reader.read(question, [sentence], per_passage=3)
    assert spans[0].text == count
    assert all(_at_word_edges(sentence, s.start, s.end) for s in spans)


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("How long was the conference?", "The two-day conference on counter-trafficking ended."),
        ("Whose representative spoke?", "IOM's regional representative spoke at the event."),
        ("Which office coordinated it?", "It was coordinated by the Vexmoor5 office of IOM."),
        ("How many lanterns were counted?", "The number of lanterns counted was 1005"),
    ],
)
def test_every_span_starts_and_ends_at_a_word_edge(reader, question, passage):
    spans = reader.read(question, [passage], per_passage=5)
    assert spans
    for span in spans:
        assert passage[span.start : span.end] == span.text
        assert _at_word_edges(passage, span.start, span.end), span.text
        assert any(c.isalnum() for c in span.text)


def test_a_span_may_end_the_passage(reader):
    passage = "The number of lanterns counted in the harbour was 1005"
    (span,) = reader.read("How many lanterns were counted in the harbour?", [passage])
    assert span.text == "1005" and span.end == len(passage)


def test_word_logits_put_each_word_on_its_first_and_last_piece(reader):
    # The end logit is highest on "100", the first piece of "1005": as a word, the end may
    # only fall on "##5", and the word's end logit gathers both pieces' probability.
    passage = "counted 1005 lanterns"
    windows = encode_windows(reader._tokenizer, "How many?", [passage])
    tokens = reader._tokenizer.convert_ids_to_tokens(windows["input_ids"][0])
    first, rest = tokens.index("100"), tokens.index("##5")
    size = len(tokens)
    start_logits = np.full(size, -5.0)
    end_logits = np.full(size, -5.0)
    start_logits[first], end_logits[first], end_logits[rest] = 3.0, 4.0, 1.0
    window = _Window(
        start_logits,
        end_logits,
        windows.sequence_ids(0),
        windows["offset_mapping"][0].tolist(),
        np.zeros(size, dtype=int),
        passage,
    )
    starts, ends = word_logits(window)
    assert starts[first] == pytest.approx(np.logaddexp(3.0, -5.0))
    assert ends[first] == -np.inf and starts[rest] == -np.inf
    assert ends[rest] == pytest.approx(np.logaddexp(4.0, 1.0))


def test_per_passage_spans_do_not_overlap(reader):
    (path,) = SAMPLE_CORPUS.glob("004_*.txt")
    text = path.read_text(encoding="utf-8")
    passage = text[text.index("Speakers") : text.index("Registration")]
    spans = reader.read("Who is the Deputy Secretary?", [passage], per_passage=3)
    assert 2 <= len(spans) <= 3
    assert [s.confidence for s in spans] == sorted((s.confidence for s in spans), reverse=True)
    for a in spans:
        for b in spans:
            assert a is b or a.end <= b.start or b.end <= a.start
    with pytest.raises(ValueError, match="per_passage"):
        reader.read("Who?", [passage], per_passage=0)


SAMPLE_QUESTIONS = [
    ("Who heads IOM's Counter-Trafficking Division?", "001_"),
    ("Who is IOM's regional representative in Islamabad?", "002_"),
    ("Which Dutch prosecutor was among the trainers in China?", "003_"),
    ("Who will moderate the panel discussion?", "004_"),
    ("In which city is the European-wide counter-trafficking conference taking place?", "000_"),
]


def test_bfloat16_and_float32_readers_agree(reader, monkeypatch):
    from embeddings import precision as _precision

    if not _precision.bfloat16_supported():
        pytest.skip("this CPU has no bfloat16 units (AMX-BF16 or AVX512-BF16)")
    passages = {
        prefix: next(SAMPLE_CORPUS.glob(f"{prefix}*.txt")).read_text(encoding="utf-8")
        for _, prefix in SAMPLE_QUESTIONS
    }
    read = {}
    for precision in ("float32", "bfloat16"):
        monkeypatch.setenv("RAG_PRECISION", precision)
        read[precision] = [reader.read(q, [passages[p]])[0] for q, p in SAMPLE_QUESTIONS]
    for low, exact in zip(read["bfloat16"], read["float32"], strict=True):
        assert (low.start, low.end) == (exact.start, exact.end)
        assert low.confidence == pytest.approx(exact.confidence, abs=0.05)
