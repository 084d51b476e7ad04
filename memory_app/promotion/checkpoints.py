"""Signed checkpoints of the decision log, with what each commits to about every proposal.

``sign`` (``audit_checkpoint``) brings the log up to date and signs its size, root and time
and the root of the tree of proposal heads (``tommemory_verify.heads``): for each proposal,
how many of the log's rows are its rows, the newest of them, the root of their leaf hashes
and a digest of its row as stored. Beside ``checkpoint-<size>-<time>.note`` it writes
``.leaves`` (the leaf hashes, which ``verify_audit`` names changed entries with) and
``.heads`` (the heads, one JSON object a line, which ``audit_bundle`` proves a proposal's
head from). Leaves themselves are unchanged: both stores write them, only Python signs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from memory_app.promotion import decision_log
from memory_app.promotion.models import AuditLeaf
from memory_app.timeutil import now_iso
from memory_app.vendor_sql import serialize_on
from tommemory_verify import merkle
from tommemory_verify.heads import Head, head_of, heads_root
from tommemory_verify.note import Checkpoint, NoteError, parse_checkpoint, split_note
from tommemory_verify.note import sign as sign_note

# The kinds of leaf whose row belongs to a proposal (it has a proposal_id column).
PROPOSAL_KINDS = tuple(kind for kind, cols in decision_log.COLUMNS.items() if "proposal_id" in cols)


class CheckpointRefused(Exception):
    """Why no checkpoint was signed, or no proposal head can be read from one."""


@dataclass(frozen=True)
class Signed:
    note: Path
    checkpoint: Checkpoint
    taken: int


def sign(key: Ed25519PrivateKey, directory: Path) -> Signed:
    """Take in rows other writers added, then sign the log's tree head and its proposal
    heads into ``directory``. Refused when a logged row no longer matches its leaf: the
    heads would name rows the log does not hold (``verify_audit`` says which)."""
    with transaction.atomic():
        # The log and the rows it is read with stay still until the heads are made.
        serialize_on(AuditLeaf._meta.db_table)
        taken = decision_log.take_in()
        entries = list(
            AuditLeaf.objects.order_by("index").values_list("index", "kind", "row_id", "leaf_hash")
        )
        heads = proposal_heads(entries)
        hashes = [bytes.fromhex(leaf_hash) for _, _, _, leaf_hash in entries]
        checkpoint = Checkpoint(
            settings.TOM_AUDIT_ORIGIN,
            len(hashes),
            merkle.root(hashes),
            now_iso(),
            (len(heads), heads_root(heads)),
        )
    directory.mkdir(parents=True, exist_ok=True)
    note = directory / f"{decision_log.checkpoint_name(checkpoint)}.note"
    # The note last: a reader looks for notes, and finds one only with its two lists beside it.
    note.with_suffix(".leaves").write_text("".join(h.hex() + "\n" for h in hashes))
    note.with_suffix(".heads").write_text(
        "".join(json.dumps(head.as_json()) + "\n" for head in heads)
    )
    note.write_text(sign_note(checkpoint.text(), checkpoint.origin, key))
    return Signed(note, checkpoint, taken)


def proposal_heads(entries: list[tuple[int, str, str, str]]) -> list[Head]:
    """Every proposal's head, sorted by proposal id, from the log's (index, kind, row id,
    leaf hash) entries and the rows they log; every proposal row has one, rows or none."""
    rows = {kind: decision_log.logged_rows(kind) for kind in PROPOSAL_KINDS}
    evidence = decision_log.logged_evidence()
    mine: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for index, kind, row_id, leaf_hash in entries:
        if kind not in PROPOSAL_KINDS:
            continue
        row = rows[kind].get(row_id)
        if row is None or decision_log.leaf_hash_of(kind, row, evidence.get(row_id)) != leaf_hash:
            raise CheckpointRefused(
                f"entry #{index} ({kind} {row_id!r}) no longer matches its row, so the log "
                "cannot say whose rows it holds; `python manage.py verify_audit --checkpoint "
                "<dir>` names every such entry. No checkpoint signed"
            )
        if isinstance(row["proposal_id"], str):
            mine[row["proposal_id"]].append((index, bytes.fromhex(leaf_hash)))
    proposals = {row["id"]: row for row in decision_log.stored_proposals()}
    return [
        head_of(proposal_id, mine.get(proposal_id, []), proposals.get(proposal_id))
        for proposal_id in sorted(mine.keys() | proposals.keys())
    ]


def unverified_checkpoint(note: Path) -> Checkpoint:
    """The checkpoint a note holds, its signature not checked (the signer's own files)."""
    return parse_checkpoint(split_note(note.read_text())[0])


def proposal_head(note: Path, proposal_id: str) -> tuple[int, Head, list[bytes]]:
    """A proposal's head in the checkpoint ``note``, its place and inclusion proof."""
    try:
        checkpoint = unverified_checkpoint(note)
    except NoteError as error:
        raise CheckpointRefused(f"{note.name}: {error}") from error
    if checkpoint.heads is None:
        raise CheckpointRefused(
            f"{note.name} was signed before checkpoints committed to each proposal's rows, so "
            "no bundle can be proven complete against it: run `python manage.py "
            "audit_checkpoint`, then make the bundle"
        )
    path = note.with_suffix(".heads")
    try:
        heads = [Head.from_json(json.loads(line)) for line in path.read_text().splitlines()]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckpointRefused(f"cannot read {path.name}: {error}") from error
    if (len(heads), heads_root(heads)) != checkpoint.heads:
        raise CheckpointRefused(f"{path.name} does not match the signed checkpoint")
    place = next((n for n, head in enumerate(heads) if head.proposal_id == proposal_id), None)
    if place is None:
        raise CheckpointRefused(
            f"proposal {proposal_id!r} is not in the newest checkpoint yet: run `python "
            "manage.py audit_checkpoint`, then make the bundle"
        )
    proof = merkle.inclusion_proof(place, [head.leaf() for head in heads])
    return place, heads[place], proof
