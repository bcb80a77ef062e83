"""Made training examples laid out as press releases and event pages are, not as Wikipedia is:
speaker lists ("Name, Title, Organisation" lines), contact blocks ("For further information,
please contact: … Tel … E-mail …"), quoted statements ("…," said Name, Title of Organisation)
and fields of practical information ("When", "Where", "Organisers").

Every name, organisation and place comes from the fitting files (spaCy's entities of their
paragraphs); the surrounding text is a real paragraph of the same files; titles are made from a
small vocabulary of ranks and roles; telephone numbers, e-mail addresses, dates and times are
drawn at random. Each made passage gets questions whose answer is one field of one line, and
questions it does not answer (a title paired with another line's organisation, a person it
does not list, a field it does not have), so that the reader learns which line a fact belongs to
rather than to take any name near the words of the question.

    examples = structured_examples(articles, nlp, random.Random(13), count=3000)
    # [(question, passage, answer_start or None, answer_text), ...]
"""

from __future__ import annotations

import random
import re

__all__ = ["structured_examples"]

_RANKS = "Deputy Senior Assistant Chief Regional Executive Principal Associate Acting".split()
_FIELDS = (
    "Policy|Programme|Project|Research|Legal|Communications|Operations|Protection|Finance|"
    "Partnerships|Liaison|Field|Technical|Press|Data|Training"
).split("|")
_ROLES = (
    "Director|Officer|Manager|Coordinator|Adviser|Advisor|Analyst|Specialist|Consultant|"
    "Secretary|Representative|Counsel|Inspector|Editor|Researcher|Administrator|Spokesperson"
).split("|")
_HEADS = (
    "Head of Unit",
    "Head of Division",
    "Head of Office",
    "Head of Mission",
    "Chair",
    "President",
    "Vice-President",
    "Minister",
    "Commissioner",
    "Ambassador",
    "Professor",
    "Director-General",
    "Founder",
)
_EVENTS = (
    "conference",
    "workshop",
    "panel discussion",
    "seminar",
    "round table",
    "forum",
    "briefing",
    "training session",
    "meeting",
    "webinar",
)
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = "January February March April May June July August September October November December"
_ZONES = ("CET", "CEST", "GMT", "UTC", "EST", "local time")
_PERSON = re.compile(r"^[A-Z][a-zA-Z'-]+(?: [A-Z][a-zA-Z.'-]*){1,3}$")


def structured_examples(articles, nlp, rng: random.Random, count: int) -> list[tuple]:
    """About ``count`` (question, passage, answer_start or None, answer_text) examples, a
    quarter of each kind; about a third of them have no answer in their passage."""
    pools = _pools(articles, nlp)
    makers = (_speaker_list, _contact_block, _quoted_statement, _practical_fields)
    examples: list[tuple] = []
    while len(examples) < count:
        maker = makers[len(examples) % len(makers)] if rng.random() < 0.5 else rng.choice(makers)
        examples.extend(maker(pools, rng))
    rng.shuffle(examples)
    return examples[:count]


class _Pools:
    """Names, organisations, places and paragraphs of the fitting files, to draw from."""

    def __init__(self, persons, organisations, places, paragraphs, sentences):
        self.persons = persons
        self.organisations = organisations
        self.places = places
        self.paragraphs = paragraphs  # (context, [(question, answers, impossible)])
        self.sentences = sentences  # (paragraph index, sentence start, sentence end)


def _pools(articles, nlp) -> _Pools:
    paragraphs = [(p["context"], p["qas"]) for article in articles for p in article]
    persons, organisations, places, sentences = set(), set(), set(), []
    for i, doc in enumerate(nlp.pipe([c for c, _ in paragraphs], batch_size=64)):
        for entity in doc.ents:
            text = entity.text.strip()
            if "'s" in text or "’s" in text or len(text) > 50:
                continue
            if entity.label_ == "PERSON" and _PERSON.match(text):
                persons.add(text)
            elif entity.label_ == "ORG" and 1 <= len(entity) <= 6 and text[:1].isupper():
                organisations.add(text.removeprefix("the "))
            elif entity.label_ in ("GPE", "FAC", "LOC") and text[:1].isupper():
                places.add(text.removeprefix("the "))
        sentences += [(i, s.start_char, s.end_char) for s in doc.sents if len(s) >= 8]
    return _Pools(sorted(persons), sorted(organisations), sorted(places), paragraphs, sentences)


class _Passage:
    """A passage being written, that knows where each field it was given lies."""

    def __init__(self):
        self.text = ""
        self.fields: dict[str, tuple[int, str]] = {}

    def add(self, text: str, field: str | None = None) -> None:
        if field is not None:
            self.fields[field] = (len(self.text), text)
        self.text += text

    def answer(self, question: str, field: str) -> tuple:
        start, text = self.fields[field]
        return question, self.text, start, text

    def unanswerable(self, question: str) -> tuple:
        return question, self.text, None, ""


def _title(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.25:
        return rng.choice(_HEADS)
    title = f"{rng.choice(_FIELDS)} {rng.choice(_ROLES)}"
    return f"{rng.choice(_RANKS)} {title}" if kind < 0.6 else title


def _distinct(pool: list[str], rng: random.Random, n: int) -> list[str]:
    return rng.sample(pool, n)


def _paragraph(pools: _Pools, rng: random.Random) -> str:
    return rng.choice(pools.paragraphs)[0]


def _speaker_list(pools: _Pools, rng: random.Random) -> list[tuple]:
    n = rng.randint(3, min(7, len(pools.persons) - 1, len(pools.organisations)))
    people = _distinct(pools.persons, rng, n + 1)
    outsider, people = people[0], people[1:]
    titles = [_title(rng) for _ in people]
    organisations = _distinct(pools.organisations, rng, n)
    moderated = rng.random() < 0.4
    passage = _Passage()
    if rng.random() < 0.7:
        passage.add(_paragraph(pools, rng) + "\n")
    passage.add(
        rng.choice(
            (
                "Speakers",
                "Speakers:",
                "Panellists",
                "Programme",
                "Participants",
                "With the participation of:",
            )
        )
        + "\n"
    )
    layout, bullet = rng.randrange(2), rng.choice(("- ", "• ", ""))
    for i, (person, title, organisation) in enumerate(
        zip(people, titles, organisations, strict=True)
    ):
        prefix = "Moderated by " if moderated and i == n - 1 else ""
        passage.add(bullet + prefix)
        passage.add(person, f"person{i}")
        passage.add(", " if layout != 1 else " – ")
        passage.add(title, f"title{i}")
        passage.add(", ")
        passage.add(organisation, f"organisation{i}")
        passage.add("\n")
    if rng.random() < 0.5:
        passage.add(rng.choice(("Registration", "Practical information", "Contact")) + "\n")
    i = rng.randrange(n)
    person, title, organisation = people[i], titles[i], organisations[i]
    asked = [
        passage.answer(
            rng.choice(
                (
                    f"Who is the {title} of {organisation}?",
                    f"Who is {organisation}'s {title}?",
                    f"Who serves as {title} at {organisation}?",
                    f"Which speaker is the {title}, {organisation}?",
                )
            ),
            f"person{i}",
        ),
        passage.answer(
            rng.choice(
                (
                    f"What position does {person} hold?",
                    f"What is {person}'s role?",
                    f"What is the title of {person}?",
                )
            ),
            f"title{i}",
        ),
        passage.answer(
            rng.choice(
                (
                    f"Which organisation does {person} work for?",
                    f"Which organization is {person} from?",
                    f"Where does {person} work?",
                )
            ),
            f"organisation{i}",
        ),
    ]
    if moderated:
        asked.append(
            passage.answer(
                rng.choice(("Who will moderate the discussion?", "Who is the moderator?")),
                f"person{n - 1}",
            )
        )
    j = (i + rng.randrange(1, n)) % n
    if titles[j] != title:
        asked.append(passage.unanswerable(f"Who is the {titles[j]} of {organisation}?"))
    asked.append(passage.unanswerable(f"What position does {outsider} hold?"))
    if not moderated and rng.random() < 0.3:
        asked.append(passage.unanswerable("Who will moderate the discussion?"))
    return rng.sample(asked, min(len(asked), 3))


def _telephone(rng: random.Random) -> str:
    groups = [str(rng.randint(10, 999)) for _ in range(rng.randint(3, 5))]
    return rng.choice(("+", "+ ", "")) + str(rng.randint(1, 99)) + " " + " ".join(groups)


def _email(person: str, organisation: str, rng: random.Random) -> str:
    first, *_, last = person.lower().replace("'", "").split()
    domain = "".join(w[0] for w in re.findall(r"[A-Za-z]+", organisation)).lower() or "org"
    user = rng.choice((first[0] + last, f"{first}.{last}", last))
    return f"{re.sub(r'[^a-z.]', '', user)}@{domain}.{rng.choice(('int', 'org', 'eu', 'net'))}"


def _contact_block(pools: _Pools, rng: random.Random) -> list[tuple]:
    people = _distinct(pools.persons, rng, 3)
    organisation, other = _distinct(pools.organisations, rng, 2)
    place = rng.choice(pools.places)
    contacts = people[: rng.randint(1, 2)]
    passage = _Passage()
    passage.add(_paragraph(pools, rng) + "\n")
    inline = rng.random() < 0.35
    passage.add(
        rng.choice(
            (
                "For further information, please contact",
                "For more information, contact",
                "Press contact",
                "Media contacts",
            )
        )
    )
    passage.add(" " if inline else ":\n")
    for i, person in enumerate(contacts):
        if i:
            passage.add(" or " if inline else "or\n")
        passage.add(person, f"person{i}")
        passage.add(f" at {organisation} {place}, " if inline else f"\n{organisation} {place}\n")
        passage.add(rng.choice(("Tel: ", "Tel ", "Tel. ", "Phone: ")))
        passage.add(_telephone(rng), f"telephone{i}")
        passage.add(rng.choice((", Email: ", ", E-mail: ")) if inline else "\nE-mail: ")
        passage.add(_email(person, organisation, rng), f"email{i}")
        passage.add("\n" if not inline else "")
    passage.add("\n" if inline else "")
    i = rng.randrange(len(contacts))
    person = contacts[i]
    asked = [
        passage.answer(
            rng.choice(
                (
                    f"Who can be contacted at {organisation} for more information?",
                    f"Who is the press contact at {organisation} {place}?",
                    f"Whom should I contact at {organisation}?",
                )
            ),
            "person0",
        ),
        passage.answer(
            rng.choice(
                (
                    f"What is the telephone number of {person}?",
                    f"What is {person}'s phone number?",
                    f"At what number can {person} be reached?",
                )
            ),
            f"telephone{i}",
        ),
        passage.answer(
            rng.choice((f"What is the e-mail address of {person}?", f"What is {person}'s email?")),
            f"email{i}",
        ),
        passage.unanswerable(
            rng.choice(
                (f"What is the fax number of {person}?", f"What is the mobile number of {person}?")
            )
        ),
        passage.unanswerable(f"What is the telephone number of {people[2]}?"),
        passage.unanswerable(f"Who is the press contact at {other}?"),
    ]
    return rng.sample(asked, 3)


def _quoted_statement(pools: _Pools, rng: random.Random) -> list[tuple]:
    """A real sentence of a fitting paragraph turned into a quote, attributed to a made speaker;
    the paragraph's own questions on that sentence stay answerable inside the quote."""
    index, start, end = rng.choice(pools.sentences)
    context, qas = pools.paragraphs[index]
    sentence = context[start:end].rstrip()
    if sentence[-1:] != ".":
        return []
    person, outsider = _distinct(pools.persons, rng, 2)
    organisation, other = _distinct(pools.organisations, rng, 2)
    title = _title(rng)
    passage = _Passage()
    passage.add(context[:start])
    layout = rng.randrange(3)
    if layout == 2:  # Name, Title of Organisation, said: "…"
        passage.add(person, "person")
        passage.add(", ")
        passage.add(title, "title")
        passage.add(f" of {organisation}, said: “")
        quote_at = len(passage.text)
        passage.add(sentence + "”")
    else:  # "…," said Name, Title of Organisation. / "…," says Name, Organisation's Title.
        passage.add("“")
        quote_at = len(passage.text)
        passage.add(sentence[:-1] + ",” " + rng.choice(("said", "says")) + " ")
        passage.add(person, "person")
        if layout == 0:
            passage.add(", ")
            passage.add(title, "title")
            passage.add(f" of {organisation}.")
        else:
            passage.add(f", {organisation}’s ")
            passage.add(title, "title")
            passage.add(".")
    passage.add(context[end:])
    asked = [
        passage.answer(f"Who is the {title} of {organisation}?", "person"),
        passage.answer(
            rng.choice((f"What is {person}'s position?", f"What title does {person} hold?")),
            "title",
        ),
        passage.unanswerable(f"Who is the {title} of {other}?"),
        passage.unanswerable(f"What position does {outsider} hold?"),
    ]
    for question, answers, impossible in qas:  # the paragraph's questions on the quoted sentence
        if impossible:
            if rng.random() < 0.5:
                asked.append(passage.unanswerable(question))
            continue
        answer = answers[0]
        if start <= answer["answer_start"] and answer["answer_start"] + len(answer["text"]) < end:
            shifted = quote_at + answer["answer_start"] - start
            asked.append((question, passage.text, shifted, answer["text"]))
    return rng.sample(asked, min(len(asked), 3))


def _date(rng: random.Random) -> str:
    month = rng.choice(_MONTHS.split())
    day, year = rng.randint(1, 28), rng.randint(1995, 2030)
    return rng.choice(
        (
            f"{rng.choice(_DAYS)} {day} {month} {year}",
            f"{day} {month} {year}",
            f"{month} {day}, {year}",
            f"{rng.choice(_DAYS)}, {month} {day}",
        )
    )


def _time(rng: random.Random) -> str:
    hour, minute = rng.randint(8, 18), rng.choice((0, 15, 30, 45))
    end = hour + rng.randint(1, 3)
    zone = rng.choice(_ZONES)
    return rng.choice(
        (
            f"{hour:02d}:{minute:02d} - {end:02d}:{minute:02d} ({zone})",
            f"{hour}h{minute:02d}",
            f"{hour:02d}:{minute:02d} {zone}",
            f"{hour}.{minute:02d} – {end}.{minute:02d}",
        )
    )


def _practical_fields(pools: _Pools, rng: random.Random) -> list[tuple]:
    organisation = rng.choice(pools.organisations)
    place = rng.choice(pools.places)
    event = rng.choice(_EVENTS)
    date, time = _date(rng), _time(rng)
    passage = _Passage()
    if rng.random() < 0.5:
        passage.add(_paragraph(pools, rng) + "\n")
    passage.add(
        rng.choice(("Practical information", "Event details", "Details", f"About the {event}"))
        + "\n"
    )
    fields = [("When", "date"), ("Where", "place"), ("Organisers", "organisation")]
    values = {"date": date, "place": place, "organisation": organisation}
    languages = rng.random() < 0.5
    if languages:
        fields.insert(2, ("Languages", None))
    listed = rng.random() < 0.5  # "- When\n- value" lines, or "When: value"
    for label, field in fields:
        passage.add(f"- {label}\n- " if listed else f"{label}: ")
        if field == "date":
            passage.add(date, "date")
            passage.add(", ")
            passage.add(time, "time")
        elif field is None:
            passage.add(rng.choice(("English", "English, French", "French")))
        else:
            passage.add(values[field], field)
        passage.add("\n")
    the = f"the {event}"
    asked = [
        passage.answer(
            rng.choice(
                (
                    f"On what date is {the} scheduled?",
                    f"When will {the} take place?",
                    f"What day is {the}?",
                )
            ),
            "date",
        ),
        passage.answer(
            rng.choice((f"At what time does {the} run?", f"What time does {the} start?")), "time"
        ),
        passage.answer(
            rng.choice((f"Where is {the} held?", f"Where will {the} take place?")), "place"
        ),
        passage.answer(
            rng.choice((f"Who is organising {the}?", f"Who organises {the}?")), "organisation"
        ),
        passage.unanswerable(
            rng.choice(
                (
                    f"How many people registered for {the}?",
                    f"How much does {the} cost to attend?",
                    f"Who will speak first at {the}?",
                )
            )
        ),
    ]
    return rng.sample(asked, 3)
