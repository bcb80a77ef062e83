"""eval/train_reader.py: the made negatives that stage 2 can add to its made questions."""

import random
import sys

import pytest
from conftest import PROJECT

spacy = pytest.importorskip(
    "spacy", reason="made questions need the train extra (make train-setup)"
)
sys.path.insert(0, str(PROJECT / "eval"))
import train_reader  # noqa: E402

ARTICLE = [
    {
        "context": "The workshop was attended by 85 police officers from the Ministry of Public "
        "Security. It was held in Nanning in November 2016. Kelly Ryan opened the workshop.",
        "qas": [],
    },
    {
        "context": "A later meeting took place in Geneva in March 2018. Ellen Sauerbrey chaired "
        "it for the Bureau of Population, Refugees and Migration.",
        "qas": [],
    },
]


@pytest.fixture(scope="module")
def made():
    """Every made question of the article, and every negative made from them."""
    try:
        return train_reader._made_questions([ARTICLE], 100, random.Random(13), negatives=1.0)
    except OSError:
        pytest.skip("the spaCy English pipeline is not installed (make train-setup)")


def test_made_negatives_have_no_answer_in_what_is_read(made):
    answerable = {q: (context, text) for q, context, start, text in made if start is not None}
    negatives = [(q, c) for q, c, start, _ in made if start is None]
    assert answerable and negatives
    cut = swapped = 0
    for question, context in negatives:
        if question in answerable:  # the answer's sentence was cut out of its paragraph
            original, answer = answerable[question]
            assert len(context) < len(original)
            assert answer.lower() not in context.lower()
            cut += 1
        else:  # a name or number of the question swapped for one the paragraph never mentions
            assert context in {p["context"] for p in ARTICLE}
            swapped += 1
    assert cut and swapped


def test_no_made_negatives_without_the_option():
    try:
        made = train_reader._made_questions([ARTICLE], 100, random.Random(13), negatives=0.0)
    except OSError:
        pytest.skip("the spaCy English pipeline is not installed (make train-setup)")
    assert made and all(start is not None for _, _, start, _ in made)
