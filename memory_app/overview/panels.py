"""The overview's panels: the window's numbers (``story``, ``governance_story``) as charts,
tables, trends and links to the lists behind them.

The lists filter by start time (sessions, workflow runs: ``started_from``/``started_to``,
both included), so their links carry the bucket's or window's bounds. The proposal queue
has no time filter: its links choose what it can (a status, a risk level), and the page
says they are not limited to the window.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse

from memory_app.base_models import Level
from memory_app.overview import charts
from memory_app.overview.governance_story import Governance
from memory_app.overview.rollups import Conversations
from memory_app.overview.story import BEFORE, NOW, Tally, Workflows, percentile
from memory_app.overview.window import HOUR, PRESET_LABELS, Window, bucket_bounds
from memory_app.promotion.models import ProposalStatus
from memory_app.runtime.models import RunStatus


@dataclass(frozen=True)
class Figure:
    """A headline number of the window and how it moved against the window before."""

    label: str
    value: str
    trend: str


def trend(now: float, before: float, window: Window) -> str:
    """How ``now`` compares with ``before`` (the window just before, of the same length), in
    words that do not need colour: "up 25% on the 24 hours before (8)"."""
    span = f"the {PRESET_LABELS[window.preset]} before" if window.preset else "the window before"
    if now == before:
        return f"the same as {span}"
    if not before:
        return f"none in {span}"
    change = round(100 * (now - before) / before)
    way = "up" if now > before else "down"
    return f"{way} {abs(change)}% on {span} ({charts.number(before)})"


def counted(n: float, things: str) -> str:
    """ "1 session", "2 sessions": a count and its plural noun, as the sentences say them."""
    return f"{charts.number(n)} {things[:-1] if round(n) == 1 else things}"


def bucket_label(key: str) -> str:
    """A bucket as the charts and tables name it, in UTC: "2026-12-06" or "12-06 09:00"."""
    if len(key) == HOUR:
        return f"{key[5:10]} {key[11:13]}:00"
    return key


def _link(name: str, **params: object) -> str:
    chosen = {k: v for k, v in params.items() if v not in (None, "")}
    return _path(name, get_script_prefix()) + ("?" + urlencode(chosen) if chosen else "")


@functools.cache
def _path(name: str, script_prefix: str) -> str:
    """A list's path, reversed once per prefix the site is served under: the panels link
    each bucket and group (~180 links a 30-day window, ~4 ms reversed one by one)."""
    return reverse(f"memory_app:{name}")


def _started(window: Window) -> dict[str, str]:
    start, end = window.bounds
    return {"started_from": start, "started_to": end}


def _bucket_started(key: str) -> dict[str, str]:
    start, end = bucket_bounds(key)
    return {"started_from": start, "started_to": end}


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} min"
    return f"{value:,.1f} h"


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:,.0f} s"
    return f"{value / 60:,.1f} min"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def conversation_panel(window: Window, found: Conversations) -> dict:
    buckets = window.buckets()
    labels = [bucket_label(b) for b in buckets]
    per_bucket = [_link("sessions", **_bucket_started(b)) for b in buckets]
    whole = _link("sessions", **_started(window))
    sessions, turns = found.sessions, found.turns
    figures = [
        Figure("sessions started", charts.number(sessions.total()),
               trend(sessions.total(), sessions.total(BEFORE), window)),
        Figure("turns", charts.number(turns.total()),
               trend(turns.total(), turns.total(BEFORE), window)),
        Figure("tokens", charts.number(turns.total(which=1)),
               trend(turns.total(which=1), turns.total(BEFORE, 1), window)),
    ]  # fmt: skip

    def over_time(chart_id: str, title: str, tally: Tally, what: str, which: int = 0):
        values = tally.series(buckets, which)
        summary = (
            f"{counted(sum(values), what)} in {window.label}, "
            f"{trend(sum(values), tally.total(BEFORE, which), window)}; "
            f"the most in one {window.unit}: {charts.number(max(values, default=0))}."
        )
        return charts.time_chart(
            chart_id, title, summary, buckets, labels, [(what, values, per_bucket, whole)]
        )

    def by(position: int, field: str) -> list[tuple[str, float, float, float, str]]:
        """Per actor (or channel): sessions, turns, tokens, and the sessions list's link."""
        rows = {}
        for value, n in sessions.by_group(position):
            rows.setdefault(value, [0, 0, 0])[0] = n
        for value, n in found.turns_by.by_group(position):
            rows.setdefault(value, [0, 0, 0])[1] = n
        for value, n in found.turns_by.by_group(position, 1):
            rows.setdefault(value, [0, 0, 0])[2] = n
        ordered = sorted(rows.items(), key=lambda kv: (-kv[1][1], -kv[1][0], str(kv[0])))
        peak = max((r[1] for _, r in ordered), default=0) or 1
        return [
            (
                "—" if value is None else str(value),
                *counts,
                round(100 * counts[1] / peak, 1),
                "" if value is None else _link("sessions", **{field: value}, **_started(window)),
            )
            for value, counts in ordered
        ]

    return {
        "figures": figures,
        "charts": [
            over_time("sessions-chart", "Sessions started", sessions, "sessions"),
            over_time("turns-chart", "Turns", turns, "turns"),
            over_time("tokens-chart", "Tokens", turns, "tokens", which=1),
        ],
        "by_actor": by(0, "actor"),
        "by_channel": by(1, "channel"),
        "undated": sessions.undated + turns.undated,
        "sessions_undated": sessions.undated,
        "turns_undated": turns.undated,
        "list_link": whole,
    }


def workflow_panel(window: Window, found: Workflows) -> dict:
    buckets = window.buckets()
    labels = [bucket_label(b) for b in buckets]
    by_status = {s: v for s, v in found.by_status(buckets).items() if any(v)}
    series = [
        (
            status,
            values,
            [
                _link("workflows", status=status, **_bucket_started(b)) if v else ""
                for b, v in zip(buckets, values, strict=True)
            ],
            _link("workflows", status=status, **_started(window)),
        )
        for status, values in by_status.items()
    ]
    total, before = len(found.in_period(NOW)), len(found.in_period(BEFORE))
    rate, rate_before = found.failure_rate(NOW), found.failure_rate(BEFORE)
    durations, durations_before = found.durations(NOW), found.durations(BEFORE)
    summary = (
        f"{counted(total, 'runs')} started in {window.label}, {trend(total, before, window)}"
        + "".join(f"; {charts.number(sum(v))} {s}" for s, v in by_status.items())
        + "."
    )
    failing = [
        (
            w,
            _link("workflows", workflow_name=w.name, status=RunStatus.FAILED, **_started(window)),
            reverse("memory_app:workflow", args=[w.latest_run]) if w.latest_run else "",
        )
        for w in found.failing
    ]
    return {
        "figures": [
            Figure("runs started", charts.number(total), trend(total, before, window)),
            Figure(
                "failure rate (of runs that ended)",
                _rate(rate),
                f"{_rate(rate_before)} in the window before",
            ),
            Figure(
                "run time p50 / p95",
                f"{_seconds(percentile(durations, 50))} / {_seconds(percentile(durations, 95))}",
                f"{_seconds(percentile(durations_before, 50))} / "
                f"{_seconds(percentile(durations_before, 95))} in the window before",
            ),
        ],
        "chart": charts.time_chart(
            "runs-chart", "Workflow runs by status", summary, buckets, labels, series
        ),
        "failing": failing,
        "undated": found.undated,
        "list_link": _link("workflows", **_started(window)),
    }


def governance_panel(window: Window, found: Governance) -> dict:
    buckets = window.buckets()
    labels = [bucket_label(b) for b in buckets]
    opened = found.opened.series(buckets)
    any_status = _link("proposals", status="")
    opened_total, opened_before = found.opened.total(), found.opened.total(BEFORE)
    decided_total, decided_before = found.decided_total(NOW), found.decided_total(BEFORE)
    statuses = (ProposalStatus.REJECTED, ProposalStatus.PROMOTED)
    decided_series = [
        (
            status,
            [
                sum(d.bucket == b and d.status == status for d in found.decided if d.period == NOW)
                for b in buckets
            ],
            [_link("proposals", status=status)] * len(buckets),
            _link("proposals", status=status),
        )
        for status in statuses
    ]
    waiting = found.waiting_series(buckets, window)
    latency, latency_before = found.latencies(NOW), found.latencies(BEFORE)
    risk_counts = dict(found.waiting_by_risk)
    levels = list(reversed(Level.values)) + sorted(
        {str(r) for r in risk_counts} - set(Level.values)
    )
    risk_counts = {str(k): v for k, v in risk_counts.items()}
    queue = _link("proposals")
    return {
        "figures": [
            Figure(
                "proposals opened",
                charts.number(opened_total),
                trend(opened_total, opened_before, window),
            ),
            Figure(
                "decided (rejected or promoted)",
                charts.number(decided_total),
                trend(decided_total, decided_before, window),
            ),
            Figure("waiting for a decision now", charts.number(found.waiting_now), ""),
            Figure(
                "decision time p50 / p95 (drafted to decided)",
                f"{_hours(percentile(latency, 50))} / {_hours(percentile(latency, 95))}",
                f"{_hours(percentile(latency_before, 50))} / "
                f"{_hours(percentile(latency_before, 95))} in the window before",
            ),
        ],
        "charts": [
            charts.time_chart(
                "opened-chart",
                "Proposals opened",
                f"{counted(opened_total, 'proposals')} opened in {window.label}, "
                f"{trend(opened_total, opened_before, window)}.",
                buckets,
                labels,
                [("opened", opened, [any_status] * len(buckets), any_status)],
            ),
            charts.time_chart(
                "decided-chart",
                "Proposals decided",
                f"{counted(decided_total, 'proposals')} decided in {window.label}, "
                f"{trend(decided_total, decided_before, window)}"
                + "".join(f"; {charts.number(sum(v))} {s}" for s, v, _, _ in decided_series)
                + ".",
                buckets,
                labels,
                decided_series,
            ),
            *(
                [
                    charts.time_chart(
                        "waiting-chart",
                        "Proposals waiting for a decision",
                        f"{charts.number(found.waiting_now)} waiting now; the most at the "
                        f"end of one {window.unit}: {charts.number(max(waiting, default=0))}.",
                        buckets,
                        labels,
                        [("waiting", waiting, [queue] * len(buckets), queue)],
                    )
                ]
                if waiting is not None
                else []
            ),
        ],
        "by_risk": charts.ranked(
            "risk-chart",
            "Waiting by risk",
            [
                (level, risk_counts.get(level, 0), _link("proposals", risk_level=level))
                for level in levels
            ],
        ),
        "by_missing": charts.ranked(
            "missing-chart",
            "Waiting by missing approval type",
            [(kind, n, queue) for kind, n in found.missing],
        ),
        "undated": found.opened.undated,
        "list_link": queue,
    }
