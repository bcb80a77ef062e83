"""eval/train_on_device.py: the packed base gives the network that training here gets."""

import random
import sys

import pytest
import torch
from conftest import PROJECT

sys.path.insert(0, str(PROJECT / "eval"))
import train_on_device  # noqa: E402
import train_reader  # noqa: E402

from rag import _reader_model, read  # noqa: E402

QUESTION = "Who opened the workshop in Nanning?"
CONTEXT = "The workshop was held in Nanning in November 2016. Kelly Ryan opened the workshop."


def test_missing_packages_get_stand_ins(monkeypatch):
    name = "a_package_nobody_installs"
    monkeypatch.delitem(sys.modules, name, raising=False)
    train_on_device._stub_missing([name])
    stand_in = sys.modules.pop(name)
    assert stand_in.Stemmer("english").stemWords(["words"]) is not None
    with pytest.raises(AttributeError):
        stand_in.__file__  # noqa: B018 (inspect and importlib ask for it)


def test_packed_base_reads_as_the_bundled_one(tmp_path, monkeypatch):
    if not train_reader.DEV.exists():
        pytest.skip("../shared/benchmarks/squad is absent")
    examples = tmp_path / "examples.json.gz"
    train_reader.save_examples(examples, [(QUESTION, CONTEXT, 51, "Kelly Ryan")], random.Random(1))
    folder = tmp_path / "pack"
    train_on_device.pack(folder, _reader_model.WEIGHTS_PATH, [examples])
    assert (folder / "stage1.safetensors").read_bytes() == _reader_model.WEIGHTS_PATH.read_bytes()

    tokenizer, here = _reader_model.load_trained()
    monkeypatch.setattr(_reader_model, "load_base", lambda: train_on_device.packed_base(folder))
    _, there = _reader_model.load_trained()
    windows = read.encode_windows(tokenizer, QUESTION, [CONTEXT])
    with torch.inference_mode():
        for expected, got in zip(
            here(**read.model_inputs(windows)), there(**read.model_inputs(windows)), strict=True
        ):
            torch.testing.assert_close(got, expected)
