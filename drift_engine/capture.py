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
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from .readers import json_text, rows_to_batch

__all__ = ["CaptureOptions", "CaptureReadResult", "file_in_window", "iter_capture_batches", "parse_time"]

_ROWS_PER_BATCH = 65536
_HOUR_FOLDER = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/(\d{2})/")

OutputPosition = Literal["START", "END"]


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
    """The rows of capture lines, as all-text Arrow batches."""
    counts = result if result is not None else CaptureReadResult()
    rows: list[dict[str, str | None]] = []
    for raw in lines:
        line = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise _MalformedRecordError("not an object")
            if (options.start is not None or options.end is not None) and not _in_window(record, options):
                counts.outside_window += 1
                continue
            record_rows = _record_rows(record, options)
        except (ValueError, _MalformedRecordError):
            counts.malformed += 1
            continue
        counts.records += 1
        rows.extend(record_rows)
        if len(rows) >= _ROWS_PER_BATCH:
            yield rows_to_batch(rows)
            rows = []
    if rows:
        yield rows_to_batch(rows)


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
