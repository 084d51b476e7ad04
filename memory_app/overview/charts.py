"""The overview's charts, drawn on the server as SVG
(``templates/memory_app/overview/_chart.html``).

Why not a chart library: there is no client package to pin, build or audit, and nothing
needs JavaScript, so the charts work under the strict CSP (no inline script or style:
geometry goes in SVG attributes, looks in CSS classes), print, and read the same in every
browser. Each chart is an ``<svg role="img">`` named by its caption and described by a
sentence with its numbers; beside it a table holds every number with links to the lists
behind them, so a chart never needs to be seen. Series differ by fill pattern and by their
legend's words, never by colour alone.

This module only computes geometry (in the units of a fixed ``viewBox``, which the page
scales to its width); the template draws it and escapes every text (the parts repeated per
bar and bucket through the ``chart_parts`` tag, which escapes as the template does).
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 180  # the viewBox; the page scales it to 100% of its box
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT = 12, 150, 44  # the plot area inside it
# The fills series take, in turn: a pattern each (CSS gives them their tone).
PATTERNS = ("solid", "hatch", "dots", "cross", "vertical", "outline")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    title: str  # the bar's tooltip: bucket, series and value in words


@dataclass(frozen=True)
class Series:
    name: str
    pattern: str
    values: list[float]
    links: list[str]  # per bucket: the list behind that number ("" where none)
    link: str  # the list behind the whole series

    @property
    def total(self) -> str:
        return number(sum(self.values))


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimeChart:
    """Bars over time, stacked by series."""

    id: str  # unique on the page: the SVG's ids derive from it
    title: str
    summary: str  # the numbers in a sentence (the SVG's description)
    buckets: list[str]
    labels: list[str]  # each bucket as the table shows it
    series: list[Series]
    bars: list[tuple[Series, list[Bar]]]
    ticks: list[Tick]
    top: str  # the value at the top of the plot, as written
    width: int = WIDTH
    height: int = HEIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM
    plot_left: int = PLOT_LEFT

    @property
    def rows(self) -> list[tuple[str, list[tuple[str, str, str]], str]]:
        """The table: per bucket its label, each series' (name, value, link) and the total
        (values as the page writes them)."""
        return [
            (
                label,
                [
                    (s.name, number(s.values[i]), s.links[i] if s.values[i] else "")
                    for s in self.series
                ],
                number(sum(s.values[i] for s in self.series)),
            )
            for i, label in enumerate(self.labels)
        ]

    @property
    def stacked(self) -> bool:
        return len(self.series) > 1


def _nice_top(peak: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``peak`` (1 for nothing)."""
    if peak <= 0:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= peak:
                return step * scale
        scale *= 10


def number(value: float) -> str:
    """A count as the charts and tables say it: whole, with thousands separated."""
    return f"{round(value):,}"


def time_chart(
    chart_id: str,
    title: str,
    summary: str,
    buckets: list[str],
    labels: list[str],
    series: list[tuple[str, list[float], list[str], str]],
) -> TimeChart:
    """Stacked bars, one per bucket; ``series`` holds (name, values per bucket, links per
    bucket, link of the whole series), in stacking order from the bottom."""
    made = [
        Series(name, PATTERNS[n % len(PATTERNS)], list(values), list(links), link)
        for n, (name, values, links, link) in enumerate(series)
    ]
    stacks = [sum(s.values[i] for s in made) for i in range(len(buckets))]
    top = _nice_top(max(stacks, default=0))
    plot_width = WIDTH - PLOT_LEFT - 4
    slot = plot_width / max(len(buckets), 1)
    gap = min(2.0, slot / 4)
    scale = (PLOT_BOTTOM - PLOT_TOP) / top
    base = [0.0] * len(buckets)
    bars = []
    for s in made:
        drawn = []
        for i, value in enumerate(s.values):
            if value <= 0:
                continue
            height = value * scale
            y = PLOT_BOTTOM - base[i] * scale - height
            x = PLOT_LEFT + i * slot + gap / 2
            drawn.append(
                Bar(
                    round(x, 2),
                    round(y, 2),
                    round(slot - gap, 2),
                    round(height, 2),
                    value,
                    f"{labels[i]}: {number(value)} {s.name}",
                )
            )
            base[i] += value
        bars.append((s, drawn))
    return TimeChart(
        id=chart_id,
        title=title,
        summary=summary,
        buckets=buckets,
        labels=labels,
        series=made,
        bars=bars,
        ticks=_ticks(labels, slot),
        top=number(top),
    )


def _ticks(labels: list[str], slot: float) -> list[Tick]:
    """At most seven labels under the bars, the first and the last among them."""
    if not labels:
        return []
    every = max(1, -(-len(labels) // 6))
    chosen = sorted({*range(0, len(labels), every), len(labels) - 1})
    if len(chosen) > 1 and chosen[-1] - chosen[-2] < every / 2:
        chosen.pop(-2)  # the last label would crowd the one before it
    return [Tick(round(PLOT_LEFT + (i + 0.5) * slot, 2), labels[i]) for i in chosen]


@dataclass(frozen=True)
class Ranked:
    """A ranked list: a row per item with its value, a bar (drawn in a row's own small SVG,
    hidden from assistive technology, since the value is written beside it) and a link."""

    id: str
    title: str
    rows: list[tuple[str, float, float, str]]  # label, value, bar length (0-100), link


def ranked(chart_id: str, title: str, items: list[tuple[str, float, str]]) -> Ranked:
    peak = max((value for _, value, _ in items), default=0) or 1
    return Ranked(
        chart_id,
        title,
        [(label, value, round(100 * value / peak, 1), link) for label, value, link in items],
    )
