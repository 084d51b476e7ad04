"""Check an audit bundle (``manage.py audit_bundle``) with the log's public key alone.

Authentic: the checkpoint is signed by the key and names the expected log (its origin),
and every row in the bundle is a leaf of that checkpoint's tree (its inclusion proof leads
to the signed root). Complete: the checkpoint also commits to each proposal's head
(``tommemory_verify.heads``): how many of the log's rows are the proposal's, the newest of
them, the root of their leaf hashes and a digest of the proposal row as stored. The bundle
carries its proposal's head with an inclusion proof, and must hold exactly those rows and
that proposal row: leaving out any row the checkpoint covers (the newest decision, a
break-glass, a later failing validation, a deploy outcome) or editing a field of the
proposal is refused. The decisions' evidence chain must also run from the first decision
without a gap, and every validation a decision was given against must be there. A bundle
cannot show rows recorded after its checkpoint: a newer checkpoint (and bundle) does.

A bundle that is not shaped as ``FORMAT`` says (not JSON, a missing key, a wrong type, a
hash that is not hex) raises ``Malformed``: nothing in it can be checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from . import merkle
from .heads import Head, head_of
from .leaves import KINDS, leaf_text
from .note import NoteError, open_note, parse_checkpoint, split_note

FORMAT = "tommemory-audit-bundle/2"
# Bundles whose checkpoint committed to no proposal heads: they cannot be proven complete.
OLD_FORMATS = ("tommemory-audit-bundle/1",)
# The prev_hash of a proposal's first decision (memory_app.promotion.evidence_chain chains from it).
GENESIS = "0" * 64

_HEX = re.compile(r"[0-9a-f]{64}")
_KEYS = {"format", "proposal", "head", "entries", "checkpoint"}
_HEAD_KEYS = {"index", "proof", "proposal_id", "leaves", "newest", "rows_root", "proposal_sha256"}
_ENTRY_KEYS = {"index", "kind", "row", "evidence", "proof"}


class Malformed(ValueError):
    """A bundle not shaped as its format says: nothing in it can be checked."""


@dataclass(frozen=True)
class Entry:
    index: int
    kind: str
    row: dict
    evidence: dict | None
    proof: list[bytes]

    def label(self) -> str:
        return f"entry #{self.index} ({self.kind} {_short(self.row.get('id'))})"


@dataclass(frozen=True)
class Bundle:
    proposal: dict
    head: Head
    head_index: int
    head_proof: list[bytes]
    entries: list[Entry]
    checkpoint: str


# --- the bundle's shape ------------------------------------------------------------------


def read_bundle(text: str) -> Bundle:
    """The bundle in ``text``; Malformed when it is not one."""
    try:
        data = json.loads(text, object_pairs_hook=_no_repeated_keys)
    except RecursionError:
        raise Malformed("the bundle is not JSON this verifier reads: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, a repeated key, an over-long integer
        raise Malformed(f"the bundle is not JSON: {error}") from None
    if isinstance(data, dict) and data.get("format") in OLD_FORMATS:
        raise Malformed(
            f"a {data['format']} bundle: its checkpoint does not commit to what a proposal's "
            "bundle must hold, so it cannot be proven complete; make it again "
            "(python manage.py audit_checkpoint, then audit_bundle)"
        )
    _keys(data, "the bundle", _KEYS)
    if data["format"] != FORMAT:
        raise Malformed(f"not a {FORMAT} bundle (format {_short(data['format'])})")
    proposal = data["proposal"]
    if not isinstance(proposal, dict) or not isinstance(proposal.get("id"), str):
        raise Malformed("'proposal' is not a proposal row (an object with a text 'id')")
    head = _keys(data["head"], "'head'", _HEAD_KEYS)
    if not isinstance(head["proposal_id"], str):
        raise Malformed("the head's 'proposal_id' is not text")
    if not isinstance(data["entries"], list):
        raise Malformed("'entries' is not a list")
    if not isinstance(data["checkpoint"], str):
        raise Malformed("'checkpoint' is not a signed note (text)")
    try:  # its shape; whose signature it carries is what ``verify`` finds out
        parse_checkpoint(split_note(data["checkpoint"])[0])
    except NoteError as error:
        raise Malformed(f"'checkpoint' is not a signed checkpoint: {error}") from None
    return Bundle(
        proposal=proposal,
        head=Head(
            head["proposal_id"],
            _count(head["leaves"], "the head's 'leaves'"),
            None if head["newest"] is None else _count(head["newest"], "the head's 'newest'"),
            _hash(head["rows_root"], "the head's 'rows_root'"),
            None
            if head["proposal_sha256"] is None
            else _hash(head["proposal_sha256"], "the head's 'proposal_sha256'").hex(),
        ),
        head_index=_count(head["index"], "the head's 'index'"),
        head_proof=_proof(head["proof"], "the head's 'proof'"),
        entries=[_entry(entry, n) for n, entry in enumerate(data["entries"])],
        checkpoint=data["checkpoint"],
    )


def _no_repeated_keys(pairs: list[tuple[str, object]]) -> dict:
    # Two readers of one JSON text must not see two values: a repeated key is refused.
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"the key {_short(repeated)} appears twice in one object")
    return document


def _entry(value: object, n: int) -> Entry:
    where = f"entries[{n}]"
    entry = _keys(value, where, _ENTRY_KEYS)
    if entry["kind"] not in KINDS:
        raise Malformed(f"{where} has an unknown kind {_short(entry['kind'])}")
    if not isinstance(entry["row"], dict):
        raise Malformed(f"{where}'s 'row' is not an object")
    if entry["evidence"] is not None and not isinstance(entry["evidence"], dict):
        raise Malformed(f"{where}'s 'evidence' is neither an object nor null")
    return Entry(
        _count(entry["index"], f"{where}'s 'index'"),
        entry["kind"],
        entry["row"],
        entry["evidence"],
        _proof(entry["proof"], f"{where}'s 'proof'"),
    )


def _keys(value: object, where: str, keys: set[str]) -> dict:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not an object")
    if missing := sorted(keys - value.keys()):
        raise Malformed(f"{where} has no {missing[0]!r}")
    if unknown := sorted(value.keys() - keys):
        raise Malformed(f"{where} has a key this format does not know: {_short(unknown[0])}")
    return value


def _count(value: object, where: str) -> int:
    # bool is an int to Python, not to JSON.
    if type(value) is not int or value < 0:
        raise Malformed(f"{where} is not a whole number from 0")
    return value


def _hash(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise Malformed(f"{where} is not a SHA-256 hash (64 lowercase hex digits)")
    return bytes.fromhex(value)


def _proof(value: object, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise Malformed(f"{where} is not a list of hashes")
    return [_hash(item, f"{where}[{n}]") for n, item in enumerate(value)]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- what the bundle proves --------------------------------------------------------------


def verify(bundle: Bundle, name: str, public_key, origin: str) -> tuple[list[str], str]:
    """What is wrong with the bundle (nothing: authentic and complete), and a summary.
    ``origin`` is the log the checkpoint must be of."""
    try:
        checkpoint = parse_checkpoint(open_note(bundle.checkpoint, name, public_key))
    except NoteError as error:
        return [f"the checkpoint: {error}"], ""
    if checkpoint.origin != origin:
        return [
            f"the checkpoint is of the log {_short(checkpoint.origin)}, not of "
            f"{_short(origin)}: another log signed by the same key"
        ], ""
    if checkpoint.heads is None:
        return [
            "the checkpoint was signed before checkpoints committed to each proposal's rows: "
            "it shows rows are in the log, not that the bundle holds all of them; sign a new "
            "one (python manage.py audit_checkpoint) and make the bundle again"
        ], ""
    proposal_id = bundle.proposal["id"]
    problems: list[str] = []
    logged: dict[int, bytes] = {}
    for entry in bundle.entries:
        if entry.index in logged:
            problems.append(f"{entry.label()} appears twice")
            continue
        leaf = merkle.leaf_hash(leaf_text(entry.kind, entry.row, entry.evidence))
        logged[entry.index] = leaf
        if not merkle.verify_inclusion(
            leaf, entry.index, checkpoint.size, entry.proof, checkpoint.root
        ):
            problems.append(f"{entry.label()} is not in the signed log as it stands here")
        if entry.row.get("proposal_id") != proposal_id:
            problems.append(f"{entry.label()} belongs to another proposal")
    problems.extend(_against_head(bundle, checkpoint.heads, logged))
    problems.extend(_chain(bundle.entries, proposal_id))
    proposal = bundle.proposal
    summary = (
        f"{len(logged)} rows of proposal {proposal_id!r}, every row of it the checkpoint "
        f"holds, and the proposal as stored then (risk {_short(proposal.get('risk_level'))}, "
        f"status {_short(proposal.get('status'))}), in the log {checkpoint.origin} of "
        f"{checkpoint.size} entries signed by {name}"
        + (f" at {checkpoint.time}" if checkpoint.time else "")
    )
    return problems, summary


def _against_head(bundle: Bundle, heads: tuple[int, bytes], logged: dict[int, bytes]) -> list[str]:
    """The bundle's rows and proposal against the head the checkpoint signed for it."""
    head, proposal_id = bundle.head, bundle.proposal["id"]
    if head.proposal_id != proposal_id:
        return [f"the bundle's head is of proposal {_short(head.proposal_id)}, not of this one"]
    size, root = heads
    if not merkle.verify_inclusion(head.leaf(), bundle.head_index, size, bundle.head_proof, root):
        return [
            f"the head of proposal {_short(proposal_id)} in the bundle is not the one the "
            "checkpoint signed (what the proposal's rows and row must be)"
        ]
    found = head_of(proposal_id, list(logged.items()), bundle.proposal)
    problems = []
    if found.leaves < head.leaves:
        problems.append(
            f"the checkpoint holds {head.leaves} rows of this proposal, the bundle "
            f"{found.leaves}: {head.leaves - found.leaves} left out"
        )
    if head.newest is not None and head.newest not in logged:
        problems.append(f"the proposal's newest row in the log (entry #{head.newest}) is left out")
    if not problems and found.rows_root != head.rows_root:
        problems.append("the bundle's rows are not the rows the checkpoint holds for this proposal")
    if found.proposal_sha256 != head.proposal_sha256:
        problems.append(
            "the 'proposal' object is not the proposal row the checkpoint commits to: a "
            "field (risk_level, proposal_json, status, ...) differs from the row as stored"
        )
    return problems


def _seq(evidence: dict) -> int:
    seq = evidence.get("seq")
    return seq if type(seq) is int else -1


def _chain(entries: list[Entry], proposal_id: str) -> list[str]:
    """The decisions' evidence chain: whole from the first, and its validations there."""
    problems = []
    chain = sorted(
        (e.evidence for e in entries if e.kind == "approval" and e.evidence is not None),
        key=_seq,
    )
    previous_hash = GENESIS
    for expected_seq, evidence in enumerate(chain, start=1):
        if _seq(evidence) != expected_seq:
            problems.append(f"decision #{expected_seq} of the chain is missing from the bundle")
            break
        if evidence.get("prev_hash") != previous_hash:
            problems.append(f"decision #{expected_seq} does not follow the one before it")
            break
        if evidence.get("proposal_id") != proposal_id:
            problems.append(f"decision #{expected_seq}'s evidence names another proposal")
        previous_hash = evidence.get("row_hash")
    validations = {
        e.row["id"] for e in entries if e.kind == "validation" and isinstance(e.row.get("id"), str)
    }
    for evidence in chain:
        wanted = evidence.get("validation_id")
        if isinstance(wanted, str) and wanted and wanted not in validations:
            problems.append(
                f"validation {_short(wanted)}, which decision #{_seq(evidence)} was given "
                "against, is missing from the bundle"
            )
    return problems
