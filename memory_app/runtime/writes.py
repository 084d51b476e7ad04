"""The runtime wing's writes: sessions and their turns, workflow runs, steps and task
events, one call a row. ``RuntimeMemoryStore`` (memory_app.store) is their front door.

Their batch forms (``memory_app.runtime.batch_writes``) write the rows as many of these
calls would: both check each value with the same functions here (``turn_values``, ...) and
write through the same internals (``append_rows``, ``add_event_rows``, ``finish_runs``), a
single call being a batch of one. The rows go in through ``writing.insert`` (one statement
of many rows), not ``bulk.bulk_insert``: that one is for trusted loads of thousands of rows
and turns the search triggers off and on around its insert, which a live database's
readers would pay for on every batch. Nor Django's ``bulk_create``: on PostgreSQL it sends
a column's values as one typed array, which refuses a token count over 2**31 that a single
insert stores.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from memory_app import checks, writing
from memory_app.base_models import Level
from memory_app.errors import InvalidInput, NotFound, StoreError
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

# --- one call a row ----------------------------------------------------------------------


def start_session(
    actor: str,
    *,
    channel: str | None = None,
    metadata: Any = None,
    started_at: datetime | str | None = None,
    session_id: str | None = None,
) -> Session:
    values = session_values(
        actor, channel=channel, metadata=metadata, started_at=started_at, session_id=session_id
    )
    (session,) = insert_rows(Session, [values])
    return session


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
    values = turn_values(
        role, content, token_count=token_count, metadata=metadata, created_at=created_at,
        turn_id=turn_id,
    )  # fmt: skip
    (turn,) = append_rows(Turn, [(session_id, values)], parent=session_id)
    return turn


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
    values = run_values(
        workflow_name, trigger_source=trigger_source, initiated_by=initiated_by, status=status,
        context=context, started_at=started_at, run_id=run_id,
    )  # fmt: skip
    (run,) = insert_rows(WorkflowRun, [values])
    return run


def finish_workflow_run(
    run_id: str, *, status: str, finished_at: datetime | str | None = None
) -> WorkflowRun:
    finished = finished_run(run_id, status=status, finished_at=finished_at)
    return writing.finish(
        WorkflowRun, run_id, finished["status"], "finished_at", finished["finished_at"]
    )


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
    values = step_values(
        step_name, status=status, details=details, started_at=started_at, step_id=step_id
    )
    (step,) = append_rows(WorkflowStep, [(run_id, values)], parent=run_id)
    return step


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
    values = linked_event_values(
        event_type, event_level, message, run_id=run_id, step_id=step_id, payload=payload,
        created_at=created_at, event_id=event_id,
    )  # fmt: skip
    (event,) = add_event_rows([values])
    return event


# --- the values each call takes, checked -------------------------------------------------


def session_values(
    actor: str,
    *,
    channel: str | None = None,
    metadata: Any = None,
    started_at: datetime | str | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    return {
        **checks.given_id(session_id),
        "actor": checks.text(actor, "actor"),
        "channel": checks.text(channel, "channel", required=False),
        "started_at": checks.when(started_at, "started_at"),
        "status": SessionStatus.ACTIVE,
        "metadata_json": checks.json_object(metadata, "metadata"),
    }


def turn_values(
    role: str,
    content: str,
    *,
    token_count: int | None = None,
    metadata: Any = None,
    created_at: datetime | str | None = None,
    turn_id: str | None = None,
) -> dict[str, Any]:
    """A turn's columns but its session and place."""
    role = checks.choice(role, Role, "role")
    if not isinstance(content, str):
        raise InvalidInput(f"content must be text; got {type(content).__name__}")
    if token_count is not None and (
        isinstance(token_count, bool) or not isinstance(token_count, int) or token_count < 0
    ):
        raise InvalidInput(f"token_count must be a non-negative integer; got {token_count!r}")
    return {
        **checks.given_id(turn_id),
        "role": role,
        "content": content,
        "token_count": token_count,
        "created_at": checks.when(created_at, "created_at"),
        "metadata_json": checks.json_object(metadata, "metadata"),
    }


def run_values(
    workflow_name: str,
    *,
    trigger_source: str,
    initiated_by: str,
    status: str = RunStatus.RUNNING,
    context: Any = None,
    started_at: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    status = checks.choice(status, RunStatus, "workflow status")
    if status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise InvalidInput(f"a run starts queued or running; got {status!r}")
    return {
        **checks.given_id(run_id),
        "workflow_name": checks.text(workflow_name, "workflow_name"),
        "trigger_source": checks.choice(trigger_source, TriggerSource, "trigger_source"),
        "initiated_by": checks.text(initiated_by, "initiated_by"),
        "status": status,
        "started_at": checks.when(started_at, "started_at"),
        "context_json": checks.json_object(context, "context"),
    }


def finished_run(
    run_id: str, *, status: str, finished_at: datetime | str | None = None
) -> dict[str, Any]:
    """A run's final status and time (``finish_workflow_run``)."""
    status = checks.choice(status, RunStatus, "workflow status")
    if status in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise InvalidInput(f"a run finishes failed, succeeded or aborted; got {status!r}")
    finished_at = checks.when(finished_at, "finished_at")
    return {
        "run_id": writing.checked_id(WorkflowRun, run_id),
        "status": status,
        "finished_at": finished_at,
    }


def step_values(
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    step_id: str | None = None,
) -> dict[str, Any]:
    """A step's columns but its run and place."""
    return {
        **checks.given_id(step_id),
        "step_name": checks.text(step_name, "step_name"),
        "status": checks.choice(status, StepStatus, "step status"),
        "started_at": checks.when(started_at, "started_at"),
        "details_json": checks.json_object(details, "details"),
    }


def finished_step_values(
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    finished_at: datetime | str | None = None,
    step_id: str | None = None,
) -> dict[str, Any]:
    """A step that may be finished already: ``add_step``'s values, and the time
    ``finish_step`` would give it when one is given (both calls check its status alike)."""
    values = step_values(
        step_name, status=status, details=details, started_at=started_at, step_id=step_id
    )
    if finished_at is not None:
        values["finished_at"] = checks.when(finished_at, "finished_at")
    return values


def event_values(
    event_type: str,
    event_level: str,
    message: str,
    *,
    payload: Any = None,
    created_at: datetime | str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event's columns but its run and step."""
    return {
        **checks.given_id(event_id),
        "event_type": checks.choice(event_type, EventType, "event_type"),
        "event_level": checks.choice(event_level, Level, "event_level"),
        "message": checks.text(message, "message"),
        "payload_json": checks.json_object(payload, "payload"),
        "created_at": checks.when(created_at, "created_at"),
    }


def linked_event_values(
    event_type: str,
    event_level: str,
    message: str,
    *,
    run_id: str | None = None,
    step_id: str | None = None,
    payload: Any = None,
    created_at: datetime | str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event's values and the ids of the run and step it names, checked as ids (whether
    they exist is read for a whole batch at once: ``add_event_rows``)."""
    values = event_values(
        event_type, event_level, message, payload=payload, created_at=created_at,
        event_id=event_id,
    )  # fmt: skip
    return values | {
        "workflow_run_id": None if run_id is None else writing.checked_id(WorkflowRun, run_id),
        "step_id": None if step_id is None else writing.checked_id(WorkflowStep, step_id),
    }


# --- writing checked rows (one call's or a batch's) ------------------------------------


def insert_rows[M: (Session, WorkflowRun)](model: type[M], rows: list[dict[str, Any]]) -> list[M]:
    # No savepoint in a caller's transaction (memory_app.writing says why).
    with transaction.atomic(savepoint=False):
        return writing.insert(model, rows)


# The rows appended at their parent's next position: the parent's key and the position.
APPENDED = {Turn: ("session", "turn_index"), WorkflowStep: ("workflow_run", "step_index")}


def append_rows[M: (Turn, WorkflowStep)](
    model: type[M],
    rows: list[tuple[str, dict[str, Any]]],
    *,
    parent: str | None = None,
    what: str | None = None,
) -> list[M]:
    """Rows, each with the id of its parent, at their parents' next positions in order
    (gap-free, unique). ``parent``: the one parent of a single call or of a batch for one
    parent, which must exist even with no rows; otherwise a missing parent is named by the
    place of its first row in ``what``."""
    key, position = APPENDED[model]
    parent_model = model._meta.get_field(key).related_model
    column = model._meta.get_field(key).attname
    named = [parent] if parent is not None else []
    for parent_id in {*named, *(parent_id for parent_id, _ in rows)}:
        writing.checked_id(parent_model, parent_id)
    # No other writer can append between reading the last index and inserting the next
    # ones: SQLite's transaction begins IMMEDIATE, PostgreSQL locks the parents.
    with transaction.atomic(savepoint=False):
        positions = writing.next_positions(
            model, key, position, [*named, *(parent_id for parent_id, _ in rows)]
        )
        missing = [pk for pk in named if pk not in positions]
        missing += [(n, pk) for n, (pk, _) in enumerate(rows) if pk not in positions][:1]
        if not missing:
            made = []
            for parent_id, values in rows:
                made.append(values | {column: parent_id, position: positions[parent_id]})
                positions[parent_id] += 1
            return writing.insert(model, made)
    if not isinstance(missing[0], tuple):
        raise writing.not_found(parent_model, missing[0])
    place, parent_id = missing[0]
    raise NotFound(f"{what}[{place}]: {writing.not_found(parent_model, parent_id)}")


def add_event_rows(checked: list[dict[str, Any]], *, what: str | None = None) -> list[TaskEvent]:
    """Events whose values are checked (``linked_event_values``): the runs and steps they
    name must exist, and an event's step must be of the run it names, if it names one; its
    run is its step's. A refusal names the event's place in ``what``, when given."""
    runs = {v["workflow_run_id"] for v in checked} - {None}
    steps = {v["step_id"] for v in checked} - {None}
    # Read only when some are named: building a query costs more than an event's insert.
    if runs:
        runs = set(WorkflowRun.objects.filter(pk__in=runs).values_list("pk", flat=True))
    step_runs = {}
    if steps:
        step_runs = dict(
            WorkflowStep.objects.filter(pk__in=steps).values_list("pk", "workflow_run")
        )
    rows = []
    for n, values in enumerate(checked):
        run_id, step_id = values["workflow_run_id"], values["step_id"]
        try:
            if run_id is not None and run_id not in runs:
                raise writing.not_found(WorkflowRun, run_id)
            if step_id is not None and step_id not in step_runs:
                raise writing.not_found(WorkflowStep, step_id)
            run_id = _event_run(run_id, step_id, step_runs.get(step_id))
        except StoreError as exc:
            if what is None:
                raise
            raise type(exc)(f"{what}[{n}]: {exc}") from None
        rows.append(values | {"workflow_run_id": run_id})
    if not rows:
        return []
    with transaction.atomic(savepoint=False):
        return writing.insert(TaskEvent, rows)


def _event_run(run_id: str | None, step_id: str | None, step_run_id: str | None) -> str | None:
    """The run an event belongs to: its step's, which must be the run named, if one is."""
    if step_id is None:
        return run_id
    if run_id is not None and step_run_id != run_id:
        raise InvalidInput(f"step {step_id!r} belongs to run {step_run_id!r}")
    return step_run_id


def finish_runs(finished: list[dict[str, Any]], *, what: str) -> list[WorkflowRun]:
    """Runs finished (``finished_run``'s values), each as ``finish_workflow_run`` finishes
    it, in order; all of them locked first, so a missing one is refused (named by its place
    in ``what``) before any is finished."""
    with transaction.atomic(savepoint=False):
        found = writing.locked(WorkflowRun, [f["run_id"] for f in finished])
        missing = next((n for n, f in enumerate(finished) if f["run_id"] not in found), None)
        if missing is None:
            return writing.finish_each(
                WorkflowRun,
                [(f["run_id"], f["status"], f["finished_at"]) for f in finished],
                "finished_at",
            )
    run_id = finished[missing]["run_id"]
    raise NotFound(f"{what}[{missing}]: {writing.not_found(WorkflowRun, run_id)}")
