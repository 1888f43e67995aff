"""SageMaker data-capture files as rows: what the endpoint received and answered, one row per record.

A capture file is JSON Lines, one line per invocation (AWS docs, "Capture data from real-time endpoint";
shared fixtures under ``aws__amazon-sagemaker-examples/_extracted_from_notebook_outputs`` and
``aws__sagemaker-python-sdk/tests/data/monitor``)::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                                       "data": "132,10,182.9", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                                        "data": "0.0364", "encoding": "CSV"}},
     "eventMetadata": {"eventId": "…", "inferenceTime": "2021-05-18T00:21:45Z"}, "eventVersion": "0"}

* ``encoding`` ``CSV`` or ``JSON``: ``data`` is the payload text; ``BASE64``: it is base64 of the payload bytes.
* The content type says how to split a payload into records: CSV lines; JSON Lines (``jsonlines``); or JSON,
  where ``{"instances": [...]}`` / ``{"predictions": [...]}`` hold one record per element and any other
  object is one record. A record is a list (values by position), a scalar (one value), an object whose only
  field is a list (``{"features": [...]}``: values by position) or an object (named values).
* Input and output records pair up one to one; as Model Monitor does on an endpoint, the output's values come
  first (``output_columns_position`` ``START``, the default) or last (``END``), and values by position are
  named after the baseline's columns in that order (``_c<i>`` past them, or without a baseline).
* With a window, a record is kept when ``inferenceTime`` falls in ``[start, end)``; files under a
  ``yyyy/mm/dd/hh`` folder more than an hour outside the window are not opened at all.
* A line that is not JSON, has no capture data, cannot be decoded, or whose input and output record counts
  differ is counted as malformed and skipped; it never ends the run.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from .readers import Source, json_text, lines_buffer, open_source, rows_to_batch

__all__ = [
    "CaptureOptions",
    "CaptureReadResult",
    "file_in_window",
    "iter_capture_batches",
    "iter_capture_file",
    "iter_capture_files",
    "parse_time",
]

_ROWS_PER_BATCH = 65536
_CAPTURE_BLOCK_SIZE = 8 << 20
#: pyarrow's readers parse a capture file on the calling thread, not on its thread pool: a capture file is one
#: block (a few MB), which the pool cannot split, and the engine reads several files at once in its own threads;
#: the pool's hand-offs cost about a quarter of the JSON reader's CPU time for nothing (measured on 1,000,000
#: records, ``scripts/benchmark_engine.py``).
_USE_THREADS = False
_PAYLOAD = pa.struct([("observedContentType", pa.string()), ("data", pa.string()), ("encoding", pa.string())])
#: What the compiled reader extracts from a capture line: only what the rows are made of. Other fields (``mode``,
#: ``eventId``, ``eventVersion``) are skipped, which makes the reader about a third faster.
_CAPTURE_SCHEMA = pa.schema(
    [
        ("captureData", pa.struct([("endpointInput", _PAYLOAD), ("endpointOutput", _PAYLOAD)])),
        ("eventMetadata", pa.struct([("inferenceTime", pa.string())])),
    ]
)
_HOUR_FOLDER = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")

OutputPosition = Literal["START", "END"]
# Arrow scalars made once: turning a Python value into one on every call costs a (failing, when the package is
# absent) import of pandas and dateutil inside pyarrow, each time.
_TRUE = pa.scalar(True, pa.bool_())
_FALSE = pa.scalar(False, pa.bool_())
_EMPTY = pa.scalar("", pa.string())
_CSV = pa.scalar("CSV", pa.string())
_COMMA = pa.scalar(",", pa.string())
_ONE = pa.scalar(1, pa.int32())
_ZERO = pa.scalar(0, pa.int32())


@dataclass(frozen=True)
class CaptureOptions:
    """How to turn capture records into rows.

    Attributes:
        baseline_columns: The baseline's feature names, in order: names for values given by position.
        output_columns_position: Where the endpoint's output values go: ``START`` (first) or ``END``.
        start, end: The window (timezone-aware); ``None`` for no bound.
    """

    baseline_columns: Sequence[str] = ()
    output_columns_position: OutputPosition = "START"
    start: datetime | None = None
    end: datetime | None = None


class CaptureReadResult:
    """Counts filled while a file's batches are consumed."""

    def __init__(self) -> None:
        self.records = 0
        self.malformed = 0
        self.outside_window = 0


class _MalformedRecordError(ValueError):
    pass


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a time without a zone is UTC (as ``inferenceTime`` always is)."""
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def file_in_window(path: Path | str, options: CaptureOptions) -> bool:
    """False only for a file under a ``yyyy/mm/dd/hh`` folder more than an hour outside the window."""
    matches = list(_HOUR_FOLDER.finditer(Path(path).as_posix()))
    if not matches:
        return True
    match = matches[-1]
    try:
        year, month, day, hour_of_day = (int(part) for part in match.groups())
        hour = datetime(year, month, day, hour_of_day, tzinfo=UTC)
    except ValueError:
        return True
    if options.start is not None and hour + timedelta(hours=2) <= options.start:
        return False
    return not (options.end is not None and hour - timedelta(hours=1) >= options.end)


def iter_capture_batches(
    lines: Iterable[str | bytes], options: CaptureOptions, result: CaptureReadResult | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of capture lines, as all-text Arrow batches (one ``json.loads`` per line)."""
    counts = result if result is not None else CaptureReadResult()
    rows: list[dict[str, str | None]] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            counts.malformed += 1
            continue
        rows.extend(_accepted_rows(record, options, counts))
        if len(rows) >= _ROWS_PER_BATCH:
            yield rows_to_batch(rows)
            rows = []
    if rows:
        yield rows_to_batch(rows)


def iter_capture_file(
    path: Source, options: CaptureOptions, result: CaptureReadResult | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of one capture file (or of capture lines in memory), the common case read column-wise.

    Records whose input (and output, if captured) is one line of unquoted CSV, the shape of nearly all
    ``text/csv`` traffic, never go through Python one by one: pyarrow's JSON reader splits the file into
    columns, the payloads are joined into one CSV text per field count and parsed by pyarrow's CSV reader.
    Every other record (JSON payloads, several lines per payload, quotes, base64, a time the vectorized parser
    does not know) takes the per-record path with the same rules. A file pyarrow cannot read as JSON Lines (a
    malformed line) continues per line from where the compiled reader stopped, so its bad lines are counted.
    """
    return iter_capture_files([path], options, result)


def iter_capture_files(
    paths: Iterable[Source], options: CaptureOptions, result: CaptureReadResult | None = None
) -> Iterator[pa.RecordBatch]:
    """The rows of several capture files, each read as :func:`iter_capture_file` reads one.

    What the compiled reader read from consecutive files is split into rows together, up to 65,536 records at a
    time: a capture file holds a few thousand records, and splitting each file alone would pay the fixed cost
    of the two dozen column operations (and of one CSV parse per field count) once per file.
    """
    counts = result if result is not None else CaptureReadResult()
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    for path in paths:
        for columnar, batch in _file_batches(path, options, counts):
            if not columnar:
                yield batch
                continue
            pending.append(batch)
            pending_rows += batch.num_rows
        if pending_rows >= _ROWS_PER_BATCH:
            yield from _columnar_batches(pa.concat_batches(pending), options, counts)
            pending, pending_rows = [], 0
    if pending:
        yield from _columnar_batches(pa.concat_batches(pending), options, counts)


def _file_batches(
    path: Source, options: CaptureOptions, counts: CaptureReadResult
) -> Iterator[tuple[bool, pa.RecordBatch]]:
    """A file's batches as pyarrow's JSON reader gives them (``True``: still to be split into rows); after a line
    it cannot read, the rest of the file read line by line, as rows (``False``)."""
    consumed = 0
    failed = False
    with open_source(path) as stream:
        try:
            batches = iter(
                pa_json.open_json(
                    stream,
                    read_options=pa_json.ReadOptions(block_size=_CAPTURE_BLOCK_SIZE, use_threads=_USE_THREADS),
                    parse_options=pa_json.ParseOptions(
                        explicit_schema=_CAPTURE_SCHEMA, unexpected_field_behavior="ignore"
                    ),
                )
            )
        except pa.ArrowInvalid:  # the first block already holds a line it cannot read
            failed = True
        while not failed:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except pa.ArrowInvalid:
                failed = True
                break
            consumed += batch.num_rows
            yield True, batch
    if not failed:
        return
    # The compiled reader stopped at a line it cannot read: go on line by line after what it did read.
    with open_source(path) as stream:
        lines = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", errors="replace")
        for rows in iter_capture_batches(_after(lines, consumed), options, counts):
            yield False, rows


def _after(lines: Iterable[str], skip: int) -> Iterator[str]:
    for line in lines:
        if not line.strip():
            continue
        if skip:
            skip -= 1
            continue
        yield line


def _accepted_rows(record: object, options: CaptureOptions, counts: CaptureReadResult) -> list[dict[str, str | None]]:
    """The rows of one parsed record, or none when it is outside the window (counted) or malformed (counted)."""
    try:
        if not isinstance(record, dict):
            raise _MalformedRecordError("not an object")
        if (options.start is not None or options.end is not None) and not _in_window(record, options):
            counts.outside_window += 1
            return []
        rows = _record_rows(record, options)
    except (ValueError, _MalformedRecordError):
        counts.malformed += 1
        return []
    counts.records += 1
    return rows


def _columnar_batches(
    batch: pa.RecordBatch, options: CaptureOptions, counts: CaptureReadResult
) -> Iterator[pa.RecordBatch]:
    """The rows of records read by the JSON reader, as one batch.

    The records taken per record and those of each field count are parsed apart; they are joined again (a
    column some of them lack is null there) so that they are profiled together, as the per-record path would
    profile them: a column that holds text in a few records only is then seen as text on all of its values.
    """
    pieces = list(_columnar_pieces(batch, options, counts))
    if len(pieces) <= 1:
        yield from pieces
        return
    tables = [pa.Table.from_batches([piece]) for piece in pieces]
    yield from pa.concat_tables(tables, promote_options="default").combine_chunks().to_batches()


def _columnar_pieces(
    batch: pa.RecordBatch, options: CaptureOptions, counts: CaptureReadResult
) -> Iterator[pa.RecordBatch]:
    capture = batch.column("captureData")
    payloads = {side: pc.struct_field(capture, side) for side in ("endpointInput", "endpointOutput")}
    inputs, input_csv = _csv_text(payloads["endpointInput"])
    outputs, output_csv = _csv_text(payloads["endpointOutput"])
    output_present = pc.is_valid(pc.struct_field(payloads["endpointOutput"], "data"))
    first, second = (outputs, inputs) if options.output_columns_position == "START" else (inputs, outputs)
    lines = pc.binary_join_element_wise(first, second, _COMMA)
    if _true_count(output_present) < len(output_present):
        lines = pc.if_else(output_present, lines, inputs)
    # Read column-wise: CSV on each side, and one line of unquoted CSV once joined (so on each side).
    fast = pc.and_kleene(
        pc.and_kleene(input_csv, pc.or_kleene(pc.invert(output_present), output_csv)),
        pc.invert(pc.match_substring_regex(lines, r"[\r\n\"]")),
    )
    times = pc.struct_field(batch.column("eventMetadata"), "inferenceTime")
    if options.start is not None or options.end is not None:
        moments = pc.strptime(times, format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=True)
        inside = pc.is_valid(moments)
        if options.start is not None:
            inside = pc.and_kleene(inside, pc.greater_equal(moments, _naive_utc(options.start)))
        if options.end is not None:
            inside = pc.and_kleene(inside, pc.less(moments, _naive_utc(options.end)))
        outside = pc.and_kleene(pc.is_valid(moments), pc.invert(inside))
        counts.outside_window += _true_count(outside)
        fast = pc.and_kleene(fast, inside)
        slow = pc.invert(pc.or_kleene(fast, outside))  # not read column-wise, and not known to be outside
    else:
        slow = pc.invert(fast)
    slow = pc.fill_null(slow, _TRUE)
    fast = pc.fill_null(fast, _FALSE)
    if _true_count(slow):
        rows: list[dict[str, str | None]] = []
        for record in batch.filter(slow).to_pylist():
            rows.extend(_accepted_rows(_without_nulls(record), options, counts))
        if rows:
            yield rows_to_batch(rows)
    fast_count = _true_count(fast)
    if not fast_count:
        return
    counts.records += fast_count
    lines = lines.filter(fast)
    fields = pc.add(pc.count_substring(lines, ","), _ONE)
    for width in pc.unique(fields).to_pylist():
        group = lines.filter(pc.equal(fields, pa.scalar(width, fields.type))) if width is not None else None
        if group is None:
            continue
        names = [
            options.baseline_columns[position] if position < len(options.baseline_columns) else f"_c{position}"
            for position in range(width)
        ]
        yield from _parse_csv_lines(group, names)


def _csv_text(payload: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The payload's text without its trailing newlines, and whether it is CSV text: encoded ``CSV``, of a CSV
    content type, not empty (whether it is one line of unquoted CSV is for the caller to see)."""
    text = pc.utf8_rtrim(pc.struct_field(payload, "data"), characters="\r\n")
    # ASCII lowering finds "csv" wherever Unicode lowering does: no other character lowers to c, s or v.
    content_type = pc.ascii_lower(pc.fill_null(pc.struct_field(payload, "observedContentType"), _EMPTY))
    csv_text = pc.and_kleene(
        pc.and_kleene(pc.equal(pc.struct_field(payload, "encoding"), _CSV), pc.match_substring(content_type, "csv")),
        pc.greater(pc.utf8_length(text), _ZERO),
    )
    return text, pc.fill_null(csv_text, _FALSE)


def _parse_csv_lines(lines: pa.Array, names: list[str]) -> Iterator[pa.RecordBatch]:
    table = pa_csv.read_csv(
        pa.BufferReader(lines_buffer(lines)),
        read_options=pa_csv.ReadOptions(column_names=names, block_size=_CAPTURE_BLOCK_SIZE, use_threads=_USE_THREADS),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True, null_values=[""]
        ),
    )
    yield from table.to_batches()


@lru_cache(maxsize=64)
def _naive_utc(moment: datetime) -> pa.Scalar:
    return pa.scalar(moment.astimezone(UTC).replace(tzinfo=None), pa.timestamp("us"))


def _true_count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _without_nulls(value: Any) -> Any:
    """A record as the per-record path expects it: absent fields absent, not null."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


def _in_window(record: dict[str, Any], options: CaptureOptions) -> bool:
    metadata = record.get("eventMetadata")
    text = metadata.get("inferenceTime") if isinstance(metadata, dict) else None
    if not isinstance(text, str):
        raise _MalformedRecordError("no inferenceTime")
    moment = parse_time(text)  # ValueError: malformed
    if options.start is not None and moment < options.start:
        return False
    return not (options.end is not None and moment >= options.end)


def _record_rows(record: dict[str, Any], options: CaptureOptions) -> list[dict[str, str | None]]:
    capture = record.get("captureData")
    if not isinstance(capture, dict):
        raise _MalformedRecordError("no captureData")
    inputs = _payload_records(capture.get("endpointInput"))
    outputs = _payload_records(capture.get("endpointOutput"))
    if inputs is None and outputs is None:
        raise _MalformedRecordError("neither endpointInput nor endpointOutput")
    inputs = inputs or []
    outputs = outputs or []
    if inputs and outputs and len(inputs) != len(outputs):
        raise _MalformedRecordError(f"{len(inputs)} input records but {len(outputs)} output records")
    count = max(len(inputs), len(outputs))
    rows = []
    for index in range(count):
        first, second = (outputs, inputs) if options.output_columns_position == "START" else (inputs, outputs)
        values = (first[index] if first else []) + (second[index] if second else [])
        rows.append(_name(values, options.baseline_columns))
    return rows


#: One record's values, each with its name (``None``: named by position).
_Values = list[tuple[str | None, str | None]]


def _name(values: _Values, baseline_columns: Sequence[str]) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    for position, (name, value) in enumerate(values):
        if name is None:
            name = baseline_columns[position] if position < len(baseline_columns) else f"_c{position}"
        row[name] = value
    return row


def _payload_records(payload: object) -> list[_Values] | None:
    """A captured payload as records of values, or ``None`` when the record has no such payload."""
    if payload is None:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        raise _MalformedRecordError("payload without data")
    encoding = str(payload.get("encoding", "")).upper()
    content_type = str(payload.get("observedContentType", "")).lower()
    data = payload["data"]
    if encoding == "BASE64":
        try:
            data = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise _MalformedRecordError(f"bad base64 payload: {error}") from error
    if "csv" in content_type or (not content_type and encoding == "CSV"):
        return _csv_records(data)
    if "jsonlines" in content_type or "jsonl" in content_type:
        return [_values(json.loads(line)) for line in data.splitlines() if line.strip()]
    if "json" in content_type or encoding == "JSON":
        return _json_records(json.loads(data))
    raise _MalformedRecordError(f"unsupported content type {content_type!r}")


def _csv_records(data: str) -> list[_Values]:
    records = []
    for fields in csv.reader(io.StringIO(data)):
        if not fields:
            continue
        values: _Values = [(None, field if field != "" else None) for field in fields]
        records.append(values)
    return records


def _json_records(document: object) -> list[_Values]:
    if isinstance(document, dict):
        for key in ("instances", "predictions"):
            if key in document and isinstance(document[key], list):
                return [_values(item) for item in document[key]]
        return [_values(document)]
    if isinstance(document, list) and document and all(isinstance(item, list | dict) for item in document):
        return [_values(item) for item in document]
    return [_values(document)]


def _values(item: object) -> _Values:
    if isinstance(item, list):
        return [(None, json_text(value)) for value in item]
    if isinstance(item, dict):
        if len(item) == 1:
            (only,) = item.values()
            if isinstance(only, list):
                return [(None, json_text(value)) for value in only]
        return [(name, value) for name, value in _flatten(item)]
    return [(None, json_text(item))]


def _flatten(item: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str | None]]:
    for key, value in item.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", json_text(value)
