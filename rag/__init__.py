"""rag: ask questions of your documents offline and get extracted answers with exact citations.

>>> import rag
>>> index = rag.Index.build(["data/counter-trafficking"], path="index")
>>> answer = rag.ask(index, "Who heads IOM's Counter-Trafficking Division?")
>>> answer.text, answer.citations[0].source
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are never downloaded at run time
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.answer import Answer, Candidate, Citation, ask  # noqa: E402
from rag.errors import (  # noqa: E402
    EmbedderMismatchError,
    IndexFormatError,
    IndexLockedError,
    RagError,
)
from rag.evaluate import Report, evaluate  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.ingest import IngestLimits  # noqa: E402
from rag.retrieve import Hit  # noqa: E402

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
