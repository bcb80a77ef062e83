"""Question sets for evaluation: JSON Lines files and SQuAD v1.1/v2.0 files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_SQUAD_SHAPE = (
    "expected SQuAD v1.1/v2.0: {'data': [{'paragraphs': [{'context': str, 'qas': "
    "[{'id', 'question', 'answers': [{'text'}]}]}]}]}"
)


@dataclass(frozen=True)
class Question:
    """One evaluation question; no ``answers`` means the corpus does not hold the answer.

    ``doc`` names the gold document: a file name, or a path, matched against indexed sources.
    """

    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_questions(path: str | Path) -> list[Question]:
    """Read a JSON Lines question set: ``{"id", "question", "answers": [...], "doc"}`` a line.

    Blank lines are skipped; ``doc`` may be null or left out.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line that is not such an object (the message names its line number),
            a repeated id, or no questions at all.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such question file: {path}")
    text = path.read_text(encoding="utf-8-sig")
    questions: list[Question] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            question = _parse_line(line)
        except ValueError as exc:
            hint = (
                " (this looks like a SQuAD file: use 'rag eval --squad')" if _is_squad(text) else ""
            )
            raise ValueError(f"{path}, line {number}: {exc}{hint}") from None
        if question.id in seen:
            raise ValueError(
                f"{path}, line {number}: id {question.id!r} repeats line {seen[question.id]}"
            )
        seen[question.id] = number
        questions.append(question)
    if not questions:
        raise ValueError(f"{path} holds no questions: expected one JSON object a line")
    return questions


def _parse_line(line: str) -> Question:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise ValueError(f"expected a JSON object, got {type(item).__name__}")
    missing = [key for key in ("id", "question", "answers") if key not in item]
    if missing:
        raise ValueError(f"missing {', '.join(repr(m) for m in missing)}")
    qid, question, answers, doc = item["id"], item["question"], item["answers"], item.get("doc")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise ValueError(f"'id' must be a non-empty string, got {qid!r}")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"'question' must be a non-empty string, got {question!r}")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError(f"'answers' must be a list of non-empty strings, got {answers!r}")
    if doc is not None and (not isinstance(doc, str) or not doc.strip()):
        raise ValueError(f"'doc' must be a file name, a path or null, got {doc!r}")
    return Question(str(qid), question, tuple(dict.fromkeys(answers)), doc)


def _is_squad(text: str) -> bool:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and "data" in data


def load_squad(path: str | Path) -> tuple[dict[str, str], list[Question]]:
    """Read a SQuAD v1.1 or v2.0 file into paragraphs and questions.

    Returns:
        ``paragraphs``: file name (``p0000.txt``, ``p0001.txt``, ...) → paragraph text, in file
        order; ``questions``: each with its paragraph's file name as ``doc``. v2.0 questions
        marked ``is_impossible`` have no answers.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, or not in the SQuAD layout.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such SQuAD file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a SQuAD file: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "data" not in data:
        raise ValueError(f"{path} is not a SQuAD file (no top-level 'data'): {_SQUAD_SHAPE}")
    paragraphs: dict[str, str] = {}
    questions: list[Question] = []
    try:
        for article in _as_list(data["data"], "data"):
            for paragraph in _as_list(article["paragraphs"], "paragraphs"):
                name = f"p{len(paragraphs):04d}.txt"
                context = paragraph["context"]
                if not isinstance(context, str):
                    raise TypeError("'context' is not a string")
                paragraphs[name] = context
                questions.extend(_squad_question(qa, name) for qa in paragraph["qas"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a SQuAD file ({_describe(exc)}): {_SQUAD_SHAPE}") from None
    if not questions:
        raise ValueError(f"{path} is not a SQuAD file (no questions): {_SQUAD_SHAPE}")
    return paragraphs, questions


def _squad_question(qa: dict, paragraph: str) -> Question:
    answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
    if not isinstance(qa["question"], str) or not qa["question"].strip():
        raise TypeError(f"question {qa['id']} has no question text")
    return Question(str(qa["id"]), str(qa["question"]), tuple(dict.fromkeys(answers)), paragraph)


def _as_list(value, name: str) -> list:
    if not isinstance(value, list):
        raise TypeError(f"{name!r} is not a list")
    return value


def _describe(exc: Exception) -> str:
    return f"no key {exc}" if isinstance(exc, KeyError) else str(exc)


WHO, WHEN, WHERE, NUMBER, ORG, OTHER = "who", "when", "where", "number", "org", "other"
_PLACE_NOUNS = (
    "city|cities|country|countries|place|location|venue|region|state|capital|town|continent|"
    "island|river|county|area|province|nation"
)
_ORG_NOUNS = "organi[sz]ation|agency|body|institution|company|group|ministry|department|team"
_QUESTION_TYPES = [
    (
        re.compile(
            r"\bhow (?:many|much|long|old|far|large|big|often|tall|high)\b|\bwhat (?:is |was )?"
            r"(?:the )?(?:number|percentage|proportion|amount|share|age|price|cost|population|"
            r"size|length|height|area|rate|total)\b",
            re.I,
        ),
        NUMBER,
    ),
    (
        re.compile(
            r"\bwhen\b|\b(?:what|which) (?:year|years|date|day|month|time|century|decade)\b"
            r"|\bwhat time\b",
            re.I,
        ),
        WHEN,
    ),
    (
        re.compile(
            r"\bwhere\b|\b(?:what|which|in which|in what) "
            rf"(?:{_PLACE_NOUNS})\b",
            re.I,
        ),
        WHERE,
    ),
    (re.compile(rf"\b(?:what|which|who) (?:\w+ )?(?:{_ORG_NOUNS})\b", re.I), ORG),
    (
        re.compile(
            r"\bwho(?:m|se)?\b|\b(?:what|which) (?:person|man|woman|people|official|leader|"
            r"king|queen|president|author|player|scientist|emperor|general)\b",
            re.I,
        ),
        WHO,
    ),
]


def question_type(question: str) -> str:
    """The kind of answer a question asks for (who, when, where, number, org, other): the
    breakdown of evaluation reports, not used to pick answers."""
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(question):
            return kind
    return OTHER
