"""Would ONNX Runtime embed faster than PyTorch, and at what cost in retrieval? A measurement only.

    .venv/bin/pip install --no-deps --target /tmp/ortpkg onnxruntime onnx protobuf ml_dtypes \\
        flatbuffers coloredlogs humanfriendly
    PYTHONPATH=/tmp/ortpkg .venv/bin/python eval/bench_onnx.py

The packages are not dependencies of the project (see README, "Scaling"): sentence-transformers'
own ONNX backend needs optimum-onnx, which requires transformers < 4.56, and the project uses 5.x.
So the bundled all-MiniLM-L6-v2 is exported here with ``torch.onnx`` (mean pooling and
normalisation included) and quantised to int8 with ONNX Runtime's dynamic quantisation. Prints
texts per second on the 54 paragraphs of SQuAD v1.1 article 1 (2 threads each) and the
retrieval benchmark's recall
(all shared SQuAD paragraphs, as ``eval/retrieval_benchmark.py``) with the int8 model.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))


def main() -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        sys.exit("onnxruntime is not importable: install it as the docstring says")
    from embeddings import load_embedder
    from rag._questions import load_squad

    real = load_embedder(cache=False)
    with tempfile.TemporaryDirectory() as folder:
        exported = export(real, Path(folder))
        squad = ROOT.parent / "shared" / "benchmarks" / "squad" / "squad-v1.1-dev-article1.json"
        paragraphs, _ = load_squad(squad)
        texts = list(paragraphs.values())
        real.embed(texts[:8])
        started = time.perf_counter()
        reference = real.embed(texts)
        print(f"PyTorch float32: {len(texts) / (time.perf_counter() - started):.1f} texts/s")
        for name, path in exported.items():
            embedder = OnnxEmbedder(real, path)
            started = time.perf_counter()
            vectors = embedder.embed(texts)
            speed = len(texts) / (time.perf_counter() - started)
            cosine = (vectors * reference).sum(axis=1)
            print(
                f"ONNX {name}: {speed:.1f} texts/s; cosine to PyTorch's vectors min "
                f"{cosine.min():.3f}, mean {cosine.mean():.4f}",
                flush=True,
            )
        recall(OnnxEmbedder(real, exported["int8"]))


def export(real, folder: Path) -> dict[str, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, ids, mask, types):
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]
            weights = mask.unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = Pooled(real._model[0].auto_model).eval()
    sample = real._tokenizer(["a", "two words"], padding=True, return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    paths = {"float32": folder / "minilm.onnx", "int8": folder / "minilm-int8.onnx"}
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
        str(paths["float32"]),
        input_names=["ids", "mask", "types"],
        output_names=["vectors"],
        dynamic_axes={"ids": axes, "mask": axes, "types": axes, "vectors": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(paths["float32"]), str(paths["int8"]), weight_type=QuantType.QInt8)
    return paths


class OnnxEmbedder:
    """The real embedder's tokenizer and settings, ONNX Runtime for the vectors."""

    def __init__(self, real, path: Path):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.real = real
        self.identity = dataclasses.replace(real.identity, name=f"minilm-onnx-{path.stem}")
        self.dim, self.max_tokens = real.dim, real.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        batches = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), 32):
            encoded = self.real._tokenizer(
                texts[start : start + 32],
                padding=True,
                truncation=True,
                max_length=self.max_tokens + 2,
                return_tensors="np",
            )
            inputs = {
                "ids": encoded["input_ids"],
                "mask": encoded["attention_mask"],
                "types": encoded["token_type_ids"],
            }
            batches.append(self.session.run(None, inputs)[0])
        return np.concatenate(batches).astype(np.float32)


def recall(embedder) -> None:
    from retrieval_benchmark import DEFAULT_DIR, _corpus, _document_ranks

    import rag

    with tempfile.TemporaryDirectory() as folder:
        paragraphs = Path(folder) / "paragraphs"
        paragraphs.mkdir()
        questions = _corpus(DEFAULT_DIR, paragraphs)
        index = rag.Index(embedder)
        index.sync([paragraphs])
        for method in ("hybrid", "dense"):
            at1 = at5 = 0
            for question, gold in questions:
                ranked = _document_ranks(index.search(question, k=20, method=method))
                at1 += ranked[:1] == [gold]
                at5 += gold in ranked[:5]
            n = len(questions)
            print(f"int8 {method}: recall@1 {at1 / n:.3f}, recall@5 {at5 / n:.3f} ({n} questions)")


if __name__ == "__main__":
    main()
