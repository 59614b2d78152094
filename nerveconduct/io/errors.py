"""Named errors of the file readers and the archive.

Every error names the file and, where it applies, the line (text formats) or record (EDF,
archive row) where reading failed, so one bad file in a batch can be reported and skipped.
"""

from __future__ import annotations

from os import PathLike

__all__ = ["NerveConductIOError", "FormatError", "UnknownFormatError", "ArchiveError", "SheetError"]


class NerveConductIOError(Exception):
    """Base of every reading/writing error; ``path`` and ``location`` say where."""

    def __init__(self, message: str, *, path: str | PathLike[str] | None = None,
                 location: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.location = location
        self.detail = message
        where = ""
        if self.path is not None:
            where = self.path + (f", {location}" if location else "") + ": "
        elif location:
            where = location + ": "
        super().__init__(where + message)


class FormatError(NerveConductIOError, ValueError):
    """The file is of a known format but its content is malformed."""


class UnknownFormatError(NerveConductIOError, ValueError):
    """The file's content matches none of the formats nerveconduct reads."""


class ArchiveError(NerveConductIOError):
    """An HDF5 file is not a (complete) nerveconduct archive, or an archive write failed."""


class SheetError(NerveConductIOError, ValueError):
    """A study sheet (JSON/TOML/CSV) is malformed or misses a required field."""
