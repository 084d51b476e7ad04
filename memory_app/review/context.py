"""A queue item in context, as a reviewer reads it and the export carries it: a turn with
the turns around it in its session, a session's first turns, a run with its steps.

Turns are read cut to a preview (``PREVIEW_CHARS``), as the transcript reads them, so a
huge turn stays cheap; the page links to the whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models.functions import Length, Substr

from memory_app.review.models import TargetKind
from memory_app.review.queue_models import ReviewQueueItem
from memory_app.runtime.models import Session, Turn, WorkflowRun, WorkflowStep
from memory_app.runtime.session_pages import PREVIEW_CHARS

# A turn is shown with this many turns of its session before and after it.
TURNS_AROUND = 3
# A session shows its first turns, a run its first steps.
SESSION_TURNS = 20
RUN_STEPS = 50


@dataclass
class ItemContext:
    """What an item shows: ``found`` is False when another writer removed its target."""

    kind: str
    found: bool = False
    session: Session | None = None
    turns: list[Turn] = field(default_factory=list)  # the turn item's is ``focus``
    focus: Turn | None = None
    run: WorkflowRun | None = None
    steps: list[WorkflowStep] = field(default_factory=list)


def _previews():
    return Turn.objects.defer("content").annotate(
        preview=Substr("content", 1, PREVIEW_CHARS), content_length=Length("content")
    )


def item_context(item: ReviewQueueItem, *, whole: bool = False) -> ItemContext:
    """The item's target and what surrounds it: two or three queries. ``whole``: turns
    with their whole content (the export), not a preview."""
    turns = Turn.objects.all() if whole else _previews()
    found = ItemContext(kind=item.target_kind)
    if item.target_kind == TargetKind.TURN:
        turn = Turn.objects.select_related("session").filter(pk=item.target_id).first()
        if turn is None:
            return found
        found.found, found.session, found.focus = True, turn.session, turn
        index = turn.turn_index
        if isinstance(index, int):  # another writer may have stored anything there
            near = turns.for_replay(turn.session_id)
            near = near.filter(turn_index__gte=index - TURNS_AROUND)
            found.turns = list(near.filter(turn_index__lte=index + TURNS_AROUND))
        else:
            found.turns = list(turns.filter(pk=turn.pk))
    elif item.target_kind == TargetKind.SESSION:
        found.session = Session.objects.filter(pk=item.target_id).first()
        if found.session is None:
            return found
        found.found = True
        found.turns = list(turns.for_replay(found.session)[:SESSION_TURNS])
    else:
        found.run = WorkflowRun.objects.filter(pk=item.target_id).first()
        if found.run is None:
            return found
        found.found = True
        found.steps = list(WorkflowStep.objects.for_replay(found.run)[:RUN_STEPS])
    return found
