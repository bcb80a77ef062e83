"""Embedding models: one interface, one file per backend, one function to choose.

>>> from embeddings import load_embedder
>>> embedder = load_embedder()            # bundled all-MiniLM-L6-v2, weights verified
>>> embedder.embed(["a sentence"]).shape
(1, 384)
"""

from embeddings.base import Embedder, EmbedderIdentity, EmbeddingError
from embeddings.cache import EmbeddingCache
from embeddings.sentence_transformer import DEFAULT_MODEL, load_embedder

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "EmbedderIdentity",
    "EmbeddingCache",
    "EmbeddingError",
    "load_embedder",
]
