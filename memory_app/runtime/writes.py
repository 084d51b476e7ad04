"""The runtime wing's writes: sessions and their turns, workflow runs, steps and task
events. ``RuntimeMemoryStore`` (memory_app.store) is their front door."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from memory_app import checks, writing
from memory_app.base_models import Level
from memory_app.errors import InvalidInput
from memory_app.runtime.models import (
    EventType,
    Role,
    RunStatus,
    Session,
    SessionStatus,
    StepStatus,
    TaskEvent,
    TriggerSource,
    Turn,
    WorkflowRun,
    WorkflowStep,
)


def start_session(
    actor: str,
    *,
    channel: str | None = None,
    metadata: Any = None,
    started_at: datetime | str | None = None,
    session_id: str | None = None,
) -> Session:
    return Session.objects.create(
        **checks.given_id(session_id),
        actor=checks.text(actor, "actor"),
        channel=checks.text(channel, "channel", required=False),
        started_at=checks.when(started_at, "started_at"),
        status=SessionStatus.ACTIVE,
        metadata_json=checks.json_object(metadata, "metadata"),
    )


def end_session(
    session_id: str,
    *,
    status: str = SessionStatus.ENDED,
    ended_at: datetime | str | None = None,
) -> Session:
    status = checks.choice(status, SessionStatus, "session status")
    if status == SessionStatus.ACTIVE:
        raise InvalidInput("an ended session cannot have status 'active'")
    return writing.finish(
        Session, session_id, status, "ended_at", checks.when(ended_at, "ended_at")
    )


def append_turn(
    session_id: str,
    role: str,
    content: str,
    *,
    token_count: int | None = None,
    metadata: Any = None,
    created_at: datetime | str | None = None,
    turn_id: str | None = None,
) -> Turn:
    """Append a turn at the next ``turn_index`` of its session (gap-free, unique)."""
    role = checks.choice(role, Role, "role")
    if not isinstance(content, str):
        raise InvalidInput(f"content must be text; got {type(content).__name__}")
    if token_count is not None and (
        isinstance(token_count, bool) or not isinstance(token_count, int) or token_count < 0
    ):
        raise InvalidInput(f"token_count must be a non-negative integer; got {token_count!r}")
    values = {
        **checks.given_id(turn_id),
        "role": role,
        "content": content,
        "token_count": token_count,
        "created_at": checks.when(created_at, "created_at"),
        "metadata_json": checks.json_object(metadata, "metadata"),
    }
    # No other writer can append between reading the last index and inserting the
    # next one: SQLite's transaction begins IMMEDIATE, PostgreSQL locks the session.
    with transaction.atomic():
        session = writing.get(Session, session_id, lock=True)
        index = writing.next_position(Turn.objects.filter(session=session), "turn_index")
        return Turn.objects.create(session=session, turn_index=index, **values)


def start_workflow_run(
    workflow_name: str,
    *,
    trigger_source: str,
    initiated_by: str,
    status: str = RunStatus.RUNNING,
    context: Any = None,
    started_at: datetime | str | None = None,
    run_id: str | None = None,
) -> WorkflowRun:
    status = checks.choice(status, RunStatus, "workflow status")
    if status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise InvalidInput(f"a run starts queued or running; got {status!r}")
    return WorkflowRun.objects.create(
        **checks.given_id(run_id),
        workflow_name=checks.text(workflow_name, "workflow_name"),
        trigger_source=checks.choice(trigger_source, TriggerSource, "trigger_source"),
        initiated_by=checks.text(initiated_by, "initiated_by"),
        status=status,
        started_at=checks.when(started_at, "started_at"),
        context_json=checks.json_object(context, "context"),
    )


def finish_workflow_run(
    run_id: str, *, status: str, finished_at: datetime | str | None = None
) -> WorkflowRun:
    status = checks.choice(status, RunStatus, "workflow status")
    if status in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise InvalidInput(f"a run finishes failed, succeeded or aborted; got {status!r}")
    finished = checks.when(finished_at, "finished_at")
    return writing.finish(WorkflowRun, run_id, status, "finished_at", finished)


def add_step(
    run_id: str,
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    step_id: str | None = None,
) -> WorkflowStep:
    """Add the run's next step (``step_index`` assigned like ``turn_index``)."""
    values = {
        **checks.given_id(step_id),
        "step_name": checks.text(step_name, "step_name"),
        "status": checks.choice(status, StepStatus, "step status"),
        "started_at": checks.when(started_at, "started_at"),
        "details_json": checks.json_object(details, "details"),
    }
    with transaction.atomic():
        run = writing.get(WorkflowRun, run_id, lock=True)
        index = writing.next_position(run.steps.all(), "step_index")
        return WorkflowStep.objects.create(workflow_run=run, step_index=index, **values)


def finish_step(
    step_id: str,
    *,
    status: str,
    finished_at: datetime | str | None = None,
) -> WorkflowStep:
    status = checks.choice(status, StepStatus, "step status")
    finished = checks.when(finished_at, "finished_at")
    return writing.finish(WorkflowStep, step_id, status, "finished_at", finished)


def add_event(
    event_type: str,
    event_level: str,
    message: str,
    *,
    run_id: str | None = None,
    step_id: str | None = None,
    payload: Any = None,
    created_at: datetime | str | None = None,
    event_id: str | None = None,
) -> TaskEvent:
    """Record a task event for a run, one of its steps, or neither (system-wide)."""
    values = {
        **checks.given_id(event_id),
        "event_type": checks.choice(event_type, EventType, "event_type"),
        "event_level": checks.choice(event_level, Level, "event_level"),
        "message": checks.text(message, "message"),
        "payload_json": checks.json_object(payload, "payload"),
        "created_at": checks.when(created_at, "created_at"),
    }
    run = writing.get(WorkflowRun, run_id) if run_id is not None else None
    step = writing.get(WorkflowStep, step_id) if step_id is not None else None
    if step is not None:
        if run is not None and step.workflow_run_id != run.pk:
            raise InvalidInput(f"step {step.pk!r} belongs to run {step.workflow_run_id!r}")
        run = step.workflow_run
    return TaskEvent.objects.create(workflow_run=run, step=step, **values)
