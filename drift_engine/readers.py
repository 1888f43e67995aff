"""Baseline datasets as a stream of Arrow batches: CSV (with or without a header) and JSON Lines.

Why pyarrow: its CSV and JSON readers are compiled, multithreaded and streaming (``open_csv`` /
``open_json`` yield one record batch per block), so memory stays at a block per file however large the file
is, and the batches go straight to :func:`drift_engine.profile.profile_batch`, on one machine or in Spark's
``mapInArrow``.

CSV is read as Spark reads it for the analyzer: every column as text (types are inferred afterwards, value
by value), an empty field is null, and a headerless file's columns are named ``_c0``, ``_c1``, … (the names in
the analyzer's statistics of a headerless dataset). JSON Lines keeps pyarrow's typed columns (an integer
field is Integral, a number with a fraction Fractional, as Spark types JSON); nested objects are flattened
to ``parent.child`` names, lists become their JSON text. A JSON Lines file pyarrow cannot read as one table
(a field that is a number on one line and a string on another, or a malformed line) is read line by line
instead: malformed lines are counted, never fatal.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

__all__ = [
    "DatasetFormatError",
    "ReadResult",
    "Source",
    "iter_csv_batches",
    "iter_jsonl_batches",
    "lines_buffer",
    "list_files",
    "open_source",
]

#: A file, or bytes already in memory (the lines of a Spark partition, an object read from S3).
Source: TypeAlias = Path | bytes | pa.Buffer
_EMPTY = pa.scalar("", pa.string())
_NEWLINE = pa.scalar("\n", pa.string())
_BLOCK_SIZE = 8 << 20  # bytes per batch: large enough for the compiled reader, small enough to bound memory
_LINES_PER_BATCH = 65536


class DatasetFormatError(ValueError):
    """A dataset that cannot be read at all (no columns, unreadable file); the message names the file."""


class ReadResult:
    """Counts of what a reader could not use, filled while its batches are consumed."""

    def __init__(self) -> None:
        self.malformed = 0


def open_source(source: Source) -> pa.NativeFile:
    """A readable stream of a file (decompressed by its extension) or of bytes in memory."""
    if isinstance(source, bytes | pa.Buffer):
        return pa.BufferReader(source)
    return pa.input_stream(str(source), compression="detect")


def lines_buffer(lines: pa.Array) -> pa.Buffer:
    """Text lines (a string array without nulls) as one buffer, each line ended by a newline, built in Arrow."""
    joined = pc.binary_join_element_wise(lines, _EMPTY, _NEWLINE)
    offset_type = "<i8" if pa.types.is_large_string(joined.type) else "<i4"
    offsets = np.frombuffer(joined.buffers()[1], dtype=offset_type)[joined.offset : joined.offset + len(joined) + 1]
    buffer: pa.Buffer = joined.buffers()[2][int(offsets[0]) : int(offsets[-1])]
    return buffer


def list_files(path: Path) -> list[Path]:
    """The file itself, or every file under a folder (recursively, hidden files skipped), sorted."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(
            candidate
            for candidate in path.rglob("*")
            if candidate.is_file() and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
        )
    raise DatasetFormatError(f"{path}: no such file or folder")


def iter_csv_batches(path: Path, *, header: bool) -> Iterator[pa.RecordBatch]:
    """The file's rows in batches, every column as (nullable) text."""
    names = _csv_column_names(path, header=header)
    if not names:
        return
    read_options = pa_csv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=_BLOCK_SIZE)
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True, null_values=[""]
    )
    parse_options = pa_csv.ParseOptions(newlines_in_values=True)
    with pa.input_stream(str(path), compression="detect") as stream:
        try:
            reader = pa_csv.open_csv(
                stream, read_options=read_options, parse_options=parse_options, convert_options=convert_options
            )
            yield from reader
        except pa.ArrowInvalid as error:
            raise DatasetFormatError(f"{path}: not a CSV file this engine can read ({error})") from error


def _csv_column_names(path: Path, *, header: bool) -> list[str]:
    with pa.input_stream(str(path), compression="detect") as stream:
        first = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", errors="replace").readline()
    if not first.strip():
        return []
    fields = next(csv.reader(io.StringIO(first)))
    if header:
        if len(set(fields)) != len(fields):
            raise DatasetFormatError(f"{path}: the header names a column twice: {fields}")
        return fields
    return [f"_c{index}" for index in range(len(fields))]


def iter_jsonl_batches(path: Source, result: ReadResult | None = None) -> Iterator[pa.RecordBatch]:
    """The file's (or the bytes') records in batches; typed columns, nested objects flattened."""
    rows_read = 0
    try:
        with open_source(path) as stream:
            reader = pa_json.open_json(stream, read_options=pa_json.ReadOptions(block_size=_BLOCK_SIZE))
            for batch in reader:
                rows_read += batch.num_rows
                yield _flatten(batch)
    except pa.ArrowInvalid:
        # The batches already yielded are the file's first non-empty lines: go on line by line after them.
        yield from _jsonl_by_line(path, result, skip=rows_read)


def _flatten(batch: pa.RecordBatch) -> pa.RecordBatch:
    table = pa.Table.from_batches([batch])
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    columns = []
    for column in table.columns:
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type) or pa.types.is_map(column.type):
            column = pa.array(
                [None if value is None else json.dumps(value) for value in column.to_pylist()], pa.string()
            )
        columns.append(column)
    flat = pa.Table.from_arrays(columns, names=table.column_names)
    return (
        flat.combine_chunks().to_batches()[0] if flat.num_rows else pa.RecordBatch.from_pylist([], schema=flat.schema)
    )


def _jsonl_by_line(path: Source, result: ReadResult | None, *, skip: int = 0) -> Iterator[pa.RecordBatch]:
    """The slow path: one ``json.loads`` per line; values as text in Spark's rendering, bad lines counted."""
    rows: list[dict[str, str | None]] = []
    with open_source(path) as stream:
        for raw in io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", errors="replace"):
            line = raw.strip()
            if not line:
                continue
            if skip:
                skip -= 1
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                if result is not None:
                    result.malformed += 1
                continue
            rows.append(flatten_record(record))
            if len(rows) >= _LINES_PER_BATCH:
                yield rows_to_batch(rows)
                rows = []
    if rows:
        yield rows_to_batch(rows)


def flatten_record(record: dict[str, Any], prefix: str = "") -> dict[str, str | None]:
    """A JSON object as column name → text, nested objects as ``parent.child``."""
    flat: dict[str, str | None] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_record(value, f"{name}."))
        else:
            flat[name] = json_text(value)
    return flat


def json_text(value: object) -> str | None:
    """A JSON value as the text Spark would hand to the type analyzer: ints plain, floats with their fraction."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


def rows_to_batch(rows: list[dict[str, str | None]]) -> pa.RecordBatch:
    """Rows of name → text as one all-text batch; a name missing from a row is null there."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pa.RecordBatch.from_arrays(
        [pa.array([row.get(name) for row in rows], pa.string()) for name in names], names=list(names)
    )
