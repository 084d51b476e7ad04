"""The audit trail only grows, whether changed through the ORM or by raw SQL."""

import pytest
from django.db import IntegrityError, connection, transaction

from memory_app.models import (
    AppendOnlyError,
    Approval,
    DeployOutcome,
    Proposal,
    TaskEvent,
    ValidationResult,
)
from tests.helpers import VALIDATED_PROPOSAL

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_rows(store, proposal):
    run = store.start_workflow_run("nightly", trigger_source="cron", initiated_by="scheduler")
    step = store.add_step(run.id, "collect")
    return {
        ValidationResult: store.record_validation(
            proposal.id,
            validator="ci",
            build_pass=True,
            lint_pass=True,
            test_pass=True,
            policy_pass=True,
        ),
        Approval: store.record_approval(
            proposal.id, approver="oscar", approval_type="human", decision="approved"
        ).approval,
        DeployOutcome: store.record_deploy_outcome(
            proposal.id, deployment_target="prod", status="failed"
        ),
        TaskEvent: store.add_event("info", "low", "collected", step_id=step.id),
    }


MODELS = [ValidationResult, Approval, DeployOutcome, TaskEvent]


@pytest.mark.parametrize("model", MODELS)
def test_orm_save_of_existing_row_is_refused(audit_rows, model):
    row = audit_rows[model]
    row.id = row.id  # an unchanged save is refused too: nothing is ever rewritten
    with pytest.raises(AppendOnlyError, match="append-only"):
        row.save()


@pytest.mark.parametrize("model", MODELS)
def test_orm_delete_is_refused(audit_rows, model):
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        audit_rows[model].delete()
    assert model.objects.filter(pk=audit_rows[model].pk).exists()


@pytest.mark.parametrize("model", MODELS)
def test_queryset_update_and_delete_are_refused(audit_rows, model):
    with pytest.raises(AppendOnlyError, match="cannot be updated"):
        model.objects.all().update(id="x")
    with pytest.raises(AppendOnlyError, match="cannot be deleted"):
        model.objects.all().delete()
    assert model.objects.count() == 1


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("approvals", "decision", "'changed'"),
        ("validation_results", "build_pass", "7"),
        ("deploy_outcomes", "status", "'changed'"),
        ("task_events", "message", "'changed'"),
    ],
)
def test_raw_sql_update_is_refused_by_the_database(audit_rows, table, column, value):
    with (
        pytest.raises(IntegrityError, match=r"append-only|keep their content"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET {column} = {value}")


@pytest.mark.parametrize(
    "table", ["approvals", "validation_results", "deploy_outcomes", "task_events"]
)
def test_raw_sql_delete_is_refused_by_the_database(audit_rows, table):
    with (
        pytest.raises(IntegrityError, match=r"append-only|keep their content"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {table}")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        assert cursor.fetchone()[0] == 1


def test_task_event_links_may_only_be_cleared_by_on_delete_set_null(store, audit_rows):
    event = audit_rows[TaskEvent]
    run_id = event.workflow_run_id
    with (
        pytest.raises(IntegrityError, match="keep their content"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE task_events SET workflow_run_id = 'elsewhere'")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflow_runs WHERE id = %s", [run_id])
    event = TaskEvent.objects.get(pk=event.pk)
    assert (event.workflow_run_id, event.step_id) == (None, None)
    assert event.message == "collected"


def test_proposal_with_approvals_cannot_be_deleted(audit_rows, proposal):
    with pytest.raises(AppendOnlyError, match="has approvals"):
        Proposal.objects.get(pk=proposal.pk).delete()
    with (
        pytest.raises(IntegrityError, match="has approvals"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM skill_to_logic_proposals WHERE id = %s", [proposal.pk])
    assert Proposal.objects.filter(pk=proposal.pk).exists()
    assert Approval.objects.filter(proposal=proposal).count() == 1


def test_new_rows_can_still_be_appended(audit_rows, store, proposal):
    store.record_approval(
        proposal.id,
        approver="oscar",
        approval_type="human",
        decision="rejected",
        notes="changed my mind",
    )
    assert Approval.objects.filter(proposal=proposal).count() == 2


def test_another_connection_s_raw_sql_is_refused_by_the_database(shared_db):
    # A writer outside Django (sqlite3, or psycopg on PostgreSQL), its own connection.
    shared_db.executescript(VALIDATED_PROPOSAL.replace("{risk}", "low"))
    shared_db.execute(
        "INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at) "
        "VALUES ('a', 'p', 'ann', 'human', 'approved', '2026-01-02T00:00:00.000Z')"
    )
    for statement in ("UPDATE approvals SET decision = 'rejected'", "DELETE FROM approvals"):
        with pytest.raises(Exception, match="approvals is append-only"):
            shared_db.execute(statement)
    assert shared_db.execute("SELECT decision FROM approvals") == [("approved",)]
