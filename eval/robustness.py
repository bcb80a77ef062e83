"""Two checks of the quality bar that SQuAD cannot make: answers are whole words of the document,
and an unrelated document added to the index does not take a found answer away.

    .venv/bin/python eval/robustness.py [--json]      # about 2 minutes on 2 cores

- **Lanterns:** 20 one-sentence files ("The inspection team number 5 counted 1005 lanterns in
  the harbour of Vexmoor5 on Tuesday."), each alone in a folder and indexed as a user would,
  asked "How many lanterns did inspection team number 5 count in the harbour of Vexmoor5?"; an
  answer counts when it is exactly the number.
- **Filler:** the sample corpus with a 2 MB text of field-note filler added (paragraphs of
  counter-trafficking words that state no fact, ``filler_text``), asked "Who heads IOM's
  Counter-Trafficking Division?"; it prints the answer before and after, and where the passage
  that holds "Richard Danziger" ranks among the retrieved ones. As in issue 37's report, the
  filler pushes that passage past the first two (4th of 5 here) but not out of the k retrieved.
  The rank is sensitive to how often the filler uses the question's phrase: at 0.07 of its
  sentences rather than 0.06 the passage ranks 7th, out of k = 5, and the reader answers from
  the filler ("head officials", 0.54); asked with k = 10 it reads the passage and answers
  "Richard Danziger" again (README, "Limits").
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

LANTERN_FILES = 20
DANZIGER = "Who heads IOM's Counter-Trafficking Division?"
FILLER_BYTES = 1_990_000  # "2 MB", under the 2,000,000 characters a file may keep
_VOCABULARY = (
    "IOM counter-trafficking division head heads field note notes office regional team victims "
    "trafficking human migrants migration smuggling protection assistance shelter shelters "
    "programme project coordination partners partner government governments officials police "
    "border training workshop awareness referral case cases support services community "
    "communities outreach prevention prosecution cooperation capacity dialogue network staff "
    "visit visits meeting meetings report reporting monitoring follow-up review mission unit "
    "counter trafficking-related exploitation labour recruitment return reintegration"
).split()
# The question's own phrase in 6 sentences in 100, so that the filler competes in retrieval.
_PHRASE = "IOM's Counter-Trafficking Division"
PHRASE_CHANCE = 0.06


def filler_text(size: int, seed: int = 7, phrase_chance: float = PHRASE_CHANCE) -> str:
    """About ``size`` characters of paragraphs made of the words of counter-trafficking work in
    random order: they look like the subject and answer nothing."""
    rng = random.Random(seed)
    paragraphs, length = [], 0
    while length < size:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            words = rng.choices(_VOCABULARY, k=rng.randint(10, 22))
            if rng.random() < phrase_chance:
                words.insert(rng.randrange(len(words) + 1), _PHRASE)
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = "Field note. " + " ".join(sentences)
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs) + "\n"


def lantern_sentence(team: int) -> tuple[str, str, str]:
    """(the file's sentence, the question, the answer) of one lantern file."""
    count = str(1000 + team)
    sentence = (
        f"The inspection team number {team} counted {count} lanterns in the harbour of "
        f"Vexmoor{team} on Tuesday."
    )
    question = (
        f"How many lanterns did inspection team number {team} count in the harbour of "
        f"Vexmoor{team}?"
    )
    return sentence, question, count


def check_lanterns(embedder, folder: Path) -> dict:
    import rag

    answers = []
    for team in range(1, LANTERN_FILES + 1):
        sentence, question, expected = lantern_sentence(team)
        documents = folder / f"lantern-{team}"
        documents.mkdir()
        (documents / "note.txt").write_text(sentence + "\n", encoding="utf-8")
        index = rag.Index(embedder)
        index.sync([documents])
        answer = rag.ask(index, question)
        answers.append({"team": team, "expected": expected, "answer": answer.text})
    right = sum(1 for a in answers if a["answer"] == a["expected"])
    return {"right": right, "of": len(answers), "answers": answers}


def check_filler(embedder, folder: Path) -> dict:
    import shutil

    import rag

    documents = folder / "corpus"
    shutil.copytree(ROOT / "data" / "counter-trafficking", documents)
    index = rag.Index(embedder)
    index.sync([documents])
    before = rag.ask(index, DANZIGER)
    (documents / "field-notes.txt").write_text(filler_text(FILLER_BYTES), encoding="utf-8")
    started = time.perf_counter()
    index.sync([documents])
    seconds = time.perf_counter() - started
    hits = index.search(DANZIGER, k=5)
    rank = next((n for n, h in enumerate(hits, 1) if "Richard Danziger" in h.text), None)
    after = rag.ask(index, DANZIGER)
    return {
        "before": before.text,
        "before_confidence": round(before.confidence, 3),
        "after": after.text,
        "after_confidence": round(after.confidence, 3),
        "filler_chunks_among_5": sum(1 for h in hits if h.source.endswith("field-notes.txt")),
        "danziger_passage_rank": rank,
        "seconds_indexing_filler": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from embeddings import EmbeddingCache, load_embedder

    with tempfile.TemporaryDirectory(prefix="robustness-") as folder:
        folder = Path(folder)
        embedder = load_embedder(cache=EmbeddingCache(folder / "embeddings.sqlite"))
        results = {
            "lanterns": check_lanterns(embedder, folder),
            "filler": check_filler(embedder, folder),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    lanterns, filler = results["lanterns"], results["filler"]
    wrong = [
        f"{a['team']}: {a['answer']!r}" for a in lanterns["answers"] if a["answer"] != a["expected"]
    ]
    print(
        f"lanterns: {lanterns['right']} of {lanterns['of']} answered with the exact number"
        + (f" (wrong: {', '.join(wrong)})" if wrong else "")
    )
    print(
        f"filler: {DANZIGER!r} → {filler['before']!r} ({filler['before_confidence']}) before, "
        f"{filler['after']!r} ({filler['after_confidence']}) after adding "
        f"{FILLER_BYTES / 1e6:.0f} MB of filler; the Danziger passage ranks "
        f"{filler['danziger_passage_rank']} of 5 retrieved, {filler['filler_chunks_among_5']} "
        "of them filler"
    )


if __name__ == "__main__":
    main()
