"""SQL expressions for columns other writers fill: JSON that may be broken, times in any form."""

from django.db.models import Case, F, Func, IntegerField, TextField, Value, When
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%fZ"


def utc_instant(column: str) -> Func:
    """The column's ISO-8601 time rewritten to the canonical UTC form (NULL if unparseable).

    SQLite's date functions read the space or ``T`` separator, fractions and ``Z`` or
    ``±HH:MM`` offsets, so rows from different writers compare as instants.
    """
    return Func(Value(CANONICAL_FORMAT), F(column), function="strftime", output_field=TextField())


def json_text_at(column: str, key: str) -> Case:
    """The text of ``column``'s top-level ``key``; NULL where the JSON is broken or lacks it."""
    path = '$."' + key + '"'
    extracted = Func(F(column), Value(path), function="json_extract", output_field=TextField())
    return Case(
        When(
            Exact(Func(F(column), function="json_valid", output_field=IntegerField()), 1),
            then=Cast(extracted, TextField()),
        ),
        default=None,
        output_field=TextField(),
    )
