"""What an embedder is: identity, dimension, token limit, and unit-length float32 vectors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded or does not match what was expected."""


@dataclass(frozen=True)
class EmbedderIdentity:
    """Everything that decides which vector a text gets; stored in every index."""

    name: str
    weights_sha256: str
    dim: int
    max_tokens: int

    @property
    def key(self) -> str:
        """A short stable digest, used to key cached vectors."""
        payload = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()[:32]

    def describe(self) -> str:
        return f"{self.name} ({self.dim} d, weights {self.weights_sha256[:12]})"


class Embedder(Protocol):
    identity: EmbedderIdentity

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens the model sees for this text, special tokens excluded."""
        ...

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, shape (len(texts), dim)."""
        ...
