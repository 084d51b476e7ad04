"""The review wing's checks of the texts its writers take (annotations, score configs,
queues, findings): a text a row can hold on both engines, and, from their one home
(``checks.text``, ``promotion.people``), a person's name and a text that says something.

Texts may not hold NUL or a lone surrogate, on either engine: PostgreSQL cannot store them,
and a row a runtime writes on SQLite must move to PostgreSQL unchanged (copy_database).
"""

from __future__ import annotations

from memory_app import checks
from memory_app.errors import InvalidInput
from memory_app.promotion import people


def text(value: object, what: str, *, required: bool = True) -> str | None:
    """A non-blank text a row can hold on both engines (None when not ``required`` and
    not given)."""
    if value is None and not required:
        return None
    return _storable(checks.text(value, what), what)


def _storable(value: str, what: str) -> str:
    if "\x00" in value:
        raise InvalidInput(f"{what} cannot hold the NUL character (PostgreSQL cannot store it)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not Unicode text (it holds a lone surrogate)") from None
    return value


def free_text(value: object, what: str) -> str:
    """A text that may be empty or blank ("" when None)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a text; got {value!r}")
    return _storable(value, what)


def person(value: object, what: str) -> str:
    """A name that names a person (``people.person_key``: one with a visible character)."""
    name = text(value, what)
    if not people.person_key(name):
        raise InvalidInput(f"{what} must name a person; {name!r} has no visible characters")
    return name  # type: ignore[return-value]


def saying(value: object, what: str) -> str:
    """A text that says something (``people.has_visible``)."""
    said = text(value, what)
    if not people.has_visible(said):
        raise InvalidInput(f"{what} must say something; {people.SAYS_NOTHING}")
    return said  # type: ignore[return-value]
