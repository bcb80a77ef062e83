"""embeddings/precision.py: bfloat16 where the CPU has it, float32 elsewhere, or as asked."""

import pytest
import torch

from embeddings import precision as _precision


def test_auto_follows_what_the_cpu_reports(monkeypatch):
    monkeypatch.delenv("RAG_PRECISION", raising=False)
    expected = "bfloat16" if _precision.bfloat16_supported() else "float32"
    assert _precision.precision() == expected


@pytest.mark.parametrize("asked", ["float32", "bfloat16", "FLOAT32", " auto "])
def test_the_setting_forces_it(monkeypatch, asked):
    monkeypatch.setenv("RAG_PRECISION", asked)
    chosen = _precision.precision()
    if asked.strip().lower() == "auto":
        assert chosen in ("float32", "bfloat16")
    else:
        assert chosen == asked.lower()


def test_a_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("RAG_PRECISION", "fp8")
    with pytest.raises(ValueError, match="RAG_PRECISION='fp8'.*float32, bfloat16"):
        _precision.precision()


def test_autocast_runs_products_in_the_chosen_precision(monkeypatch):
    a = torch.randn(8, 16)
    monkeypatch.setenv("RAG_PRECISION", "float32")
    with _precision.autocast():
        assert (a @ a.T).dtype == torch.float32
    monkeypatch.setenv("RAG_PRECISION", "bfloat16")
    with _precision.autocast():
        assert (a @ a.T).dtype == torch.bfloat16
