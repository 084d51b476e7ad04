"""Signed checkpoints of the decision log, with what each commits to about every proposal.

``sign`` (``audit_checkpoint``) brings the log up to date and signs its size, root and time
and the root of the tree of proposal heads (``tommemory_verify.heads``): for each proposal,
how many of the log's rows are its rows, the newest of them, the root of their leaf hashes
and a digest of its row as stored. Beside ``checkpoint-<size>-<time>.note`` it writes
``.leaves`` (the leaf hashes, which ``verify_audit`` names changed entries with) and
``.heads`` (the heads, one JSON object a line, in proposal-id order) with ``.heads-index``
(where each line starts, and the heads' tree as tiles), from which ``audit_bundle`` finds a
proposal's head and proves it in a few reads, however many proposals there are. Leaves
themselves are unchanged: both stores write them, only Python signs.

The tree signed is the log's entries' (every one read, as the heads need); the stored tiles
are made again from them when they do not hold that tree, so what is served and proven from
the tiles is what was signed.
"""

from __future__ import annotations

import json
import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from memory_app.promotion import decision_log, log_tiles
from memory_app.promotion.models import AuditLeaf
from memory_app.timeutil import now_iso
from memory_app.vendor_sql import serialize_on
from tommemory_verify import merkle, tiles
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
        hashes = _leaf_hashes(entries)
        heads = proposal_heads(entries)
        root = tiles.Proofs(tiles.build(hashes)).root(len(hashes))
        stored = log_tiles.tree_size()
        if stored != len(hashes) or log_tiles.proofs(roots=[stored]).root(stored) != root:
            log_tiles.rebuild()  # the tiles serve and prove what is signed
        checkpoint = Checkpoint(
            settings.TOM_AUDIT_ORIGIN,
            len(hashes),
            root,
            now_iso(),
            (len(heads), heads_root(heads)),
        )
    directory.mkdir(parents=True, exist_ok=True)
    note = directory / f"{decision_log.checkpoint_name(checkpoint)}.note"
    # The note last: a reader looks for notes, and finds one only with its lists beside it.
    note.with_suffix(".leaves").write_text("".join(h.hex() + "\n" for h in hashes))
    _write_heads(note, heads)
    note.write_text(sign_note(checkpoint.text(), checkpoint.origin, key))
    return Signed(note, checkpoint, taken)


def _leaf_hashes(entries: list[tuple[int, str, str, str]]) -> list[bytes]:
    """The leaf hashes of the log's entries, refused at a gap or a value that is no hash:
    no tree can say what such a log holds."""
    hashes = []
    for position, (index, kind, row_id, leaf_hash) in enumerate(entries):
        leaf = log_tiles.leaf_bytes(leaf_hash)
        if index != position or leaf is None:
            what = "is missing" if index != position else f"({kind} {row_id!r}) holds no hash"
            raise CheckpointRefused(
                f"entry #{position} of the log {what}, so no tree of the log can be signed; "
                "`python manage.py verify_audit --checkpoint <dir>` says more. No checkpoint "
                "signed"
            )
        hashes.append(leaf)
    return hashes


def _write_heads(note: Path, heads: list[Head]) -> None:
    """``.heads``: a head a line (ASCII JSON), in proposal-id order; ``.heads-index``: where
    each line starts (8 bytes each, big-endian), then the heads' tree as tiles, each tile
    level's hashes one after another (``_heads_tiles`` reads them back)."""
    lines = [(json.dumps(head.as_json()) + "\n").encode("ascii") for head in heads]
    offsets, start = [], 0
    for line in lines:
        offsets.append(start)
        start += len(line)
    tree = tiles.build([head.leaf() for head in heads])
    index = struct.pack(f">{len(offsets)}Q", *offsets) + b"".join(tree[key] for key in sorted(tree))
    note.with_suffix(".heads").write_bytes(b"".join(lines))
    note.with_suffix(".heads-index").write_bytes(index)


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
        if note.with_suffix(".heads-index").exists():
            found = _indexed_head(note, checkpoint.heads, proposal_id)
        else:  # a checkpoint signed before heads had an index: every head read
            found = _listed_head(path, checkpoint.heads, proposal_id)
    except (OSError, ValueError, KeyError, TypeError, struct.error) as error:
        raise CheckpointRefused(f"cannot read {path.name}: {error}") from error
    if found is None:
        raise CheckpointRefused(
            f"proposal {proposal_id!r} is not in the newest checkpoint yet: run `python "
            "manage.py audit_checkpoint`, then make the bundle"
        )
    return found


def _listed_head(
    path: Path, signed: tuple[int, bytes], proposal_id: str
) -> tuple[int, Head, list[bytes]] | None:
    heads = [Head.from_json(json.loads(line)) for line in path.read_text().splitlines()]
    if (len(heads), heads_root(heads)) != signed:
        raise CheckpointRefused(f"{path.name} does not match the signed checkpoint")
    place = next((n for n, head in enumerate(heads) if head.proposal_id == proposal_id), None)
    if place is None:
        return None
    return place, heads[place], merkle.inclusion_proof(place, [head.leaf() for head in heads])


def _indexed_head(
    note: Path, signed: tuple[int, bytes], proposal_id: str
) -> tuple[int, Head, list[bytes]] | None:
    """A proposal's head found by halving the heads (by their line starts), proven from the
    heads' tiles: a few reads of the two files, however many heads there are."""
    count, root = signed
    index_path = note.with_suffix(".heads-index")
    levels = [count >> (tiles.HEIGHT * level) for level in range(_levels(count))]
    if index_path.stat().st_size != 8 * count + tiles.HASH * sum(levels):
        raise CheckpointRefused(f"{index_path.name} does not match the signed checkpoint")
    with note.with_suffix(".heads").open("rb") as lines, index_path.open("rb") as index:

        def head(n: int) -> Head:
            index.seek(8 * n)
            lines.seek(struct.unpack(">Q", index.read(8))[0])
            return Head.from_json(json.loads(lines.readline()))

        def fetch(wanted: dict[tiles.Tile, int]) -> dict[tiles.Tile, bytes]:
            found = {}
            for (level, number), width in wanted.items():
                start = 8 * count + tiles.HASH * (sum(levels[:level]) + number * tiles.WIDTH)
                index.seek(start)
                found[level, number] = index.read(tiles.HASH * width)
            return found

        low, high = 0, count
        while low < high:
            middle = (low + high) // 2
            if head(middle).proposal_id < proposal_id:
                low = middle + 1
            else:
                high = middle
        if low == count or (found := head(low)).proposal_id != proposal_id:
            return None
        proof = tiles.read(fetch, inclusions=[(low, count)]).inclusion(low, count)
    if not merkle.verify_inclusion(found.leaf(), low, count, proof, root):
        raise CheckpointRefused(f"{index_path.name} does not match the signed checkpoint")
    return low, found, proof


def _levels(count: int) -> int:
    """How many tile levels a tree of ``count`` leaves has."""
    levels = 0
    while count >> (tiles.HEIGHT * levels):
        levels += 1
    return levels
