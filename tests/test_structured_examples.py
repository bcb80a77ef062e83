"""eval/structured_examples.py: made passages laid out as press releases, and their questions."""

import random
import sys
from collections import Counter

import pytest
from conftest import PROJECT

sys.path.insert(0, str(PROJECT / "eval"))
import structured_examples  # noqa: E402

ARTICLES = [
    [
        {
            "context": "Marta Kowalski founded the Harbour Trust in Gdansk in 1998. The Harbour "
            "Trust later opened an office in Warsaw, where Piotr Nowak ran it for ten years.",
            "qas": [
                (
                    "Where did the Harbour Trust open an office?",
                    [{"text": "Warsaw", "answer_start": 104}],
                    False,
                ),
                ("Who closed the Warsaw office?", [], True),
            ],
        },
        {
            "context": "In 2004 Anna Lindqvist of the Nordic Council visited Stockholm and Oslo. "
            "She met Lars Berg of the Baltic Institute and Eva Holm of the Red Cross in Bergen, "
            "and John Carter and Maria Rossi of the European Commission in Brussels.",
            "qas": [],
        },
        {
            "context": "The Geneva Institute hired Tomas Novak and Ingrid Solberg in 2010. The "
            "United Nations funded the Geneva Institute, and the World Bank audited it in Paris.",
            "qas": [],
        },
    ]
]


@pytest.fixture(scope="module")
def examples():
    pytest.importorskip("spacy", reason="made examples need the train extra (make train-setup)")
    sys.path.insert(0, str(PROJECT / "eval"))
    import train_reader

    try:
        nlp = train_reader._english()
    except OSError:
        pytest.skip("the spaCy English pipeline is not installed (make train-setup)")
    return structured_examples.structured_examples(ARTICLES, nlp, random.Random(13), 400)


def test_every_answer_is_the_text_at_its_offset(examples):
    assert len(examples) == 400
    for question, passage, start, answer in examples:
        assert question.endswith("?")
        if start is None:
            assert answer == ""
        else:
            assert answer and passage[start : start + len(answer)] == answer


def test_about_a_third_have_no_answer(examples):
    negatives = sum(1 for e in examples if e[2] is None)
    assert 0.2 < negatives / len(examples) < 0.5


def test_every_layout_is_made(examples):
    passages = [passage for _, passage, _, _ in examples]
    kinds = Counter(
        "contact" if "contact" in p.lower() and ("Tel" in p or "Phone" in p)
        else "fields" if ("When" in p and "Where" in p)
        else "quote" if ("said" in p or "says" in p)
        else "list"
        for p in passages
    )  # fmt: skip
    assert all(kinds[kind] > 30 for kind in ("contact", "fields", "quote", "list")), kinds


def test_a_speaker_list_binds_each_title_to_its_own_line(examples):
    for question, passage, start, answer in examples:
        if question.startswith("Who is the ") and " of " in question and start is not None:
            line = passage[passage.rfind("\n", 0, start) + 1 : passage.find("\n", start)]
            if line.count(",") >= 2 and answer == line.split(",")[0].split("by ")[-1].strip("-• "):
                title = question.removeprefix("Who is the ").split(" of ")[0]
                assert title in line
