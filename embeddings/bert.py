"""A BERT encoder in plain PyTorch and its word-piece tokenizer through ``tokenizers``: what the
bundled MiniLM needs to embed and to read, without importing ``transformers`` or
``sentence_transformers`` (3 s of every command's start-up, for the same numbers).

The module names are Hugging Face's ``BertModel``'s, so its weight files (and the reader's, which
were trained on it) load unchanged; ``tests/test_embeddings.py`` checks the vectors against
sentence-transformers' to 1e-5. Folders this cannot run (another architecture, other modules)
are left to sentence-transformers by ``embeddings.sentence_transformer``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn


class EncoderOutput(NamedTuple):
    last_hidden_state: torch.Tensor


# Layers left uninitialised: the weight file gives every value, and drawing random ones first
# costs 0.2 s of each start (made on the "meta" device instead, it imported torch._dynamo).
class _Linear(nn.Linear):
    def reset_parameters(self) -> None:
        pass


class _Embedding(nn.Embedding):
    def reset_parameters(self) -> None:
        pass


class _LayerNorm(nn.LayerNorm):
    def reset_parameters(self) -> None:
        pass


class _Embeddings(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden = config["hidden_size"]
        self.word_embeddings = _Embedding(config["vocab_size"], hidden)
        self.position_embeddings = _Embedding(config["max_position_embeddings"], hidden)
        self.token_type_embeddings = _Embedding(config.get("type_vocab_size", 2), hidden)
        self.LayerNorm = _LayerNorm(hidden, eps=config.get("layer_norm_eps", 1e-12))

    def forward(self, input_ids, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        summed = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(positions)
        )
        return self.LayerNorm(summed)


class _SelfAttention(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.query = _Linear(hidden, hidden)
        self.key = _Linear(hidden, hidden)
        self.value = _Linear(hidden, hidden)

    def forward(self, hidden, mask):
        batch, tokens, width = hidden.shape
        shape = (batch, tokens, self.heads, width // self.heads)
        q, k, v = (
            part(hidden).view(shape).transpose(1, 2) for part in (self.query, self.key, self.value)
        )
        context = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return context.transpose(1, 2).reshape(batch, tokens, width)


class _Output(nn.Module):
    """A dense layer, then LayerNorm over it plus the residual (BERT's "output" blocks)."""

    def __init__(self, inner: int, hidden: int, eps: float):
        super().__init__()
        self.dense = _Linear(inner, hidden)
        self.LayerNorm = _LayerNorm(hidden, eps=eps)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dense(hidden) + residual)


class _Attention(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden = config["hidden_size"]
        self.self = _SelfAttention(config)
        self.output = _Output(hidden, hidden, config.get("layer_norm_eps", 1e-12))

    def forward(self, hidden, mask):
        return self.output(self.self(hidden, mask), hidden)


class _Intermediate(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.dense = _Linear(config["hidden_size"], config["intermediate_size"])

    def forward(self, hidden):
        return nn.functional.gelu(self.dense(hidden))  # exact (erf) GELU, as BERT's "gelu"


class _Layer(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        eps = config.get("layer_norm_eps", 1e-12)
        self.attention = _Attention(config)
        self.intermediate = _Intermediate(config)
        self.output = _Output(config["intermediate_size"], config["hidden_size"], eps)

    def forward(self, hidden, mask):
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class _Stack(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        layers = config["num_hidden_layers"]
        self.layer = nn.ModuleList(_Layer(config) for _ in range(layers))


class _Pooler(nn.Module):  # unused, kept so BertModel's weight files load without leftovers
    def __init__(self, config: dict):
        super().__init__()
        self.dense = _Linear(config["hidden_size"], config["hidden_size"])


class BertEncoder(nn.Module):
    """BERT's encoder (``BertModel`` without running its pooler): token states for input ids.
    Its parameters start uninitialised: load weights into it (``load_encoder``)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = _Config(config)
        self.embeddings = _Embeddings(config)
        self.encoder = _Stack(config)
        self.pooler = _Pooler(config)

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> EncoderOutput:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        hidden = self.embeddings(input_ids, token_type_ids)
        # Additive mask over keys: 0 where a token may be attended to, a large negative elsewhere.
        mask = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(
            hidden.dtype
        ).min
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask.to(hidden.dtype))
        return EncoderOutput(hidden)


class _Config(dict):
    """The model's config.json, also readable as attributes (``config.hidden_size``)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


SUPPORTED_ACTIVATIONS = ("gelu",)


def can_run(folder: Path) -> bool:
    """Whether ``folder`` holds a BERT this module runs (config and safetensors weights)."""
    try:
        config = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (
        config.get("model_type") == "bert"
        and config.get("hidden_act", "gelu") in SUPPORTED_ACTIVATIONS
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def load_encoder(folder: Path) -> BertEncoder:
    """The encoder with the folder's weights, in eval mode.

    Raises:
        ValueError: the weights do not fit a BERT of the folder's config.
    """
    from safetensors.torch import load_file

    config = json.loads((folder / "config.json").read_text("utf-8"))
    encoder = BertEncoder(config)
    weights = {
        name.removeprefix("bert."): tensor.float()
        for name, tensor in load_file(str(folder / "model.safetensors")).items()
        if not name.endswith("position_ids") and not name.startswith("cls.")
    }
    expected = set(encoder.state_dict())
    if not expected - {"pooler.dense.weight", "pooler.dense.bias"} <= set(weights):
        missing = sorted(expected - set(weights))
        raise ValueError(f"weights do not fit a BERT of its config: missing {missing[:3]}")
    for name in expected - set(weights):  # a model saved without its pooler: zeros, never used
        weights[name] = torch.zeros_like(encoder.get_parameter(name))
    unexpected = sorted(set(weights) - expected)
    if unexpected:
        raise ValueError(f"weights do not fit a BERT of its config: unexpected {unexpected[:3]}")
    encoder.load_state_dict(weights, assign=True)
    return encoder.eval()


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token states the mask keeps (sentence-transformers' "mean" pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
