"""Proposal heads: what the checkpoint commits to about each proposal's rows.

Each signed checkpoint carries (an extension line, ``note.HEADS_LINE``) the size and root of
a second RFC 6962 tree: one leaf per proposal, sorted by proposal id, each the canonical
text of the proposal's *head* as the log stood when the checkpoint was signed:

- ``leaves``: how many of the log's entries are rows of the proposal (validations,
  decisions, break-glass decisions, deploy outcomes: every leaf whose row names it);
- ``newest``: the index of the newest of them (None when it has none);
- ``rows_root``: the Merkle root of their leaf hashes in log order;
- ``proposal_sha256``: SHA-256 of the proposal's row as stored (every column, as
  ``proposal_sha256`` writes it), or None when the log names a proposal that has no row.

A bundle carries its proposal's head with an inclusion proof in that tree, so the verifier
holds, with the public key alone, the exact list of rows the bundle must contain and the
proposal row it must show: a left-out row or an edited field changes the head, and a
changed head is not in the signed tree. The leaves of the decision log itself are
unchanged (both stores write them; only the checkpoint, which Python signs, is new).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from . import merkle
from .leaves import json_value


def proposal_sha256(row: dict) -> str:
    """The digest of a proposal row as stored: compact JSON, keys sorted (so the order a
    database or a JSON reader gives the columns in does not matter), non-ASCII as itself."""
    text = json.dumps(
        row, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=json_value
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Head:
    proposal_id: str
    leaves: int
    newest: int | None
    rows_root: bytes
    proposal_sha256: str | None

    def text(self) -> bytes:
        """The head's leaf text: compact JSON, keys in this order."""
        document = {
            "proposal_id": self.proposal_id,
            "leaves": self.leaves,
            "newest": self.newest,
            "rows_root": self.rows_root.hex(),
            "proposal_sha256": self.proposal_sha256,
        }
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "surrogatepass")

    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.text())

    def as_json(self) -> dict:
        return json.loads(self.text().decode("utf-8", "surrogatepass"))

    @classmethod
    def from_json(cls, document: dict) -> Head:
        return cls(
            document["proposal_id"],
            document["leaves"],
            document["newest"],
            bytes.fromhex(document["rows_root"]),
            document["proposal_sha256"],
        )


def head_of(proposal_id: str, rows: Sequence[tuple[int, bytes]], row: dict | None) -> Head:
    """The head of a proposal with these (index, leaf hash) entries and this stored row."""
    ordered = sorted(rows)
    return Head(
        proposal_id,
        len(ordered),
        ordered[-1][0] if ordered else None,
        merkle.root([leaf for _, leaf in ordered]),
        None if row is None else proposal_sha256(row),
    )


def heads_root(heads: Sequence[Head]) -> bytes:
    """The root the checkpoint signs: the heads' leaves in proposal-id order."""
    return merkle.root([head.leaf() for head in heads])
