"""Reading: a trained extractive reader picks the answer span in retrieved passages, or none.

>>> reader = load_reader()
>>> spans = reader.read("Who heads the division?", ["The division is headed by Ann Lee."])
>>> spans[0].text, round(spans[0].confidence, 2)
('Ann Lee', 0.25)

Each passage is read in windows of at most ``MAX_TOKENS`` word pieces (question included); a
passage longer than that is read in overlapping strides. The span is exact text of the passage:
its character offsets come from the tokenizer's offset mapping.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from embeddings import precision as _precision
from rag import _reader_model
from rag.chunk import line_blocks

__all__ = ["Reader", "Span", "load_reader"]

MAX_TOKENS = 384  # one window: [CLS] question [SEP] passage [SEP]
STRIDE = 128  # word pieces shared by consecutive windows of a long passage
MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
# confidence = sigmoid(CONFIDENCE_SCALE × null difference + CONFIDENCE_SHIFT): a logistic fit of
# "the answer is right" (F1 ≥ 0.5; any answer to an unanswerable question is wrong) on SQuAD
# v2.0 dev read as rag.ask reads, by eval/choose_settings.py. Monotone, so it orders answers as
# the null difference does; it only makes the number mean a share of right answers.
CONFIDENCE_SCALE = 0.2313
CONFIDENCE_SHIFT = -0.5001


@dataclass(frozen=True)
class Span:
    """The best answer the reader found in one passage.

    ``start``/``end`` are character offsets in that passage's text. ``null_difference`` weighs
    this span against "not in this passage" alone: the span's start + end logit minus the
    no-answer position's (SQuAD 2.0's null-score difference). ``confidence`` maps it to the
    share of answers that were right at that difference on SQuAD v2.0 dev (see
    ``CONFIDENCE_SCALE``). ``probability`` is the model's probability for this exact span (start ×
    end probability, every span and "no answer" competing) and ``no_answer`` the same probability
    for "not in this passage". ``score`` is the span's start + end logit.
    """

    passage: int
    start: int
    end: int
    text: str
    confidence: float
    probability: float
    no_answer: float
    score: float
    null_difference: float


class Reader:
    """A span reader over one network; safe to share between threads."""

    def __init__(self, tokenizer, net: torch.nn.Module):
        self._tokenizer = tokenizer
        self._net = net
        self._lock = threading.Lock()  # fast tokenizers fail when shared between threads

    def read(self, question: str, passages: list[str], per_passage: int = 1) -> list[Span]:
        """The best span of each passage that has one (or its best ``per_passage``, never
        overlapping), most confident first. All passages are read in one batch.

        Raises:
            ValueError: an empty question, or ``per_passage`` < 1.
        """
        if not question.strip():
            raise ValueError("the question is empty")
        if per_passage < 1:
            raise ValueError(f"per_passage must be at least 1, got {per_passage}")
        if not any(p.strip() for p in passages):
            return []
        with self._lock:
            windows = encode_windows(self._tokenizer, question, passages)
        with torch.inference_mode(), _precision.autocast():
            start_logits, end_logits = self._net(**model_inputs(windows))
        spans = best_spans(
            windows, start_logits.float().numpy(), end_logits.float().numpy(), passages, per_passage
        )
        return sorted(spans, key=lambda s: -s.confidence)


def load_reader(path: str | Path | None = None) -> Reader:
    """The shipped reader (weights sha256-verified), or a freshly trained file at ``path``.

    Raises:
        ReaderWeightsError: the shipped weights are missing or damaged.
    """
    if path is None:
        tokenizer, net = _reader_model.load_trained()
    else:
        tokenizer, net = _reader_model.load_trained(Path(path), expected_sha256=None)
    return Reader(tokenizer, net)


def encode_windows(tokenizer, question: str | list[str], passages: list[str], tensors=True):
    """Tokenise question/passage pairs into windows; ``overflow_to_sample_mapping`` tells which
    passage each window reads, ``offset_mapping`` where each token lies in it. Without
    ``tensors``, unpadded lists (for training, which pads its own batches)."""
    questions = [question] * len(passages) if isinstance(question, str) else question
    questions = [_clip_question(tokenizer, q) for q in questions]
    return tokenizer(
        questions,
        passages,
        truncation="only_second",
        max_length=MAX_TOKENS,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest" if tensors else False,
        return_tensors="pt" if tensors else None,
    )


def _clip_question(tokenizer, question: str) -> str:
    offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    pieces = offsets["offset_mapping"]
    if len(pieces) <= MAX_QUESTION_TOKENS:
        return question
    return question[: pieces[MAX_QUESTION_TOKENS - 1][1]]


def answer_mask(windows) -> torch.Tensor:
    """1 where an answer may start or end: [CLS] (no answer) and the passage's tokens."""
    rows = [
        [int(i == 0 or sequence == 1) for i, sequence in enumerate(windows.sequence_ids(row))]
        for row in range(len(windows["input_ids"]))
    ]
    return torch.tensor(rows, dtype=torch.long)


def model_inputs(windows) -> dict[str, torch.Tensor]:
    return {
        "input_ids": windows["input_ids"],
        "attention_mask": windows["attention_mask"],
        "token_type_ids": windows["token_type_ids"],
        "answer_mask": answer_mask(windows),
    }


def best_spans(
    windows,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    passages: list[str],
    per_passage: int = 1,
):
    """The best ``per_passage`` spans of each passage over its windows, most confident first
    within each (shapes: (windows, tokens)); spans of one passage never overlap."""
    found: dict[int, list[Span]] = {}
    block_starts: dict[int, list[int]] = {}
    for row, passage in enumerate(windows["overflow_to_sample_mapping"].tolist()):
        offsets = windows["offset_mapping"][row].tolist()
        sequence = windows.sequence_ids(row)
        text = passages[passage]
        if passage not in block_starts:
            block_starts[passage] = [start for start, _ in line_blocks(text)]
        blocks = np.array([bisect.bisect_right(block_starts[passage], s) for s, _ in offsets])
        window = _Window(start_logits[row], end_logits[row], sequence, offsets, blocks, text)
        for start, end, *figures in _spans_in_window(window, per_passage):
            span = Span(passage, start, end, text[start:end], *figures)
            found.setdefault(passage, []).append(span)
    result = []
    for spans in found.values():  # overlapping windows see some words twice: keep the surer
        kept: list[Span] = []
        for span in sorted(spans, key=lambda s: -s.confidence):
            if not any(s.start < span.end and span.start < s.end for s in kept):
                kept.append(span)
        result.extend(kept[:per_passage])
    return result


class _Window(NamedTuple):
    start_logits: np.ndarray  # (tokens,)
    end_logits: np.ndarray
    sequence: list  # 0 question, 1 passage, None special tokens
    offsets: list  # (start, end) character offsets of each token in the passage
    blocks: np.ndarray  # each token's block of lines (a span's two ends lie in the same one)
    passage: str


def word_logits(window: _Window) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits per whole word: a word's start logit sits on its first word piece,
    its end logit on its last, each the log of the summed probabilities of its pieces; every
    other piece gets -inf, so no span starts or ends inside a run of letters or digits ("1005"
    is never cut to "100"). A word cut by the window's edge can neither start nor end there."""
    text, offsets = window.passage, window.offsets
    start_logits = np.full(len(offsets), -np.inf)
    end_logits = np.full(len(offsets), -np.inf)
    start_logits[0], end_logits[0] = window.start_logits[0], window.end_logits[0]  # no answer
    context = np.flatnonzero([s == 1 for s in window.sequence])
    if not len(context):
        return start_logits, end_logits
    # A piece continues the word before it when it follows it directly inside a run of letters.
    continues = np.array(
        [
            n > 0 and context[n - 1] == i - 1 and _joined(text, offsets[i][0])
            for n, i in enumerate(context)
        ]
    )
    firsts = np.flatnonzero(~continues)  # each word's first piece, as positions in ``context``
    lasts = np.append(firsts[1:] - 1, len(context) - 1)
    word_of = np.cumsum(~continues) - 1
    for logits, out, edge in (
        (window.start_logits, start_logits, firsts),
        (window.end_logits, end_logits, lasts),
    ):
        pieces = logits[context].astype(np.float64)
        top = np.maximum.reduceat(pieces, firsts)
        summed = top + np.log(np.add.reduceat(np.exp(pieces - top[word_of]), firsts))
        out[context[edge]] = summed
    for first, last in zip(context[firsts], context[lasts], strict=True):
        if _joined(text, offsets[first][0]):  # cut by the window's edge
            start_logits[first] = -np.inf
        if _joined(text, offsets[last][1]):
            end_logits[last] = -np.inf
    return start_logits, end_logits


def _joined(text: str, position: int) -> bool:
    """Whether ``position`` lies inside a run of letters or digits (not at a word's edge)."""
    return 0 < position < len(text) and text[position - 1].isalnum() and text[position].isalnum()


def _spans_in_window(window: _Window, count: int) -> list[tuple]:
    """Up to ``count`` non-overlapping spans of whole words, best first: (start char, end char,
    confidence, span probability, no-answer probability, logit score, null difference)."""
    start_logits, end_logits = word_logits(window)
    context = np.array([s == 1 for s in window.sequence])
    if not context.any():
        return []
    start_p = _softmax(start_logits)
    end_p = _softmax(end_logits)
    # (tokens, tokens) joint probability, only end >= start and at most MAX_ANSWER_TOKENS long
    pairs = np.outer(start_p, end_p)
    joint = np.triu(pairs) - np.triu(pairs, MAX_ANSWER_TOKENS)
    joint[~context, :] = 0.0
    joint[:, ~context] = 0.0
    joint[window.blocks[:, None] != window.blocks[None, :]] = 0.0
    null_score = float(start_logits[0] + end_logits[0])
    spans = []
    while len(spans) < count:
        start, end = np.unravel_index(int(np.argmax(joint)), joint.shape)
        if joint[start, end] <= 0.0:
            break
        first, last = window.offsets[start][0], window.offsets[end][1]
        if not any(c.isalnum() for c in window.passage[first:last]):  # a lone "." or "-"
            joint[start, end] = 0.0
            continue
        score = float(start_logits[start] + end_logits[end])
        # Spans of slightly different extent ("1998", "in 1998") share the probability, so the
        # confidence weighs the best one against no answer alone (chosen on SQuAD v2.0 dev).
        null_difference = score - null_score
        spans.append(
            (
                first,
                last,
                calibrated(null_difference),
                float(joint[start, end]),
                float(start_p[0] * end_p[0]),
                score,
                null_difference,
            )
        )
        joint[start : end + 1, :] = 0.0  # the next span shares no token with this one
        joint[:, start : end + 1] = 0.0
        joint[:start, end + 1 :] = 0.0
    return spans


def calibrated(
    null_difference: float, scale: float = CONFIDENCE_SCALE, shift: float = CONFIDENCE_SHIFT
) -> float:
    """The confidence of a span whose start + end logit exceeds no answer's by this much."""
    logit = scale * null_difference + shift
    return float(0.5 * (1.0 + np.tanh(0.5 * logit)))  # the sigmoid, without overflow


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()
