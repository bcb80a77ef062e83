"""Answer spans: what a question asks for, and which span of a sentence gives it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import Stemmer

_STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(
    ["a", "an", "the", "of", "for", "to", "in", "on", "at", "by", "with", "from", "and", "or", "but", "as", "that", "which", "who", "whom", "whose", "what", "when", "where", "why", "how", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "done", "has", "have", "had", "having", "it", "its", "this", "these", "those", "there", "their", "they", "them", "he", "she", "his", "her", "him", "i", "we", "our", "you", "your", "me", "my", "not", "no", "so", "if", "then", "than", "such", "into", "onto", "over", "under", "between", "among", "about", "via", "per", "all", "any", "each", "some", "can", "could", "will", "would", "shall", "should", "may", "might", "must", "also", "other", "one's", "s"]
)
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|thousand|dozen|million|billion|half"
)
_DATE = re.compile(
    rf"\b(?:(?:{_WEEKDAYS}),?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?(?:,?\s+\d{{4}})?"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s*[-–]\s*\d{{1,2}})?(?:,?\s+\d{{4}})?"
    rf"|(?:{_MONTHS})\s+\d{{4}}|(?:{_MONTHS})\b|(?:{_WEEKDAYS})\b"
    r"|(?:1[0-9]|20)\d{2}(?:\s*[-–]\s*(?:1[0-9]|20)?\d{2})?s?\b)"
)
_NUMBER = re.compile(
    r"(?:[$€£¥]\s?)?\b\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent|million|billion|thousand|"
    rf"trillion|km|kilometres|kilometers|miles|m|kg|hours|years|days|yards|points))?\b(?:\s?%)?"
    rf"|\b(?:{_NUMBER_WORDS})(?:[\s-](?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)
_CAPITAL_WORD = r"(?:[A-Z][\w'’.-]*|\d+(?:st|nd|rd|th)?)"
_PROPER = re.compile(
    rf"{_CAPITAL_WORD}(?:\s+(?:(?:of|for|the|and|de|des|du|la|le|von|van|der|di|da|al|&)\s+)*"
    rf"{_CAPITAL_WORD})*"
)
_TOKEN = re.compile(r"\w+(?:[-'’.]\w+)*")
_ORG_WORDS = frozenset(
    ["organization", "organisation", "ministry", "department", "agency", "office", "bureau", "council", "commission", "union", "association", "foundation", "university", "committee", "company", "corporation", "group", "police", "government", "institute", "bank", "unit", "division", "nations", "programme", "program", "court", "party", "network", "centre", "center", "force", "army"]
)

WHO, WHEN, WHERE, NUMBER, ORG, OTHER = "who", "when", "where", "number", "org", "other"
_PLACE_NOUNS = "city|country|countries|place|location|venue|region|state|capital|town|continent"
_ORG_NOUNS = "organi[sz]ation|agency|body|institution|company|group|ministry|department|team"
_QUESTION_TYPES = [
    (re.compile(r"\bhow (?:many|much|long|old|far|large|big|often)\b|\bwhat (?:number|percentage|"
                r"proportion|amount|share|age|price|cost)\b", re.I), NUMBER),
    (re.compile(r"\bwhen\b|\b(?:what|which) (?:year|years|date|day|month|time|century|decade)\b"
                r"|\bwhat time\b", re.I), WHEN),
    (re.compile(r"\bwhere\b|\b(?:what|which|in which|in what) "
                rf"(?:{_PLACE_NOUNS})\b", re.I), WHERE),
    (re.compile(rf"\b(?:what|which|who) (?:\w+ )?(?:{_ORG_NOUNS})\b", re.I), ORG),
    (re.compile(r"\bwho(?:m|se)?\b|\b(?:what|which) (?:person|man|woman|people|official)", re.I), WHO),
]


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the sentence
    end: int
    kind: str  # proper, date, number, phrase


def question_type(question: str) -> str:
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(question):
            return kind
    return OTHER


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-case word) of each word."""
    return [(m.start(), m.end(), m.group(0).lower()) for m in _TOKEN.finditer(text)]


def stem(word: str) -> str:
    return _STEMMER.stemWord(word.lower().strip(".'’"))


def candidate_spans(sentence: str) -> list[Span]:
    """Names, dates, numbers and content-word phrases of a sentence."""
    spans = [Span(m.start(), m.end(), "date") for m in _DATE.finditer(sentence)]
    spans += [Span(m.start(), m.end(), "number") for m in _NUMBER.finditer(sentence)]
    for match in _PROPER.finditer(sentence):
        start, end = match.start(), match.end()
        text = sentence[start:end]
        lead = re.match(r"(?:The|A|An|In|On|At|For|By|To|From|As|It|This)\s+", text)
        if lead and start == _sentence_start(sentence):
            start += lead.end()
        end = start + len(sentence[start:end].rstrip(".’'-"))
        if end > start:
            spans.append(Span(start, end, "proper"))
    words = tokens(sentence)
    run: list[tuple[int, int, str]] = []
    for i, word in enumerate(words + [(len(sentence), len(sentence), ",")]):
        gap = sentence[run[-1][1] : word[0]] if run else ""
        if word[2] in STOPWORDS or word[2] == "," or any(ch in gap for ch in ",;:()\"“”"):
            if run:
                spans.append(Span(run[0][0], run[-1][1], "phrase"))
            run = [] if (word[2] in STOPWORDS or word[2] == ",") else [word]
        else:
            run.append(word)
        del i
    return spans


def _sentence_start(sentence: str) -> int:
    return len(sentence) - len(sentence.lstrip(" \"“'‘("))


def type_fit(span: Span, text: str, kind: str, before: str) -> float:
    """How well a span's form suits the question type, in [0, 1]."""
    words = text.split()
    org_like = any(w.lower().strip(",.") in _ORG_WORDS for w in words) or text.isupper()
    if kind == WHO:
        if span.kind == "proper":
            return 0.6 if org_like else (1.0 if 2 <= len(words) <= 4 else 0.7)
        return 0.1 if span.kind == "phrase" else 0.0
    if kind == ORG:
        if span.kind == "proper":
            return 1.0 if org_like else 0.6
        return 0.15 if span.kind == "phrase" else 0.0
    if kind == WHEN:
        return {"date": 1.0, "number": 0.3}.get(span.kind, 0.0)
    if kind == NUMBER:
        return {"number": 1.0, "date": 0.2}.get(span.kind, 0.0)
    if kind == WHERE:
        if span.kind == "proper":
            return 1.0 if re.search(r"\b(?:in|at|from|to|near|across)\s*$", before) else 0.6
        return 0.15 if span.kind == "phrase" else 0.0
    return {"phrase": 0.6, "proper": 0.5, "number": 0.3, "date": 0.3}[span.kind]
