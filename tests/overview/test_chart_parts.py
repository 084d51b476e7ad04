"""The bars and table rows of an overview chart, written in Python (``chart_parts``): every
value escaped as the template escapes it, whatever another writer stored."""

from django.template.loader import render_to_string
from django.utils.html import escape

from memory_app.overview import charts

HOSTILE = """<img src=x onerror="alert('x')">&amp;"""


def test_every_value_of_the_bars_and_rows_is_escaped():
    chart = charts.time_chart(
        "runs-chart", "Workflow runs by status", "a summary", ["2026-12-06T08", "2026-12-06T09"],
        [HOSTILE, "12-06 09:00"],
        [(HOSTILE, [2, 0], ["/workflows/?status=" + HOSTILE, ""], "/workflows/"),
         ("failed", [1, 3], ["/workflows/?a=1&b=2", "/x"], "/workflows/")],
    )  # fmt: skip
    html = render_to_string("memory_app/overview/_chart.html", {"chart": chart, "unit": "hour"})
    assert HOSTILE not in html
    assert "<img" not in html
    assert '<a href="/workflows/?a=1&amp;b=2">1</a>' in html
    assert f'<td data-label="{escape(HOSTILE)}"><a href="/workflows/?status=' in html
    assert html.count('<rect class="bar bar-') == 3 + 2  # three bars, two legend swatches
    assert '<td data-label="Hour (UTC)">12-06 09:00</td>' in html
    assert '<td data-label="All">3</td>' in html  # stacked: each bucket's total
