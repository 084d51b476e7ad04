"""The overview and the activity timeline."""

from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from memory_app import timeutil
from memory_app.access import reader_required
from memory_app.base_models import Level
from memory_app.exports import export_response, wants_export
from memory_app.forms import encode_cursor
from memory_app.overview.activity import stream, timeline
from memory_app.overview.forms import ActivityFilterForm
from memory_app.overview.freshness import kept
from memory_app.overview.governance_story import governance
from memory_app.overview.panels import conversation_panel, governance_panel, workflow_panel
from memory_app.overview.rollups import conversations
from memory_app.overview.story import workflows
from memory_app.overview.window import PRESET_LABELS, chosen_window
from memory_app.page_parts import HtmxHttpRequest, fragment, rows_key, without_empty_parameters
from memory_app.promotion.models import Proposal, ProposalStatus
from memory_app.runtime.models import RunStatus, Session, WorkflowRun
from memory_app.timeutil import format_iso

LATEST = 5
ACTIVITY_PAGE = 50
WAITING = [ProposalStatus.DRAFTED, ProposalStatus.VALIDATED]


@require_GET
@reader_required
def overview(request: HtmxHttpRequest) -> HttpResponse:
    active = Session.objects.active()
    runs = WorkflowRun.objects.all()
    waiting = dict(
        Proposal.objects.filter(status__in=WAITING)
        .values_list("risk_level")
        .annotate(n=Count("*"))
        .values_list("risk_level", "n")
    )
    context = {
        "active_sessions": active.count(),
        "latest_active": list(active.newest_first()[:LATEST]),
        "running": runs.filter(status=RunStatus.RUNNING).count(),
        "queued": runs.filter(status=RunStatus.QUEUED).count(),
        "failed": runs.filter(status=RunStatus.FAILED).count(),
        "latest_runs": list(
            runs.filter(status__in=[RunStatus.RUNNING, RunStatus.FAILED]).newest_first()[:LATEST]
        ),
        "waiting_by_risk": [(level, waiting.get(level, 0)) for level in reversed(Level.values)],
        "waiting_total": sum(waiting.values()),
        **_story(request),
    }
    return render(request, "memory_app/overview/overview.html", context)


def _story(request: HtmxHttpRequest) -> dict:
    """The window the query string chooses (or the default, and why) and its story's panels,
    rendered once and kept while the rows stay as they were (``freshness``)."""
    window, window_errors = chosen_window(request.GET)
    panels, as_of = kept(
        window,
        timeutil.now(),
        lambda: render_to_string(
            "memory_app/overview/_story.html#panels",
            {
                "window": window,
                "conversations": conversation_panel(window, conversations(window)),
                "workflows": workflow_panel(window, workflows(window)),
                "governance": governance_panel(window, governance(window)),
            },
        ),
    )
    return {
        "window": window,
        "window_errors": window_errors,
        "presets": PRESET_LABELS,
        "custom_from": format_iso(window.start)[:16],
        "custom_to": format_iso(window.end)[:16],
        "story_as_of": as_of,
        "story_panels": panels,
    }


ACTIVITY_COLUMNS = [
    ("kind", lambda e: e.kind),
    ("when", lambda e: e.when),  # as the row claims it (the timeline's order)
    # A decision's or deploy's time as the rule counts it (``decision_time``); null for
    # events and profile versions.
    ("counted_at", lambda e: e.counted),
    ("id", lambda e: e.row.pk),
    ("summary", lambda e: str(e.row)),
]


@require_GET
@reader_required
@without_empty_parameters
def activity(request: HtmxHttpRequest) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    form.count_levels()  # a fragment sends them again too (hx-swap-oob): a reload's counts
    filters = form.chosen()
    kinds, levels = filters.get("kind", []), filters.get("level", [])
    if fmt := wants_export(request):
        entries = stream(kinds, levels, filters.get("after"))
        return export_response(fmt, entries, ACTIVITY_COLUMNS, "activity")
    entries, last = timeline(kinds, levels, filters.get("after"), ACTIVITY_PAGE)
    context = {
        "form": form,
        "entries": entries,
        "next_cursor": last and encode_cursor(*last),
        # Every value the entries show is in the key: their rows and the rows they link to.
        "rows_key": rows_key(
            [e.row for e in entries] + [row for e in entries for row in e.linked() if row],
            [(e.kind, e.row.pk) for e in entries],
        ),
    }
    return render(
        request, fragment(request, "memory_app/overview/activity.html", "results"), context
    )
