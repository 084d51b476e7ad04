"""What a decision-log leaf covers: a logged row's canonical text.

``{"kind", "row", "evidence"}`` as compact JSON (keys in column order, non-ASCII as
itself), the columns as stored. A profile version's ``effective_to`` is left out: closing
its window once is the one change a published version may get.
"""

from __future__ import annotations

import json

KINDS = (
    "validation",
    "approval",
    "deploy",
    "behavior_profile",
    "personality_profile",
    "override",
    "finding_evidence",  # a reviewer's proposal -> an annotation it rests on
)
LEFT_OUT = {"behavior_profile": {"effective_to"}, "personality_profile": {"effective_to"}}


def json_value(value):
    """A stored value another writer put in a column that JSON cannot hold as it is."""
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    raise TypeError(type(value).__name__)


def leaf_text(kind: str, row: dict, evidence: dict | None) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"not a kind of log entry: {kind!r}")
    left_out = LEFT_OUT.get(kind, set())
    document = {
        "kind": kind,
        "row": {k: v for k, v in row.items() if k not in left_out},
        "evidence": evidence,
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=json_value)
    return text.encode("utf-8", "surrogatepass")
