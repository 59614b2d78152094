"""The batch engine's output file: written incrementally, resumable, renamed atomically at the end.

While a run is going, rows go to ``OUT.partial``; a small sidecar ``OUT.partial.log`` (JSON
Lines) holds, on its first line, the run's *fingerprint* (archive identity, table, format,
rule sets, normal limits, versions) and then one *checkpoint* per chunk written:
``{"next_nerve": k, "bytes": n, "n_failed": f, "n_traces": t}`` — the first ``n`` bytes of the
partial file hold every row of nerves ``[0, k)`` (``t`` traces), ``f`` of them failures. A checkpoint is appended only after
the chunk's rows were written, so after an interruption at any point (even SIGKILL in the
middle of a row) :meth:`PartialOutput.resume` truncates the partial file to the last
checkpoint and the run continues with nerve ``k``: nothing is lost, nothing is written twice.
At the end the partial file is flushed to disk and moved onto ``OUT`` atomically by the
library's one atomic writer (:func:`nerveconduct.io._atomic.commit_file`: fsync, the mode of a
replaced ``OUT`` kept, rename), and the sidecar is removed.

A Parquet output cannot be continued once cut (its footer comes last), so its partial file
holds one Arrow IPC stream per chunk (the chunk's rows, typed); the checkpoints are the
streams' boundaries (:meth:`PartialOutput.pieces`). :class:`LiveParquet` writes the Parquet
file while the run goes, into the temporary file of
:func:`nerveconduct.io._atomic.atomic_path`; the engine then removes the partial output
(:meth:`PartialOutput.discard`).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any, BinaryIO

from ..io._atomic import commit_file

__all__ = ["BatchResumeError", "LiveParquet", "PartialOutput", "partial_paths"]

_LOG_KIND = "nerveconduct-batch-partial"
_LOG_VERSION = 1
_START_OVER = "start over with overwrite=True (--overwrite)"


class BatchResumeError(ValueError):
    """A partial output cannot be resumed (other options, another archive, damaged sidecar)."""


def partial_paths(out: Path) -> tuple[Path, Path]:
    """The partial data file and its sidecar log for the output file ``out``."""
    return out.with_name(out.name + ".partial"), out.with_name(out.name + ".partial.log")


def _json_line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


class PartialOutput:
    """An output being written: the open partial file and its checkpoint log.

    Use :meth:`start` or :meth:`resume`, then :meth:`write` / :meth:`checkpoint` per chunk,
    and :meth:`commit` at the end (or :meth:`close` to leave it resumable).

    Attributes
    ----------
    out : pathlib.Path
        Final output file.
    next_nerve : int
        First nerve not yet written.
    n_failed : int
        Failure rows written so far.
    n_traces : int
        Traces of the nerves written so far.
    """

    def __init__(self, out: Path, data: BinaryIO, log: BinaryIO, next_nerve: int,
                 n_failed: int, n_traces: int) -> None:
        self.out = out
        self.data_path, self.log_path = partial_paths(out)
        self._data, self._log = data, log
        self.next_nerve = next_nerve
        self.n_failed = n_failed
        self.n_traces = n_traces

    # ------------------------------------------------------------------ opening
    @classmethod
    def start(cls, out: Path, fingerprint: dict[str, Any], header: bytes = b"") -> "PartialOutput":
        """Start a new partial output (replacing any previous one) with ``header`` bytes."""
        data_path, log_path = partial_paths(out)
        log_path.unlink(missing_ok=True)  # a stale log must never describe the new data
        data = open(data_path, "wb")
        data.write(header)
        data.flush()
        log = open(log_path, "wb")
        log.write(_json_line({"kind": _LOG_KIND, "version": _LOG_VERSION,
                              "fingerprint": fingerprint}))
        self = cls(out, data, log, 0, 0, 0)
        self._append_checkpoint(len(header))
        return self

    @classmethod
    def resume(cls, out: Path, fingerprint: dict[str, Any]) -> "PartialOutput":
        """Reopen the partial output of an interrupted run with the same ``fingerprint``.

        Raises
        ------
        BatchResumeError
            The sidecar is missing or unreadable, was written for other options or another
            archive (the message lists what differs), or the partial file is shorter than
            its last checkpoint.
        """
        data_path, log_path = partial_paths(out)
        if not log_path.is_file():
            raise BatchResumeError(f"{data_path}: its sidecar {log_path.name} is missing, so "
                                   f"what it holds is unknown; {_START_OVER}")
        header, checkpoint, log_bytes = _read_log(log_path)
        theirs = header.get("fingerprint", {})
        ours = json.loads(json.dumps(fingerprint))  # compare as stored (tuples -> lists)
        differ = _differences(theirs, ours)
        if differ:
            raise BatchResumeError(f"{data_path} was written by a run with other options or "
                                   f"another archive ({'; '.join(differ)}); resume with the "
                                   f"same options, or {_START_OVER}")
        size = data_path.stat().st_size if data_path.is_file() else -1
        if size < checkpoint["bytes"]:
            raise BatchResumeError(f"{data_path} holds {max(size, 0)} bytes but its sidecar "
                                   f"records {checkpoint['bytes']} written; {_START_OVER}")
        data = open(data_path, "r+b")
        data.truncate(checkpoint["bytes"])  # drops the rows of an unfinished chunk
        data.seek(checkpoint["bytes"])
        log = open(log_path, "r+b")
        log.truncate(log_bytes)  # drops a checkpoint line cut short by the interruption
        log.seek(log_bytes)
        return cls(out, data, log, int(checkpoint["next_nerve"]), int(checkpoint["n_failed"]),
                   int(checkpoint["n_traces"]))

    # ------------------------------------------------------------------ writing
    def write(self, piece: bytes) -> None:
        """Append output bytes (rows of the chunk being written)."""
        self._data.write(piece)

    def checkpoint(self, next_nerve: int, n_failed: int, n_traces: int) -> None:
        """Record that every row of nerves ``[0, next_nerve)`` is written.

        ``n_failed`` and ``n_traces`` count the chunk just written (failure rows, traces).
        """
        self._data.flush()
        self.next_nerve = next_nerve
        self.n_failed += n_failed
        self.n_traces += n_traces
        self._append_checkpoint(self._data.tell())

    def _append_checkpoint(self, nbytes: int) -> None:
        self._log.write(_json_line({"next_nerve": self.next_nerve, "bytes": nbytes,
                                    "n_failed": self.n_failed, "n_traces": self.n_traces}))
        self._log.flush()

    def pieces(self) -> list[tuple[int, int]]:
        """The byte ranges of the partial file written between consecutive checkpoints (one
        chunk's rows each), in order."""
        _, checkpoints, _ = _read_records(self.log_path)
        offsets = sorted({int(c["bytes"]) for c in checkpoints})
        return list(zip(offsets, offsets[1:]))

    def commit(self, *, overwrite: bool) -> Path:
        """Flush to disk and move the partial file onto the output; remove the sidecar.

        Raises
        ------
        FileExistsError
            The output file appeared meanwhile and ``overwrite`` is False.
        """
        self._data.flush()
        self.close()
        try:  # fsync, keep a replaced file's mode, rename (never onto a file without overwrite)
            commit_file(self.data_path, self.out, overwrite=overwrite)
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, "output file exists (created during the run), "
                                  f"not overwritten; the results are in {self.data_path.name}",
                                  str(self.out)) from None
        self.log_path.unlink(missing_ok=True)
        return self.out

    def discard(self) -> None:
        """Remove the partial file and its sidecar (the output was written another way, e.g.
        Parquet row groups from the pieces: see :meth:`pieces`)."""
        self.close()
        self.data_path.unlink(missing_ok=True)
        self.log_path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close both files, leaving the partial output resumable."""
        self._data.close()
        self._log.close()


#: Fingerprint entries that follow from others: not repeated when those differ.
_DERIVED = {"columns": ("table", "format", "criteria"), "criteria_sha256": ("criteria",),
            "limits_sha256": ("limits",)}


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _names(columns: list[Any], limit: int = 3) -> str:
    shown = ", ".join(map(str, columns[:limit]))
    return shown + (f", … ({len(columns)} in all)" if len(columns) > limit else "")


def _differences(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, an entry each, in a few words: the option's name
    and the two values (lists of columns as the columns added or removed)."""
    keys = [k for k in dict.fromkeys([*ours, *theirs]) if theirs.get(k) != ours.get(k)]
    keys = [k for k in keys if not set(_DERIVED.get(k, ())) & set(keys)]
    out = []
    for key in keys:
        was, now = theirs.get(key), ours.get(key)
        if isinstance(was, dict) and isinstance(now, dict):  # the archive: its entries
            out += [f"{key} {sub}: was {_short(was.get(sub))}, now {_short(now.get(sub))}"
                    for sub in dict.fromkeys([*now, *was]) if was.get(sub) != now.get(sub)]
        elif isinstance(was, list) and isinstance(now, list) and key == "columns":
            added = [c for c in now if c not in was]
            removed = [c for c in was if c not in now]
            parts = ([f"now also {_names(added)}"] if added else []) + \
                    ([f"no longer {_names(removed)}"] if removed else [])
            out.append(f"columns: {'; '.join(parts) or 'in another order'}")
        elif key.endswith("_sha256"):
            out.append(f"{key[:-len('_sha256')]}: same names, other content")
        else:
            out.append(f"{key}: was {_short(was)}, now {_short(now)}")
    return out


def _read_log(path: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A sidecar log's fingerprint header, its last checkpoint, and the bytes of whole lines."""
    header, checkpoints, length = _read_records(path)
    return header, checkpoints[-1], length


def _read_records(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """A sidecar log's fingerprint header, its checkpoints, and the bytes of whole lines."""
    raw = path.read_bytes()
    complete = raw[:raw.rfind(b"\n") + 1]  # what follows the last newline is an unfinished line
    records = []
    for number, line in enumerate(complete.splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BatchResumeError(f"{path}: line {number} is not valid JSON ({exc}); "
                                   f"{_START_OVER}") from exc
    if not records or not isinstance(records[0], dict) or records[0].get("kind") != _LOG_KIND:
        raise BatchResumeError(f"{path} is not a nerveconduct batch sidecar (no header line "
                               f"with kind={_LOG_KIND!r}); {_START_OVER}")
    if records[0].get("version") != _LOG_VERSION:
        raise BatchResumeError(f"{path}: sidecar version {records[0].get('version')!r}, this "
                               f"nerveconduct writes {_LOG_VERSION}; {_START_OVER}")
    keys = {"next_nerve", "bytes", "n_failed", "n_traces"}
    checkpoints = [r for r in records[1:] if isinstance(r, dict) and keys <= set(r)]
    if not checkpoints:
        raise BatchResumeError(f"{path} holds no checkpoint; {_START_OVER}")
    return records[0], checkpoints, len(complete)


class LiveParquet:
    """A Parquet output written while the run goes, into ``path`` (the atomic writer's
    temporary file): each chunk's Arrow IPC stream, once checkpointed, goes into row groups of
    ``ROW_GROUP_NERVES`` nerves by ``nerve_index``. A resumed run first rewrites the rows the
    partial file already holds (from a memory map), so the file is the same either way."""

    def __init__(self, output: PartialOutput, opts: Any, path: Path) -> None:  # opts: task.TaskOptions
        import pyarrow as pa

        from ..serialize.arrow import arrow_schema
        from ..serialize.parquet import ROW_GROUP_NERVES, ParquetRowGroups

        self._pa, self._per_group = pa, ROW_GROUP_NERVES
        self._writer = ParquetRowGroups(path, arrow_schema(opts.kind, opts.columns), opts.kind)
        self._closed = False
        pieces = output.pieces()
        if pieces:
            with pa.memory_map(str(output.data_path)) as source:
                data = source.read_buffer()  # mapped, not read: memory stays at one row group
                for a, b in pieces:
                    self.add(data.slice(a, b - a))

    def add(self, stream: Any) -> None:
        """The rows of one chunk: an Arrow IPC stream (bytes or buffer)."""
        for batch in self._pa.ipc.open_stream(stream):
            nerve = batch.column("nerve_index").to_numpy()
            self._writer.write(batch, nerve // self._per_group)

    def close(self) -> None:
        """Write the last row group and the footer (once)."""
        if not self._closed:
            self._closed = True
            self._writer.close()
