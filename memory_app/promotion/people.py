"""What people write that the rule reads: who they are, and whether they said something.

Two names are one person when their keys are equal (contract/people.json). A text a person
must give (a rejection's notes, a break-glass reason) says something when it has a visible
character (contract/visible_text.json), and a name without one names nobody. Both rules
use the contract's tables (Unicode 15.1) rather than this runtime's Unicode where versions
differ, so the TypeScript store, whose Node ships another Unicode version, judges every
text alike (``tests/test_people.py`` runs both over every code point). Names and texts are
stored and shown as written: the key is only ever compared.
"""

from __future__ import annotations

import bisect
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

_CONTRACT_DIR = Path(__file__).resolve().parents[2] / "contract"
CONTRACT = json.loads((_CONTRACT_DIR / "people.json").read_text())
_VISIBLE = json.loads((_CONTRACT_DIR / "visible_text.json").read_text())


class _Ranges:
    """A set of code points given as sorted inclusive [first, last] runs."""

    def __init__(self, runs: list[list[int]]) -> None:
        self.firsts = [first for first, _ in runs]
        self.lasts = [last for _, last in runs]

    def __contains__(self, char: str) -> bool:
        n = bisect.bisect_right(self.firsts, ord(char)) - 1
        return n >= 0 and ord(char) <= self.lasts[n]


_IGNORABLE = _Ranges(CONTRACT["ignorable"])
_WHITESPACE = _Ranges(CONTRACT["whitespace"])
_UNASSIGNED = _Ranges(CONTRACT["unassigned"])
_CASEFOLD: dict[str, str] = CONTRACT["casefold"]
_NOT_VISIBLE_CATEGORIES = frozenset(_VISIBLE["not_visible_categories"])
_NOT_VISIBLE = _Ranges(
    [[int(low, 16), int(high, 16)] for low, high in _VISIBLE["not_visible_ranges"]]
)
# What a refusal adds, in the forms and both stores alike.
SAYS_NOTHING = "spaces, zero-width and blank characters alone say nothing"


# NFKC of text assigned in Unicode 15.1 never changes in a later version (Unicode's
# normalization stability), so a newer runtime gives the contract's result; an older one
# would not know every character.
def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


if _version(unicodedata.unidata_version) < _version(CONTRACT["unicode_version"]):
    raise ImportError(f"names are compared by Unicode {CONTRACT['unicode_version']} or later")


def _nfkc(text: str) -> str:
    """NFKC as Unicode 15.1 gives it: code points it does not assign are kept as they are.

    Such a code point is a starter no character composes with, so normalising the runs
    between them one by one is normalising the whole.
    """
    out, run = [], []
    for char in text:
        if char in _UNASSIGNED:
            out += [unicodedata.normalize("NFKC", "".join(run)), char]
            run = []
        else:
            run.append(char)
    out.append(unicodedata.normalize("NFKC", "".join(run)))
    return "".join(out)


def is_visible(char: str) -> bool:
    """Whether a character shows: not of a category the contract calls invisible (spaces,
    controls, format characters, surrogates, private use) nor a blank-looking one it lists.
    A code point the contract's Unicode version does not assign counts as shown: it may be
    a letter of a script added since, which a store with a newer Unicode knows (so both
    stores judge it alike, and a name in such a script names someone)."""
    category = unicodedata.category(char)
    if char in _UNASSIGNED and category != "Cs":  # the table holds the surrogates too
        return True
    return not (char in _NOT_VISIBLE or category in _NOT_VISIBLE_CATEGORIES)


def has_visible(text: object) -> bool:
    """True when ``text`` is a string with at least one visible character."""
    return isinstance(text, str) and any(is_visible(c) for c in text)


@lru_cache(maxsize=4096)
def person_key(name: object) -> str:
    """The key two names of one person share ("" for a name that names nobody: one
    without a visible character)."""
    text = "" if name is None else str(name)
    if not has_visible(text):
        return ""
    text = "".join(c for c in text if c not in _IGNORABLE)
    text = _nfkc("".join(_CASEFOLD.get(c, c) for c in _nfkc(text)))
    words, word = [], []
    for char in text + " ":
        if char in _WHITESPACE:
            if word:
                words.append("".join(word))
            word = []
        else:
            word.append(char)
    return " ".join(words)


def same_person(a: object, b: object) -> bool:
    """Whether two names name one person (a name that names nobody is nobody's)."""
    key = person_key(a)
    return bool(key) and key == person_key(b)
