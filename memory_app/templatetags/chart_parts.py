"""The parts of an overview chart (``templates/memory_app/overview/_chart.html``) that repeat
once per bar or bucket: its bars and its table's rows.

Written here, every value escaped as the template escapes it (``html.escape``, which Django's
``escape`` is), because a chart is a few hundred of them: as template nodes, the overview's
charts were ~14,000 variables and filters to resolve, 10-15 ms of a story computed afresh on
the million-turn file. The rest of the chart stays in the template.
"""

from html import escape

from django import template
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from memory_app.overview.charts import TimeChart

register = template.Library()


def _e(value: object) -> str:
    return escape(str(value))


@register.simple_tag
def chart_bars(chart: TimeChart) -> SafeString:
    """Each series' bars, a group of them per series (CSS gives each its tone), each bar
    filled with its series' pattern and titled with its bucket, value and series."""
    groups = []
    for n, (s, bars) in enumerate(chart.bars):
        kind, fill = _e(s.pattern), f"url(#{_e(chart.id)}-{_e(s.pattern)})"
        drawn = "".join(
            f'\n      <rect class="bar bar-{kind}" x="{_e(b.x)}" y="{_e(b.y)}" '
            f'width="{_e(b.width)}" height="{_e(b.height)}" fill="{fill}">'
            f"<title>{_e(b.title)}</title></rect>"
            for b in bars
        )
        groups.append(f'<g class="series series-{n}">{drawn}\n    </g>')
    return SafeString("".join(groups))


@register.simple_tag
def chart_rows(chart: TimeChart, unit: str) -> SafeString:
    """The table's rows: per bucket its label, each series' value (linked to the list behind
    it where there is one) and, for stacked series, their total."""
    bucket = _e(f"{capfirst(unit)} (UTC)")
    names = {s.name: _e(capfirst(s.name)) for s in chart.series}
    rows = []
    for label, cells, total in chart.rows:
        values = "".join(
            f'<td data-label="{names[name]}">'
            + (f'<a href="{_e(link)}">{_e(value)}</a>' if link else _e(value))
            + "</td>"
            for name, value, link in cells
        )
        all_ = f'<td data-label="All">{_e(total)}</td>' if chart.stacked else ""
        rows.append(f'<tr><td data-label="{bucket}">{_e(label)}</td>{values}{all_}</tr>\n        ')
    return SafeString("".join(rows))
