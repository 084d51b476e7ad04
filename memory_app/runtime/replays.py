"""The runtime wing's replays: a session with its turns, a run with its steps and events
(the v1 query set's reads)."""

from __future__ import annotations

from dataclasses import dataclass

from memory_app import writing
from memory_app.runtime.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep
from memory_app.timeutil import chronological


@dataclass(frozen=True)
class SessionReplay:
    session: Session
    turns: list[Turn]


@dataclass(frozen=True)
class StepReplay:
    step: WorkflowStep
    events: list[TaskEvent]


@dataclass(frozen=True)
class WorkflowReplay:
    run: WorkflowRun
    steps: list[StepReplay]
    run_events: list[TaskEvent]


def session_replay(session_id: str) -> SessionReplay:
    """The session and its turns by ``turn_index`` (two indexed queries)."""
    session = writing.get(Session, session_id)
    return SessionReplay(session=session, turns=list(Turn.objects.for_replay(session)))


def workflow_replay(run_id: str) -> WorkflowReplay:
    """The run, its steps by ``step_index`` with their events, and run-level events."""
    run = writing.get(WorkflowRun, run_id)
    steps = list(WorkflowStep.objects.for_replay(run))
    events = TaskEvent.objects.of_run(run).order_by("created_at", "id")
    by_step: dict[str | None, list[TaskEvent]] = {}
    for event in chronological(list(events), "created_at"):
        by_step.setdefault(event.step_id, []).append(event)
    return WorkflowReplay(
        run=run,
        steps=[StepReplay(step=step, events=by_step.get(step.pk, [])) for step in steps],
        run_events=by_step.get(None, []),
    )
