"""How a batch task encodes its output rows: :class:`Encoder` and :class:`ChunkOutput`.

The rows of a task are UTF-8 lines (JSON Lines or CSV), buffered up to ~1 MB and kept as
pieces: each piece a Zstandard frame (level :data:`ZSTD_LEVEL`) for the nested nerve records and reason
sentences (large rows), as they are for the flat tables (see :class:`ChunkOutput`). For Parquet they are typed Arrow
tables (:func:`nerveconduct.serialize.arrow_table`), written as one Arrow IPC stream per task
(its schema, then its record batches), which the engine turns into Parquet row groups when
the run is complete (:mod:`nerveconduct.batch.output`). The task returns them in a :class:`ChunkOutput`, which the batch
engine writes to the output file in nerve order.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import pyarrow as pa

from ..serialize import csv_cell

__all__ = ["ChunkOutput", "Encoder", "ZSTD_LEVEL"]

#: Zstandard level of the compressed task outputs (the nested records, reason sentences):
#: a fast negative level. Per two-site nested record (~8.4 kB, one thread,
#: ``benchmarks/README.md``): level 1 ~8.5 us to compress, ~3.1 us to decompress in the
#: parent, 14.6x smaller; level -5 ~6.5 us and ~2.6 us, 8.9x smaller (~0.9 kB per nerve over
#: the pipe and waiting in the parent, where level 1 gives ~0.6 kB).
ZSTD_LEVEL = -5


@dataclass(frozen=True)
class ChunkOutput:
    """What one task returns: its nerve range and its output rows, encoded.

    Attributes
    ----------
    start_nerve, stop_nerve : int
        The nerves ``[start_nerve, stop_nerve)`` these rows cover, all of them.
    n_traces : int
        Trace rows of those nerves.
    n_failed : int
        Nerves written as failure rows.
    data : tuple of bytes
        UTF-8 output rows, each ending in ``"\\n"``, in pieces (never copied into one
        buffer): compressed when ``compressed`` (so that the outputs waiting in the parent
        stay small: the nested records and reason sentences are ~9x smaller), else as they
        are (the flat rows: ~0.4 kB per nerve, where compressing would cost ~10 % of the
        task). With ``sizes``, each piece is one Zstandard frame (:data:`ZSTD_LEVEL`, through
        pyarrow: several times cheaper to make and to read than zlib level 1) of ``sizes[i]``
        bytes of rows; without, the pieces are one zlib stream. For Parquet: one Arrow IPC
        stream (its buffers LZ4-compressed for the reason sentences), never compressed again.
    compressed : bool, default True
        Whether ``data`` is compressed.
    sizes : tuple of int, default ()
        The uncompressed size of each Zstandard piece of ``data`` (empty: a zlib stream).
    """

    start_nerve: int
    stop_nerve: int
    n_traces: int
    n_failed: int
    data: tuple[bytes, ...]
    compressed: bool = True
    sizes: tuple[int, ...] = ()

    def chunks(self, size: int = 8 << 20) -> Iterator[bytes]:
        """Yield the decoded rows in pieces of at most ``size`` bytes (bounded memory)."""
        if not self.compressed:
            for part in self.data:
                for at in range(0, len(part), size):
                    yield part[at:at + size]
            return
        if self.sizes:  # one Zstandard frame per piece, decoded one at a time
            codec = pa.Codec("zstd")
            for part, n in zip(self.data, self.sizes):
                raw = codec.decompress(part, decompressed_size=n, asbytes=True)
                for at in range(0, n, size):
                    yield raw[at:at + size]
            return
        inflater = zlib.decompressobj()
        for part in self.data:
            piece = inflater.decompress(part, size)
            while piece:
                yield piece
                piece = inflater.decompress(inflater.unconsumed_tail, size)
        tail = inflater.flush()
        if tail:
            yield tail


class Encoder:
    """Encodes rows as they come (text buffered up to ~1 MB, then compressed for large rows;
    Arrow tables into an IPC stream)."""

    FLUSH_CHARS = 1 << 20

    def __init__(self, fmt: str, columns: Sequence[str], *, compress: bool,
                 kind: str = "nerve") -> None:
        self.fmt = fmt
        self.columns = tuple(columns)
        self.compressed = compress and fmt != "parquet"
        self.arrow: Any = None
        if fmt == "parquet":
            from ..serialize.arrow import arrow_schema

            self.schema = arrow_schema(kind, self.columns)
            self.sink = pa.BufferOutputStream()
            options = pa.ipc.IpcWriteOptions(compression="lz4" if compress else None)
            self.arrow = pa.ipc.new_stream(self.sink, self.schema, options=options)
            compress = False
        self.json = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
        self.text = io.StringIO()
        self.csv = csv.writer(self.text, lineterminator="\n")
        self.codec = pa.Codec("zstd", compression_level=ZSTD_LEVEL) if compress else None
        self.parts: list[bytes] = []
        self.sizes: list[int] = []
        self.blocks: list[str] = []
        self.block_chars = 0

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Rows given as dicts keyed by column (failure rows), as JSON Lines or CSV."""
        if self.arrow is not None:
            from ..serialize.arrow import rows_table

            self.arrow.write_table(rows_table(rows, self.schema))
            return
        if self.blocks:  # keep the row order: text lines added before these rows go first
            self.text.write("".join(self.blocks))
            self.blocks.clear()
            self.block_chars = 0
        if self.fmt == "jsonl":
            for row in rows:
                self.text.write(self.json.encode(row))
                self.text.write("\n")
        else:
            self.csv.writerows([csv_cell(row.get(c)) for c in self.columns] for row in rows)
        if self.text.tell() >= self.FLUSH_CHARS:
            self._flush()

    def add_rendered(self, rows: Any) -> None:
        """Rows of the row builder: text lines, UTF-8 bytes, or an Arrow table (Parquet)."""
        if self.arrow is not None:
            self.arrow.write_table(rows)
        elif isinstance(rows, (bytes, pa.Buffer)):
            self.add_encoded(rows)
        else:
            self.add_lines(rows)

    def add_encoded(self, data: bytes | pa.Buffer) -> None:
        """Rows already encoded as UTF-8, each ending in ``"\\n"`` (the nested records of
        :func:`nerveconduct.serialize._nested.record_block`, bytes or an Arrow buffer): kept
        as one piece, after the rows added before them."""
        self._flush()
        self._piece(data)

    def add_lines(self, lines: list[str]) -> None:
        """Rows already rendered (:func:`nerveconduct.serialize.render`), one line each.

        Kept as joined blocks until the flush (no StringIO copy of every block; the nested
        records' non-ASCII text made that copy cost as much as their compression)."""
        if lines:
            block = "\n".join(lines) + "\n"
            self.blocks.append(block)
            self.block_chars += len(block)
        if self.block_chars + self.text.tell() >= self.FLUSH_CHARS:
            self._flush()

    def _flush(self) -> None:
        text = self.text.getvalue()
        if self.blocks:  # rows that came as text lines, after any rows written as dicts
            text = text + "".join(self.blocks) if text else "".join(self.blocks)
            self.blocks.clear()
            self.block_chars = 0
        self._piece(text.encode("utf-8"))
        self.text.seek(0)
        self.text.truncate()

    def _piece(self, data: bytes) -> None:
        """One piece of ``ChunkOutput.data``: a Zstandard frame, or the bytes as they are."""
        if self.codec is None:
            self.parts.append(data if isinstance(data, bytes) else bytes(data))
        elif data:
            self.parts.append(self.codec.compress(data, asbytes=True))
            self.sizes.append(len(data))

    def finish(self) -> tuple[bytes, ...]:
        if self.arrow is not None:
            self.arrow.close()
            return (self.sink.getvalue().to_pybytes(),)
        self._flush()
        return tuple(p for p in self.parts if p)
