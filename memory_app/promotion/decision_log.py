"""The decision log: every governed row, in the order it was recorded, as one Merkle tree.

Each decision (its approvals row and its evidence), break-glass decision, validation,
deploy outcome, published profile version and link from a reviewer's proposal to an
annotation it rests on (review's finding evidence) is a leaf of an append-only RFC 6962 log
(``AuditLeaf``, hashing in ``tommemory_verify.merkle``). The store logs its own rows in
the transaction that writes them; rows other writers add are taken in the next time the
log is brought up to date (``take_in``: every store write, ``audit_checkpoint``), in the
order of their time.

A leaf is the row's canonical text (``tommemory_verify.leaves``).

The tree's hashes are kept as C2SP tiles beside the log, written with its entries
(``log_tiles``), so a proof reads a few of them. Anyone who can write the database can
rewrite rows, leaves, tiles and triggers together; what they cannot rewrite is a signed
checkpoint kept elsewhere (``audit_checkpoint``, signed by ``checkpoints``), which
``log_checks`` holds the log to.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction

from memory_app.promotion import log_tiles
from memory_app.promotion.models import ApprovalEvidence, AuditLeaf, Proposal
from memory_app.timeutil import instant_key, now_iso
from memory_app.vendor_sql import serialize_on
from tommemory_verify import leaves, merkle
from tommemory_verify.note import (
    Checkpoint,
)

# Which rows are leaves (in this kind order), the columns a leaf covers and the time each
# row was recorded: the contract every store logs by. What a leaf's text is, is
# tommemory_verify.leaves (auditors check bundles with it, without this project).
CONTRACT = json.loads((settings.BASE_DIR / "contract" / "decision_log.json").read_text())


class _Kinds(Mapping[str, tuple[type[models.Model], str]]):
    """kind -> (model, the column giving the time it was recorded), in the contract's order.

    A leaf may be a row of a wing above this one (review's finding evidence), which
    promotion never imports: the models are found by table in the app registry, on first
    use (this module is imported while the models load). The kinds themselves are the
    contract's, known at once.
    """

    @functools.cached_property
    def _models(self) -> dict[str, tuple[type[models.Model], str]]:
        tables = {m._meta.db_table: m for m in apps.get_app_config("memory_app").get_models()}
        return {kind: (tables[s["table"]], s["time"]) for kind, s in CONTRACT["kinds"].items()}

    def __getitem__(self, kind: str) -> tuple[type[models.Model], str]:
        return self._models[kind]

    def __contains__(self, kind: object) -> bool:
        return kind in CONTRACT["kinds"]

    def __iter__(self) -> Iterator[str]:
        return iter(CONTRACT["kinds"])

    def __len__(self) -> int:
        return len(CONTRACT["kinds"])


KINDS = _Kinds()
COLUMNS: dict[str, list[str]] = {kind: spec["columns"] for kind, spec in CONTRACT["kinds"].items()}
EVIDENCE_COLUMNS: list[str] = CONTRACT["evidence"]["columns"]


def _select(table: str, columns: list[str], where: str, params: list) -> list[dict]:
    quote = connection.ops.quote_name
    sql = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} t WHERE {where}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _marks(values: Sequence) -> str:
    return ", ".join("%s" for _ in values)


def stored_rows(kind: str, ids: Sequence[str] | None = None) -> dict[str, dict]:
    """Rows of a kind as stored (no conversion), by id: those with the given ids, or
    (``ids`` None) those the log has not taken in yet."""
    model, columns = KINDS[kind][0], COLUMNS[kind]
    if ids is None:
        where = (
            "t.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tommemory_audit_log l "
            "WHERE l.kind = %s AND l.row_id = t.id)"
        )
        found = _select(model._meta.db_table, columns, where, [kind])
    elif not ids:
        return {}
    else:
        found = _select(model._meta.db_table, columns, f"t.id IN ({_marks(ids)})", list(ids))
    return {row["id"]: row for row in found if isinstance(row["id"], str)}


def stored_evidence(approval_ids: Sequence[str]) -> dict[str, dict]:
    """Evidence rows as stored, by approval id."""
    if not approval_ids:
        return {}
    where = f"t.approval_id IN ({_marks(approval_ids)})"
    found = _select(ApprovalEvidence._meta.db_table, EVIDENCE_COLUMNS, where, list(approval_ids))
    return {row["approval_id"]: row for row in found}


def stored_proposal(pk: str) -> dict | None:
    """A proposal row as stored."""
    found = _select(Proposal._meta.db_table, _PROPOSAL_COLUMNS, "t.id = %s", [pk])
    return found[0] if found else None


def stored_proposals() -> list[dict]:
    """Every proposal row as stored."""
    return _select(Proposal._meta.db_table, _PROPOSAL_COLUMNS, "1 = 1", [])


_PROPOSAL_COLUMNS = [f.column for f in Proposal._meta.local_fields]
_IN_LOG = "EXISTS (SELECT 1 FROM tommemory_audit_log l WHERE l.kind = %s AND l.row_id = t.{})"


def logged_rows(kind: str) -> dict[str, dict]:
    """Rows of a kind that the log holds, as stored, by id (one query, however many)."""
    model, columns = KINDS[kind][0], COLUMNS[kind]
    found = _select(model._meta.db_table, columns, _IN_LOG.format("id"), [kind])
    return {row["id"]: row for row in found}


def logged_evidence() -> dict[str, dict]:
    """The evidence of every decision the log holds, as stored, by approval id."""
    where = _IN_LOG.format("approval_id")
    found = _select(ApprovalEvidence._meta.db_table, EVIDENCE_COLUMNS, where, ["approval"])
    return {row["approval_id"]: row for row in found}


def leaf_hash_of(kind: str, row: dict, evidence: dict | None) -> str:
    """The hex leaf hash of a stored row (and an approval's evidence)."""
    return merkle.leaf_hash(leaves.leaf_text(kind, row, evidence)).hex()


def take_in() -> int:
    """Append every governed row the log has not seen yet, oldest first; return how many.

    Runs in the caller's transaction when there is one (the store's), so a decision and
    its log entry are written together.
    """
    with transaction.atomic():
        # Writers append one at a time, so indexes run 0, 1, 2, ... without gaps.
        serialize_on(AuditLeaf._meta.db_table)
        new: list[tuple[str, str, int, str, dict]] = []
        for order, (kind, (_model, time_column)) in enumerate(KINDS.items()):
            for row_id, row in stored_rows(kind).items():
                new.append((instant_key(row[time_column]), row_id, order, kind, row))
        if not new:
            return 0
        new.sort(key=lambda entry: entry[:3])
        evidence = stored_evidence([row_id for _, row_id, _, kind, _ in new if kind == "approval"])
        last = AuditLeaf.objects.order_by("-index").values_list("index", "leaf_hash").first()
        start = 0 if last is None else last[0] + 1
        logged_at = now_iso()
        entries = [
            AuditLeaf(
                index=start + n,
                kind=kind,
                row_id=row_id,
                leaf_hash=leaf_hash_of(
                    kind, row, evidence.get(row_id) if kind == "approval" else None
                ),
                logged_at=logged_at,
            )
            for n, (_, row_id, _, kind, row) in enumerate(new)
        ]
        AuditLeaf.objects.bulk_create(entries)
        # The tree's tiles, in the same transaction (they hold what the log holds).
        log_tiles.extend(
            start,
            [bytes.fromhex(e.leaf_hash) for e in entries],
            None if last is None else log_tiles.leaf_bytes(last[1]) or b"",
        )
        return len(new)


# --- checkpoints' files, and rows held to their entries --------------------------------


def checkpoint_name(checkpoint: Checkpoint) -> str:
    """``checkpoint-<size>-<time>``: names sort by size, then time."""
    return f"checkpoint-{checkpoint.size:012d}-{(checkpoint.time or '').replace(':', '')}"


def latest_checkpoint(place: Path) -> tuple[Path, Path]:
    """The newest signed checkpoint in a directory (or the note given) and its leaf list."""
    if not place.exists():
        raise FileNotFoundError(f"no checkpoint at {place}")
    if place.is_dir():
        notes = sorted(place.glob("checkpoint-*.note"))
        if not notes:
            raise FileNotFoundError(f"no checkpoint (checkpoint-*.note) in {place}")
        place = notes[-1]
    return place, place.with_suffix(".leaves")


def _rows_against_leaves(entries: list[AuditLeaf]) -> list[tuple[int, str]]:
    problems = []
    for kind in sorted({e.kind for e in entries} - KINDS.keys()):
        first = next(e for e in entries if e.kind == kind)
        problems.append((first.index, f"entry #{first.index}: unknown kind {kind!r}"))
    found = _current_hashes(entries)
    for entry in entries:
        now = found.get((entry.kind, entry.row_id))
        if entry.kind not in KINDS:
            continue
        if now is None:
            problems.append(
                (entry.index, f"entry #{entry.index}: {entry.kind} {entry.row_id!r} is gone")
            )
        elif now != entry.leaf_hash:
            problems.append(
                (
                    entry.index,
                    f"entry #{entry.index}: {entry.kind} {entry.row_id!r} was changed after "
                    "it was logged",
                )
            )
    return problems


def _current_hashes(entries: list[AuditLeaf]) -> dict[tuple[str, str], str]:
    """The leaf hash each entry's row has now, by (kind, row id); a gone row has none."""
    found: dict[tuple[str, str], str] = {}
    for kind in {e.kind for e in entries} & KINDS.keys():
        every = [e.row_id for e in entries if e.kind == kind]
        # A whole log's rows in batches: an engine binds only so many values to one query.
        for start in range(0, len(every), _BATCH):
            ids = every[start : start + _BATCH]
            evidence = stored_evidence(ids) if kind == "approval" else {}
            for row_id, row in stored_rows(kind, ids).items():
                found[kind, row_id] = leaf_hash_of(kind, row, evidence.get(row_id))
    return found


_BATCH = 5_000
