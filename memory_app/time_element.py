"""A time as the pages and the admin show it: a ``<time>`` element (the viewer's zone, set
by app.js, with UTC on hover), or an odd value as written. The template tag ``ts`` and
the admin both show times through it."""

from datetime import timedelta

from django.utils.html import format_html
from django.utils.safestring import SafeString

from memory_app.timeutil import format_iso, now, parse_iso

# A time later than now by more than this is marked "in the future" wherever it shows:
# another writer's clock (or a demo) dated it ahead, and it is no fact yet. A little
# clock skew between writers is not worth a mark.
FUTURE_TOLERANCE = timedelta(minutes=1)


def time_element(value: object, *, planned: bool = False) -> SafeString:
    """A time in the viewer's zone (set by app.js) with UTC on hover; odd values as written;
    a time ahead of now marked so in words, not colour alone, unless it is ``planned``: a
    profile window's start or end is a schedule, which may well lie ahead."""
    moment = parse_iso(value)
    if moment is None:
        shown = "—" if value in (None, "") else str(value)
        return format_html('<span class="ts-raw" title="not an ISO-8601 time">{}</span>', shown)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S")
    element = format_html(
        '<time datetime="{}" title="{} UTC">{} UTC</time>', format_iso(moment), utc, utc
    )
    if not planned and moment - now() > FUTURE_TOLERANCE:
        return format_html(
            '<span class="ts-future" title="dated later than now">{}'
            ' <span class="badge future">in the future</span></span>',
            element,
        )
    return element
