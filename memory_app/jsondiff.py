"""Key-level differences between two JSON documents, nested keys included."""

import json
from dataclasses import dataclass
from typing import Any

MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # added | removed | changed | same
    before: str
    after: str


def _flatten(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a document by its path (``a.b[2].c``); empty containers are leaves."""
    leaves: dict[str, Any] = {}
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict) and item:
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list) and item:
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        else:
            leaves[where or "(document)"] = item
    return leaves


def _show(value: Any) -> str:
    return "" if value is MISSING else json.dumps(value, ensure_ascii=False)


def diff(before: Any, after: Any) -> list[Change]:
    """Every leaf path of either document, marked added, removed, changed or same."""
    old, new = _flatten(before), _flatten(after)
    changes = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path, MISSING), new.get(path, MISSING)
        if a is MISSING:
            kind = "added"
        elif b is MISSING:
            kind = "removed"
        else:
            kind = "same" if a == b and type(a) is type(b) else "changed"
        changes.append(Change(path, kind, _show(a), _show(b)))
    return changes
