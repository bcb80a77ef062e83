"""rag/evaluate.py: metrics on hand-worked cases, loaders, thresholds, `rag eval` end to end."""

import json
import math
import random
import re

import pytest

import rag
from rag import _metrics
from rag.cli import main
from rag.evaluate import (
    Question,
    QuestionResult,
    Report,
    evaluate,
    evaluate_squad,
    load_questions,
    load_squad,
)

CORPUS = {
    "alpha.txt": "The Riverside Library opened in 1987. Its first director was Helen Marsh.\n"
    "The library lends about 40,000 books a year to the people of Riverside.\n",
    "beta.txt": "Greenfield Bakery was founded by Tom Baker in Leeds.\n"
    "The bakery sells sourdough bread every morning from six o'clock.\n",
    "gamma.txt": "The Northern Railway connects Carlisle and Newcastle.\n"
    "The line across the Pennines was completed in 1838.\n",
}
QUESTIONS = [
    {
        "id": "q1",
        "question": "When did the Riverside Library open?",
        "answers": ["1987"],
        "doc": "alpha.txt",
    },
    {
        "id": "q2",
        "question": "Who was the first director of the Riverside Library?",
        "answers": ["Helen Marsh"],
        "doc": "alpha.txt",
    },
    {
        "id": "q3",
        "question": "Who founded Greenfield Bakery?",
        "answers": ["Tom Baker"],
        "doc": "beta.txt",
    },
    {
        "id": "q4",
        "question": "In which year was the Northern Railway line completed?",
        "answers": ["1838"],
        "doc": "gamma.txt",
    },
    {"id": "q5", "question": "What is the boiling point of mercury?", "answers": [], "doc": None},
    {"id": "q6", "question": "Who won the 1998 football World Cup?", "answers": [], "doc": None},
]
REPORT_KEYS = {
    "calibration",
    "dataset",
    "mode",
    "model",
    "k",
    "documents",
    "chunks",
    "n",
    "n_answerable",
    "n_unanswerable",
    "threshold",
    "exact_match",
    "f1",
    "f1_answered",
    "answered_rate",
    "refused_rate",
    "n_right",
    "n_refused",
    "refused_at_80pct",
    "cut_at_80pct",
    "n_retrieval",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr",
    "latency_ms_p50",
    "latency_ms_p95",
    "build_seconds",
    "thresholds",
    "by_type",
}
RECORD_KEYS = {
    "id",
    "question",
    "type",
    "gold",
    "doc",
    "answer",
    "found",
    "confidence",
    "best_span",
    "em",
    "f1",
    "gold_rank",
    "latency_ms",
}


# Metrics -------------------------------------------------------------------------------------


def test_normalisation_is_squads():
    assert _metrics.normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert _metrics.normalize_answer("a cat, an apple & the\tend.") == "cat apple end"
    assert _metrics.normalize_answer("Theatre of Anaheim") == "theatre of anaheim"
    assert _metrics.normalize_answer("U.S.-based") == "usbased"


def test_exact_match_after_normalisation():
    assert _metrics.exact_match("Denver Broncos", "the Denver Broncos.") == 1.0
    assert _metrics.exact_match("Broncos", "Denver Broncos") == 0.0


def test_token_f1_hand_worked():
    # prediction {denver, broncos, team}, gold {denver, broncos}: P = 2/3, R = 1, F1 = 0.8
    assert _metrics.token_f1("the Denver Broncos team", "Denver Broncos") == pytest.approx(0.8)
    # repeated tokens count once per occurrence: common 2 of 4 predicted, P = 1/2, R = 1
    assert _metrics.token_f1("New York New York", "New York") == pytest.approx(2 / 3)
    assert _metrics.token_f1("Carolina Panthers", "Denver Broncos") == 0.0
    assert _metrics.token_f1("", "Denver") == 0.0
    assert _metrics.token_f1("the", "a") == 1.0  # both empty after normalisation


def test_scores_are_the_best_over_gold_answers():
    # "broncos of denver" vs "Denver Broncos": P = 2/3, R = 1 → 0.8; vs "Broncos": 0.5
    em, f1 = _metrics.best_scores("the Broncos of Denver", ["Denver Broncos", "Broncos"])
    assert (em, f1) == (0.0, pytest.approx(0.8))
    assert _metrics.best_scores("Broncos", ["Denver Broncos", "broncos"]) == (1.0, 1.0)
    with pytest.raises(ValueError, match="no gold answers"):
        _metrics.best_scores("x", [])


def test_refused_at_the_cut_that_answers_80_percent():
    # 10 answerable: the 8th best, 0.3, answers 8 of 10; unanswerable below it are refused.
    answerable = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35, 0.3, 0.2, 0.1]
    refused, cut = _metrics.refused_at_cut(answerable, [0.05, 0.29, 0.3, 0.95])
    assert (refused, cut) == (0.5, 0.3)


def test_best_squad2_f1_hand_worked_and_as_every_threshold_tried_alone():
    # Answer at 0.5 and up: 0.9 (F1 1) and 0.6 (F1 0.5) answered, 0.2 (F1 1) refused, the two
    # unanswerable (0.7 answered, 0.1 refused): (1 + 0.5 + 0 + 0 + 1) / 5.
    scored = [(0.9, 1.0), (0.6, 0.5), (0.2, 1.0), (0.7, None), (0.1, None)]
    assert _metrics.best_squad2_f1(scored, thresholds=[0.5]) == (pytest.approx(0.5), 0.5)
    rng = random.Random(3)
    scored = [(round(rng.random(), 2), rng.choice([None, 0.0, 0.4, 1.0])) for _ in range(300)]

    def overall(threshold):
        return sum(
            (f1 if c >= threshold else 0.0) if f1 is not None else float(c < threshold)
            for c, f1 in scored
        ) / len(scored)

    thresholds = sorted({c for c, _ in scored} | {math.inf})
    best, threshold = _metrics.best_squad2_f1(scored)
    assert best == pytest.approx(max(overall(t) for t in thresholds))
    assert overall(threshold) == pytest.approx(best)


def test_recall_and_mrr_hand_worked():
    ranked = _metrics.distinct_sources(["/d/a", "/d/a", "/d/b", "/d/c", "/d/b", "/d/d"], 3)
    assert ranked == ["/d/a", "/d/b", "/d/c"]
    assert _metrics.gold_rank(ranked, frozenset({"/d/c"})) == 3
    assert _metrics.gold_rank(ranked, frozenset({"/d/d"})) is None
    ranks = [1, 3, None, 2]
    assert _metrics.recall_at(ranks, 1) == 0.25
    assert _metrics.recall_at(ranks, 5) == 0.75
    assert _metrics.mean_reciprocal_rank(ranks) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert _metrics.recall_at([], 5) is None and _metrics.mean_reciprocal_rank([]) is None


def test_gold_document_matches_by_name_or_path(tmp_path):
    source = str(tmp_path / "docs" / "p0003.txt")
    assert _metrics.matches_document("p0003.txt", source)
    assert _metrics.matches_document("docs/p0003.txt", source)
    assert _metrics.matches_document(source, source)
    assert not _metrics.matches_document("p0003.txt", source + "1")
    assert not _metrics.matches_document("other/p0003.txt", source)


def _result(qid, answers, confidence, em=0.0, f1=0.0, retrieved=True, kind="who", rank=None):
    return QuestionResult(
        qid,
        f"question {qid}?",
        kind,
        tuple(answers),
        "a.txt" if answers else None,
        "span" if retrieved else "",
        retrieved,
        confidence,
        em,
        f1,
        rank,
        10.0,
    )


def test_thresholds_follow_from_confidence_without_asking_again():
    results = (
        _result("a", ["x"], 0.9, em=1.0, f1=1.0, rank=1),
        _result("b", ["x"], 0.4, f1=0.5, kind="when", rank=2),
        _result("c", ["x"], 0.0, retrieved=False, rank=None),
        _result("d", [], 0.6),
        _result("e", [], 0.2),
    )
    report = Report(results, "open", "m", 5, 0.5, (0.3, 0.5, 0.7))
    at_05 = report.scores_at(0.5)  # only "a" answered; "e" refused, "d" not
    assert at_05["exact_match"] == pytest.approx(100 / 3)
    assert at_05["f1"] == pytest.approx(100 / 3)
    assert at_05["f1_answered"] == pytest.approx(100.0)
    assert at_05["answered_rate"] == pytest.approx(1 / 3)
    assert at_05["refused_rate"] == 0.5
    assert (at_05["n_right"], at_05["n_refused"]) == (1, 1)
    at_03 = report.scores_at(0.3)  # "a" and "b" answered
    assert at_03["f1"] == pytest.approx(50.0) and at_03["f1_answered"] == pytest.approx(75.0)
    assert (at_03["n_right"], at_03["n_refused"]) == (2, 1)  # F1 0.5 counts as right
    assert report.scores_at(0.7)["refused_rate"] == 1.0
    assert report.scores_at(0.0)["answered_rate"] == pytest.approx(2 / 3)  # "c" had no passages
    data = report.to_dict()
    assert data["exact_match"] == pytest.approx(33.3333) and data["n_retrieval"] == 3
    assert data["recall@1"] == pytest.approx(1 / 3, abs=1e-4) and data["recall@5"] == 0.6667
    assert data["mrr"] == pytest.approx(0.5)
    assert data["by_type"]["when"] == {
        "n": 1,
        "exact_match": 0.0,
        "f1": 0.0,
        "f1_answered": None,
        "answered_rate": 0.0,
        "n_right": 0,
    }
    assert [row["threshold"] for row in data["thresholds"]] == [0.3, 0.5, 0.7]
    # 80 % of 3 answerable questions is all 3, so the cut is "c"'s 0.0 and refuses nothing.
    assert (data["refused_at_80pct"], data["cut_at_80pct"]) == (0.0, 0.0)
    # "c" had no passages; an answer to the unanswerable "d" or "e" is wrong
    assert data["calibration"] == [
        {"low": 0.2, "high": 0.3, "n": 1, "mean_confidence": 0.2, "right": 0.0},
        {"low": 0.4, "high": 0.5, "n": 1, "mean_confidence": 0.4, "right": 1.0},
        {"low": 0.6, "high": 0.7, "n": 1, "mean_confidence": 0.6, "right": 0.0},
        {"low": 0.9, "high": 1.0, "n": 1, "mean_confidence": 0.9, "right": 1.0},
    ]


def test_refused_at_the_cut_that_answers_80_percent_of_the_answerable():
    answerable = [_result(str(c), ["x"], c, f1=1.0) for c in (0.9, 0.8, 0.7, 0.6, 0.5)]
    unanswerable = [_result("u1", [], 0.55), _result("u2", [], 0.65)]
    report = Report((*answerable, *unanswerable), "open", "m", 5, 0.5, (0.5,))
    data = report.to_dict()  # 4 of 5 answered from 0.6 up: 0.55 is refused there, 0.65 is not
    assert (data["refused_at_80pct"], data["cut_at_80pct"]) == (0.5, 0.6)
    only_answerable = Report(tuple(answerable), "open", "m", 5, 0.5, (0.5,)).to_dict()
    assert only_answerable["refused_at_80pct"] is None and only_answerable["n_refused"] == 0


# Loaders -------------------------------------------------------------------------------------


def _write_jsonl(path, items):
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_load_questions(tmp_path):
    path = _write_jsonl(tmp_path / "q.jsonl", QUESTIONS[:2] + QUESTIONS[4:5])
    path.write_text(path.read_text() + "\n  \n")  # blank lines are skipped
    questions = load_questions(path)
    assert [q.id for q in questions] == ["q1", "q2", "q5"]
    assert questions[0] == Question(
        "q1", "When did the Riverside Library open?", ("1987",), "alpha.txt"
    )
    assert not questions[2].answerable and questions[2].doc is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "question": "Why?", "answers": [}', r"line 3: not valid JSON"),
        ('{"id": "x", "question": "Why?"}', r"line 3: missing 'answers'"),
        ('["x", "Why?", []]', r"line 3: expected a JSON object"),
        ('{"id": "x", "question": "", "answers": []}', r"line 3: 'question' must be"),
        ('{"id": "x", "question": "Why?", "answers": "yes"}', r"line 3: 'answers' must be"),
        ('{"id": "q1", "question": "Why?", "answers": []}', r"line 3: id 'q1' repeats line 1"),
    ],
)
def test_malformed_jsonl_line_is_named(tmp_path, line, message):
    path = _write_jsonl(tmp_path / "q.jsonl", QUESTIONS[:2])
    path.write_text(path.read_text() + line + "\n")
    with pytest.raises(ValueError, match=message):
        load_questions(path)


def test_missing_or_empty_question_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such question file"):
        load_questions(tmp_path / "nothing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="holds no questions"):
        load_questions(tmp_path / "empty.jsonl")


def _squad(version: str) -> dict:
    qas = [
        {
            "id": "s1",
            "question": "Who founded Greenfield Bakery?",
            "answers": [{"text": "Tom Baker", "answer_start": 33}] * 2,
        },
    ]
    if version == "v2.0":
        qas[0]["is_impossible"] = False
        qas.append(
            {
                "id": "s2",
                "question": "Who closed Greenfield Bakery?",
                "answers": [],
                "plausible_answers": [{"text": "Tom Baker"}],
                "is_impossible": True,
            }
        )
    return {
        "version": version,
        "data": [
            {
                "title": "Bakeries",
                "paragraphs": [
                    {"context": CORPUS["beta.txt"], "qas": qas},
                    {
                        "context": CORPUS["gamma.txt"],
                        "qas": [
                            {
                                "id": "s3",
                                "question": "What does the Northern Railway connect?",
                                "answers": [{"text": "Carlisle and Newcastle", "answer_start": 34}],
                            }
                        ],
                    },
                ],
            }
        ],
    }


@pytest.mark.parametrize("version", ["1.1", "v2.0"])
def test_load_squad(tmp_path, version):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(_squad(version)))
    paragraphs, questions = load_squad(path)
    assert paragraphs == {"p0000.txt": CORPUS["beta.txt"], "p0001.txt": CORPUS["gamma.txt"]}
    by_id = {q.id: q for q in questions}
    assert by_id["s1"] == Question(
        "s1", "Who founded Greenfield Bakery?", ("Tom Baker",), "p0000.txt"
    )
    assert by_id["s3"].doc == "p0001.txt"
    if version == "v2.0":
        assert by_id["s2"].answers == () and by_id["s2"].doc == "p0000.txt"
    else:
        assert "s2" not in by_id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"questions": []}', r"is not a SQuAD file \(no top-level 'data'\)"),
        ("[1, 2]", r"is not a SQuAD file \(no top-level 'data'\)"),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', r"is not a SQuAD file \(no key 'context'\)"),
        ('{"data": {"paragraphs": []}}', r"is not a SQuAD file \('data' is not a list\)"),
        ("{not json", r"is not a SQuAD file: not valid JSON"),
    ],
)
def test_non_squad_json_says_so(tmp_path, content, message):
    path = tmp_path / "other.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_squad(path)


def test_squad_file_given_as_question_set_gets_a_hint(tmp_path):
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(_squad("1.1"), indent=2))
    with pytest.raises(ValueError, match=r"line 1: .*use 'rag eval --squad'"):
        load_questions(path)


# Running -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_index(embedder, tmp_path_factory):
    """Three one-topic documents, indexed and saved once for this module."""
    root = tmp_path_factory.mktemp("eval-corpus")
    for name, text in CORPUS.items():
        (root / "docs" / name).parent.mkdir(exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    index = rag.Index(embedder, path=root / "index")
    index.sync([root / "docs"])
    return index


@pytest.fixture
def same_embedder(monkeypatch, embedder):
    """`rag.Index.load` in the CLI reuses the session's model instead of loading it again."""
    monkeypatch.setattr("rag.index.load_embedder", lambda name=None, cache=True: embedder)


def test_evaluate_bad_input(small_index):
    questions = [Question(**{**QUESTIONS[0], "answers": ("1987",)})]
    with pytest.raises(ValueError, match="mode must be one of open, gold, got 'closed'"):
        evaluate(small_index, questions, mode="closed")
    with pytest.raises(ValueError, match="no questions"):
        evaluate(small_index, [])
    stray = [Question("z", "Where?", ("here",), "delta.txt")]
    with pytest.raises(ValueError, match=r"question z: document 'delta.txt' is not in the index"):
        evaluate(small_index, stray)


def test_gold_mode_answers_from_the_gold_document(small_index, monkeypatch):
    asked = []
    original = rag.answer.ask

    def spy(index, question, k=5, sources=None, min_confidence=0.5):
        asked.append(sources)
        return original(index, question, k=k, sources=sources, min_confidence=min_confidence)

    monkeypatch.setattr("rag.answer.ask", spy)
    questions = [Question(q["id"], q["question"], tuple(q["answers"]), q["doc"]) for q in QUESTIONS]
    report = evaluate(small_index, questions, mode="gold")
    assert report.mode == "gold" and len(report.results) == 6
    assert [None if s is None else [p.rsplit("/", 1)[-1] for p in s] for s in asked] == [
        ["alpha.txt"],
        ["alpha.txt"],
        ["beta.txt"],
        ["gamma.txt"],
        None,
        None,
    ]


def test_rag_eval_end_to_end(small_index, same_embedder, tmp_path, capsys):
    questions = _write_jsonl(tmp_path / "questions.jsonl", QUESTIONS)
    out = tmp_path / "report"
    code = main(["eval", str(questions), "--index", str(small_index.path), "--out", str(out)])
    assert code == 0
    assert "Token F1" in capsys.readouterr().out
    for name in ("report.json", "report.md", "per_question.jsonl", "report.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0
    assert (out / "report.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "| Token F1 |" in (out / "report.md").read_text()

    data = json.loads((out / "report.json").read_text())
    assert set(data) == REPORT_KEYS
    assert data["dataset"] == str(questions) and data["mode"] == "open"
    assert data["model"] == "all-MiniLM-L6-v2" and data["k"] == 5
    assert (data["documents"], data["chunks"]) == (3, 3)
    assert (data["n"], data["n_answerable"], data["n_unanswerable"]) == (6, 4, 2)
    assert data["threshold"] == rag.answer.MIN_CONFIDENCE and data["build_seconds"] is None
    for key in ("exact_match", "f1"):
        assert 0.0 <= data[key] <= 100.0
    assert data["f1_answered"] is None or 0.0 <= data["f1_answered"] <= 100.0
    assert data["answered_rate"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert data["refused_rate"] in (0.0, 0.5, 1.0)
    assert data["n_retrieval"] == 4
    assert 0.0 <= data["recall@1"] <= data["recall@5"] == data["recall@10"] == 1.0
    assert data["recall@1"] <= data["mrr"] <= 1.0
    assert 0.0 < data["latency_ms_p50"] <= data["latency_ms_p95"]
    assert [row["threshold"] for row in data["thresholds"]] == sorted(
        {0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, rag.answer.MIN_CONFIDENCE}
    )
    for row in data["thresholds"]:
        assert set(row) == {
            "threshold",
            "exact_match",
            "f1",
            "f1_answered",
            "answered_rate",
            "refused_rate",
            "n_right",
            "n_refused",
        }
    assert data["thresholds"][0]["answered_rate"] == 1.0  # threshold 0 refuses nothing
    assert sum(row["n"] for row in data["by_type"].values()) == 4
    for row in data["by_type"].values():
        assert set(row) == {"n", "exact_match", "f1", "f1_answered", "answered_rate", "n_right"}

    records = [json.loads(line) for line in (out / "per_question.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [q["id"] for q in QUESTIONS]
    assert all(set(r) == RECORD_KEYS for r in records)
    assert records[1]["gold"] == ["Helen Marsh"] and records[1]["type"] == "who"
    assert records[4]["gold_rank"] is None and records[4]["em"] == 0.0
    assert all(r["answer"] == (r["best_span"] if r["found"] else "") for r in records)

    assert main(["eval", str(questions), "--index", str(small_index.path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == REPORT_KEYS and printed["n"] == 6

    argv = ["eval", str(questions), "--index", str(small_index.path), "--thresholds", "0.3,0.07"]
    assert main([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [row["threshold"] for row in printed["thresholds"]] == sorted(
        {0.07, 0.3, rag.answer.MIN_CONFIDENCE}
    )


@pytest.mark.parametrize("thresholds", ["0.1,x", "0.1,1.5", ""])
def test_rag_eval_bad_thresholds_are_a_usage_error(tmp_path, capsys, thresholds):
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "--squad", str(tmp_path / "a.json"), "--thresholds", thresholds])
    assert exit_.value.code == 2
    assert "argument --thresholds:" in capsys.readouterr().err


def test_rag_eval_compare(tmp_path, capsys):
    base = {key: 0.5 for key in REPORT_KEYS} | {
        "dataset": "set",
        "mode": "open",
        "model": "m",
        "n": 6,
        "f1": 40.0,
        "by_type": {"who": {"n": 2, "f1": 30.0}},
        "thresholds": [],
    }
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps(base | {"f1": 52.5, "recall@1": 0.25}))
    assert main(["eval", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert next(line for line in lines if line.startswith("Token F1")).split() == [
        "Token",
        "F1",
        "40.0",
        "52.5",
        "+12.5",
    ]
    assert next(line for line in lines if line.startswith("Recall@1 ")).split()[-1] == "-0.250"
    assert next(line for line in lines if line.startswith("F1 (who)")).split()[-1] == "+0.0"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "--compare", "{tmp}/missing.json", "{tmp}/a.json"], "no such report"),
        (["eval", "--compare", "{tmp}/a.json", "{tmp}/a.json"], r"is not a report.json .*\(no n, "),
        (["eval", "--squad", "{tmp}/a.json", "--out", "{tmp}/r"], "is not a SQuAD file"),
        (["eval", "{tmp}/bad.jsonl", "--index", "{tmp}", "--out", "{tmp}/r"], "bad.jsonl, line 2"),
        (["eval", "{tmp}/bad.jsonl", "--out", "{tmp}/r"], "needs --index DIR"),
        (["eval", "--out", "{tmp}/r"], "give either QUESTIONS.jsonl"),
    ],
)
def test_rag_eval_bad_input_is_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "a.json").write_text('{"mode": "open"}')
    (tmp_path / "bad.jsonl").write_text(json.dumps(QUESTIONS[0]) + "\n{oops\n")
    assert main([arg.format(tmp=tmp_path) for arg in argv]) == 1
    error = capsys.readouterr().err
    assert error.startswith("rag: error: ") and error.count("\n") == 1
    assert re.search(message, error)


def test_evaluate_squad_builds_a_throwaway_index(tmp_path, embedder):
    path = tmp_path / "squad-v2.json"
    path.write_text(json.dumps(_squad("v2.0")))
    report = evaluate_squad(path, mode="gold", embedder=embedder)
    data = report.to_dict()
    assert data["dataset"] == "squad-v2.json" and data["mode"] == "gold"
    assert (data["n"], data["n_answerable"], data["n_unanswerable"]) == (3, 2, 1)
    assert data["documents"] == 2 and data["build_seconds"] > 0
    assert data["recall@10"] == 1.0
