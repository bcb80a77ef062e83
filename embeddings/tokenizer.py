"""The model folder's fast tokenizer (``tokenizer.json``) through the ``tokenizers`` library
alone, answering the part of Hugging Face's tokenizer call that this project uses: single texts
with offsets, and question/passage pairs cut into overlapping windows. The same numbers as
``transformers``' ``PreTrainedTokenizerFast`` (``tests/test_read.py`` compares them), without
its 0.5 s import."""

from __future__ import annotations

import threading
from pathlib import Path


class Encoded(dict):
    """What a call returns: ``input_ids``, ``attention_mask``, ``token_type_ids``,
    ``offset_mapping`` and, for windows, ``overflow_to_sample_mapping``; lists, or tensors."""

    def __init__(self, fields: dict, sequence_ids: list[list[int | None]]):
        super().__init__(fields)
        self._sequence_ids = sequence_ids

    def sequence_ids(self, row: int = 0) -> list[int | None]:
        """Per token of window ``row``: 0 for the question, 1 for the passage, None otherwise."""
        return self._sequence_ids[row]


class WordPieceTokenizer:
    """A ``tokenizers.Tokenizer`` loaded from ``folder/tokenizer.json``; safe to share."""

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._lock = threading.Lock()  # truncation is set per call on the shared object
        self.pad_token_id = self._tokenizer.token_to_id("[PAD]") or 0

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self._tokenizer.id_to_token(int(i)) for i in ids]

    def count(self, text: str) -> int:
        """Word pieces in ``text``, special tokens excluded."""
        with self._lock:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: list[str], max_length: int):
        """Encodings of ``texts`` with special tokens, each cut to ``max_length`` tokens."""
        with self._lock:
            self._tokenizer.enable_truncation(max_length)
            try:
                return self._tokenizer.encode_batch(texts, add_special_tokens=True)
            finally:
                self._tokenizer.no_truncation()

    def __call__(
        self,
        text,
        text_pair=None,
        *,
        add_special_tokens: bool = True,
        truncation: str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        return_overflowing_tokens: bool = False,
        return_offsets_mapping: bool = False,
        padding: str | bool = False,
        return_tensors: str | None = None,
    ) -> Encoded:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        inputs = texts if text_pair is None else list(zip(texts, text_pair, strict=True))
        with self._lock:
            if truncation:
                strategy = truncation if isinstance(truncation, str) else "longest_first"
                self._tokenizer.enable_truncation(max_length, stride=stride, strategy=strategy)
            try:
                encodings = self._tokenizer.encode_batch(
                    inputs, add_special_tokens=add_special_tokens
                )
            finally:
                self._tokenizer.no_truncation()
        rows, sample = [], []
        for i, encoding in enumerate(encodings):
            parts = [encoding, *encoding.overflowing] if return_overflowing_tokens else [encoding]
            rows += parts
            sample += [i] * len(parts)
        fields = {
            "input_ids": [r.ids for r in rows],
            "token_type_ids": [r.type_ids for r in rows],
            "attention_mask": [r.attention_mask for r in rows],
        }
        sequence_ids = [r.sequence_ids for r in rows]
        if return_offsets_mapping:
            fields["offset_mapping"] = [[tuple(o) for o in r.offsets] for r in rows]
        if return_overflowing_tokens:
            fields["overflow_to_sample_mapping"] = sample
        if padding:
            width = max((len(ids) for ids in fields["input_ids"]), default=0)
            fill = {"input_ids": self.pad_token_id, "offset_mapping": (0, 0)}
            for key in ("input_ids", "token_type_ids", "attention_mask", "offset_mapping"):
                if key in fields:
                    value = fill.get(key, 0)
                    fields[key] = [row + [value] * (width - len(row)) for row in fields[key]]
            sequence_ids = [s + [None] * (width - len(s)) for s in sequence_ids]
        if return_tensors == "pt":
            import torch

            fields = {key: torch.tensor(value) for key, value in fields.items()}
        elif single and not return_overflowing_tokens:
            fields = {key: value[0] for key, value in fields.items()}
        return Encoded(fields, sequence_ids)
