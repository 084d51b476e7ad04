"""Every list page offers its current filter as CSV and JSON (``?format=csv|json``), streamed."""

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse

EXPORT_FORMATS = {"csv", "json"}
# Spreadsheets run cells that start with these as formulas; other writers' text may.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Column = tuple[str, Callable[[Any], Any]]


def wants_export(request: HttpRequest) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in EXPORT_FORMATS else None


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_lines(rows: Iterable[Any], columns: list[Column]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow([name for name, _ in columns])
    for row in rows:
        yield writer.writerow([_safe_cell(get(row)) for _, get in columns])


def _plain(value: Any) -> Any:
    """A value JSON can carry as it is: infinities (REAL columns may hold them) as text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# One encoder for every record (json.dumps with options makes one per call).
_STRICT = json.JSONEncoder(ensure_ascii=False, default=str, allow_nan=False)


def json_record(record: Any) -> str:
    """One exported record as strict JSON, whatever another writer stored in its columns."""
    try:
        return _STRICT.encode(record)
    except ValueError:  # an infinity or NaN: rare, so only then is every value looked at
        return _STRICT.encode(_plain(record))


def _json_lines(rows: Iterable[Any], columns: list[Column]) -> Iterator[str]:
    yield "["
    first = True
    for row in rows:
        record = {name: get(row) for name, get in columns}
        yield ("\n" if first else ",\n") + json_record(record)
        first = False
    yield "\n]\n"


def export_response(
    fmt: str, rows: Iterable[Any], columns: list[Column], filename: str
) -> StreamingHttpResponse:
    """Stream rows as CSV or JSON without holding them in memory."""
    if fmt == "csv":
        body, content_type = _csv_lines(rows, columns), "text/csv; charset=utf-8"
    else:
        body, content_type = _json_lines(rows, columns), "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


def safe_filename(text: str) -> str:
    """A download name from an id another writer chose: letters, digits, - and _ only."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80]


# A streamed download is sent in pieces of about this many characters: a piece per row
# would be a write to the socket per row (200,000 of them for a long transcript).
STREAM_PIECE = 64 * 1024


def in_pieces(chunks: Iterable[str], size: int = STREAM_PIECE) -> Iterator[str]:
    """``chunks`` joined into pieces of at least ``size`` characters (the last one shorter)."""
    held: list[str] = []
    length = 0
    for chunk in chunks:
        held.append(chunk)
        length += len(chunk)
        if length >= size:
            yield "".join(held)
            held, length = [], 0
    if held:
        yield "".join(held)


def stream_json(chunks: Iterable[str], filename: str, content_type: str) -> StreamingHttpResponse:
    """Stream a document built chunk by chunk (a replay export) as a download."""
    response = StreamingHttpResponse(in_pieces(chunks), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
