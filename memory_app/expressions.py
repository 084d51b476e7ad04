"""SQL expressions for columns other writers fill: JSON that may be broken, times in any form."""

from django.db.models import BooleanField, Case, F, Func, IntegerField, TextField, Value, When
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact


def instant(column: str) -> Func:
    """The column's time as ``timeutil`` reads it: canonical UTC text, NULL if unreadable.

    ``tom_instant`` is that Python function, registered on every connection
    (``apps._prepare_sqlite``), so SQL and Python compare times the same way.
    """
    return Func(F(column), function="tom_instant", output_field=TextField())


def instant_or_empty(column: str) -> Coalesce:
    """``instant`` with "" for an unreadable time: the sort key ``timeutil.instant_key`` gives."""
    return Coalesce(instant(column), Value(""), output_field=TextField())


# The form every store writes (toISOString): such a text is its own instant when its date
# and time are real ones, which SQLite's julianday() and a check of the hour tell.
CANONICAL_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z"
)


# The same test as a regular expression, for PostgreSQL.
CANONICAL_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"


class CanonicalTime(Func):
    """Whether the column holds a real time in the canonical form (then text order is time
    order, and the column's index serves it); cheap per row on both engines."""

    output_field = BooleanField()

    def as_sqlite(self, compiler, connection, **extra_context):
        value = self.source_expressions[0]
        day = Func(value, Value(1), Value(10), function="substr")
        hour = Func(value, Value(12), Value(2), function="substr")
        year = Func(value, Value(1), Value(4), function="substr")
        checks = [
            Func(value, Value(CANONICAL_GLOB), template="(%(expressions)s)", arg_joiner=" GLOB "),
            # date() echoes "2026-02-30"; through julianday it gives the real day, or NULL.
            Func(
                Func(Func(day, function="julianday"), function="date"),
                day,
                template="(%(expressions)s)",
                arg_joiner=" = ",
            ),
            Func(hour, Value("24"), template="(%(expressions)s)", arg_joiner=" < "),
            Func(year, Value("0000"), template="(%(expressions)s)", arg_joiner=" > "),
        ]
        # COALESCE: a check on a day SQLite cannot read is NULL, and a NULL flag would
        # leave the row out of both the canonical and the other query.
        flag = Func(*checks, template="COALESCE((%(expressions)s), 0)", arg_joiner=" AND ")
        return compiler.compile(flag)

    def as_postgresql(self, compiler, connection, **extra_context):
        # A text of the canonical shape is canonical when tom_instant gives it back (a real
        # day, an hour below 24).
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE(({sql}) ~ %s AND tom_instant({sql}) = ({sql}), false)",
            (*params, CANONICAL_PATTERN, *params, *params),
        )


def canonical_time(column: str) -> CanonicalTime:
    return CanonicalTime(F(column))


class JSONTextAt(Func):
    """The text of a JSON column's top-level key; NULL where the JSON is broken or lacks it."""

    output_field = TextField()

    def __init__(self, column: str, key: str):
        super().__init__(F(column))
        self.key = key

    def as_sqlite(self, compiler, connection, **extra_context):
        column = self.source_expressions[0]
        path = '$."' + self.key + '"'
        extracted = Func(column, Value(path), function="json_extract", output_field=TextField())
        kind = Func(column, Value(path), function="json_type", output_field=TextField())
        valid = Exact(Func(column, function="json_valid", output_field=IntegerField()), 1)
        return compiler.compile(
            Case(
                When(~valid, then=None),
                # json_extract gives 1 and 0 for true and false; PostgreSQL's ->> the words.
                When(Exact(kind, "true"), then=Value("true")),
                When(Exact(kind, "false"), then=Value("false")),
                default=Cast(extracted, TextField()),
                output_field=TextField(),
            )
        )

    def as_postgresql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(tom_json_object({sql}) ->> %s)", (*params, self.key)


def json_text_at(column: str, key: str) -> JSONTextAt:
    """The text of ``column``'s top-level ``key``; NULL where the JSON is broken or lacks it."""
    return JSONTextAt(column, key)
