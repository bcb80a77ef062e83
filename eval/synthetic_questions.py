"""Made training questions: a named entity of a training paragraph becomes the answer of a
question built from its own sentence (Lewis et al. 2019, "Unsupervised Question Answering by
Cloze Translation", the noisy-cloze form).

The entity is replaced by a wh-phrase chosen from its spaCy type, the sentence's words after it
come first and those before it last (so "Kelly Ryan is the Deputy Assistant Secretary" gives
"who is the Deputy Assistant Secretary"), and the words are lightly shuffled and dropped at
random, so that most questions do not repeat their sentence word for word. The reader learns to
find the sentence a question paraphrases and the entity of the asked kind in it, from the
training file's text only.
"""

from __future__ import annotations

import random

# spaCy entity type → the question phrase asking for it. ORG and FAC use their head noun
# instead when it is a common noun ("the Ministry of Public Security" → "which ministry").
_WH = {
    "PERSON": "who",
    "NORP": "which group",
    "ORG": "which organization",
    "FAC": "which place",
    "GPE": "where",
    "LOC": "where",
    "DATE": "when",
    "TIME": "what time",
    "CARDINAL": "how many",
    "MONEY": "how much",
    "QUANTITY": "how much",
    "PERCENT": "what percentage",
    "ORDINAL": "which",
    "LANGUAGE": "which language",
    "EVENT": "which event",
    "WORK_OF_ART": "what",
    "LAW": "which law",
    "PRODUCT": "what",
}
_CONTEXT_WORDS = 10  # sentence words kept on each side of the answer
_DROP = 0.1  # chance of dropping each word
_SHIFT = 1.5  # how far a word may move when shuffled


def made_questions(articles, nlp, rng: random.Random, count: int):
    """``count`` (question, paragraph, answer_start, answer_text) drawn from every entity of
    every paragraph of ``articles`` (lists of {"context": ...} paragraphs)."""
    contexts = [p["context"] for paragraphs in articles for p in paragraphs]
    documents = list(nlp.pipe(contexts, batch_size=64))
    lowercase = {t.text for doc in documents for t in doc if t.is_alpha and t.text.islower()}
    candidates = []
    for context, doc in zip(contexts, documents, strict=True):
        for entity in doc.ents:
            made = _question(entity, lowercase, rng)
            if made:
                candidates.append((made[0], context, made[1], made[2]))
    rng.shuffle(candidates)
    return candidates[:count]


def _question(entity, lowercase: set[str], rng: random.Random):
    """(question, answer_start, answer_text) for one entity, or None."""
    wh = _WH.get(entity.label_)
    if wh is None or len(entity) > 8:
        return None
    root = entity.root
    if entity.label_ in ("ORG", "FAC") and root.text.lower() in lowercase and root.i > entity.start:
        wh = f"which {root.text.lower()}"  # a named "Ministry of ...", "University of ..."
    tokens = list(entity)
    if tokens[0].lower_ == "the":  # SQuAD answers leave the article out
        tokens = tokens[1:]
    if not tokens:
        return None
    sentence = entity.sent
    before = [t for t in sentence if t.i < entity.start][-_CONTEXT_WORDS:]
    after = [t for t in sentence if t.i >= entity.end][:_CONTEXT_WORDS]
    if wh in ("where", "when") and before and before[-1].lower_ in ("in", "on", "at"):
        before = before[:-1]  # "held in Geneva" → "where ... held"
    words = [t.text for t in after + before if not t.is_punct]
    if len(words) < 3:
        return None
    kept = [w for w in words if rng.random() >= _DROP] or words
    order = sorted(range(len(kept)), key=lambda i: i + rng.uniform(0, _SHIFT))
    question = " ".join([wh.capitalize()] + [kept[i] for i in order]) + "?"
    start = tokens[0].idx
    end = tokens[-1].idx + len(tokens[-1].text)
    return question, start, entity.doc.text[start:end]


def negated(question, nlp) -> str | None:
    """The question turned to its negation by its parse, or None: "not" after a copula ("What
    is not the capital …?"), before the verb that has an auxiliary ("When did the war not
    end?"), "never" before a verb that has none ("Who never founded …?"). SQuAD 2.0's writers
    made about a tenth of its unanswerable questions so; the paragraph that answers the question
    rarely says anything of its negation. Tried, not shipped: the reader learns that a "not"
    means no answer, rather than to read (eval/TRIED.md, "negated questions")."""
    doc = nlp(question)
    if any(t.dep_ == "neg" for t in doc):
        return None  # already negated: its negation may be what the paragraph says
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return None
    if root.pos_ == "AUX":
        at, word = root.idx + len(root.text), " not"
    elif any(child.dep_ in ("aux", "auxpass") for child in root.children):
        at, word = root.idx, "not "
    elif root.pos_ == "VERB" and root.i > 0:
        at, word = root.idx, "never "
    else:
        return None
    return question[:at] + word + question[at:]


_ANTONYM_POS = {"ADJ": "a", "ADV": "r", "VERB": "v"}


def antonym_swapped(question: str, said: set[str], nlp, wordnet, rng: random.Random) -> str | None:
    """The question with one of its adjectives, adverbs or verbs whose lemma is in ``said`` (the
    paragraph's lemmas) replaced by a WordNet antonym the paragraph never uses, inflected as the
    word was ("sold" → "bought"), or None. SQuAD 2.0's writers made a fifth of its unanswerable
    questions so (WordNet 3.0 from ``wn``, inflections from ``lemminflect``: make train-setup).
    """
    from lemminflect import getInflection

    swaps = []
    doc = nlp(question)
    for token in doc:
        kind = _ANTONYM_POS.get(token.pos_)
        lemma = token.lemma_.lower()
        if kind is None or token.dep_ in ("aux", "auxpass") or lemma not in said:
            continue
        if token.i > 0 and doc[token.i - 1].lower_ == "how":
            continue  # "How long", "How many": part of the wh-phrase, not of what is asked
        antonyms = {
            antonym.name()
            for synset in wordnet.synsets(lemma, pos=kind)[:2]  # the commonest senses
            for word in synset.lemmas()
            if word.name() == lemma
            for antonym in word.antonyms()
        }
        for word in sorted(antonyms):
            if "_" in word or word in said or lemma in word or word in lemma:
                continue  # "un-", "dis-" antonyms make odd words; the paragraph may say it
            inflected = word
            if token.lower_ != lemma:  # "sold" → "bought"; a bare "most" stays "least"
                inflected = (getInflection(word, token.tag_) or (word,))[0]
            swaps.append(question[: token.idx] + inflected + question[token.idx + len(token) :])
    return rng.choice(swaps) if swaps else None
