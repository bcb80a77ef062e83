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

import numpy as np
import torch

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
CONFIDENCE_SCALE = 0.1653
CONFIDENCE_SHIFT = -1.3380


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

    def read(self, question: str, passages: list[str]) -> list[Span]:
        """The best span of each passage that has one, most confident first.

        Raises:
            ValueError: an empty question.
        """
        if not question.strip():
            raise ValueError("the question is empty")
        if not any(p.strip() for p in passages):
            return []
        with self._lock:
            windows = encode_windows(self._tokenizer, question, passages)
        with torch.inference_mode():
            start_logits, end_logits = self._net(**model_inputs(windows))
        spans = best_spans(windows, start_logits.numpy(), end_logits.numpy(), passages)
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


def best_spans(windows, start_logits: np.ndarray, end_logits: np.ndarray, passages: list[str]):
    """The best span of each passage over its windows (shapes: (windows, tokens))."""
    best: dict[int, Span] = {}
    block_starts: dict[int, list[int]] = {}
    for row, passage in enumerate(windows["overflow_to_sample_mapping"].tolist()):
        offsets = windows["offset_mapping"][row].tolist()
        sequence = windows.sequence_ids(row)
        if passage not in block_starts:
            block_starts[passage] = [start for start, _ in line_blocks(passages[passage])]
        blocks = np.array([bisect.bisect_right(block_starts[passage], s) for s, _ in offsets])
        span = _best_in_window(start_logits[row], end_logits[row], sequence, offsets, blocks)
        if span is None:
            continue
        start, end, *figures = span
        found = Span(passage, start, end, passages[passage][start:end], *figures)
        if passage not in best or found.confidence > best[passage].confidence:
            best[passage] = found
    return list(best.values())


def _best_in_window(start_logits, end_logits, sequence, offsets, blocks: np.ndarray):
    """(start char, end char, confidence, span probability, no-answer probability, logit score,
    null difference) or None.
    ``blocks`` numbers each token's block of lines; a span's two ends lie in the same one."""
    context = np.array([s == 1 for s in sequence])
    if not context.any():
        return None
    start_p = _softmax(start_logits)
    end_p = _softmax(end_logits)
    # (tokens, tokens) joint probability, only end >= start and at most MAX_ANSWER_TOKENS long
    pairs = np.outer(start_p, end_p)
    joint = np.triu(pairs) - np.triu(pairs, MAX_ANSWER_TOKENS)
    joint[~context, :] = 0.0
    joint[:, ~context] = 0.0
    joint[blocks[:, None] != blocks[None, :]] = 0.0
    start, end = np.unravel_index(int(np.argmax(joint)), joint.shape)
    if joint[start, end] <= 0.0:
        return None
    score = float(start_logits[start] + end_logits[end])
    # Spans of slightly different extent ("1998", "in 1998") share the probability, so the
    # confidence weighs the best one against no answer alone (chosen on SQuAD v2.0 dev).
    null_difference = score - float(start_logits[0] + end_logits[0])
    return (
        offsets[start][0],
        offsets[end][1],
        calibrated(null_difference),
        float(joint[start, end]),
        float(start_p[0] * end_p[0]),
        score,
        null_difference,
    )


def calibrated(
    null_difference: float, scale: float = CONFIDENCE_SCALE, shift: float = CONFIDENCE_SHIFT
) -> float:
    """The confidence of a span whose start + end logit exceeds no answer's by this much."""
    logit = scale * null_difference + shift
    return float(0.5 * (1.0 + np.tanh(0.5 * logit)))  # the sigmoid, without overflow


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()
