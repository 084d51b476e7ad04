"""The decision log: a writer of the database who rewrites everything is still caught."""

import hashlib
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import reverse

from memory_app.management.commands.audit_checkpoint import signing_key
from memory_app.models import Approval, ApprovalEvidence, AuditLeaf
from memory_app.promotion import decision_log, evidence_chain, log_tiles
from tests.helpers import audit_triggers_lifted, checkpoint
from tommemory_verify.note import sign

pytestmark = pytest.mark.django_db


def verify(directory: Path, keys) -> str:
    out, err = StringIO(), StringIO()
    call_command(
        "verify_audit",
        "--checkpoint",
        str(directory),
        "--key",
        str(keys[1]),
        stdout=out,
        stderr=err,
    )
    return out.getvalue()


def rewrite_everything(proposal, tiles_too: bool = True) -> None:
    """What a writer with the database file can do: recompute every chain hash, every log
    leaf and (unless told not to) the tree's tiles after changing rows (the triggers are
    lifted by the caller)."""
    with connection.cursor() as cursor:
        previous = None
        for evidence in ApprovalEvidence.objects.filter(proposal=proposal).order_by("seq"):
            approval = Approval.objects.get(pk=evidence.approval_id)
            evidence.prev_hash = previous.row_hash if previous else evidence_chain.GENESIS
            evidence.row_hash = evidence_chain.chain_hash(evidence.prev_hash, approval, evidence)
            cursor.execute(
                "UPDATE tommemory_approval_evidence SET prev_hash = %s, row_hash = %s "
                "WHERE approval_id = %s",
                [evidence.prev_hash, evidence.row_hash, evidence.approval_id],
            )
            previous = evidence
        for entry in AuditLeaf.objects.order_by("index"):
            rows = decision_log.stored_rows(entry.kind, [entry.row_id])
            if entry.row_id in rows:
                evidence = (
                    decision_log.stored_evidence([entry.row_id]) if entry.kind == "approval" else {}
                )
                cursor.execute(
                    "UPDATE tommemory_audit_log SET leaf_hash = %s WHERE kind = %s AND row_id = %s",
                    [
                        decision_log.leaf_hash_of(
                            entry.kind, rows[entry.row_id], evidence.get(entry.row_id)
                        ),
                        entry.kind,
                        entry.row_id,
                    ],
                )
    if tiles_too:
        log_tiles.rebuild()


def test_every_governed_row_the_store_writes_is_logged_in_order(store, decided):
    store.publish_behavior_profile("tom", {"tone": "calm"}, created_by="paula")
    entries = list(AuditLeaf.objects.order_by("index").values_list("index", "kind"))
    assert entries == [
        (0, "validation"), (1, "approval"), (2, "approval"), (3, "approval"),
        (4, "behavior_profile"),
    ]  # fmt: skip


def test_rows_another_writer_adds_are_taken_in_at_the_next_write_in_time_order(store, decided):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO deploy_outcomes (id, proposal_id, deployment_target, status, deployed_at)"
            " VALUES ('raw-deploy', %s, 'prod', 'succeeded', '2026-01-09T00:00:00.000Z')",
            [decided.pk],
        )
        cursor.execute(
            "INSERT INTO validation_results (id, proposal_id, validator, validated_at) "
            "VALUES ('raw-validation', %s, 'human', '2026-01-08T00:00:00.000Z')",
            [decided.pk],
        )
    assert decision_log.take_in() == 2
    assert list(AuditLeaf.objects.order_by("index").values_list("row_id", flat=True))[-2:] == [
        "raw-validation",
        "raw-deploy",
    ]
    assert decision_log.take_in() == 0


def test_the_log_refuses_changes_in_the_database(decided):
    for statement in (
        "UPDATE tommemory_audit_log SET leaf_hash = 'x'",
        "DELETE FROM tommemory_audit_log",
    ):
        with (
            pytest.raises(IntegrityError, match="tommemory_audit_log is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)


def test_checkpoints_need_a_key_and_say_how_to_make_one(tmp_path, decided):
    with (
        override_settings(TOM_AUDIT_KEY=tmp_path / "nowhere.key"),
        pytest.raises(CommandError, match=r"make one with `python manage.py audit_keygen`"),
    ):
        call_command("audit_checkpoint", "--dir", str(tmp_path / "c"), stdout=StringIO())
    assert not (tmp_path / "c").exists()


def test_keygen_never_replaces_a_key(keys):
    with (
        override_settings(TOM_AUDIT_KEY=keys[0]),
        pytest.raises(CommandError, match="exists; move it away first"),
    ):
        call_command("audit_keygen", stdout=StringIO())


def test_an_untouched_log_verifies_against_its_checkpoint(tmp_path, keys, decided, store):
    directory = checkpoint(tmp_path, keys)
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="succeeded")
    out = verify(directory, keys)
    assert "decision log intact: 5 entries, consistent with the signed checkpoint of 4" in out


def test_a_middle_decision_edited_with_every_hash_recomputed_is_found(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    middle = Approval.objects.get(approver="bob")
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE approvals SET approver = 'mallory' WHERE id = %s", [middle.pk])
        rewrite_everything(decided)
    assert evidence_chain.verify(decided.pk).intact  # the chain alone is fooled
    with pytest.raises(CommandError, match=f"first: entry #2 \\(approval '{middle.pk}'\\)"):
        verify(directory, keys)


def test_the_last_decision_deleted_with_its_log_entry_is_found(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    last = Approval.objects.get(approver="cy")
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM tommemory_audit_log WHERE row_id = %s", [last.pk])
        cursor.execute("DELETE FROM tommemory_approval_evidence WHERE approval_id = %s", [last.pk])
        cursor.execute("DELETE FROM approvals WHERE id = %s", [last.pk])
        rewrite_everything(decided)
    assert evidence_chain.verify(decided.pk).intact
    with pytest.raises(CommandError, match="first: entry #3 is gone"):
        verify(directory, keys)


def test_evidence_deleted_and_its_decision_edited_is_found(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    first = Approval.objects.get(approver="ann")
    with audit_triggers_lifted() as cursor:
        cursor.execute("DELETE FROM tommemory_approval_evidence WHERE approval_id = %s", [first.pk])
        cursor.execute(
            "UPDATE approvals SET decision = 'rejected', notes = 'no' WHERE id = %s", [first.pk]
        )
        for seq in (2, 3):  # close the gap, so the chain reads whole again
            cursor.execute(
                "UPDATE tommemory_approval_evidence SET seq = %s WHERE seq = %s", [seq - 1, seq]
            )
        rewrite_everything(decided)
    # the chain alone sees a decision another writer made
    assert evidence_chain.verify(decided.pk).intact
    with pytest.raises(CommandError, match=f"first: entry #1 \\(approval '{first.pk}'\\)"):
        verify(directory, keys)


def test_reordered_log_entries_are_found(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        # Swap the first two decisions' places in the log.
        rows = list(AuditLeaf.objects.filter(index__in=[1, 2]).order_by("index"))
        cursor.execute('DELETE FROM tommemory_audit_log WHERE "index" IN (1, 2)')
        for new_index, entry in zip((2, 1), rows, strict=True):
            cursor.execute(
                'INSERT INTO tommemory_audit_log ("index", kind, row_id, leaf_hash, logged_at) '
                "VALUES (%s, %s, %s, %s, %s)",
                [new_index, entry.kind, entry.row_id, entry.leaf_hash, entry.logged_at],
            )
    with pytest.raises(CommandError, match=r"first: entry #1 .* is not the one signed"):
        verify(directory, keys)


def test_a_row_edited_without_touching_the_log_is_named(tmp_path, keys, decided):
    directory = checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET validator = 'human'")
    with pytest.raises(
        CommandError, match=r"entry #0: validation .* was changed after it was logged"
    ):
        verify(directory, keys)


def test_the_log_and_the_standalone_verifier_know_the_same_kinds():
    from tommemory_verify import leaves

    assert tuple(decision_log.KINDS) == leaves.KINDS
    left_out = {k: set(v) for k, v in decision_log.CONTRACT["left_out"].items()}
    assert left_out == leaves.LEFT_OUT


def test_the_contract_s_leaf_columns_are_every_column_of_each_logged_table():
    """contract/decision_log.json is what every store logs by: a column it missed would be
    a change no leaf covers."""
    for kind, (model, time) in decision_log.KINDS.items():
        assert decision_log.COLUMNS[kind] == [f.column for f in model._meta.local_fields], kind
        assert time in decision_log.COLUMNS[kind]
    assert [f.column for f in ApprovalEvidence._meta.local_fields] == decision_log.EVIDENCE_COLUMNS


# --- the proposal page's badge ------------------------------------------------------------


def log_badge(client, proposal, tmp_path, keys) -> str:
    with override_settings(
        TOM_AUDIT_PUBLIC_KEY=keys[1], TOM_AUDIT_CHECKPOINTS=tmp_path / "checkpoints"
    ):
        html = client.get(reverse("memory_app:proposal", args=[proposal.pk])).content.decode()
    state, text = re.search(r'<p class="audit-badge log-(\w+)">(.*?)</p>', html, re.S).groups()
    return state, re.sub(r"<[^>]+>", "", text)  # the words, a <time> as its text


def test_the_badge_says_no_checkpoint_is_signed_yet_without_a_shell_command(
    reviewer_client, tmp_path, keys, decided
):
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "unchecked"
    assert "no checkpoint of the decision log has been signed yet" in text
    assert "manage.py" not in text  # how to sign one is in docs/decision-log.md


def test_the_badge_verifies_the_proposal_s_rows_against_the_checkpoint(
    reviewer_client, tmp_path, keys, decided, store
):
    checkpoint(tmp_path, keys)
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "verified"
    assert "Every decision on this page is in the signed log of " in text
    assert "as it was recorded (with its validations and deploys: 4 rows in all)" in text
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="succeeded")
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "pending"
    assert "3 of this page" not in text
    assert "4 of this page's 5 decisions, validations and deploys are in the signed log" in text
    assert "the newer ones will be in the next signed checkpoint" in text


def test_the_badge_finds_a_rewrite_with_every_hash_recomputed(
    reviewer_client, tmp_path, keys, decided
):
    checkpoint(tmp_path, keys)
    middle = Approval.objects.get(approver="bob")
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE approvals SET approver = 'mallory' WHERE id = %s", [middle.pk])
        rewrite_everything(decided)
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "broken"
    assert "the log is not an extension of the checkpoint of 4 entries" in text


def test_the_badge_finds_leaves_recomputed_behind_the_tiles_back(
    reviewer_client, tmp_path, keys, decided
):
    checkpoint(tmp_path, keys)
    middle = Approval.objects.get(approver="bob")
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE approvals SET approver = 'mallory' WHERE id = %s", [middle.pk])
        rewrite_everything(decided, tiles_too=False)
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "broken"
    assert re.search(r"entry #2 \(approval .*\) is not the one signed", text), text


def test_the_badge_finds_a_row_edited_behind_the_log(reviewer_client, tmp_path, keys, decided):
    checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET validator = 'human'")
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "broken"
    assert "validation" in text
    assert "was changed or removed after it was logged" in text


def test_the_badge_refuses_a_checkpoint_another_key_signed(
    reviewer_client, tmp_path, keys, decided
):
    checkpoint(tmp_path, keys)
    other = tmp_path / "other" / "audit.key"
    with override_settings(TOM_AUDIT_KEY=other, TOM_AUDIT_PUBLIC_KEY=Path(f"{other}.pub")):
        call_command("audit_keygen", stdout=StringIO())
    state, text = log_badge(reviewer_client, decided, tmp_path, (other, Path(f"{other}.pub")))
    assert state == "broken"
    assert text.startswith("Decision log cannot be checked:")


def resign(directory: Path, keys, change) -> None:
    """Sign the newest checkpoint's text again, changed, with the log's own key."""
    note = sorted(directory.glob("*.note"))[-1]
    text = note.read_text().split("\n\n")[0] + "\n"
    key = signing_key(keys[0])
    note.write_text(sign(change(text), "tommemory/decisions", key))


def test_a_checkpoint_of_another_log_signed_by_the_same_key_is_refused(
    reviewer_client, tmp_path, keys, decided
):
    directory = checkpoint(tmp_path, keys)
    resign(directory, keys, lambda text: text.replace("tommemory/decisions", "tommemory/staging"))
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "broken"
    assert "is a checkpoint of the log &#x27;tommemory/staging&#x27;, not of this one" in text
    with pytest.raises(CommandError, match="a checkpoint of the log 'tommemory/staging'"):
        verify(directory, keys)


def test_a_checkpoint_signed_before_proposal_heads_still_checks_the_log(
    reviewer_client, tmp_path, keys, decided
):
    """The badge and verify_audit hold the database to the signed leaves, which such a
    checkpoint has; only a bundle needs the heads (tests/test_audit_bundle.py)."""
    directory = checkpoint(tmp_path, keys)
    resign(directory, keys, lambda text: "\n".join(text.split("\n")[:4]) + "\n")
    assert "tommemory-proposal-heads" not in sorted(directory.glob("*.note"))[-1].read_text()
    state, text = log_badge(reviewer_client, decided, tmp_path, keys)
    assert state == "verified", text
    assert "decision log intact: 4 entries" in verify(directory, keys)


@pytest.mark.engine("postgresql")
def test_a_row_with_the_longest_id_the_engine_takes_is_logged_and_the_log_goes_on(store, decided):
    """Another writer's validation whose id is as long as PostgreSQL's primary key takes (a
    B-tree entry holds 2,704 bytes) and does not compress: the log takes it in, and the
    stores' governed writes after it are logged too (take-in failed for good before 0022)."""
    digests = (hashlib.sha256(str(n).encode()).hexdigest() for n in range(43))
    longest = "".join(digests)[:2_692]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO validation_results (id, proposal_id, validator, build_pass, lint_pass,"
            " test_pass, policy_pass, validated_at) VALUES (%s, %s, 'ci', 1, 1, 1, 1, %s)",
            [longest, decided.pk, "2026-12-06T09:00:00.000Z"],
        )
    assert decision_log.take_in() == 1
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert AuditLeaf.objects.filter(row_id=longest, kind="validation").exists()
    assert AuditLeaf.objects.filter(kind="deploy").count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():  # still one entry per row
        AuditLeaf.objects.create(
            index=AuditLeaf.objects.count(), kind="validation", row_id=longest,
            leaf_hash="0" * 64, logged_at="2026-12-06T09:00:00.000Z",
        )  # fmt: skip
