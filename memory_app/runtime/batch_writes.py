"""The runtime wing's batch writes: many rows in one call (an OTLP request carries
hundreds of spans: memory_app/ingest). ``RuntimeMemoryStore`` (memory_app.store) is their
front door.

Each writes exactly the rows as many single calls (memory_app.runtime.writes) would, in
the order given: each item is a mapping of the single call's arguments, checked by the
single call's own checks before anything is written, and the rows go in through the same
internals, in one transaction with one lock of each parent, one read of each parent's last
index and one statement of many rows. One item a single call would refuse refuses the whole
batch, named by its place (``turns[2]: role must be one of ...``), and nothing is written.

- ``start_sessions``, ``start_workflow_runs``, ``finish_workflow_runs``: as many
  ``start_session``, ``start_workflow_run``, ``finish_workflow_run`` calls;
- ``append_turns(session_id, turns)`` and ``add_steps(run_id, steps)``: one parent's;
  ``append_turns_across(turns)`` and ``add_steps_across(steps)``: each item names its
  session or run (``session_id``, ``run_id``), for a writer with many at once. A step may
  come finished: given ``finished_at``, it is written as ``add_step`` then ``finish_step``
  with its status leave it;
- ``add_events``: each event names its run or step, or neither.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from memory_app import writing
from memory_app.errors import InvalidInput
from memory_app.runtime import writes
from memory_app.runtime.models import (
    Session,
    StepStatus,
    TaskEvent,
    Turn,
    WorkflowRun,
    WorkflowStep,
)

type Items = Iterable[Mapping[str, Any]]


def start_sessions(sessions: Items) -> list[Session]:
    """Sessions, each a mapping of ``start_session``'s arguments (``actor``, and
    ``channel``, ``metadata``, ``started_at``, ``session_id`` when wanted)."""
    return writes.insert_rows(Session, _each(sessions, "sessions", writes.session_values))


def start_workflow_runs(runs: Items) -> list[WorkflowRun]:
    """Runs, each a mapping of ``start_workflow_run``'s arguments (``workflow_name``,
    ``trigger_source``, ``initiated_by``, and ``status``, ``context``, ``started_at``,
    ``run_id`` when wanted)."""
    return writes.insert_rows(WorkflowRun, _each(runs, "runs", writes.run_values))


def finish_workflow_runs(runs: Items) -> list[WorkflowRun]:
    """Runs finished, each a mapping of ``finish_workflow_run``'s arguments (``run_id``,
    ``status``, and ``finished_at`` when wanted); the runs as each then is."""
    return writes.finish_runs(_each(runs, "runs", writes.finished_run), what="runs")


def append_turns(session_id: str, turns: Items) -> list[Turn]:
    """Turns at the session's next ``turn_index``es, each a mapping of ``append_turn``'s
    arguments after the session (``role``, ``content``, and ``token_count``,
    ``metadata``, ``created_at``, ``turn_id`` when wanted)."""
    checked = _each(turns, "turns", writes.turn_values)
    return writes.append_rows(Turn, [(session_id, v) for v in checked], parent=session_id)


def append_turns_across(turns: Items) -> list[Turn]:
    """Turns of any sessions, each a mapping of all of ``append_turn``'s arguments
    (``session_id``, ``role``, ``content``, ...): each session's in the order given."""
    checked = _each(turns, "turns", _session_turn)
    return writes.append_rows(Turn, checked, what="turns")


def add_steps(run_id: str, steps: Items) -> list[WorkflowStep]:
    """Steps at the run's next ``step_index``es, each a mapping of ``add_step``'s arguments
    after the run (``step_name``, and ``status``, ``details``, ``started_at``,
    ``step_id`` when wanted), and ``finished_at`` for a step finished already."""
    checked = _each(steps, "steps", writes.finished_step_values)
    return writes.append_rows(WorkflowStep, [(run_id, v) for v in checked], parent=run_id)


def add_steps_across(steps: Items) -> list[WorkflowStep]:
    """Steps of any runs, each a mapping of all of ``add_step``'s arguments (``run_id``,
    ``step_name``, ...) and ``finished_at`` when finished: each run's in the order given."""
    checked = _each(steps, "steps", _run_step)
    return writes.append_rows(WorkflowStep, checked, what="steps")


def add_events(events: Items) -> list[TaskEvent]:
    """Task events, each a mapping of ``add_event``'s arguments (``event_type``,
    ``event_level``, ``message``, and ``run_id``, ``step_id``, ``payload``,
    ``created_at``, ``event_id`` when wanted): the runs and steps they name read in one
    query each."""
    return writes.add_event_rows(_each(events, "events", writes.linked_event_values), what="events")


def _session_turn(
    session_id: str,
    role: str,
    content: str,
    *,
    token_count: int | None = None,
    metadata: Any = None,
    created_at: datetime | str | None = None,
    turn_id: str | None = None,
) -> tuple[str, dict[str, Any]]:
    values = writes.turn_values(
        role, content, token_count=token_count, metadata=metadata, created_at=created_at,
        turn_id=turn_id,
    )  # fmt: skip
    return writing.checked_id(Session, session_id), values


def _run_step(
    run_id: str,
    step_name: str,
    *,
    status: str = StepStatus.RUNNING,
    details: Any = None,
    started_at: datetime | str | None = None,
    finished_at: datetime | str | None = None,
    step_id: str | None = None,
) -> tuple[str, dict[str, Any]]:
    values = writes.finished_step_values(
        step_name, status=status, details=details, started_at=started_at,
        finished_at=finished_at, step_id=step_id,
    )  # fmt: skip
    return writing.checked_id(WorkflowRun, run_id), values


def _each[T](items: Items, what: str, check: Callable[..., T]) -> list[T]:
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
