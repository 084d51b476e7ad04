"""URL converter for text ids written by any process.

Ids may hold ``/``, spaces, ``%`` or unicode: ``reverse()`` percent-encodes those and
the path converter takes them back. Only ``.``/``..`` segments are a problem, since
browsers resolve them before the request is sent; such ids (and any starting with
``~``, to stay unambiguous) travel as ``~`` + URL-safe base64.
"""

import base64
import binascii


class TextIdConverter:
    regex = ".+"

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        try:
            return base64.urlsafe_b64decode(value[1:] + "=" * (-len(value[1:]) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError(f"not an encoded id: {value!r}") from None

    def to_url(self, value: str) -> str:
        if value.startswith("~") or any(part in {".", ".."} for part in value.split("/")):
            return "~" + base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
        return value
