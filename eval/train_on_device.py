"""Run eval/train_reader.py's stage 2 on a GPU machine that has PyTorch and transformers but
not this project's environment, nor ../shared, nor the bundled base model (too large to send).

Here (packs what the run needs into FOLDER, about 45 MB):

    .venv/bin/python eval/train_reader.py --init STAGE1 --seed 14 --save-examples F.json.gz
    .venv/bin/python eval/train_on_device.py pack FOLDER --init STAGE1 --examples F.json.gz ...

There (the arguments after ``--`` are train_reader.py's):

    python3 eval/train_on_device.py train FOLDER -- --init FOLDER/stage1.safetensors \\
        --examples FOLDER/F.json.gz --seed 14 --made-epochs 3 --device cuda --out W.safetensors

The pack holds the base model's configuration and tokenizer, and of its frozen word-piece
embeddings only the rows that the examples and the dev files use (exact float32 rows: a word
piece never used is never looked up, so training sees the same numbers as here); the rest of the
network comes from the stage-1 file. Weights trained there load here as any other (their own
sha256 is checked at load once shipped).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import random
import shutil
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BASE_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
EMBEDDINGS = "word_embeddings.safetensors"
# Imported by the rag package for indexing and retrieval; training never calls them.
NOT_NEEDED_THERE = ("faiss", "bm25s", "Stemmer", "orjson", "pypdf", "gradio")


def pack(folder: Path, init: Path, examples: list[Path]) -> None:
    import torch
    import train_reader
    from safetensors import safe_open
    from safetensors.torch import save_file

    from embeddings.sentence_transformer import DEFAULT_MODEL, _resolve_model_folder
    from rag import _reader_model

    with safe_open(str(init), framework="pt") as trained:  # the names only, before the work
        names = trained.keys()  # noqa: SIM118 (safe_open is not iterable)
        if any(name.startswith(_reader_model.FROZEN_PREFIX) for name in names):
            sys.exit(f"{init} holds word embeddings: not a trained reader file")
    tokenizer, encoder = _reader_model.load_base()  # sha256-verified
    base, _ = _resolve_model_folder(DEFAULT_MODEL)
    (folder / "base").mkdir(parents=True, exist_ok=True)
    for name in BASE_FILES:
        shutil.copyfile(base / name, folder / "base" / name)
    texts = []
    for path in examples:
        loaded = train_reader.load_examples(path, random.Random())
        texts += list({context for _, context, _, _ in loaded}) + [q for q, _, _, _ in loaded]
        shutil.copyfile(path, folder / path.name)
    for squad in (train_reader.DEV, train_reader.REPORT):
        shutil.copyfile(squad, folder / squad.name)
        for paragraphs in train_reader.load(squad):
            for p in paragraphs:
                texts += [p["context"]] + [q for q, _, _ in p["qas"]]
    used = {i for ids in tokenizer(texts, add_special_tokens=True)["input_ids"] for i in ids}
    used |= set(tokenizer.all_special_ids)
    ids = torch.tensor(sorted(used), dtype=torch.int64)
    table = encoder.embeddings.word_embeddings.weight.detach()
    save_file({"ids": ids, "rows": table[ids].contiguous()}, str(folder / "base" / EMBEDDINGS))
    shutil.copyfile(init, folder / "stage1.safetensors")
    print(f"packed {len(used)} of {table.shape[0]} word pieces and {len(examples)} example "
          f"file(s) into {folder}")  # fmt: skip


def _stub_missing(names) -> None:
    """Stand-ins for packages the rag package imports but training never uses."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _Stub(name)


class _Stub(types.ModuleType):
    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):  # no __file__, __path__…: not a real module
            raise AttributeError(attribute)
        return _Anything


class _Anything:
    """Takes any arguments and has any attribute, for module-level set-up (a stemmer...)."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Anything()

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return _Anything()


def packed_base(folder: Path):
    """(tokenizer, encoder) as ``_reader_model.load_base`` gives them, for the word pieces that
    ``pack`` kept (the other rows are zeros, and the rest of the encoder is left for the trained
    file to fill)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder / "base"), local_files_only=True)
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(folder / "base")))
    packed = load_file(str(folder / "base" / EMBEDDINGS))
    with torch.no_grad():
        table = encoder.embeddings.word_embeddings.weight
        table.zero_()
        table[packed["ids"]] = packed["rows"]
    return tokenizer, encoder


def train(folder: Path, train_args: list[str]) -> None:
    _stub_missing(NOT_NEEDED_THERE)
    import train_reader

    from rag import _reader_model

    _reader_model.load_base = functools.partial(packed_base, folder)
    train_reader.DEV = folder / train_reader.DEV.name
    train_reader.REPORT = folder / train_reader.REPORT.name
    sys.argv = ["train_reader.py", *train_args]
    train_reader.main()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="here: gather what the run needs into FOLDER")
    packing.add_argument("folder", type=Path)
    packing.add_argument("--init", type=Path, required=True, help="the stage-1 weights")
    packing.add_argument("--examples", type=Path, nargs="+", required=True,
                         help="files from train_reader.py --save-examples")  # fmt: skip
    training = commands.add_parser("train", help="there: train_reader.py with the packed base")
    training.add_argument("folder", type=Path)
    training.add_argument("train_args", nargs=argparse.REMAINDER,
                          help="after --: train_reader.py's arguments")  # fmt: skip
    args = parser.parse_args()
    if args.command == "pack":
        pack(args.folder, args.init, args.examples)
    else:
        train(args.folder, [a for a in args.train_args if a != "--"])


if __name__ == "__main__":
    main()
