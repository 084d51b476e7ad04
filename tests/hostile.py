"""Hypothesis strategies for what any other writer may store, and the URLs of every page.

Used by the property-based tests: rows go in through raw SQL (as another process would
write them, foreign keys deferred so dangling links are possible too), then every page,
fragment and export is requested.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.db import connection
from django.urls import NoReverseMatch, reverse
from hypothesis import strategies as st

from memory_app.models import (
    V1_MODELS,
    BehaviorProfile,
    PersonalityProfile,
    Proposal,
    Session,
    WorkflowRun,
)

# Markup that must never reach a page unescaped; its tag name is checked in the HTML.
MARKER = "tom-evil"
MARKUP = [
    f"<{MARKER}>x</{MARKER}>",
    f'"><{MARKER} onmouseover=alert(1)>',
    f"<script>alert(1)</script><{MARKER}/>",
]

CONTROL = "".join(chr(c) for c in [0, 1, 7, 8, 9, 10, 11, 12, 13, 27, 127, 0x85, 0x2028, 0x202E])

hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=CONTROL + "abc/.%~?#", max_size=12),
    st.sampled_from(MARKUP),
    st.sampled_from(["", " ", "..", "../x", "~x", "/", "a/b/", "x/approvals", "x/publish", "%00"]),
    st.builds(lambda s: s * 20_000, st.sampled_from(["long text ", "é", f"<{MARKER}>"])),
)

extreme_times = st.sampled_from(
    [
        "0001-01-01T00:00:00+05:00",  # overflows below year 1 once the offset is applied
        "9999-12-31T23:59:59-05:00",  # overflows above year 9999
        "0001-01-01T00:00:00Z",
        "0999-03-04T05:06:07.089Z",
        "9999-12-31T23:59:59.999Z",
        "2026-02-30T10:00:00Z",
        "2026-11-24 10:00",
        "2026-11-24T10:00:00.123456789+14:00",
        "20261124T100000Z",
        "2026-W48-2",
        "now",  # SQLite's date functions read it, in any case, as the current moment
        "NOW",
        "2461000.5",
        "yesterday",
        "",
        "2026-11-24T10:00:00.000Z" + "\x00",
    ]
)
times = st.one_of(
    extreme_times,
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.text(alphabet="0123456789-:TZ+. ", max_size=30),
)


def _deep(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


json_texts = st.one_of(
    st.sampled_from(["{}", "[]", "null", "1", '"s"', "{", '{"a": NaN}', "{'a': 1}"]),
    st.integers(min_value=1, max_value=30_000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=900, max_value=5_000).map(_deep),
    st.recursive(
        st.none() | st.booleans() | st.integers() | hostile_text,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3)
        ),
        max_leaves=8,
    ).map(json.dumps),
    st.just('{"diff": "--- a\\n+++ b\\n@@ -1 +1 @@\\n-x\\n+<' + MARKER + '>"}'),
)

numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63, max_value=10**40).map(str),  # beyond 64 bits: stored as REAL
    st.floats(allow_nan=False),  # infinities included; SQLite stores NaN as NULL
    st.sampled_from(["abc", "1e999", "-0", "0x10", " 7 "]),
)

any_value = st.one_of(hostile_text, times, json_texts, numbers, st.binary(max_size=16))


def _value_for(column) -> st.SearchStrategy:
    """A strategy for one column: mostly the kind of value it holds, sometimes anything."""
    name = column.column
    if name.endswith("_json"):
        usual = json_texts
    elif name.endswith(("_at", "_from", "_to")):
        usual = times
    elif column.db_type(connection) in ("INTEGER", "REAL"):
        usual = numbers
    else:
        usual = hostile_text
    strategy = st.one_of(usual, usual, any_value)
    return st.one_of(st.none(), strategy) if column.null else strategy


@st.composite
def hostile_rows(draw) -> dict[type, dict[str, object]]:
    """One row for every v1 table, every column drawn; links mostly point at the parent."""
    rows: dict[type, dict[str, object]] = {}
    for model in V1_MODELS:
        row = {}
        for f in model._meta.local_fields:
            if f.is_relation:
                parent = rows.get(f.related_model)
                linkable = parent and (parent["id"] is not None or f.null)
                choices = [st.just(parent["id"])] if linkable else []
                choices.append(hostile_text)
                if f.null:
                    choices.append(st.none())
                row[f.column] = draw(st.one_of(*choices))
            elif f.primary_key:
                row[f.column] = draw(st.one_of(hostile_text.filter(bool), st.none()))
            else:
                row[f.column] = draw(_value_for(f))
        indexed = _indexed_columns(model)
        rows[model] = {
            f.column: _storable(f, row[f.column], f.column in indexed)
            for f in model._meta.local_fields
        }
    return rows


def rows_with_every_time(value: str) -> dict[type, dict[str, object]]:
    """One plain, linked row for every v1 table with ``value`` in every time column: rows
    the property tries on every run (a time of 'now' made SQLite refuse a row, found only
    when Hypothesis happened to draw it)."""
    rows: dict[type, dict[str, object]] = {}
    for model in V1_MODELS:
        rows[model] = {}
        for f in model._meta.local_fields:
            if f.primary_key or f.is_relation:
                plain = "every-time"
            elif f.column.endswith(("_at", "_from", "_to")):
                plain = value
            else:
                kind = f.get_internal_type()
                plain = {"IntegerField": 1, "FloatField": 0.5}.get(kind, "{}")
            rows[model][f.column] = plain
    return rows


def _indexed_columns(model) -> set[str]:
    fields = {f for index in model._meta.indexes for f in index.fields}
    fields |= {f for c in model._meta.constraints for f in getattr(c, "fields", ())}
    columns = {model._meta.get_field(name).column for name in fields}
    return columns | {f.column for f in model._meta.local_fields if f.primary_key or f.is_relation}


def _storable(column, value, indexed: bool):
    """The value as this engine can keep it. SQLite keeps any value in any column;
    PostgreSQL keeps a column's own type only (no NUL in text, no NULL key, at most about
    2,700 bytes in an indexed column), so there the worst values of that type stand in:
    any text, 64-bit extremes, infinities, NaN."""
    if connection.vendor != "postgresql":
        return value
    kind = column.db_type(connection)
    if value is None:
        return "no-id" if column.primary_key else None
    if kind == "BIGINT":
        fits = isinstance(value, int) and -(2**63) <= value < 2**63
        return value if fits else (2**63 - 1 if isinstance(value, str) else -(2**63))
    if kind == "DOUBLE PRECISION":
        if isinstance(value, (int, float)):
            return float(value)
        return {"abc": float("nan"), "1e999": float("inf")}.get(value, -float("inf"))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    text = str(value).replace("\x00", "")[: 600 if indexed else None]
    return text or ("no-id" if column.primary_key else "")


def insert_raw(rows: dict[type, dict[str, object]]) -> None:
    """Write the rows as another process would: raw SQL, foreign keys checked only at commit."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # PostgreSQL checks Django's keys at commit anyway
            cursor.execute("PRAGMA defer_foreign_keys = ON")
        for model, row in rows.items():
            columns = ", ".join(connection.ops.quote_name(c) for c in row)
            marks = ", ".join("%s" for _ in row)
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))


# --- every page -----------------------------------------------------------------------------

LIST_PAGES = [
    ("memory_app:overview", [], []),
    ("memory_app:activity", [], [{}, {"format": "csv"}, {"format": "json"}, {"kind": "events"}]),
    (
        "memory_app:sessions",
        [],
        [{}, {"format": "csv"}, {"format": "json"}, {"q": "text"}, {"q": "é"}, {"q": "<t"}],
    ),
    ("memory_app:workflows", [], [{}, {"format": "csv"}, {"format": "json"}]),
    ("memory_app:proposals", [], [{"status": ""}, {"format": "csv", "status": ""}]),
    ("memory_app:profiles", [], [{}, {"format": "csv"}, {"format": "json"}]),
    ("memory_app:new_profile", [], [{}]),
]


def _url(name: str, args: list, query: dict | None = None) -> str:
    url = reverse(name, args=args)
    return url + ("?" + urlencode(query) if query else "")


def page_urls(rows: dict[type, dict[str, object]]) -> list[str]:
    """Every page, export and fragment-bearing URL for the generated rows (and the lists)."""
    urls = [_url(name, args, q) for name, args, queries in LIST_PAGES for q in queries]

    def detail(name: str, model: type, queries: list[dict], *prefix: str) -> None:
        pk = rows[model]["id"]
        if not isinstance(pk, str):
            return  # a NULL or non-text id has no page; the lists show the row unlinked
        urls.extend(_url(name, [*prefix, pk], q) for q in queries)

    detail(
        "memory_app:session",
        Session,
        [{}, {"format": "json"}, {"format": "md"}, {"view": "conversation"}, {"turn": 0}],
    )
    detail("memory_app:workflow", WorkflowRun, [{}, {"format": "json"}, {"level": "critical"}])
    detail("memory_app:proposal", Proposal, [{}, {"at": "2026-01-01"}])
    for kind, model in (("behavior", BehaviorProfile), ("personality", PersonalityProfile)):
        name = rows[model]["profile_name"]
        if isinstance(name, str) and name:
            urls.append(_url("memory_app:profile", [kind, name]))
            urls.append(_url("memory_app:profile", [kind, name], {"at": "2026-01-01T00:00Z"}))
            urls.append(_url("memory_app:publish_profile", [kind, name]))
    for model in V1_MODELS:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        pk = rows[model]["id"]
        if isinstance(pk, str) and pk:
            try:
                urls.append(reverse("admin:{}_{}_change".format(*info), args=[quote(pk)]))
            except NoReverseMatch:
                raise AssertionError(f"the admin cannot link {pk!r}") from None
    return urls


def read_all(response) -> bytes:
    """The whole body, streamed or not (a streamed export fails only while it is read)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content
