"""rag: ask questions of your documents offline and get extracted answers with exact citations.

>>> import rag
>>> index = rag.Index.build(["data/counter-trafficking"], path="index")
>>> answer = rag.ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> answer.text, answer.citations[0].source
"""

import os
import sys
import types
from typing import TYPE_CHECKING

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are never downloaded at run time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# What ``import rag`` offers, imported on first use: a Ray worker, ``rag --help`` or ``rag info``
# need no PyTorch, and importing it eagerly cost about 2 s of every such start.
_EXPORTS = {
    "Answer": "rag.answer",
    "Candidate": "rag.answer",
    "Citation": "rag.answer",
    "ask": "rag.answer",
    "EmbedderMismatchError": "rag.errors",
    "IndexFormatError": "rag.errors",
    "IndexLockedError": "rag.errors",
    "RagError": "rag.errors",
    "Report": "rag.evaluate",
    "evaluate": "rag.evaluate",
    "Index": "rag.index",
    "IngestLimits": "rag.ingest",
    "Hit": "rag.retrieve",
}

if TYPE_CHECKING:
    from rag.answer import Answer, Candidate, Citation, ask
    from rag.errors import EmbedderMismatchError, IndexFormatError, IndexLockedError, RagError
    from rag.evaluate import Report, evaluate
    from rag.index import Index
    from rag.ingest import IngestLimits
    from rag.retrieve import Hit


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


class _Package(types.ModuleType):
    """``rag.evaluate`` is the function, though a module of that name exists: loading the module
    sets the package's attribute of its name, which must not hide the function."""

    def __setattr__(self, name: str, value) -> None:
        if name == "evaluate" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__version__ = "0.1.0"
__all__ = [
    "Answer",
    "Candidate",
    "Citation",
    "EmbedderMismatchError",
    "Hit",
    "Index",
    "IndexFormatError",
    "IndexLockedError",
    "IngestLimits",
    "RagError",
    "Report",
    "ask",
    "evaluate",
]
