"""Proofs read from a few of the log's tiles: the proposal page's badge, audit_bundle and
verify_audit --proposal read as many queries (and a few tiles) on a log of thousands of
entries as on one of ten; the whole-log check still finds what it found."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from memory_app.models import Approval, AuditLeaf
from memory_app.promotion import decision_log, log_tiles
from tests.helpers import (
    add_validations,
    audit_triggers_lifted,
    checkpoint,
    query_plan,
    rows_fetched,
    table_scans,
)
from tommemory_verify import bundle as standalone
from tommemory_verify import merkle
from tommemory_verify.note import parse_verifier_key

pytestmark = pytest.mark.django_db


def other_proposal(store):
    """Another proposal, whose validations make the log long without touching ``decided``."""
    skill = store.learn_skill("long-log", "d", source_type="doc", confidence=0.5)
    return store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={}, risk_level="low"
    )


def read(work) -> tuple[int, int]:
    """(queries, rows) ``work`` reads."""
    with CaptureQueriesContext(connection) as captured, rows_fetched() as rows:
        work()
    return len(captured.captured_queries), sum(rows)


def grow(elsewhere, count: int, tmp_path, keys, prefix: str) -> Path:
    """The log ``count`` entries longer, and a checkpoint signed over it."""
    add_validations(elsewhere.pk, count, prefix)
    assert decision_log.take_in() == count
    return checkpoint(tmp_path, keys)


def test_the_proposal_page_reads_as_much_however_long_the_log(
    reviewer_client, tmp_path, keys, store, decided
):
    elsewhere = other_proposal(store)
    grow(elsewhere, 6, tmp_path, keys, "short")
    page = reverse("memory_app:proposal", args=[decided.pk])
    settings = {"TOM_AUDIT_PUBLIC_KEY": keys[1], "TOM_AUDIT_CHECKPOINTS": tmp_path / "checkpoints"}
    with override_settings(**settings):
        assert 'class="audit-badge log-verified"' in reviewer_client.get(page).content.decode()
        short = read(lambda: reviewer_client.get(page))
        grow(elsewhere, 5_000, tmp_path, keys, "long")
        long = read(lambda: reviewer_client.get(page))
        assert 'class="audit-badge log-verified"' in reviewer_client.get(page).content.decode()
    # As many queries, and rows: a few tiles (three of the 5,010 entries' 21), never a leaf
    # per entry.
    assert long[0] == short[0]
    assert long[1] - short[1] <= 2


def bundle_of(proposal, directory: Path) -> dict:
    out = StringIO()
    call_command("audit_bundle", proposal.pk, "--checkpoint", str(directory), stdout=out)
    return json.loads(out.getvalue())


def test_a_bundle_reads_as_much_however_long_the_log_and_verifies(tmp_path, keys, store, decided):
    elsewhere = other_proposal(store)
    directory = grow(elsewhere, 6, tmp_path, keys, "short")
    short = read(lambda: bundle_of(decided, directory))
    directory = grow(elsewhere, 5_000, tmp_path, keys, "long")
    long = read(lambda: bundle_of(decided, directory))
    assert long[0] == short[0]
    assert long[1] - short[1] <= 2
    made = bundle_of(decided, directory)
    name, key = parse_verifier_key(keys[1].read_text())
    problems, summary = standalone.verify(
        standalone.read_bundle(json.dumps(made)), name, key, "tommemory/decisions"
    )
    assert problems == [], problems
    assert "4 rows of proposal" in summary
    assert "of 5010 entries" in summary


def verify_proposal(directory: Path, keys, proposal, err: StringIO | None = None) -> str:
    out = StringIO()
    call_command(
        "verify_audit", "--checkpoint", str(directory), "--key", str(keys[1]),
        "--proposal", proposal.pk, stdout=out, stderr=err or StringIO(),
    )  # fmt: skip
    return out.getvalue()


def test_verify_audit_of_one_proposal_reads_as_much_however_long_the_log(
    tmp_path, keys, store, decided
):
    elsewhere = other_proposal(store)
    directory = grow(elsewhere, 6, tmp_path, keys, "short")
    short = read(lambda: verify_proposal(directory, keys, decided))
    directory = grow(elsewhere, 5_000, tmp_path, keys, "long")
    long = read(lambda: verify_proposal(directory, keys, decided))
    assert long[0] == short[0]
    assert long[1] - short[1] <= 2
    out = verify_proposal(directory, keys, decided)
    assert f"decision log intact for proposal {decided.pk!r}: 4 entries" in out
    assert "signed checkpoint of 5010" in out


def test_no_read_of_a_proposal_s_proofs_scans_the_log_or_its_tiles(
    reviewer_client, tmp_path, keys, store, decided
):
    """As many queries is not enough: each must find its rows by an index, or it reads the
    whole log however few rows it returns (as the proposal's entries once were, by id only)."""
    directory = grow(other_proposal(store), 300, tmp_path, keys, "plan")
    settings = {"TOM_AUDIT_PUBLIC_KEY": keys[1], "TOM_AUDIT_CHECKPOINTS": directory}
    with CaptureQueriesContext(connection) as captured, override_settings(**settings):
        reviewer_client.get(reverse("memory_app:proposal", args=[decided.pk]))
        bundle_of(decided, directory)
        verify_proposal(directory, keys, decided)
    logs = [
        q["sql"]
        for q in captured.captured_queries
        if "tommemory_audit_log" in q["sql"] or "tommemory_log_tiles" in q["sql"]
    ]
    assert len(logs) >= 6
    for sql in logs:
        scans = [s for s in table_scans(query_plan(sql)) if "tommemory_" in s]
        assert scans == [], sql


def test_verify_audit_of_one_proposal_finds_a_row_rewritten_with_its_leaf(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    validation = decided.validations.get()
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET validator = 'human'")
        rewritten = decision_log._current_hashes(list(AuditLeaf.objects.all()))
        cursor.execute(
            "UPDATE tommemory_audit_log SET leaf_hash = %s WHERE row_id = %s",
            [rewritten["validation", validation.pk], validation.pk],
        )
    with pytest.raises(CommandError, match=rf"first: entry #0 \(validation '{validation.pk}'\) is"):
        verify_proposal(directory, keys, decided)


def test_the_whole_log_check_finds_tiles_rewritten_alone(tmp_path, keys, decided):
    """Tiles changed behind the log (their triggers lifted): the tree they hold is not the
    log's; the page, which reads them, finds the log no longer extends the checkpoint."""
    directory = checkpoint(tmp_path, keys)
    forged = merkle.leaf_hash(b"forged") + log_tiles.stored()[0, 0][32:]
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE tommemory_log_tiles SET hashes = %s", [forged.hex()])
    with pytest.raises(CommandError, match="not the tree of the log's entries"):
        call_command(
            "verify_audit", "--checkpoint", str(directory), "--key", str(keys[1]),
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    err = StringIO()
    with pytest.raises(CommandError, match="decision log does not match the checkpoint"):
        verify_proposal(directory, keys, decided, err)
    assert "LOG: the log is not an extension of the checkpoint of 4 entries" in err.getvalue()


def test_the_whole_log_check_names_a_leaf_rewritten_behind_the_tiles(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    first = Approval.objects.get(approver="ann")
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            "UPDATE tommemory_audit_log SET leaf_hash = %s WHERE row_id = %s",
            [merkle.leaf_hash(b"x").hex(), first.pk],
        )
    with pytest.raises(CommandError, match=rf"first: entry #1 \(approval '{first.pk}'\) is not"):
        call_command(
            "verify_audit", "--checkpoint", str(directory), "--key", str(keys[1]),
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip


# --- the proposal heads, found in a few reads -------------------------------------------


def test_a_bundle_finds_its_head_through_the_index_as_through_the_whole_list(
    tmp_path, keys, store, decided
):
    elsewhere = other_proposal(store)
    for n in range(40):  # more heads: the index is halved a few times
        store.draft_proposal(
            elsewhere.skill_id, proposed_by="oxide", proposal_type="code_patch",
            proposal={"n": n}, risk_level="low",
        )  # fmt: skip
    directory = checkpoint(tmp_path, keys)
    (index,) = directory.glob("*.heads-index")
    indexed = bundle_of(decided, directory)
    index.unlink()  # as a checkpoint signed before the index
    assert bundle_of(decided, directory) == indexed
    index.write_bytes(b"\0" * 10)
    with pytest.raises(CommandError, match="does not match the signed checkpoint"):
        bundle_of(decided, directory)
