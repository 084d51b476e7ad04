"""The decision log held to a signed checkpoint: the whole log, or one proposal's rows.

Anyone who can write the database can rewrite rows, leaves, tiles and triggers together;
what they cannot rewrite is a signed checkpoint kept elsewhere (``audit_checkpoint``). With
one, a proposal's rows are checked from a few of the tree's tiles (``log_tiles``), however
long the log: each row hashes to its entry, each entry the checkpoint covers is in the
signed tree (an inclusion proof to its root), and the tree the tiles hold now extends the
signed one (a consistency proof). That is the proposal page's badge (``proposal_status``)
and ``verify_audit --checkpoint --proposal``. The whole log (``verify``, ``verify_audit
--checkpoint``) reads every entry and row: the tree is made again from the entries and held
to the checkpoint and to the stored tiles, and each row to its entry; the first entry that
is not the one signed is named from the checkpoint's leaf list (``.leaves``) when the log no
longer extends it.

A checkpoint of another log (its origin line), even one signed by the same key, proves
nothing about this one and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import models

from memory_app.promotion import decision_log, log_tiles
from memory_app.promotion.models import AuditLeaf
from tommemory_verify import merkle, tiles
from tommemory_verify.note import (
    Checkpoint,
    NoteError,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
)


@dataclass
class LogReport:
    entries: int = 0
    checkpoint_size: int | None = None
    # (entry index, what is wrong); the log as a whole at index -1.
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def messages(self) -> list[str]:
        """What is wrong, the first affected entry first."""
        return [message for _, message in sorted(self.problems, key=lambda p: (p[0] < 0, p[0]))]


def signed(place: Path, name: str, public_key) -> tuple[Checkpoint, Path, str]:
    """The newest signed checkpoint in ``place`` (a directory, or a note), its note, and what
    is wrong with it ("" when it is of this log). Raises NoteError when the signature fails,
    FileNotFoundError when there is none."""
    note, _ = decision_log.latest_checkpoint(place)
    checkpoint = parse_checkpoint(open_note(note.read_text(), name, public_key))
    if checkpoint.origin != settings.TOM_AUDIT_ORIGIN:
        # The same key may sign several logs; a checkpoint of another one proves nothing here.
        return (
            checkpoint,
            note,
            f"{note.name} is a checkpoint of the log {checkpoint.origin!r}, not of this one "
            f"({settings.TOM_AUDIT_ORIGIN!r}, TOM_AUDIT_ORIGIN)",
        )
    return checkpoint, note, ""


def _not_extended(checkpoint: Checkpoint, size: int) -> str:
    return (
        f"the log is not an extension of the checkpoint of {checkpoint.size} entries"
        + (f" signed {checkpoint.time}" if checkpoint.time else "")
        + (f" (its tree holds {size})" if size < checkpoint.size else "")
    )


def _label(entry: AuditLeaf) -> str:
    return f"entry #{entry.index} ({entry.kind} {entry.row_id!r})"


def check_entries(checkpoint: Checkpoint, entries: Sequence[AuditLeaf]) -> list[tuple[int, str]]:
    """Hold these log entries, and the rows they log, to the checkpoint, reading a few tiles
    (two queries for the tiles, a few for the rows, however long the log): the stored tree
    extends the signed one, each entry the checkpoint covers is in the signed tree, and each
    row still hashes to its entry."""
    problems: list[tuple[int, str]] = []
    size, old = log_tiles.tree_size(), checkpoint.size
    covered = [e for e in entries if e.index < old]
    try:
        if old > size:
            raise tiles.MissingTile(_not_extended(checkpoint, size))
        proofs = log_tiles.proofs(
            roots=[size],
            consistencies=[(old, size)],
            inclusions=[(e.index, old) for e in covered],
        )
        if not merkle.verify_consistency(
            old, size, proofs.consistency(old, size), checkpoint.root, proofs.root(size)
        ):
            problems.append((-1, _not_extended(checkpoint, size)))
        for entry in covered:
            leaf = log_tiles.leaf_bytes(entry.leaf_hash) or b""
            proof = proofs.inclusion(entry.index, old)
            if not merkle.verify_inclusion(leaf, entry.index, old, proof, checkpoint.root):
                problems.append((entry.index, f"{_label(entry)} is not the one signed"))
    except tiles.MissingTile as missing:
        problems.append((-1, str(missing)))
    now = decision_log._current_hashes(list(entries))
    for entry in entries:
        if entry.kind in decision_log.KINDS and now.get((entry.kind, entry.row_id)) != (
            entry.leaf_hash
        ):
            problems.append(
                (
                    entry.index,
                    f"{entry.kind} {entry.row_id!r} was changed or removed after it was logged",
                )
            )
    return problems


def proposal_entries(proposal_id: str) -> tuple[list[AuditLeaf], int]:
    """The log's entries of a proposal's rows (every kind naming it), and how many of its
    rows there are (those not logged yet included)."""
    wanted: set[tuple[str, str]] = set()
    for kind, columns in decision_log.COLUMNS.items():
        if "proposal_id" not in columns:
            continue
        model = decision_log.KINDS[kind][0]
        found = model.objects.filter(proposal_id=proposal_id).values_list("pk", flat=True)
        wanted.update((kind, row_id) for row_id in found)
    return logged(wanted), len(wanted)


def logged(wanted: set[tuple[str, str]]) -> list[AuditLeaf]:
    """The log's entries of these (kind, row id), in log order: one query, each looked up
    by its kind and id (the log's unique index), never a scan of the log."""
    by_kind: dict[str, list[str]] = {}
    for kind, row_id in wanted:
        by_kind.setdefault(kind, []).append(row_id)
    if not by_kind:
        return []
    which = models.Q()
    for kind, row_ids in sorted(by_kind.items()):
        which |= models.Q(kind=kind, row_id__in=sorted(row_ids))
    return list(AuditLeaf.objects.filter(which).order_by("index"))


def verify_proposal(place: Path, name: str, public_key, proposal_id: str) -> LogReport:
    """One proposal's rows held to a signed checkpoint (``check_entries``)."""
    checkpoint, _, problem = signed(place, name, public_key)
    report = LogReport(checkpoint_size=checkpoint.size)
    if problem:
        report.problems.append((-1, problem))
        return report
    entries, _ = proposal_entries(proposal_id)
    report.entries = len(entries)
    report.problems.extend(check_entries(checkpoint, entries))
    return report


def verify(place: Path, name: str, public_key) -> LogReport:
    """The whole log held to a signed checkpoint: every entry and row read.

    Reports every problem in log order; the first is the first affected entry. Catches an
    edited, deleted or reordered row, entry or tile even with every hash recomputed and the
    triggers dropped, as long as the checkpoint was taken before the change.
    """
    checkpoint, note, problem = signed(place, name, public_key)
    report = LogReport(checkpoint_size=checkpoint.size)
    if problem:
        report.problems.append((-1, problem))
        return report
    entries = list(AuditLeaf.objects.order_by("index"))
    report.entries = len(entries)
    hashes: list[bytes] = []
    for position, entry in enumerate(entries):
        leaf = log_tiles.leaf_bytes(entry.leaf_hash)
        if entry.index != position:
            report.problems.append((position, f"entry #{position} is missing from the log"))
            break
        if leaf is None:
            report.problems.append((position, f"{_label(entry)} holds no leaf hash"))
            break
        hashes.append(leaf)
    tree = tiles.build(hashes)
    if (wrong := _first_wrong_tile(tree)) is not None:
        report.problems.append((-1, wrong))
    proofs, size, old = tiles.Proofs(tree), len(hashes), checkpoint.size
    if old > size or not merkle.verify_consistency(
        old, size, proofs.consistency(old, size), checkpoint.root, proofs.root(size)
    ):
        report.problems.append((-1, _not_extended(checkpoint, size)))
        report.problems.extend(_against_signed_leaves(checkpoint, note, entries))
    report.problems.extend(decision_log._rows_against_leaves(entries))
    return report


def _first_wrong_tile(tree: dict[tiles.Tile, bytes]) -> str | None:
    """The first stored tile that is not (a beginning of) the tile of the tree of the log's
    entries, or None. A tile behind the log is not wrong: the next take-in brings it up."""
    stored = log_tiles.stored()
    for level, index in sorted(stored):
        theirs = stored[level, index]
        if not tree.get((level, index), b"").startswith(theirs):
            path = tiles.tile_path(level, index, len(theirs) // tiles.HASH)
            return f"the stored tile {path} is not the tree of the log's entries"
    return None


def _against_signed_leaves(
    checkpoint: Checkpoint, note: Path, entries: list[AuditLeaf]
) -> list[tuple[int, str]]:
    """The first entry that is not the one signed, by the checkpoint's leaf list (which the
    signer writes beside the note); nothing when the list is not there or not the signed one."""
    path = note.with_suffix(".leaves")
    try:
        listed = [bytes.fromhex(line) for line in path.read_text().split()]
    except (OSError, ValueError):
        return [(-1, f"{path.name} cannot be read, so no entry is named")]
    if len(listed) != checkpoint.size or merkle.root(listed) != checkpoint.root:
        return [(-1, f"{path.name} does not match the signed checkpoint")]
    for position, expected in enumerate(listed):
        if position >= len(entries):
            return [(position, f"entry #{position} is gone (the checkpoint holds it)")]
        if log_tiles.leaf_bytes(entries[position].leaf_hash) != expected:
            return [(position, f"{_label(entries[position])} is not the one signed")]
    return []


# --- one proposal's badge -------------------------------------------------------------


@dataclass(frozen=True)
class ProposalLogStatus:
    """What the proposal page says about the proposal's rows in the decision log."""

    state: str  # "verified", "pending" (newer than the checkpoint), "unchecked" or "broken"
    text: str  # what is wrong, while broken or unchecked
    # What the page words for the person deciding: the signed checkpoint's time, and how
    # many of the proposal's rows it covers of how many are logged.
    signed_at: str = ""
    covered: int = 0
    rows: int = 0


def proposal_status(ids: dict[str, list[str]]) -> ProposalLogStatus:
    """Check a proposal's logged rows (``ids``: kind -> row ids) against the newest signed
    checkpoint in ``TOM_AUDIT_CHECKPOINTS``, verified with ``TOM_AUDIT_PUBLIC_KEY``
    (``check_entries``: a few tiles, however long the log)."""
    try:
        name, public_key = parse_verifier_key(settings.TOM_AUDIT_PUBLIC_KEY.read_text())
        checkpoint, _, problem = signed(settings.TOM_AUDIT_CHECKPOINTS, name, public_key)
    except FileNotFoundError:
        # How to sign one is in docs/decision-log.md: no shell command on a page.
        return ProposalLogStatus("unchecked", "Decision log not checked: no signed checkpoint yet.")
    except (OSError, ValueError, NoteError) as error:
        return ProposalLogStatus("broken", f"Decision log cannot be checked: {error}")
    if problem:
        return ProposalLogStatus("broken", f"Decision log BROKEN: {problem}.")
    wanted = {(kind, row_id) for kind, row_ids in ids.items() for row_id in row_ids}
    entries = logged(wanted)
    problems = check_entries(checkpoint, entries)
    if problems:
        # The log as a whole first, then the first entry.
        first = min(problems, key=lambda p: (p[0] >= 0, p[0]))[1]
        return ProposalLogStatus("broken", f"Decision log BROKEN: {first}.")
    covered = sum(1 for e in entries if e.index < checkpoint.size)
    # The page words these for the person deciding, the checkpoint's time localized.
    state = "pending" if len(wanted) > covered else "verified"
    return ProposalLogStatus(state, "", checkpoint.time, covered, len(wanted))
