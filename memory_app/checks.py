"""The values a writer takes, checked before anything is written: a value the v1 contract
does not allow raises ``InvalidInput`` saying which and why."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import models

from memory_app.errors import InvalidInput
from memory_app.jsontext import json_object_text
from memory_app.timeutil import normalize_iso, now_iso, parse_iso


def choice(value: object, choices: type[models.TextChoices], what: str) -> str:
    """Return value if it is one of the allowed choices."""
    try:
        allowed = value in _values(choices)
    except TypeError:  # unhashable: no choice
        allowed = False
    if not allowed:
        allowed_ones = ", ".join(choices.values)
        raise InvalidInput(f"{what} must be one of {allowed_ones}; got {value!r}")
    return str(value)


@functools.cache
def _values(choices: type[models.TextChoices]) -> frozenset[str]:
    # Django builds ``choices.values`` anew on every read; a write checks several a row.
    return frozenset(choices.values)


def text(value: object, what: str, *, required: bool = True) -> str | None:
    """Return a text value; required ones must be non-blank."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{what} must be a non-empty text; got {value!r}")
    return value


def clock() -> datetime:
    """The store's clock, as a moment (``now_iso``, which a scenario may pin)."""
    return parse_iso(now_iso())


def when(value: datetime | str | None, what: str) -> str:
    """Canonical timestamp for value, or now when value is None."""
    if value is None:
        return now_iso()
    try:
        return normalize_iso(value)
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO-8601 timestamp; got {value!r}") from None


def json_object(value: Any, what: str) -> str:
    """JSON object text for value (a mapping or JSON text); ``{}`` when None."""
    if value is None:
        return "{}"
    try:
        return json_object_text(value, what)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def given_id(value: str | None) -> dict[str, str]:
    """Keyword for an id the caller chose, or none to let the model make a UUIDv7."""
    return {} if value is None else {"id": text(value, "id")}


def flag(value: object, what: str) -> int:
    """0 or 1 for a pass/fail check."""
    if value not in (0, 1, True, False):
        raise InvalidInput(f"{what} must be true/false or 0/1; got {value!r}")
    return int(value)


def number(value: object, what: str, *, required: bool = True) -> float | None:
    """A finite real number."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"{what} must be a number; got {value!r}")
    return float(value)
