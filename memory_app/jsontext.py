"""JSON columns are TEXT that other writers may have broken: parse leniently, write strictly.

A document nested deeper than ``MAX_DEPTH`` is treated as unreadable (shown as stored):
Python's parser, printer and every recursive walk over it would otherwise hit the
recursion limit, and no real profile, payload or proposal is that deep. Writes refuse
such documents with the same reason.
"""

import json
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 100
INVALID = "invalid JSON"
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


@dataclass(frozen=True, slots=True)
class ParsedJSON:
    """A JSON column's raw text and, when it can be read, its value."""

    raw: str | None
    value: Any = None
    problem: str = INVALID  # "" when the value was read

    @property
    def valid(self) -> bool:
        return not self.problem

    @property
    def pretty(self) -> str:
        """Indented JSON when valid, otherwise the raw text exactly as stored."""
        if not self.valid:
            return "" if self.raw is None else str(self.raw)
        return json.dumps(self.value, indent=2, ensure_ascii=False, sort_keys=False)


def depth(value: Any) -> int:
    """How deeply containers nest in a parsed value, one level at a time (no recursion
    limit), counting no further than one past ``MAX_DEPTH``. Every write of a JSON column
    walks its value: a level's containers are gathered without a tuple per value."""
    level = [value] if isinstance(value, dict | list) else []
    deepest = 0
    while level and deepest <= MAX_DEPTH:
        deepest += 1
        below = []
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, dict | list):
                    below.append(child)
        level = below
    return deepest


def parse_json_text(raw: object) -> ParsedJSON:
    """Parse a JSON column without ever raising."""
    if raw is None:
        return ParsedJSON(raw=None)
    text = str(raw)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # Where it went wrong, so a person can find it in a long document.
        where = f"{INVALID} at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        return ParsedJSON(raw=text, problem=where)
    except (TypeError, ValueError, RecursionError):
        return ParsedJSON(raw=text)
    if depth(value) > MAX_DEPTH:
        return ParsedJSON(raw=text, problem=TOO_DEEP)
    return ParsedJSON(raw=text, value=value, problem="")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dump_json(value: Any) -> str:
    """Serialise a value to the JSON text this project writes."""
    return _ENCODER.encode(value)


def json_object_text(value: Any, what: str) -> str:
    """Return JSON text for an object given as a mapping or as JSON text; ValueError otherwise."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
        except RecursionError:
            raise ValueError(f"{what} is {TOO_DEEP}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    if depth(value) > MAX_DEPTH:
        raise ValueError(f"{what} is {TOO_DEEP}")
    try:
        return dump_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{what} cannot be written as JSON: {exc}") from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json_object(raw: object) -> dict:
    """A JSON column's object as every store reads it, or ``{}`` when it holds none: read
    as JavaScript's JSON.parse reads it (no NaN or Infinity) and nested at most
    ``MAX_DEPTH`` levels, so the TypeScript store (values.ts ``strictJsonObject``) finds
    the same object in the same text."""
    if raw is None:
        return {}
    try:
        value = json.loads(str(raw), parse_constant=_not_json)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) and depth(value) <= MAX_DEPTH else {}
