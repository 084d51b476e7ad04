"""Workflow runs: the list, the timeline of one run, and its replay export."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from memory_app.access import reader_required
from memory_app.base_models import Level
from memory_app.converters import storable
from memory_app.exports import (
    export_response,
    json_record,
    safe_filename,
    stream_json,
    wants_export,
)
from memory_app.fields import MAX_INTEGER
from memory_app.forms import encode_cursor
from memory_app.page_parts import (
    HtmxHttpRequest,
    fragment,
    rows_key,
    take_page,
    whole_number,
    without_empty_parameters,
)
from memory_app.runtime.forms import WorkflowFilterForm
from memory_app.runtime.models import (
    NEWEST_FIRST,
    EventType,
    RunStatus,
    StepStatus,
    TaskEvent,
    WorkflowRun,
    WorkflowStep,
)
from memory_app.runtime.replays import WorkflowReplay, workflow_replay
from memory_app.timeutil import now, parse_iso, seconds_between

PAGE_SIZE = 50
# A timeline shows its steps a page at a time, each with its first events; the rest of a
# step's events are a click away, a page at a time. So a run of thousands of steps and
# events opens as fast as a transcript.
STEP_PAGE_SIZE = 10
EVENTS_PER_STEP = 10
EVENT_PAGE_SIZE = 100
# The live refresh re-renders at most this many steps, however far the reader scrolled.
MAX_STEPS_SHOWN = 200
LIVE = {RunStatus.QUEUED, RunStatus.RUNNING}

RUN_COLUMNS = [
    ("id", lambda r: r.id),
    ("workflow_name", lambda r: r.workflow_name),
    ("trigger_source", lambda r: r.trigger_source),
    ("initiated_by", lambda r: r.initiated_by),
    ("status", lambda r: r.status),
    ("started_at", lambda r: r.started_at),
    ("finished_at", lambda r: r.finished_at),
    ("duration_s", lambda r: seconds_between(r.started_at, r.finished_at)),
    ("context_json", lambda r: r.context_json),
]


@require_GET
@reader_required
@without_empty_parameters
def workflow_list(request: HtmxHttpRequest) -> HttpResponse:
    form = WorkflowFilterForm(request.GET, rows=WorkflowRun.objects.all())
    form.count_facets()  # a fragment sends them again too (hx-swap-oob): a reload's counts
    order = form.chosen().get("sort", NEWEST_FIRST)
    runs = form.filter(WorkflowRun.objects.all()).in_order(order)
    if fmt := wants_export(request):
        return export_response(fmt, runs.iterator(), RUN_COLUMNS, "workflow-runs")
    rows = runs.before(form.chosen().get("after"), order)[: PAGE_SIZE + 1]
    page = take_page(list(rows), PAGE_SIZE)
    context = {"form": form, "runs": page.rows, "order": order, "live": sorted(LIVE)}
    if page.has_more:
        last = page.rows[-1]
        context["next_cursor"] = ("after", encode_cursor(last.started_at, last.id))
    return render(
        request, fragment(request, "memory_app/runtime/workflow_list.html", "results"), context
    )


@dataclass(frozen=True)
class Bar:
    """A step drawn to scale against the run's span, in thousandths of the width."""

    x: int
    width: int


def _scale(run: WorkflowRun, steps: list[WorkflowStep]) -> dict[str, Bar]:
    """Each step's bar against the whole run (every step, not only this page's); steps
    without a parseable start get none."""
    begin = parse_iso(run.started_at)
    latest = WorkflowStep.objects.latest_instant(run)
    ends = [e for e in (parse_iso(run.finished_at), parse_iso(latest)) if e is not None]
    if run.status in LIVE or not ends:
        ends.append(now())
    end = max(ends)
    if begin is None or end <= begin:
        return {}
    span = (end - begin).total_seconds()
    bars = {}
    for step in steps:
        start = parse_iso(step.started_at)
        finish = parse_iso(step.finished_at) or end
        if start is None:
            continue
        x = round(1000 * max(0.0, (start - begin).total_seconds()) / span)
        width = round(1000 * max(0.0, (finish - start).total_seconds()) / span)
        bars[step.pk] = Bar(x=min(x, 995), width=max(5, min(width, 1000 - min(x, 995))))
    return bars


def _event_filter(request: HtmxHttpRequest) -> tuple[list[str], list[str]]:
    """The chosen event types and levels (all when none chosen)."""
    types = [t for t in request.GET.getlist("type") if t in EventType.values]
    levels = [lv for lv in request.GET.getlist("level") if lv in Level.values]
    return types, levels


def _filtered_query(types: list[str], levels: list[str], **more: object) -> str:
    """A link's query made only of the event filter and ``more``: what a cached fragment's
    links may carry. ``{% querystring %}`` would copy the whole request's query into the
    fragment, and whoever reads it next from the cache would follow the first reader's
    parameters (its key holds only the filter)."""
    chosen = [("type", t) for t in types] + [("level", lv) for lv in levels]
    return "?" + urlencode(chosen + list(more.items()))


def _count(request: HtmxHttpRequest, name: str) -> int:
    """A ``?from=``-like parameter; anything but a whole number SQL can page by is 0."""
    number = whole_number(request.GET.get(name, 0)) or 0
    return number if number <= MAX_INTEGER // 2 else 0


@dataclass(frozen=True)
class Failure:
    """Where a failed run failed (its first failed step, if any) and why (the most severe
    event there, the latest of its level), for the top of its page."""

    step: WorkflowStep | None
    event: TaskEvent | None


def _failure(run: WorkflowRun) -> Failure | None:
    """Why a failed run failed: at most three queries, and none for any other run."""
    if run.status != RunStatus.FAILED:
        return None
    steps = WorkflowStep.objects.for_replay(run)
    step = steps.filter(status=StepStatus.FAILED).first()
    events = TaskEvent.objects.filter(step=step) if step else TaskEvent.objects.of_run(run)
    for level in (Level.CRITICAL, Level.HIGH):
        if event := events.filter(event_level=level).in_time_order().last():
            return Failure(step, event)
    return Failure(step, None)


@require_GET
@reader_required
def workflow_detail(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    """A run's page: its JSON replay, more events of a step, or the timeline (paged steps,
    live refresh). About 70 lines because each answer reads the same request in turn, the
    timeline's context in one place; the parts that stand alone are helpers above."""
    run = get_object_or_404(WorkflowRun, pk=run_id)
    if request.GET.get("format") == "json":
        replay = workflow_replay(run.pk)
        filename = f"workflow-{safe_filename(run.pk)}.json"
        return stream_json(_replay_json(replay), filename, "application/json")
    types, levels = _event_filter(request)
    # Of the run's steps (shown, or named) or of the run itself: never another run's.
    events = TaskEvent.objects.chosen(types, levels)
    if "step" in request.GET or "run_events" in request.GET:
        return _more_events(request, run, events)
    start = _count(request, "from")
    # The live refresh shows as many steps as the reader has scrolled through.
    through = whole_number(request.GET.get("through"))
    size = STEP_PAGE_SIZE if through is None else max(STEP_PAGE_SIZE, through - start + 1)
    page = take_page(
        WorkflowStep.objects.page_of(run, start, min(size, MAX_STEPS_SHOWN) + 1),
        min(size, MAX_STEPS_SHOWN),
    )
    last = page.rows[-1].step_index if page.rows else start - 1
    # Another writer may store a non-number as step_index: such a page has no continuation.
    more = isinstance(last, int)
    type_counts, level_counts = Counter(), Counter()
    for (kind, level), n in TaskEvent.objects.of_run(run).counts_by_kind().items():
        type_counts[kind] += n
        level_counts[level] += n
    first = events.first_of_each_step(page.rows, EVENTS_PER_STEP)
    totals = events.counts_by_step(page.rows)
    bars = _scale(run, page.rows)
    steps = [
        {
            "step": step,
            "bar": bars.get(step.pk),
            "events": first.get(step.pk, []),
            "more_events": totals.get(step.pk, 0) - len(first.get(step.pk, [])),
            "more_url": _filtered_query(types, levels, step=step.pk, events_from=EVENTS_PER_STEP),
        }
        for step in page.rows
    ]
    shown_events = [event for item in steps for event in item["events"]]
    run_events = events.filter(workflow_run=run, step=None)
    shown_run_events = list(run_events.in_time_order()[:EVENTS_PER_STEP])
    context = {
        "run": run,
        "steps": steps,
        # Every value the steps show is in the key: a new or changed step or event, or a
        # bar that moved, renders afresh; and the filters their links carry.
        "steps_key": rows_key(
            [*page.rows, *shown_events],
            [(item["bar"], item["more_events"]) for item in steps],
            run.pk,
            types,
            levels,
            EVENTS_PER_STEP,
        ),
        "start": start,
        "has_more": page.has_more and more,
        "next_from": last + 1 if more else None,
        "last_shown": last if more else None,
        "run_events": shown_run_events,
        "more_run_events": run_events.count() - len(shown_run_events),
        "events_per_step": EVENTS_PER_STEP,
        "event_types": [(t, type_counts[t]) for t in EventType.values],
        "levels": [(lv, level_counts[lv]) for lv in Level.values],
        "chosen_types": types,
        "chosen_levels": levels,
        "live": run.status in LIVE,
        "failure": None if request.htmx else _failure(run),  # the page's head only
        # A page of steps loaded below the others brings the live refresh up to it.
        "more_page": "from" in request.GET and request.htmx,
    }
    partial = "steps" if "from" in request.GET else "timeline"
    return render(
        request, fragment(request, "memory_app/runtime/workflow_detail.html", partial), context
    )


def _more_events(request: HtmxHttpRequest, run: WorkflowRun, events) -> HttpResponse:
    """A page of one step's events (``?step=<step id>``) or of the run's own
    (``?run_events``), from ``events_from`` on: what the timeline left out."""
    step = None
    if "step" in request.GET:
        step_id = request.GET["step"]
        if not storable(step_id):
            raise Http404("no such step")
        step = get_object_or_404(WorkflowStep, workflow_run=run, pk=step_id)
        events = events.filter(step=step)
    else:
        events = events.filter(workflow_run=run, step=None)
    offset = _count(request, "events_from")
    page = take_page(
        list(events.in_time_order()[offset : offset + EVENT_PAGE_SIZE + 1]), EVENT_PAGE_SIZE
    )
    context = {
        "run": run,
        "step": step,
        "events": page.rows,
        "next_from": offset + EVENT_PAGE_SIZE if page.has_more else None,
    }
    return render(
        request, fragment(request, "memory_app/runtime/workflow_events.html", "events"), context
    )


def _event_record(event: TaskEvent) -> dict:
    return {
        "id": event.id,
        "step_id": event.step_id,
        "event_type": event.event_type,
        "event_level": event.event_level,
        "message": event.message,
        "payload_json": event.payload_json,
        "created_at": event.created_at,
    }


def _replay_json(replay: WorkflowReplay) -> Iterator[str]:
    run = replay.run
    head = {
        "id": run.id,
        "workflow_name": run.workflow_name,
        "trigger_source": run.trigger_source,
        "initiated_by": run.initiated_by,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "context_json": run.context_json,
    }
    yield '{"run": ' + json_record(head) + ',\n"steps": ['
    for n, item in enumerate(replay.steps):
        step = item.step
        record = {
            "id": step.id,
            "step_index": step.step_index,
            "step_name": step.step_name,
            "status": step.status,
            "started_at": step.started_at,
            "finished_at": step.finished_at,
            "details_json": step.details_json,
            "events": [_event_record(e) for e in item.events],
        }
        yield ("\n" if n == 0 else ",\n") + json_record(record)
    run_events = [_event_record(e) for e in replay.run_events]
    yield '\n],\n"run_events": ' + json_record(run_events) + "}\n"
