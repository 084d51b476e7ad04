"""JSON columns are TEXT that other writers may have broken: parse leniently, write strictly."""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ParsedJSON:
    """A JSON column's raw text and, when it parses, its value."""

    raw: str | None
    value: Any = None
    valid: bool = False

    @property
    def pretty(self) -> str:
        """Indented JSON when valid, otherwise the raw text exactly as stored."""
        if not self.valid:
            return "" if self.raw is None else str(self.raw)
        return json.dumps(self.value, indent=2, ensure_ascii=False, sort_keys=False)


def parse_json_text(raw: object) -> ParsedJSON:
    """Parse a JSON column without ever raising."""
    if raw is None:
        return ParsedJSON(raw=None)
    try:
        return ParsedJSON(raw=str(raw), value=json.loads(raw), valid=True)
    except (TypeError, ValueError, RecursionError):
        return ParsedJSON(raw=str(raw))


def dump_json(value: Any) -> str:
    """Serialise a value to the JSON text this project writes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_object_text(value: Any, what: str) -> str:
    """Return JSON text for an object given as a mapping or as JSON text; ValueError otherwise."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(value).__name__}")
    try:
        return dump_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be written as JSON: {exc}") from None
