"""``--markers FILE``: hand-set landmarks for the commands that analyze waveforms.

:func:`markers_option` adds the option; :func:`load_markers_option` reads the file named by it
or, without it, by the study sheet (``markers = "file.json"``, relative to the sheet). The file
is described in ``docs/formats.md`` ("Markers file"); a bad file is a
:class:`~nerveconduct.io.MarkerError` (one line naming the file, exit 1), and so is a marker
that matches none of the traces analyzed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import click

from nerveconduct.io import Marker, markers_to_json, read_markers

from ._output import message

__all__ = ["markers_option", "load_markers_option"]


def markers_option():
    """``--markers FILE``."""
    return click.option("--markers", "markers_path", type=click.Path(dir_okay=False), default=None,
                        help="Hand-set markers (JSON: onset, negative_peak, negative_end, "
                             "positive_peak or absent per nerve, side and site; see "
                             "docs/formats.md). They replace the detected landmarks; the values "
                             "derived from them are marked hand-set. Default: the sheet's "
                             "'markers' file, if it names one.")


def _sheet_markers(sheet: Any) -> Path | None:
    """The markers file a study sheet names (relative to the sheet), or None."""
    name = getattr(sheet, "markers", None) if sheet is not None else None
    if not name:
        return None
    path = Path(name)
    base = getattr(sheet, "path", None)
    return path if path.is_absolute() or base is None else Path(base).parent / path


def load_markers_option(path: str | os.PathLike[str] | None, sheet: Any = None, *,
                        sheets: Sequence[Any] = ()) -> list[Marker] | None:
    """The markers of ``--markers`` or, without it, of the ``markers`` files the study sheets
    name (``sheet``: ``--sheet``; ``sheets``: the sheets among FILES); None when none is named.

    Raises
    ------
    MarkerError
        A file is not a valid markers file, or two files set the same landmark.
    OSError
        A file cannot be read.
    """
    named = []
    for sh in (sheet, *sheets):
        found = _sheet_markers(sh)
        if found is not None and found not in named:
            named.append(found)
    if path is None and not named:
        return None
    if path is not None:
        if named:
            message("using the --markers file, not the sheet's markers file")
        named = [Path(path)]
    markers = [m for p in named for m in read_markers(p)]
    markers_to_json(markers)  # the same landmark set twice across files: MarkerError
    message(f"{len(markers)} hand-set marker(s) read" + (" (the sheet's markers file)" if path is None else ""))
    return markers
