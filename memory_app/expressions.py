"""SQL expressions for columns other writers fill: JSON that may be broken, times in any form."""

from django.db.models import (
    BooleanField,
    Case,
    F,
    Func,
    Index,
    IntegerField,
    Q,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Left
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


# PostgreSQL refuses a B-tree index entry over 2,704 bytes (after compression). The v1 DDL
# indexes few columns, so an index of ours holding a whole text another writer may make
# that long (a time, an event level) would refuse a row the v1 schema accepts (issue #20,
# point 8). There, our indexes hold bounded keys only (0021_postgresql_bounded_index_keys):
# a text's first INDEXED_CHARACTERS characters (a time tom_instant can read is never
# longer), a canonical time or an instant (24 characters), or a key alone, which the
# primary key's index of its own table already holds whole. SQLite has no such limit.
INDEXED_CHARACTERS = 64


def indexed_prefix(expression) -> Left:
    """The first ``INDEXED_CHARACTERS`` characters of a column (a name) or an expression:
    what a PostgreSQL index of ours holds of a text no other index bounds."""
    return Left(expression, INDEXED_CHARACTERS)


# The form every store writes (toISOString): such a text is its own instant when its date
# and time are real ones, which SQLite's julianday() and a check of the hour tell.
CANONICAL_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z"
)


# The same test as a regular expression, for PostgreSQL.
CANONICAL_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"


class CanonicalTime(Func):
    """Whether the column holds a real time in the canonical form (then text order is time
    order, and the column's index serves it); cheap per row on both engines.

    The patterns are SQL literals, not parameters: the partial indexes of the rows whose
    time is not canonical (``NOT`` this, see ``other_times_index``) serve a query only
    when its condition reads exactly like theirs.
    """

    output_field = BooleanField()

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        checks = (
            # date() echoes "2026-02-30"; through julianday it gives the real day, or NULL.
            f"date(julianday(substr({sql}, 1, 10))) = substr({sql}, 1, 10)",
            f"substr({sql}, 12, 2) < '24'",
            f"substr({sql}, 1, 4) > '0000'",
        )
        # The checks run only on a text of the canonical shape (CASE evaluates its THEN
        # alone when the WHEN holds; AND may evaluate both sides): julianday() then reads
        # digits only. On any text it may read 'now' (any case, as text or bytes) as the
        # current moment, which SQLite refuses in an index: the row would be refused.
        # COALESCE: a check on a day SQLite cannot read is NULL, and a NULL flag would
        # leave the row out of both the canonical and the other query.
        flag = (
            f"COALESCE(CASE WHEN ({sql}) GLOB '{CANONICAL_GLOB}' THEN ("
            + ") AND (".join(checks)
            + ") END, 0)"
        )
        return flag, (*params, *params, *params, *params, *params)

    def as_postgresql(self, compiler, connection, **extra_context):
        # A text of the canonical shape is canonical when tom_instant gives it back (a real
        # day, an hour below 24).
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"COALESCE(({sql}) ~ '{CANONICAL_PATTERN}' AND tom_instant({sql}) = ({sql}), false)",
            (*params, *params, *params),
        )


def canonical_time(column: str) -> CanonicalTime:
    return CanonicalTime(F(column))


class IsCanonical(Exact):
    """``canonical_time`` as a condition, spelled as a partial index's condition is: on SQLite
    ``<flag> = 1`` with a literal, where a filter on the flag binds ``True`` as a parameter.
    Only a term spelled exactly as the index's condition is known to hold for every row
    the index gives; any other is evaluated again on each (a million turns' times)."""

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        return (f"{sql} = 1" if connection.vendor == "sqlite" else sql), params


def is_canonical(column: str) -> IsCanonical:
    """The rows whose ``column`` is a canonical time, read through an index of them alone."""
    return IsCanonical(canonical_time(column), True)


def other_times(column: str) -> Q:
    """Rows whose ``column`` is not a canonical time: other ISO forms, unreadable texts."""
    return ~Q(canonical_time(column))


def other_times_index(column: str, name: str, *, after: tuple[str, ...] = ()) -> Index:
    """A partial index of the rows ``other_times`` finds: few, so a query for them reads
    those rows only, not every row of the table. ``after`` are columns the query also
    filters on by equality, leading the index so it wins over a full index on them."""
    return Index(fields=[*after, column], condition=other_times(column), name=name)


# A canonical time's hour is its first 13 characters ("2026-12-06T09").
HOUR = 13


class HourOf(Func):
    """The hour of a canonical time (or another prefix of it, ``length`` characters): the
    same text on both engines.

    Its numbers are SQL literals, not parameters: SQLite serves an expression from an
    index only when the query spells it exactly as the index does (``hourly_index``)."""

    output_field = TextField()

    def __init__(self, expression, length: int = HOUR, **extra):
        super().__init__(expression, **extra)
        self.length = int(length)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"SUBSTR({sql}, 1, {self.length})", params


def hour_of(column: str) -> HourOf:
    return HourOf(F(column))


def prefix_of(column: str, length: int) -> HourOf:
    """The first ``length`` characters of a canonical time: its bucket's key (a day's: 10)."""
    return HourOf(F(column), length)


def canonical_time_index(column: str, name: str, *, also: tuple[str, ...] = ()) -> Index:
    """An index of the rows whose ``column`` is a canonical time (text order is time order),
    then ``also``: a range of such times is read from it on both engines alike, and its
    keys are bounded on PostgreSQL (24 characters, then ``also``'s integers)."""
    return Index(fields=[column, *also], condition=Q(canonical_time(column)), name=name)


def hourly_index(column: str, name: str, *, also: tuple[str, ...] = ()) -> Index:
    """``canonical_time_index`` led by the hour (``hour_of``): rows counted per hour come
    from it in that order, with no sort (bounded keys: 13 and 24 characters, then
    ``also``'s integers)."""
    return Index(
        hour_of(column),
        F(column),
        *map(F, also),
        condition=Q(canonical_time(column)),
        name=name,
    )


def other_times_prefix_index(column: str, name: str) -> Index:
    """A partial index of the rows ``other_times`` finds, holding their first
    ``INDEXED_CHARACTERS`` characters: the same on both engines (SQLite's ``substr`` needs
    no function of ours, so other writers can still write the table), bounded on
    PostgreSQL. Ordering by that prefix reads the few rows through it."""
    return Index(indexed_prefix(column), condition=other_times(column), name=name)


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
