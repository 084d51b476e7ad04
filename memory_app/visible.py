"""Whether a text a person must give says something: one rule, written in the contract.

A rejection's notes and a break-glass reason need visible characters: a text of spaces,
zero-width characters or blank-looking letters alone (U+3164 HANGUL FILLER, U+2800 BRAILLE
PATTERN BLANK) records a decision nobody can read. contract/visible_text.json says which
characters do not count and why; the TypeScript store reads the same file. The forms and
the store both ask ``has_visible``.
"""

import json
import unicodedata

from django.conf import settings

_CONTRACT = json.loads((settings.BASE_DIR / "contract" / "visible_text.json").read_text())
_CATEGORIES = frozenset(_CONTRACT["not_visible_categories"])
_RANGES = tuple((int(low, 16), int(high, 16)) for low, high in _CONTRACT["not_visible_ranges"])
# What a refusal adds, in the forms and both stores alike.
SAYS_NOTHING = "spaces, zero-width and blank characters alone say nothing"


def is_visible(char: str) -> bool:
    if unicodedata.category(char) in _CATEGORIES:
        return False
    code = ord(char)
    return not any(low <= code <= high for low, high in _RANGES)


def has_visible(text: object) -> bool:
    """True when ``text`` is a string with at least one visible character."""
    return isinstance(text, str) and any(is_visible(c) for c in text)
