"""One family of errors for problems the package detects; callers' mistakes stay ValueError etc."""

__all__ = [
    "EmbedderMismatchError",
    "ExtractionError",
    "IndexFormatError",
    "IndexLockedError",
    "ClusterError",
    "RagError",
    "one_line",
]


class RagError(Exception):
    """A problem the package detected; its message says what to do about it."""


class IndexFormatError(RagError):
    """An index folder is missing, damaged, or written by an incompatible version."""


class IndexLockedError(RagError):
    """Another process kept writing to the index folder for longer than a writer waits."""


class EmbedderMismatchError(RagError):
    """An index was built with a different embedding model than the one asked for."""


class ExtractionError(Exception):
    """A file cannot be turned into text; the message is the one-line reason shown to the user.

    Not a ``RagError``: it never reaches the caller, it becomes a skipped file in the report.
    """


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters), for a one-line reason."""
    lines = str(exc).strip().splitlines()
    message = lines[0][:200] if lines else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class ClusterError(RagError):
    """The cluster cannot be reached, lost a worker or shard it could not replace, or ran out of
    time (``rag.cluster``)."""
