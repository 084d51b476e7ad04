"""Template helpers for data other writers made: every value is escaped, nothing raises."""

import functools
import re
import unicodedata

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from memory_app.base_models import Level
from memory_app.jsontext import ParsedJSON, parse_json_text
from memory_app.promotion import decision_time
from memory_app.runtime.models import SNIPPET_MARKS, Role
from memory_app.time_element import time_element
from memory_app.timeutil import format_iso, instant_key, now, seconds_between

register = template.Library()


@register.simple_tag
def ts(value: object, planned: bool = False) -> SafeString:
    """A time as every page shows it (``time_element``); ``planned=True`` for a schedule."""
    return time_element(value, planned=planned)


@register.simple_tag
def dated(row: object, value: object = None) -> SafeString:
    """A governed row's time: the time it claims, and beside it the time it counts at when
    the decision log held it elsewhere (``decision_time``): "dated 2036-01-01 ..., recorded
    2026-12-06 ..." ("not recorded yet, counts as of <now>" before the log takes it in).
    Another row (a skill, a proposal, an event) shows ``value``."""
    column = getattr(row, decision_time.CLAIMED, None)
    if column is None:
        return ts(value)
    claimed = getattr(row, column)
    if not decision_time.differs(row):
        return ts(claimed)
    counted, key = getattr(row, decision_time.COUNTED), instant_key(claimed)
    if (not key or counted < key) and getattr(row, decision_time.POSITION, None) is None:
        # Not taken in yet: it counts as of the moment of reading, which is no record.
        why = "the decision log has not recorded it yet: it counts as of now"
        word = "not recorded yet, counts as of"
    elif not key or counted < key:
        why, word = "counted from when the decision log recorded it", "recorded"
    else:
        why = "the decision log had recorded this proposal without it by then"
        word = "counted from"
    return format_html(
        '<span class="ts-moved" title="{}">dated {}, {} {}</span>', why, ts(claimed), word,
        ts(counted),
    )  # fmt: skip


@register.simple_tag(takes_context=True)
def nav_link(context, view_name: str, label: str) -> SafeString:
    """A navigation link, marked as the current section when the page lies under it."""
    url = reverse(view_name)
    path = context["request"].path
    current = path == url if url == "/" else path.startswith(url)
    if current:
        return format_html('<a href="{}" aria-current="page">{}</a>', url, label)
    return format_html('<a href="{}">{}</a>', url, label)


@register.filter
def related(row: object, field: str) -> object:
    """The row a link points at, or None when another writer left the link dangling."""
    try:
        return getattr(row, field)
    except ObjectDoesNotExist:
        return None


@register.filter
def starts_with_word(text: object, word: object) -> bool:
    """Whether ``text`` begins with ``word`` as a whole word, in any case: an event whose
    message starts with its type shows the type once ("policy guard stopped the step",
    not "policy policy guard stopped the step")."""
    if not isinstance(text, str) or not isinstance(word, str) or not word.strip():
        return False
    head = text.strip().split(maxsplit=1)[:1]
    return bool(head) and head[0].rstrip(":,.").casefold() == word.strip().casefold()


@register.filter
def number(value: object) -> object:
    """A number column's value; anything else another writer stored there is marked."""
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return "—" if value is None else value
    return format_html('<span class="ts-raw" title="not a number">{}</span>', value)


@register.filter
def parsed_json(value: object) -> ParsedJSON:
    return parse_json_text(value)


@register.filter
def role_class(value: object) -> str:
    """A CSS class for a turn role; roles outside v1 share one style."""
    return f"role-{value}" if value in Role.values else "role-other"


@register.filter
def level_class(value: object) -> str:
    return f"level-{value}" if value in Level.values else "level-other"


_TOKEN = re.compile(r"^[a-z_]{1,24}$")


@register.filter
def status_class(value: object) -> str:
    """A CSS class for a status another writer may have spelled any way."""
    return f"status-{value}" if isinstance(value, str) and _TOKEN.match(value) else "status-other"


@register.filter
def duration(start: object, end: object) -> str:
    """``1h 02m``, ``3m 05s`` or ``4.2s``; ``—`` when unknown."""
    seconds = seconds_between(start, end)
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.simple_tag
def elapsed(status: object, start: object) -> str:
    """How long a queued or running run has been so, since it started: "running for 3m 05s"
    (to ``timeutil.now``, the one clock)."""
    return f"{status} for {duration(start, format_iso(now()))}"


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """A character without its accents, case-folded (one character may give several)."""
    return "".join(
        c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)
    ).casefold()


def _folded(text: str) -> tuple[str, list[int]]:
    """Text without accents, case-folded, and for each folded character its original index."""
    if text.isascii():  # most excerpts: folding is lower-casing, one character for one
        return text.lower(), list(range(len(text)))
    folded, origin = [], []
    for index, char in enumerate(text):
        for piece in _fold_char(char):
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def _marked(window: str, needle: str) -> list[tuple[int, int]]:
    """Where ``needle`` occurs in ``window``, ignoring case and accents."""
    folded_window, origin = _folded(window)
    folded_needle, _ = _folded(needle)
    spans, at = [], 0
    while folded_needle and (at := folded_window.find(folded_needle, at)) >= 0:
        end = at + len(folded_needle)
        spans.append((origin[at], origin[end - 1] + 1))
        at = end
    return spans


def _highlighted(window: str, spans: list[tuple[int, int]]) -> SafeString:
    pieces, last = [], 0
    for begin, end in spans:
        if begin < last:
            continue
        pieces.append(format_html("{}<mark>{}</mark>", window[last:begin], window[begin:end]))
        last = end
    pieces.append(format_html("{}", window[last:]))
    return SafeString("".join(pieces))


@register.simple_tag
def search_snippet(turn, needle: str) -> SafeString:
    """A turn's excerpt (``Turn.objects.with_snippet``), escaped, matches in <mark>.

    The excerpt cut around the first plain match when the text is in it (ignoring case
    and accents); otherwise the word index's excerpt around a folded match.
    """
    window = "" if turn.snippet is None else str(turn.snippet)
    spans = _marked(window, needle)
    word_snippet = getattr(turn, "word_snippet", None)
    if not spans and isinstance(word_snippet, str):
        opening, closing = SNIPPET_MARKS
        parts = re.split(f"({re.escape(opening)}.*?{re.escape(closing)})", word_snippet)
        return SafeString(
            "".join(
                format_html("<mark>{}</mark>", p[1:-1])
                if p.startswith(opening)
                else format_html("{}", p)
                for p in parts
            )
        )
    start = turn.snippet_start if isinstance(turn.snippet_start, int) else 1
    prefix = "…" if start > 1 else ""
    suffix = "…" if start - 1 + len(window) < (turn.content_length or 0) else ""
    return format_html("{}{}{}", prefix, _highlighted(window, spans), suffix)


def _looks_like_diff(text: str) -> bool:
    return ("--- " in text and "+++ " in text) or text.startswith("@@ ") or "\n@@ " in text


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "ctx")


@register.filter
def unified_diffs(raw: object) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every string in a JSON document that is a unified diff, as (path, [(class, line)])."""
    parsed = parse_json_text(raw)
    if not parsed.valid:
        return []
    found, stack = [], [("", parsed.value)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and _looks_like_diff(value):
            found.append((path or "(document)", [(_diff_class(x), x) for x in value.splitlines()]))
        elif isinstance(value, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
    return sorted(found)
