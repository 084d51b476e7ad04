"""Who is the same person: the one comparison of people's names (contract/people.json).

Two names are one person when their keys are equal. The key is made from the contract's
tables (Unicode 15.1) rather than from this runtime's Unicode, so the TypeScript store,
whose Node ships another Unicode version, gives every name the same key
(``tests/test_people.py`` runs both over the same names). Names are stored and shown as
written: the key is only ever compared.
"""

from __future__ import annotations

import bisect
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

CONTRACT = json.loads(
    (Path(__file__).resolve().parent.parent / "contract" / "people.json").read_text()
)


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


@lru_cache(maxsize=4096)
def person_key(name: object) -> str:
    """The key two names of one person share ("" for a name that names nobody)."""
    text = "" if name is None else str(name)
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
