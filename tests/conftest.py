"""Shared fixtures: the real bundled model, loaded once; an isolated embedding cache."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT = Path(__file__).resolve().parent.parent
SAMPLE_CORPUS = PROJECT / "data" / "counter-trafficking"
SHARED = PROJECT.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's embedding cache."""
    os.environ["RAG_CACHE_DIR"] = str(tmp_path_factory.mktemp("embedding-cache"))


@pytest.fixture(scope="session")
def embedder(_isolated_cache):
    from embeddings import load_embedder

    return load_embedder(cache=False)


@pytest.fixture(scope="session")
def reader():
    """The shipped reader (the one rag.ask uses), loaded once."""
    from rag.answer import default_reader

    return default_reader()


@pytest.fixture(scope="session")
def sample_index(embedder):
    """The sample corpus indexed once, in memory (tests must not modify it)."""
    import rag

    index = rag.Index(embedder)
    index.sync([SAMPLE_CORPUS])
    return index


@pytest.fixture
def sample_copy(tmp_path):
    """A writable copy of the sample corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def format_files(tmp_path_factory):
    """eval/format_files.py: a folder with one file of every format (written by each format's own
    library), and (module) the facts they hold."""
    import sys

    sys.path.insert(0, str(PROJECT / "eval"))
    import format_files as module

    folder = tmp_path_factory.mktemp("formats")
    module.write_all(folder)
    return folder, module


def needs_tesseract():
    """Skip unless Debian's Tesseract and its English data are installed."""
    from rag._ocr import INSTALL_HINT, languages

    if "eng" not in languages():
        pytest.skip(f"OCR test: {INSTALL_HINT} (make test does it as root)")
