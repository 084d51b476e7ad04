"""Workflow runs: the list, the timeline of one run, and its replay export."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..access import reader_required
from ..exports import export_response, json_record, safe_filename, stream_json, wants_export
from ..forms import WorkflowFilterForm, encode_cursor
from ..models import NEWEST_FIRST, EventType, Level, RunStatus, TaskEvent, WorkflowRun
from ..store import RuntimeMemoryStore, WorkflowReplay
from ..templatetags.memory import seconds_between
from ..timeutil import now_iso, parse_iso
from .common import HtmxHttpRequest, fragment, take_page

PAGE_SIZE = 50
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
def workflow_list(request: HtmxHttpRequest) -> HttpResponse:
    form = WorkflowFilterForm(request.GET, rows=WorkflowRun.objects.all())
    if not request.htmx:  # a fragment leaves the filter form (and its counts) as they are
        form.count_facets()
    order = form.chosen().get("sort", NEWEST_FIRST)
    runs = form.filter(WorkflowRun.objects.all()).in_order(order)
    if fmt := wants_export(request):
        return export_response(fmt, runs.iterator(), RUN_COLUMNS, "workflow-runs")
    rows = runs.before(form.chosen().get("after"), order)[: PAGE_SIZE + 1]
    page = take_page(list(rows), PAGE_SIZE)
    context = {"form": form, "runs": page.rows, "statuses": RunStatus.values, "order": order}
    if page.has_more:
        last = page.rows[-1]
        context["next_cursor"] = ("after", encode_cursor(last.started_at, last.id))
    return render(request, fragment(request, "memory_app/workflow_list.html", "results"), context)


@dataclass(frozen=True)
class Bar:
    """A step drawn to scale against the run's span, in thousandths of the width."""

    x: int
    width: int


def _scale(replay: WorkflowReplay) -> dict[str, Bar]:
    """Each step's bar; steps without a parseable start get none."""
    begin = parse_iso(replay.run.started_at)
    ends = [parse_iso(replay.run.finished_at)] + [
        parse_iso(s.step.finished_at or s.step.started_at) for s in replay.steps
    ]
    known_ends = [e for e in ends if e is not None]
    if replay.run.status in LIVE or not known_ends:
        known_ends.append(parse_iso(now_iso()))
    end = max(known_ends)
    if begin is None or end <= begin:
        return {}
    span = (end - begin).total_seconds()
    bars = {}
    for item in replay.steps:
        start = parse_iso(item.step.started_at)
        finish = parse_iso(item.step.finished_at) or end
        if start is None:
            continue
        x = round(1000 * max(0.0, (start - begin).total_seconds()) / span)
        width = round(1000 * max(0.0, (finish - start).total_seconds()) / span)
        bars[item.step.pk] = Bar(x=min(x, 995), width=max(5, min(width, 1000 - min(x, 995))))
    return bars


def _event_filter(request: HtmxHttpRequest):
    """The chosen event types and levels (all when none chosen)."""
    types = [t for t in request.GET.getlist("type") if t in EventType.values]
    levels = [lv for lv in request.GET.getlist("level") if lv in Level.values]

    def keep(event: TaskEvent) -> bool:
        return (not types or event.event_type in types) and (
            not levels or event.event_level in levels
        )

    return types, levels, keep


@require_GET
@reader_required
def workflow_detail(request: HtmxHttpRequest, run_id: str) -> HttpResponse:
    run = get_object_or_404(WorkflowRun, pk=run_id)
    replay = RuntimeMemoryStore().workflow_replay(run.pk)
    if request.GET.get("format") == "json":
        filename = f"workflow-{safe_filename(run.pk)}.json"
        return stream_json(_replay_json(replay), filename, "application/json")
    types, levels, keep = _event_filter(request)
    every_event = [e for s in replay.steps for e in s.events] + replay.run_events
    type_counts = Counter(e.event_type for e in every_event)
    level_counts = Counter(e.event_level for e in every_event)
    bars = _scale(replay)
    steps = [
        {"step": s.step, "bar": bars.get(s.step.pk), "events": [e for e in s.events if keep(e)]}
        for s in replay.steps
    ]
    context = {
        "run": run,
        "steps": steps,
        "run_events": [e for e in replay.run_events if keep(e)],
        "event_types": [(t, type_counts[t]) for t in EventType.values],
        "levels": [(lv, level_counts[lv]) for lv in Level.values],
        "chosen_types": types,
        "chosen_levels": levels,
        "live": run.status in LIVE,
    }
    return render(
        request, fragment(request, "memory_app/workflow_detail.html", "timeline"), context
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
