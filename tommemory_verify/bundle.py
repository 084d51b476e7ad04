"""Check an audit bundle (``manage.py audit_bundle``) with the log's public key alone.

Authentic: the checkpoint is signed by the key, and every row in the bundle is a leaf of
that checkpoint's tree (its inclusion proof leads to the signed root). Complete: every
row belongs to the proposal, the decisions' evidence chain runs from the first decision
without a gap (each ``prev_hash`` is the previous decision's ``row_hash``), and every
validation a decision was given against is there. A bundle cannot show decisions recorded
after its checkpoint: a newer checkpoint (or bundle) does.
"""

from __future__ import annotations

from . import merkle
from .leaves import leaf_text
from .note import NoteError, open_note, parse_checkpoint

FORMAT = "tommemory-audit-bundle/1"
# The prev_hash of a proposal's first decision (memory_app.audit chains from it).
GENESIS = "0" * 64


def verify_bundle(bundle: dict, name: str, public_key) -> tuple[list[str], str]:
    """What is wrong with the bundle (nothing: authentic and complete), and a summary."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        return [f"not a {FORMAT} bundle"], ""
    try:
        checkpoint = parse_checkpoint(open_note(bundle["checkpoint"], name, public_key))
    except (KeyError, TypeError, NoteError) as error:
        return [f"the checkpoint: {error}"], ""
    proposal = bundle.get("proposal") or {}
    problems: list[str] = []
    entries = bundle.get("entries") or []
    for entry in entries:
        try:
            index, kind, row = int(entry["index"]), entry["kind"], entry["row"]
            leaf = merkle.leaf_hash(leaf_text(kind, row, entry.get("evidence")))
            proof = [bytes.fromhex(h) for h in entry["proof"]]
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"an entry is malformed: {error}")
            continue
        label = f"entry #{index} ({kind} {row.get('id')!r})"
        if not merkle.verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root):
            problems.append(f"{label} is not in the signed log as it stands here")
        if row.get("proposal_id") != proposal.get("id"):
            problems.append(f"{label} belongs to another proposal")
    problems.extend(_completeness(entries, proposal))
    summary = (
        f"{len(entries)} rows of proposal {proposal.get('id')!r} in the log of "
        f"{checkpoint.size} entries signed by {name}"
        + (f" at {checkpoint.time}" if checkpoint.time else "")
    )
    return problems, summary


def _completeness(entries: list[dict], proposal: dict) -> list[str]:
    problems = []
    chain = sorted(
        (e["evidence"] for e in entries if e.get("kind") == "approval" and e.get("evidence")),
        key=lambda ev: ev.get("seq") or 0,
    )
    previous_hash = GENESIS
    for expected_seq, evidence in enumerate(chain, start=1):
        if evidence.get("seq") != expected_seq:
            problems.append(f"decision #{expected_seq} of the chain is missing from the bundle")
            break
        if evidence.get("prev_hash") != previous_hash:
            problems.append(f"decision #{expected_seq} does not follow the one before it")
            break
        if evidence.get("proposal_id") != proposal.get("id"):
            problems.append(f"decision #{expected_seq}'s evidence names another proposal")
        previous_hash = evidence.get("row_hash")
    validations = {e["row"].get("id") for e in entries if e.get("kind") == "validation"}
    for evidence in chain:
        wanted = evidence.get("validation_id")
        if wanted and wanted not in validations:
            problems.append(
                f"validation {wanted!r}, which decision #{evidence.get('seq')} was given "
                "against, is missing from the bundle"
            )
    return problems
