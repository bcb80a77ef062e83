"""A persistent vector cache keyed by (model identity, text hash), so unchanged text is free."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache", "default_cache_path"]


def default_cache_path() -> Path:
    """``$RAG_CACHE_DIR`` or ``$XDG_CACHE_HOME/rag`` (``~/.cache/rag``), file embeddings.sqlite."""
    root = os.environ.get("RAG_CACHE_DIR")
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag"
    return Path(root) / "embeddings.sqlite"


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite table of float32 vectors; safe to share between threads."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        # WAL without a sync per commit: a new question's vector costs no disk flush on the
        # question path; a crash loses at most the last vectors, which are recomputed.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, text_sha256 TEXT, vector BLOB,"
            " PRIMARY KEY (model, text_sha256))"
        )
        self._db.commit()

    def get_many(self, model_key: str, texts: list[str], dim: int) -> dict[int, np.ndarray]:
        """Cached vectors by position in ``texts``; positions not cached are absent."""
        keys = [_text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                batch = keys[start : start + 500]
                marks = ",".join("?" * len(batch))
                rows = self._db.execute(
                    "SELECT text_sha256, vector FROM vectors"
                    f" WHERE model = ? AND text_sha256 IN ({marks})",
                    [model_key, *batch],
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (dim,):  # a damaged row is recomputed, not trusted
                        found[key] = vector
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, model_key: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [
            (model_key, _text_key(t), np.asarray(v, dtype=np.float32).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            self._db.commit()

    def count(self, model_key: str) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM vectors WHERE model = ?", [model_key]
            ).fetchone()[0]
