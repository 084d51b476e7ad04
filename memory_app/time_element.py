"""A time as the pages and the admin show it: a ``<time>`` element (the viewer's zone, set
by app.js, with UTC on hover), or an odd value as written. The template tag ``ts`` and
the admin both show times through it."""

from django.utils.html import format_html
from django.utils.safestring import SafeString

from memory_app.timeutil import format_iso, parse_iso


def time_element(value: object) -> SafeString:
    """A time in the viewer's zone (set by app.js) with UTC on hover; odd values as written."""
    moment = parse_iso(value)
    if moment is None:
        shown = "—" if value in (None, "") else str(value)
        return format_html('<span class="ts-raw" title="not an ISO-8601 time">{}</span>', shown)
    utc = moment.strftime("%Y-%m-%d %H:%M:%S")
    return format_html(
        '<time datetime="{}" title="{} UTC">{} UTC</time>', format_iso(moment), utc, utc
    )
