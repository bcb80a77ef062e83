"""One family of errors for problems the package detects; callers' mistakes stay ValueError etc."""

__all__ = ["EmbedderMismatchError", "IndexFormatError", "RagError"]


class RagError(Exception):
    """A problem the package detected; its message says what to do about it."""


class IndexFormatError(RagError):
    """An index folder is missing, damaged, or written by an incompatible version."""


class EmbedderMismatchError(RagError):
    """An index was built with a different embedding model than the one asked for."""
