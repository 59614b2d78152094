"""Which of the formats nerveconduct reads a file holds, judged from its content.

The extension is only a tie-breaker: a ``.txt`` file holding a trace CSV is read as a trace
CSV, and an extension is trusted only when the content is text that no signature matches (the
format's own reader then says precisely what is wrong).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import UnknownFormatError
from .natus import looks_like_natus_text

__all__ = ["FORMATS", "FORMAT_NAMES", "detect_format"]

#: Every format name :func:`detect_format` returns.
FORMATS = ("trace-csv", "nihon-kohden-txt", "natus-txt", "edf", "hdf5-archive", "sheet-json",
           "sheet-toml", "bids-emg", "values-csv")

#: What each format is, in words a lab recognises (``docs/formats.md`` says which machines
#: write each one, and what is known of it from a public source or inferred).
FORMAT_NAMES: dict[str, str] = {
    "trace-csv": "generic trace CSV export",
    "nihon-kohden-txt": "Nihon Kohden text export",
    "natus-txt": "Natus (Elite / Keypoint) text export",
    "edf": "EDF/EDF+ file",
    "hdf5-archive": "nerveconduct HDF5 archive",
    "sheet-json": "study sheet (JSON)",
    "sheet-toml": "study sheet (TOML)",
    "bids-emg": "BIDS-EMG dataset",
    "values-csv": "values table (the machine's numbers per site, no waveforms)",
}
#: The header cells that make a CSV file a values table (:mod:`nerveconduct.io.values`).
_VALUES_HEADER = ("nerve", "side", "site", "distance_mm", "onset_latency_ms",
                  "negative_peak_amplitude_mv")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_EXTENSIONS = {".csv": "trace-csv", ".txt": "nihon-kohden-txt", ".edf": "edf",
               ".h5": "hdf5-archive", ".hdf5": "hdf5-archive", ".json": "sheet-json",
               ".toml": "sheet-toml"}
_HEAD_BYTES = 65536


def _is_hdf5(path: Path, head: bytes) -> bool:
    if head.startswith(_HDF5_SIGNATURE):
        return True
    size = path.stat().st_size
    offset = 512  # HDF5 may sit after a user block of 512, 1024, 2048, ... bytes
    with path.open("rb") as fh:
        while offset + 8 <= size:
            fh.seek(offset)
            if fh.read(8) == _HDF5_SIGNATURE:
                return True
            offset *= 2
    return False


def _is_edf(head: bytes) -> bool:
    # the 8-byte version field: "0" and 7 spaces (EDF/EDF+), or BDF's 0xFF "BIOSEMI"; the
    # EDF reader then checks every header field and names the one that is wrong
    return head[:8] in (b"0       ", b"\xffBIOSEMI")


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return the format of ``path`` from its content (one of :data:`FORMATS`).

    Parameters
    ----------
    path : path-like
        File to inspect (its first 64 KiB are read).

    Returns
    -------
    str
        ``"trace-csv"``, ``"nihon-kohden-txt"``, ``"natus-txt"``, ``"edf"``,
        ``"hdf5-archive"``, ``"sheet-json"``, ``"sheet-toml"``, ``"bids-emg"`` (a folder
        holding ``dataset_description.json``) or ``"values-csv"`` (a values table: read it
        with :func:`nerveconduct.io.values.read_values`).

    Raises
    ------
    UnknownFormatError
        Empty file, binary content that is neither EDF nor HDF5, or text that matches no
        format and has no known extension.
    FileNotFoundError
        ``path`` does not exist.

    Notes
    -----
    Signatures: HDF5 magic bytes (at 0 or after a user block); the EDF version field ("0"
    and 7 spaces; BDF's is recognised so the EDF reader can refuse it by name); a Natus
    text export is UTF-16 (or UTF-8) text with a ``LongTrace Data(``, ``Subsampled(kHz)=``
    or ``Trace``/``Sweep Duration(ms|s)=`` line (checked before the NUL-byte test: UTF-16
    holds NUL bytes);
    a JSON sheet opens with ``{``; a Nihon Kohden export has a ``"*Wave End"`` line or a
    quoted ``"1"``/``"1-1"`` sample line; a trace CSV has a ``Trace Data``/``Test Item``/
    ``Trace Label`` row; a values table's header row names the columns
    ``nerve, side, site, distance_mm, onset_latency_ms, negative_peak_amplitude_mv``; a TOML
    sheet has ``key = value`` or ``[table]`` lines.
    """
    p = Path(path)
    if p.is_dir():  # a BIDS-EMG dataset is the one folder we read
        if (p / "dataset_description.json").is_file():
            return "bids-emg"
        raise UnknownFormatError("a folder that is not a BIDS dataset (it holds no "
                                 "dataset_description.json)", path=p, location="folder")
    with p.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head:
        raise UnknownFormatError("empty file (0 bytes): nothing to read", path=p,
                                 location="byte 0")
    if _is_hdf5(p, head):
        return "hdf5-archive"
    if _is_edf(head):
        return "edf"
    if looks_like_natus_text(head):  # before the NUL test: UTF-16 text holds NUL bytes
        return "natus-txt"
    nul = head.find(b"\x00")
    if nul >= 0:
        raise UnknownFormatError(
            f"binary content (NUL byte at offset {nul}) that is neither EDF nor HDF5; "
            f"nerveconduct reads {', '.join(FORMATS)}", path=p, location=f"byte {nul}")
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped:
        raise UnknownFormatError("file holds only white space", path=p, location="line 1")
    if stripped.startswith("{"):
        return "sheet-json"
    if re.search(r'^\s*"\*Wave End"\s*$|^\s*"1(-1)?"\s*,', text, re.M | re.I):
        return "nihon-kohden-txt"
    if re.search(r"^\s*\"?(Trace Data|Test Item|Trace Label)\b", text, re.M | re.I):
        return "trace-csv"
    first = next((ln for ln in text.splitlines()
                  if ln.strip() and not ln.lstrip().startswith("#")), "")
    header = {cell.strip().strip('"') for cell in first.split(",")}
    if all(col in header for col in _VALUES_HEADER):
        return "values-csv"
    if re.match(r"\s*(\[\[?\s*[A-Za-z_][\w.-]*\s*\]\]?|[A-Za-z_][\w-]*\s*=)", first):
        return "sheet-toml"
    hint = _EXTENSIONS.get(p.suffix.lower())
    if hint in ("trace-csv", "nihon-kohden-txt", "sheet-json", "sheet-toml"):
        return hint  # text with a text-format extension: its reader says what is wrong
    raise UnknownFormatError(  # never quote the line: it may hold a patient's name
        f"content matches none of the formats nerveconduct reads ({', '.join(FORMATS)}): "
        f"the first line ({len(first)} characters) is no signature of theirs, and the "
        f"extension {p.suffix or '(none)'!r} names none", path=p, location="line 1")
