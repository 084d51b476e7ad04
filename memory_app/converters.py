"""URL converter for text ids written by any process.

Ids may hold any character: spaces, ``%``, ``?``, unicode, CR, LF and other control
characters. ``reverse()`` percent-encodes those and the converter takes them back.
An id that a path cannot carry as it is travels as ``~`` + URL-safe base64:

- the empty id, and ``.`` or ``..`` (browsers resolve such segments before sending);
- an id with ``/``: browsers resolve ``.``/``..`` segments before the request is sent,
  and ``x/approvals`` or ``x/publish`` would read as another page's URL;
- an id starting with ``~``, to stay unambiguous.

On PostgreSQL, which cannot hold NUL in text, an id with one has no page (404).
"""

import base64
import binascii

from django.db import connection

ENCODED = "~"


def storable(text: str) -> bool:
    """Whether a row can hold ``text``: PostgreSQL refuses NUL in text (and any query that
    names it), SQLite keeps it."""
    return "\x00" not in text or connection.vendor != "postgresql"


class TextIdConverter:
    # Any character, newlines included: "." alone stops at a line feed.
    regex = "(?s:.+)"

    def to_python(self, value: str) -> str:
        if value.startswith(ENCODED):
            body = value[1:]
            try:
                value = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise ValueError(f"not an encoded id: {value!r}") from None
        if not storable(value):  # no such page: a 404, not the database's error
            raise ValueError(f"no row can have the id {value!r}")
        return value

    def to_url(self, value: str) -> str:
        if value in {"", ".", ".."} or value.startswith(ENCODED) or "/" in value:
            return ENCODED + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
        return value
