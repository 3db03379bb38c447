"""Errors with a message meant for the user (the CLI prints them on one line)."""


class MechcodeError(Exception):
    """Base class: anything mechcode reports to the user as a clear one-line error."""


class BadPDF(MechcodeError):
    """A file that cannot be turned into a document (broken, encrypted, no text layer, ...)."""


class StoreError(MechcodeError):
    """The review folder or its database is missing, malformed or too new."""


class CodebookError(MechcodeError):
    """A codebook file that does not follow the format."""


class ModelError(MechcodeError):
    """A model directory that is missing, incomplete or fails its integrity checks."""


class DataError(MechcodeError):
    """A malformed input data file (JSONL line, CSV row, ...)."""
