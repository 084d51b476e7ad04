"""Model fields that declare the exact column types of the v1 schema.

Django writes lowercase ``text``/``integer``/``real``; the v1 DDL declares
``TEXT``/``INTEGER``/``REAL`` and other tools read the declared type back from
``PRAGMA table_xinfo``, so these fields declare it exactly as the contract does. On
PostgreSQL the types map to ``text``, ``bigint`` (SQLite's INTEGER is 64-bit) and
``double precision``; times and JSON stay text, so rows move between engines unchanged.
They are spelled in capitals there too: Django adds a ``text_pattern_ops`` twin index to
every key column whose type starts with lowercase "text", an index v1 does not have.
"""

import math

from django.core.exceptions import ValidationError
from django.db import models

from memory_app.ids import new_id
from memory_app.jsontext import parse_json_text
from memory_app.timeutil import parse_iso


def validate_json_object(value: str) -> None:
    """Refuse text that is not a JSON object."""
    parsed = parse_json_text(value)
    if not parsed.valid:
        raise ValidationError("Enter valid JSON.", code="invalid_json")
    if not isinstance(parsed.value, dict):
        raise ValidationError("Enter a JSON object ({...}).", code="not_object")


def validate_iso_timestamp(value: str) -> None:
    """Refuse text that is not an ISO-8601 timestamp."""
    if parse_iso(value) is None:
        raise ValidationError("Enter an ISO-8601 timestamp.", code="invalid_timestamp")


# The range of SQLite's INTEGER: a larger Python int cannot even be bound as a parameter.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1


def sql_integer(value: object) -> bool:
    """Whether ``value`` is an integer (not a bool) in the range of SQLite's INTEGER."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and (MIN_INTEGER <= value <= MAX_INTEGER)
    )


class ReadsAnyValue:
    """A column read as Python can show it: bytes another writer put there become text.

    SQLite keeps whatever a writer binds: a BLOB in a TEXT column, text in an INTEGER
    one. Bytes are shown with their undecodable bytes escaped (nothing is dropped);
    any other value is returned as stored, so pages show it and mark what they
    cannot interpret.
    """

    def from_db_value(self, value, expression, connection):
        if isinstance(value, bytes):
            return value.decode("utf-8", "backslashreplace")
        return value


class WholeSum(models.FloatField):
    """The output of a SUM over an INTEGER column another writer may have filled with text:
    SQLite adds text that reads as a number, "1e999" as infinity. A sum that is no finite
    whole number is no count a page can show: it reads as None (as text counts as none)."""

    def from_db_value(self, value, expression, connection):
        if isinstance(value, float):
            return int(value) if math.isfinite(value) and value.is_integer() else None
        return value


class TextColumn(ReadsAnyValue, models.TextField):
    """A ``TEXT`` column."""

    def db_type(self, connection):
        return "TEXT"


class IntegerColumn(ReadsAnyValue, models.IntegerField):
    """An ``INTEGER`` column (another writer may have stored text or a real in it)."""

    def db_type(self, connection):
        return "INTEGER" if connection.vendor == "sqlite" else "BIGINT"


class RealColumn(ReadsAnyValue, models.FloatField):
    """A ``REAL`` column (another writer may have stored text in it)."""

    def db_type(self, connection):
        return "REAL" if connection.vendor == "sqlite" else "DOUBLE PRECISION"


class TextIdField(TextColumn):
    """``id TEXT PRIMARY KEY`` as the v1 DDL writes it: new rows get a UUIDv7.

    The DDL does not say NOT NULL, and SQLite then allows NULL in a TEXT primary
    key; the column is declared the same way so both schemas read back identically.
    Every id this project writes is a non-empty text.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("null", True)
        kwargs.setdefault("default", new_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def _check_null_allowed_for_primary_keys(self):
        return []


class JSONTextField(TextColumn):
    """A ``*_json`` column: JSON object text, stored and returned as text."""

    default_validators = [validate_json_object]


class TimestampField(TextColumn):
    """A timestamp column: ISO-8601 text."""

    default_validators = [validate_iso_timestamp]
