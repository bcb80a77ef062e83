"""Answer spans: what a question asks for, and which span of a sentence gives it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import Stemmer

_STEMMER = Stemmer.Stemmer("english")
STOPWORDS = frozenset(
    "a an the of for to in on at by with from and or but as that which who whom whose what when "
    "where why how is are was were be been being do does did done has have had having it its this "
    "these those there their they them he she his her him i we our you your me my not no so if "
    "then than such into onto over under between among about via per all any each some can could "
    "will would shall should may might must also other one's s".split()
)
_VERB_BASES = (
    "be have do say get make go know take see come think look want give use find tell ask work "
    "seem feel try leave call need become keep let begin show hear play run move live believe "
    "bring happen write provide sit stand lose pay meet include continue set learn change lead "
    "understand watch follow stop create speak read allow add spend grow open walk win offer "
    "remember consider appear buy wait serve die send expect build stay fall cut reach kill "
    "remain suggest raise pass sell require report decide pull describe refer define consist "
    "contain involve produce form base name design develop establish operate own hold receive "
    "state claim note mean argue fail occur exist prove determine represent depend launch "
    "announce replace join support increase reduce publish release found locate tend fall "
    "place mark introduce associate relate compare achieve apply identify analyze analyse admit "
    "choose recast collapse focus"
)
_IRREGULAR = (
    "is are was were been being am has had having does did done said got made went gone knew "
    "known took taken saw seen came thought gave given told felt left kept began begun showed "
    "shown heard ran brought wrote written sat stood lost paid met set led understood spoke "
    "spoken read grew grown won sent built stayed fell fallen cut held meant became become "
    "found lies lay lain"
)


def _inflections(base: str) -> set[str]:
    stem_e = base[:-1] if base.endswith("e") else base
    third = base + ("es" if base.endswith(("s", "sh", "ch", "x", "o")) else "s")
    return {base, third, stem_e + "ed", stem_e + "ing", base + "d" if base.endswith("e") else ""}


VERBS = frozenset(
    set(_IRREGULAR.split()).union(*(_inflections(b) for b in _VERB_BASES.split())) - {""}
)
_WEAK_WORDS = frozenset(
    "many much several most more less few various however although though while since because "
    "thus therefore hence also often usually generally typically only even still yet already "
    "very well instead rather whereas moreover furthermore first second third last next new "
    "one two other another such same own called known referred whether later earlier either "
    "neither both each every case example instance contrast addition part way kind type course "
    "order fact whatever otherwise just us able hand sense basis different particular general "
    "special certain".split()
)


def is_weak(word: str) -> bool:
    """A word that cannot carry an answer alone: a verb, an adverb, a quantifier."""
    word = word.lower()
    return (
        word in VERBS
        or word in _WEAK_WORDS
        or (word.endswith("ly") and len(word) > 4)
        or word.endswith(("n't", "n’t"))
    )


def _is_lone_verb_form(text: str) -> bool:
    return " " not in text and text.islower() and text.endswith(("ed", "ing")) and len(text) > 4


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
    r"|(?:1[0-9]|20)\d{2}(?:\s*[-–]\s*(?:1[0-9]|20)?\d{2})?s?\b"
    r"|\b\d{1,2}[h:]\d{2}(?:\s*[-–]\s*\d{1,2}[h:]\d{2})?(?:\s*(?:[ap]\.?m\.?|local time))?)"
)
_NUMBER = re.compile(
    r"\b\d+(?:st|nd|rd|th)\b|(?:[$€£¥]\s?)?\b\d[\d,]*(?:\.\d+)?"
    r"(?:\s?(?:%|percent|per cent|million|billion|thousand|"
    rf"trillion|km|kilometres|kilometers|miles|mm|cm|m|kg|tonnes|tons|acres|feet|ft|hours|years|"
    rf"days|yards|points))?\b(?:\s?%)?"
    rf"|\b(?:{_NUMBER_WORDS})-(?:day|week|month|year|hour|minute)\b"
    rf"|\b(?:{_NUMBER_WORDS})(?:[\s-](?:{_NUMBER_WORDS}))*\b",
    re.IGNORECASE,
)
_CAPITAL_WORD = r"[A-Z][\w'’.-]*"
_PROPER = re.compile(
    rf"{_CAPITAL_WORD}(?:\s+(?:(?:of|for|the|de|des|du|la|le|von|van|der|di|da|al)\s+)*"
    rf"(?:{_CAPITAL_WORD}|\d+(?:st|nd|rd|th)?\b))*"
)
_TOKEN = re.compile(r"\d[\d,.]*\d|\w+(?:[-'’.]\w+)*")
_ORG_WORDS = frozenset(
    "organization organisation ministry department agency office bureau council commission union "
    "association foundation university committee company corporation group police government "
    "institute bank unit division nations programme program court party network centre center "
    "force army".split()
)

_PLACE_WORDS = frozenset(
    "battle bay river island islands sea ocean mountain mountains valley city county kingdom "
    "empire province coast lake street road minor peninsula desert region state".split()
)
_PERSON_TITLES = frozenset(
    "King Queen Duke Duchess Earl Count Countess Sir Lord Lady Pope Saint St. Emperor Prince "
    "Princess President Dr. Mr. Mrs. Ms. Professor General Bishop Archbishop".split()
)

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


@dataclass(frozen=True)
class QuestionShape:
    """What a question asks for, as far as the form of its answer goes."""

    type: str  # who, when, where, number, org or other
    wants_name: bool  # "What is the name of ...", "Which team ...": a proper name
    kind_of: str | None  # stemmed X of "what kind of X"
    several: bool  # the asked-about noun is plural: the answer may be a list
    percent: bool  # a share is asked for


def analyse_question(question: str) -> QuestionShape:
    return QuestionShape(
        question_type(question),
        wants_name(question),
        kind_of(question),
        asks_for_several(question),
        bool(re.search(r"percent|percentage|proportion|share|%", question, re.I)),
    )


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
        end = start + len(
            re.sub(r"(?:['’]s?|[.-])+$", "", sentence[start:end])
        )  # "Edgar's" -> "Edgar"
        if end > start:
            spans.append(Span(start, end, "proper"))
    spans = [
        span
        for span in spans
        if not (
            span.kind == "proper"
            and " " not in sentence[span.start : span.end]
            and (
                is_weak(sentence[span.start : span.end])
                or sentence[span.start : span.end].lower() in STOPWORDS
            )
        )
    ]
    return spans + _phrases(sentence)


def _phrases(sentence: str) -> list[Span]:
    """Runs of content words, cut at stop words, verbs, adverbs and punctuation."""
    spans = []
    run: list[tuple[int, int, str]] = []
    for word in tokens(sentence) + [(len(sentence), len(sentence), ",")]:
        gap = sentence[run[-1][1] : word[0]] if run else ""
        breaks = any(ch in gap for ch in ',;:()"“”')
        if word[2] in STOPWORDS or word[2] == "," or breaks or is_weak(word[2]):
            if run and not _is_lone_verb_form(sentence[run[0][0] : run[-1][1]]):
                spans.append(Span(run[0][0], run[-1][1], "phrase"))
            keep = not (word[2] in STOPWORDS or word[2] == "," or is_weak(word[2]))
            run = [word] if keep else []
        else:
            run.append(word)
    return spans


def _sentence_start(sentence: str) -> int:
    return len(sentence) - len(sentence.lstrip(" \"“'‘("))


_KIND_OF = re.compile(
    r"\b(?:what|which)\s+(?:kind|type|sort|form|style|variety)s?\s+of\s+(\w+)", re.I
)
_NAMING = frozenset("called named termed titled dubbed".split())


def kind_of(question: str) -> str | None:
    """The stemmed head noun of "what kind of X" questions: the answer usually modifies X."""
    match = _KIND_OF.search(question)
    return stem(match.group(1)) if match else None


def slot_fit(words: list[tuple[int, int, str]], inside: list[int], head: str | None) -> float:
    """Bonus for a span in an answer slot: right before the asked-about noun ("a British
    *telecommunications* company") or right after a naming verb ("known as *X*")."""
    bonus = 0.0
    after = inside[-1] + 1
    if head and after < len(words) and stem(words[after][2]) == head:
        bonus += 0.6
    before = [w for _, _, w in words[max(0, inside[0] - 2) : inside[0]]]
    if before and (before[-1] in _NAMING or before[-2:] == ["known", "as"]):
        bonus += 0.3
    return bonus


_LIST_ITEM = r"[A-Z][\w'’.-]*(?:\s+(?:of|the|de|van|von)?\s*[A-Z][\w'’.-]*)*"


def asks_for_several(question: str) -> bool:
    """ "Which countries ...", "What two cities ...": the asked-about noun is plural."""
    match = re.search(r"\b(?:what|which)\s+((?:[\w-]+\s+){0,3})", question, re.I)
    if not match:
        return False
    head = ""
    for word in match.group(1).split():
        if word.lower() in ("two", "three", "four", "five", "several"):
            continue
        if word.lower() in STOPWORDS or (word.islower() and is_weak(word)):
            break
        head = word.lower()
    return len(head) > 3 and head.endswith("s") and not head.endswith(("ss", "us", "is"))


def whole_list(sentence: str, start: int, end: int) -> tuple[int, int]:
    """Widen a name to the list of names it belongs to: "Belgium, Cyprus, Italy and Sweden"."""
    pattern = re.compile(
        rf"{_LIST_ITEM}(?:\s*,\s*(?:and\s+|or\s+)?(?:the\s+)?{_LIST_ITEM})*"
        rf"(?:,?\s+(?:and|or)\s+(?:the\s+)?{_LIST_ITEM})?"
    )
    for match in pattern.finditer(sentence):
        listed = "," in match.group(0) or re.search(r"\s(?:and|or)\s", match.group(0))
        if match.start() <= start and end <= match.end() and listed:
            return match.start(), match.end()
    return start, end


def wants_name(question: str) -> bool:
    """Questions like "What is the name of ..." or "What team ..." ask for a proper name."""
    return bool(re.search(r"\bname[ds]?\b|\bcalled\b|\btitle\b|\bwhich\b", question, re.I))


def type_fit(span: Span, text: str, shape: QuestionShape, before: str) -> float:
    """How well a span's form suits the question type, in [0, 1]."""
    kind = shape.type
    words = text.split()
    org_like = any(w.lower().strip(",.") in _ORG_WORDS for w in words) or text.isupper()
    if kind == WHO:
        if span.kind == "proper":
            if any(w.lower().strip(",.") in _PLACE_WORDS for w in words) or re.search(
                r"\b(?:in|at|near|across)\s+(?:the\s+)?$", before
            ):
                return 0.3  # a place, not a person
            if words[0] in _PERSON_TITLES or re.search(r"\bby\s+$", before):
                return 1.0
            return 0.6 if org_like else (1.0 if 2 <= len(words) <= 4 else 0.7)
        return 0.1 if span.kind == "phrase" else 0.0
    if kind == ORG:
        if span.kind == "proper":
            return 1.0 if org_like else 0.6
        return 0.15 if span.kind == "phrase" else 0.0
    if kind == WHEN:
        return {"date": 1.0, "number": 0.3}.get(span.kind, 0.0)
    if kind == NUMBER:
        if span.kind == "number" and re.fullmatch(r"1[1-9]\d\d|20\d\d", text):
            return 0.4  # a year, when a count or amount is asked for
        if span.kind == "number" and shape.percent:
            return 1.0 if re.search(r"%|per ?cent", text) else 0.5
        return {"number": 1.0, "date": 0.2}.get(span.kind, 0.0)
    if kind == WHERE:
        if span.kind == "proper":
            near = re.search(r"\b(?:in|at|from|to|near|across)\s+(?:the\s+)?$", before)
            return 1.0 if near else 0.6
        return 0.15 if span.kind == "phrase" else 0.0
    if shape.wants_name:
        return {"phrase": 0.5, "proper": 0.9, "number": 0.2, "date": 0.2}[span.kind]
    return {"phrase": 0.6, "proper": 0.5, "number": 0.3, "date": 0.3}[span.kind]
