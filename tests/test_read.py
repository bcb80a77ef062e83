"""rag/read.py and rag/_reader_model.py: the trained span reader and its shipped weights."""

import math
import shutil

import pytest
from conftest import SAMPLE_CORPUS

from rag import _reader_model
from rag.read import (
    MAX_ANSWER_TOKENS,
    MAX_TOKENS,
    STRIDE,
    calibrated,
    encode_windows,
    load_reader,
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
