"""What the overview tells for a window (``window.Window``): conversations, workflow runs and
their failures, read from indexed aggregates; proposals are in ``governance_story``.

Times are TEXT another writer may have written in any form. Each count is two reads:

- rows whose time is canonical, in SQL: the window is a range of their text, read through
  the partial index of canonical times (``expressions.canonical_time_index``), and the
  bucket is a prefix of the text (``window``), grouped in the database;
- the few rows whose time is in another form (``expressions.other_times``), through the
  partial index of those rows: each placed by ``timeutil.instant_key`` in Python, the same
  reading SQL's ``tom_instant`` gives. Those it cannot read are *undated*: in no window,
  counted and said so on the page.

Both engines give the same numbers: the same texts, compared the same way (a canonical
time's characters are digits and fixed separators), cut at the same places.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import models
from django.db.models import Case, Count, FloatField, Q, Sum, Value, When
from django.db.models.functions import Abs, Cast
from django.db.models.lookups import LessThan

from memory_app import timeutil
from memory_app.expressions import (
    HOUR,
    hour_of,
    indexed_prefix,
    is_canonical,
    json_text_at,
    other_times,
    prefix_of,
)
from memory_app.overview.window import Window
from memory_app.runtime.models import (
    RunStatus,
    StepStatus,
    TaskEvent,
    WorkflowRun,
    WorkflowStep,
)
from memory_app.timeutil import instant_key

NOW, BEFORE = "now", "before"  # the window, and the one just before it


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile (the smallest value with at least ``p`` % of values at or
    below it); None of no values. Computed here, not in SQL: the engines' percentile
    functions differ (and SQLite has none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Tally:
    """Counts (and an optional sum) per bucket and group, in the window and the one before.

    ``counts[(period, bucket, *group)]`` is ``[rows, sum]``; ``undated`` counts rows whose
    time is unreadable (in no window)."""

    counts: dict[tuple, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    undated: int = 0

    def add(self, key: tuple, rows: int, total: float) -> None:
        slot = self.counts[key]
        slot[0] += rows
        slot[1] += total

    def series(self, buckets: list[str], which: int = 0) -> list[float]:
        """The window's value per bucket (0: rows, 1: the sum), summed over groups."""
        per = Counter()
        for (period, bucket, *_), values in self.counts.items():
            if period == NOW:
                per[bucket] += values[which]
        return [per[b] for b in buckets]

    def total(self, period: str = NOW, which: int = 0) -> float:
        return sum(v[which] for (p, *_), v in self.counts.items() if p == period)

    def by_group(self, position: int, which: int = 0) -> list[tuple[object, float]]:
        """The window's totals per value of the ``position``-th group, largest first."""
        per = Counter()
        for (period, _bucket, *group), values in self.counts.items():
            if period == NOW:
                per[group[position]] += values[which]
        return sorted(per.items(), key=lambda kv: (-kv[1], str(kv[0])))


def finite(value: float | None) -> float:
    """A sum as the page shows it: a text another writer stored as a count ("1e999") reads
    as infinity in SQL, which is no count, so such a sum counts as none, as text does."""
    return value if value is not None and math.isfinite(value) else 0.0


def _number(value: object) -> float:
    """A summed column's value as SQL's CAST to a real reads the usual ones."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return finite(float(value))


def _summed_value(summed: str | None):
    """A row's ``summed`` as a real (another writer's huge integer cannot overflow the sum);
    one that reads as infinity ("1e999", text another writer stored) counts as none, as
    other text does, and as ``_number`` reads the rows placed in Python."""
    if not summed:
        return Value(0.0)
    value = Cast(summed, FloatField())
    return Case(When(LessThan(Abs(value), FINITE), then=value), default=Value(0.0))


FINITE = Value(1e308)


def tally(
    qs: models.QuerySet,
    column: str,
    window: Window,
    group: tuple[str, ...] = (),
    summed: str | None = None,
    *,
    before: bool = True,
) -> Tally:
    """Rows of ``qs`` per bucket of ``column``'s time (and per ``group``), in ``window`` and
    (``before``) the one before, with the sum of ``summed``: two queries (see the module
    docstring)."""
    start, end = window.bounds
    lo = window.previous.bounds[0] if before else start
    found = Tally()
    # Rows are grouped by their bucket (the prefix of their time: a 30-day window's sessions
    # are then ~800 groups, not ~7,000 of an hour each), and the window's rows told from the
    # one before's by a sum, not a group.
    now = Q(**{f"{column}__gte": start})
    counted = Sum(Case(When(now, then=Value(1)), default=Value(0)))
    value = _summed_value(summed)
    rows = (
        qs.order_by()
        .filter(is_canonical(column), **{f"{column}__gte": lo, f"{column}__lte": end})
        .annotate(hour=hour_of(column), bucket=prefix_of(column, window.prefix))
        .filter(hour__gte=lo[:HOUR], hour__lte=end[:HOUR])
        .values_list("bucket", *group)
        .annotate(
            n=Count("*"),
            now=counted,
            total=Sum(value),
            now_total=Sum(Case(When(now, then=value), default=Value(0.0))),
        )
    )
    for bucket, *rest in rows:
        *values, n, n_now, total, total_now = rest
        total, total_now = finite(total), finite(total_now)
        found.add((NOW, bucket, *values), n_now or 0, total_now or 0.0)
        if n - (n_now or 0):
            found.add((BEFORE, bucket, *values), n - n_now, (total or 0.0) - (total_now or 0.0))
    add_other_times(found, qs, column, window, lo, group, summed)
    return found


def tally_span(
    found: Tally,
    qs: models.QuerySet,
    column: str,
    window: Window,
    period: str,
    span: tuple[str, str],
    group: tuple[str, ...] = (),
    summed: str | None = None,
) -> None:
    """Add to ``found`` the rows of ``qs`` whose canonical ``column`` is in ``span`` (both
    included, within ``period``), per bucket and ``group``: one query (``rollups`` reads
    the hours a window cuts so)."""
    first, last = span
    rows = (
        qs.order_by()
        .filter(is_canonical(column), **{f"{column}__gte": first, f"{column}__lte": last})
        .annotate(hour=hour_of(column))
        .filter(hour__gte=first[:HOUR], hour__lte=last[:HOUR])
        .values_list("hour", *group)
        .annotate(n=Count("*"), total=Sum(_summed_value(summed)))
    )
    for hour_key, *rest in rows:
        *values, n, total = rest
        found.add((period, hour_key[: window.prefix], *values), n, finite(total))


def add_other_times(
    found: Tally,
    qs: models.QuerySet,
    column: str,
    window: Window,
    lo: str,
    group: tuple[str, ...] = (),
    summed: str | None = None,
) -> None:
    """Add to ``found`` the rows whose ``column`` is not a canonical time, placed in Python
    from ``lo`` to the window's end; those it cannot read are undated (one query, through
    the partial index of those rows)."""
    end = window.bounds[1]
    start = window.bounds[0]
    others = (
        qs.filter(other_times(column))
        .order_by(indexed_prefix(column))  # read through the partial index of those rows
        .values_list(column, *group, *([summed] if summed else []))
    )
    for moment, *rest in others:
        key = instant_key(moment)
        if not key:
            found.undated += 1
        elif lo <= key <= end:
            period = NOW if key >= start else BEFORE
            values = rest[: len(group)]
            found.add(
                (period, key[: window.prefix], *values), 1, _number(rest[-1]) if summed else 0
            )


# Run states that have ended: the failure rate's denominator.
ENDED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.ABORTED)
FAILING_MOST = 5


class Run(NamedTuple):  # a tuple: a 30-day window makes thousands (a dataclass's are slower)
    id: str
    workflow_name: object
    status: object
    started: str  # the instant it started (canonical text)
    bucket: str
    period: str
    seconds: float | None  # from start to finish, None while unfinished or unreadable


@dataclass(frozen=True)
class FailingWorkflow:
    name: object
    failed: int
    latest_run: str
    step_name: object  # of the latest failed run's failed step (None: no step failed)
    error: str  # the step's ``error`` in its details, else its latest event's message


@dataclass(frozen=True)
class Workflows:
    runs: list[Run]
    undated: int
    failing: list[FailingWorkflow]

    def in_period(self, period: str = NOW) -> list[Run]:
        return [r for r in self.runs if r.period == period]

    def by_status(self, buckets: list[str]) -> dict[str, list[int]]:
        """The window's runs per bucket, for each status (every v1 status, then any other
        text another writer stored)."""
        statuses = list(RunStatus.values)
        statuses += sorted({str(r.status) for r in self.runs} - set(statuses))
        counts = Counter((str(r.status), r.bucket) for r in self.in_period())
        return {s: [counts[(s, b)] for b in buckets] for s in statuses}

    def failure_rate(self, period: str = NOW) -> float | None:
        """Failed runs among those that ended, started in the window (None: none ended)."""
        ended = [r for r in self.in_period(period) if r.status in ENDED]
        if not ended:
            return None
        return sum(r.status == RunStatus.FAILED for r in ended) / len(ended)

    def durations(self, period: str = NOW) -> list[float]:
        return [r.seconds for r in self.in_period(period) if r.seconds is not None]


def workflows(window: Window) -> Workflows:
    """The runs started in the window and the one before (each read once: their count, status
    and duration come from the same rows), and the workflows failing most in the window.

    Durations need both times of each run, read as ``timeutil`` reads them, so runs are
    read as rows (a few columns each) rather than aggregated in SQL."""
    start, end = window.bounds
    lo, _ = window.previous.bounds
    columns = ("id", "workflow_name", "status", "started_at", "finished_at")
    canonical = (
        WorkflowRun.objects.order_by()
        .filter(is_canonical("started_at"), started_at__gte=lo, started_at__lte=end)
        .values_list(*columns)
    )
    others = (
        WorkflowRun.objects.filter(other_times("started_at"))
        .order_by(indexed_prefix("started_at"))
        .values_list(*columns)
    )
    runs, undated, prefix = [], 0, window.prefix
    for pk, name, status, started, finished in [*canonical, *others]:
        key = instant_key(started)
        if not key:
            undated += 1
            continue
        if not lo <= key <= end:
            continue
        seconds = timeutil.seconds_between(started, finished) if finished else None
        period = NOW if key >= start else BEFORE
        runs.append(Run(pk, name, status, key, key[:prefix], period, seconds))
    return Workflows(runs, undated, _failing_most(r for r in runs if r.period == NOW))


def _failing_most(runs: Iterable[Run]) -> list[FailingWorkflow]:
    """The workflows with the most failed runs in the window, each with the failed step of
    its latest failed run and why it failed: two queries, whatever the window holds."""
    failed: dict[object, list[Run]] = defaultdict(list)
    for run in runs:
        if run.status == RunStatus.FAILED:
            failed[run.workflow_name].append(run)
    top = sorted(failed.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[:FAILING_MOST]
    # The latest failed run: the latest start, then the highest id.
    latest = {name: max(rs, key=lambda r: (r.started, str(r.id))) for name, rs in top}
    steps = _failed_steps([r.id for r in latest.values()])
    return [
        FailingWorkflow(name, len(rs), latest[name].id, *steps.get(latest[name].id, (None, "")))
        for name, rs in top
    ]


def _failed_steps(run_ids: list[str]) -> dict[str, tuple[object, str]]:
    """For each run, its last failed step's name and error: the step's ``error`` in its
    details, else the message of its latest event."""
    steps = list(
        WorkflowStep.objects.filter(workflow_run__in=run_ids, status=StepStatus.FAILED)
        .order_by("workflow_run_id", "step_index")
        .values_list("id", "workflow_run_id", "step_name", json_text_at("details_json", "error"))
    )
    last = {run: (step, name, error) for step, run, name, error in steps}
    messages = {}
    for step, message in (
        TaskEvent.objects.filter(step__in=[s for s, _, _ in last.values()])
        .in_time_order()
        .values_list("step_id", "message")
    ):
        messages[step] = message  # the latest wins
    return {
        run: (name, str(error or messages.get(step) or ""))
        for run, (step, name, error) in last.items()
    }
