"""The runtime wing's writes: sessions and their turns, workflow runs, steps and task
events. ``RuntimeMemoryStore`` (memory_app.store) is their front door.

The batch writers (``append_turns``, ``add_steps``, ``add_events``) write the rows as many
single calls would, each value checked by the single call's own checks, in one transaction
with one lock of the parent, one read of its last index and one insert statement run for
every row (an OTLP request carries hundreds of spans: memory_app/ingest); a single call is
a batch of one. The insert is ``writing.insert`` (``bulk.insert_rows``), not
``bulk.bulk_insert``: that one is for trusted loads of thousands of rows and turns the
search triggers off and on around its insert, which a live database's readers would pay
for on every batch. Nor Django's ``bulk_create``: on PostgreSQL it sends a column's values
as one typed array, which refuses a token count over 2**31 that a single insert stores.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from memory_app import checks, writing
from memory_app.base_models import Level
from memory_app.errors import InvalidInput, StoreError
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
    (session,) = writing.insert(
        Session,
        [
            {
                **checks.given_id(session_id),
                "actor": checks.text(actor, "actor"),
                "channel": checks.text(channel, "channel", required=False),
                "started_at": checks.when(started_at, "started_at"),
                "status": SessionStatus.ACTIVE,
                "metadata_json": checks.json_object(metadata, "metadata"),
            }
        ],
    )
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
    values = _turn_values(
        role, content, token_count=token_count, metadata=metadata, created_at=created_at,
        turn_id=turn_id,
    )  # fmt: skip
    (turn,) = _append(Turn, session_id, [values])
    return turn


def append_turns(session_id: str, turns: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """Append turns at the session's next ``turn_index``es in the order given: the rows as
    many ``append_turn`` calls write. Each turn is a mapping of ``append_turn``'s arguments
    after the session (``role``, ``content``, and ``token_count``, ``metadata``,
    ``created_at``, ``turn_id`` when wanted); one that ``append_turn`` would refuse refuses
    them all, naming its place (``turns[2]: ...``), and nothing is written."""
    return _append(Turn, session_id, _each(turns, "turns", _turn_values))


# The rows appended at their parent's next position: the parent's key and the position.
APPENDED = {Turn: ("session", "turn_index"), WorkflowStep: ("workflow_run", "step_index")}


def _append[M: (Turn, WorkflowStep)](
    model: type[M], parent_id: str, rows: list[dict[str, Any]]
) -> list[M]:
    """Rows at their parent's next positions, in order (gap-free, unique)."""
    parent, position = APPENDED[model]
    key = model._meta.get_field(parent).attname
    # No other writer can append between reading the last index and inserting the next
    # ones: SQLite's transaction begins IMMEDIATE, PostgreSQL locks the parent. No savepoint
    # in a caller's transaction (memory_app.writing says why).
    with transaction.atomic(savepoint=False):
        first = writing.next_position(model, parent, position, parent_id)
        if first is not None:
            return writing.insert(
                model, [row | {key: parent_id, position: first + n} for n, row in enumerate(rows)]
            )
    raise writing.not_found(model._meta.get_field(parent).related_model, parent_id)


def _turn_values(
    role: str,
    content: str,
    *,
    token_count: int | None = None,
    metadata: Any = None,
    created_at: datetime | str | None = None,
    turn_id: str | None = None,
) -> dict[str, Any]:
    """A turn's columns but its place, checked (one rule for one turn and for many)."""
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


def _each(
    items: Iterable[Mapping[str, Any]], what: str, check: Callable[..., dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every item's values through ``check`` (the single call's checks), before anything is
    written; the first item refused refuses them all, named by its place in ``what``."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise InvalidInput(f"{what} must be a list of mappings; got {type(items).__name__}")
    takes, needs = _arguments(check)
    checked = []
    for n, item in enumerate(items):
        try:
            if not isinstance(item, Mapping):
                raise InvalidInput(f"must be a mapping of values; got {type(item).__name__}")
            if unknown := [key for key in item if key not in takes]:
                raise InvalidInput(
                    f"unknown value {unknown[0]!r}; a value is one of {', '.join(takes)}"
                )
            if missing := [key for key in needs if key not in item]:
                raise InvalidInput(f"{missing[0]} is missing")
            checked.append(check(**item))
        except InvalidInput as exc:
            raise InvalidInput(f"{what}[{n}]: {exc}") from None
    return checked


@functools.cache
def _arguments(check: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names a check takes, and those without a default."""
    parameters = inspect.signature(check).parameters.values()
    return (
        tuple(p.name for p in parameters),
        tuple(p.name for p in parameters if p.default is inspect.Parameter.empty),
    )


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
    (run,) = writing.insert(
        WorkflowRun,
        [
            {
                **checks.given_id(run_id),
                "workflow_name": checks.text(workflow_name, "workflow_name"),
                "trigger_source": checks.choice(trigger_source, TriggerSource, "trigger_source"),
                "initiated_by": checks.text(initiated_by, "initiated_by"),
                "status": status,
                "started_at": checks.when(started_at, "started_at"),
                "context_json": checks.json_object(context, "context"),
            }
        ],
    )
    return run


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
    values = _step_values(
        step_name, status=status, details=details, started_at=started_at, step_id=step_id
    )
    (step,) = _append(WorkflowStep, run_id, [values])
    return step


def add_steps(run_id: str, steps: Iterable[Mapping[str, Any]]) -> list[WorkflowStep]:
    """Add the run's next steps in the order given: the rows as many ``add_step`` calls
    write. Each step is a mapping of ``add_step``'s arguments after the run (``step_name``,
    and ``status``, ``details``, ``started_at``, ``step_id`` when wanted), and may be
    finished already: given ``finished_at``, it is written as ``add_step`` then
    ``finish_step`` with its status and ``finished_at`` leave it. One step refused refuses
    them all, naming its place (``steps[2]: ...``), and nothing is written."""
    return _append(WorkflowStep, run_id, _each(steps, "steps", _finished_step_values))


def _step_values(
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    step_id: str | None = None,
) -> dict[str, Any]:
    """A step's columns but its run and place, checked."""
    return {
        **checks.given_id(step_id),
        "step_name": checks.text(step_name, "step_name"),
        "status": checks.choice(status, StepStatus, "step status"),
        "started_at": checks.when(started_at, "started_at"),
        "details_json": checks.json_object(details, "details"),
    }


def _finished_step_values(
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    finished_at: datetime | str | None = None,
    step_id: str | None = None,
) -> dict[str, Any]:
    """A step of ``add_steps``: ``add_step``'s values, and the time ``finish_step`` would
    give it when one is given (its status is checked the same way by both calls)."""
    values = _step_values(
        step_name, status=status, details=details, started_at=started_at, step_id=step_id
    )
    if finished_at is not None:
        values["finished_at"] = checks.when(finished_at, "finished_at")
    return values


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
    values = _linked_event_values(
        event_type, event_level, message, run_id=run_id, step_id=step_id, payload=payload,
        created_at=created_at, event_id=event_id,
    )  # fmt: skip
    (event,) = _add_events([values], named=False)
    return event


def add_events(events: Iterable[Mapping[str, Any]]) -> list[TaskEvent]:
    """Record task events in the order given: the rows as many ``add_event`` calls write,
    the runs and steps they name read in one query each and the rows inserted in one
    statement. Each event is a mapping of ``add_event``'s arguments (``event_type``,
    ``event_level``, ``message``, and ``run_id``, ``step_id``, ``payload``, ``created_at``,
    ``event_id`` when wanted); one refused refuses them all, naming its place
    (``events[2]: ...``), and nothing is written."""
    return _add_events(_each(events, "events", _linked_event_values))


def _add_events(checked: list[dict[str, Any]], *, named: bool = True) -> list[TaskEvent]:
    """Events whose values are checked: the runs and steps they name must exist, and an
    event's step must be of the run it names, if it names one; its run is its step's."""
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
            if not named:
                raise
            raise type(exc)(f"events[{n}]: {exc}") from None
        rows.append(values | {"workflow_run_id": run_id})
    if not rows:
        return []
    with transaction.atomic(savepoint=False):
        return writing.insert(TaskEvent, rows)


def _event_values(
    event_type: str,
    event_level: str,
    message: str,
    *,
    payload: Any = None,
    created_at: datetime | str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An event's columns but its run and step, checked."""
    return {
        **checks.given_id(event_id),
        "event_type": checks.choice(event_type, EventType, "event_type"),
        "event_level": checks.choice(event_level, Level, "event_level"),
        "message": checks.text(message, "message"),
        "payload_json": checks.json_object(payload, "payload"),
        "created_at": checks.when(created_at, "created_at"),
    }


def _linked_event_values(
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
    """An event of ``add_events``: ``add_event``'s values, and the ids of the run and step
    it names, checked as ids (whether they exist is read for the whole batch at once)."""
    values = _event_values(
        event_type, event_level, message, payload=payload, created_at=created_at,
        event_id=event_id,
    )  # fmt: skip
    return values | {
        "workflow_run_id": None if run_id is None else writing.checked_id(WorkflowRun, run_id),
        "step_id": None if step_id is None else writing.checked_id(WorkflowStep, step_id),
    }


def _event_run(run_id: str | None, step_id: str | None, step_run_id: str | None) -> str | None:
    """The run an event belongs to: its step's, which must be the run named, if one is."""
    if step_id is None:
        return run_id
    if run_id is not None and step_run_id != run_id:
        raise InvalidInput(f"step {step_id!r} belongs to run {step_run_id!r}")
    return step_run_id
