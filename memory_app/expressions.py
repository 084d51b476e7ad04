"""SQL expressions for columns other writers fill: JSON that may be broken, times in any form."""

from django.db.models import Case, F, Func, IntegerField, TextField, Value, When
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
