"""URL converter for text ids written by any process.

Ids may hold any character: spaces, ``%``, ``?``, unicode, CR, LF and other control
characters. ``reverse()`` percent-encodes those and the converter takes them back.
An id that a path cannot carry as it is travels as ``~`` + URL-safe base64:

- the empty id, and ``.`` or ``..`` (browsers resolve such segments before sending);
- an id with ``/``: browsers resolve ``.``/``..`` segments before the request is sent,
  and ``x/approvals`` or ``x/publish`` would read as another page's URL;
- an id starting with ``~``, to stay unambiguous.
"""

import base64
import binascii

ENCODED = "~"


class TextIdConverter:
    # Any character, newlines included: "." alone stops at a line feed.
    regex = "(?s:.+)"

    def to_python(self, value: str) -> str:
        if not value.startswith(ENCODED):
            return value
        body = value[1:]
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError(f"not an encoded id: {value!r}") from None

    def to_url(self, value: str) -> str:
        if value in {"", ".", ".."} or value.startswith(ENCODED) or "/" in value:
            return ENCODED + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
        return value
