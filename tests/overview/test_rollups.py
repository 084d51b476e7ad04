"""The turns per hour the database keeps (migration 0028, ``overview/rollups``) are the turns'
own aggregate after any writes, by any writer (plain SQL here, as another process writes),
and the overview's numbers read from them are those read from the turns."""

import math
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_app.expressions import hour_of, is_canonical
from memory_app.models import Session, Turn
from memory_app.overview import rollups, story
from memory_app.overview.window import Window
from memory_app.timeutil import format_iso, parse_iso
from tests.helpers import query_plan, table_scans

pytestmark = pytest.mark.django_db

T0 = parse_iso("2026-12-06T09:00:00Z")
SESSIONS = [("s1", "tom", "cli"), ("s2", "ann", None), ("s3", "tom", "api")]

times = st.one_of(
    st.integers(-3 * 86_400_000, 86_400_000).map(
        lambda ms: format_iso(T0 + timedelta(milliseconds=ms))
    ),
    st.sampled_from(
        [
            "2026-12-06T08:10:00Z",  # another ISO form: read in Python
            "2026-12-05 23:30:00+01:00",
            "??",  # unreadable: undated
            "2026-02-30T00:00:00.000Z",  # canonical shape, no such day
            "2026-12-06T08:00:00.000Z",  # an hour's first and last instants
            "2026-12-06T07:59:59.999Z",
        ]
    ),
)
odd_counts = ["1e999", "-1e999", "abc", "12abc", 2.5]  # SQLite keeps what it is given
counts = st.one_of(st.none(), st.integers(0, 10**6), st.sampled_from(odd_counts))
writes = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.sampled_from(SESSIONS), times, counts),
        st.tuples(st.just("time"), st.integers(0, 30), times),
        st.tuples(st.just("tokens"), st.integers(0, 30), counts),
        st.tuples(st.just("move"), st.integers(0, 30), st.sampled_from(SESSIONS)),
        st.tuples(st.just("delete"), st.integers(0, 30)),
        st.tuples(st.just("session's turns"), st.sampled_from(SESSIONS)),
        st.tuples(st.just("actor"), st.sampled_from(SESSIONS), st.sampled_from(["tom", "bo"])),
    ),
    max_size=25,
)


def _count(value):
    """A token count this engine's column takes (PostgreSQL's is a bigint)."""
    return value if connection.vendor == "sqlite" or not isinstance(value, str | float) else None


def apply(ops) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM conversation_turns")
        cursor.execute("DELETE FROM sessions")
        for sid, actor, channel in SESSIONS:
            cursor.execute(
                "INSERT INTO sessions (id, actor, channel, started_at, status, metadata_json) "
                "VALUES (%s, %s, %s, %s, 'active', '{}')",
                [sid, actor, channel, format_iso(T0)],
            )
        for n, op in enumerate(ops):
            cursor.execute("SELECT id FROM conversation_turns ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
            kind, *args = op
            target = ids[args[0] % len(ids)] if ids and isinstance(args[0], int) else None
            if kind == "insert":
                (sid, _, _), moment, tokens = args
                cursor.execute(
                    "INSERT INTO conversation_turns (id, session_id, turn_index, role, content, "
                    "token_count, created_at, metadata_json) "
                    "VALUES (%s, %s, %s, 'user', 'x', %s, %s, '{}')",
                    [f"t{n:03}", sid, n, _count(tokens), moment],
                )
            elif kind == "session's turns":
                cursor.execute("DELETE FROM conversation_turns WHERE session_id = %s", [args[0][0]])
            elif kind == "actor":
                cursor.execute(
                    "UPDATE sessions SET actor = %s WHERE id = %s", [args[1], args[0][0]]
                )
            elif target is None:
                continue
            elif kind == "time":
                cursor.execute(
                    "UPDATE conversation_turns SET created_at = %s WHERE id = %s", [args[1], target]
                )
            elif kind == "tokens":
                cursor.execute(
                    "UPDATE conversation_turns SET token_count = %s WHERE id = %s",
                    [_count(args[1]), target],
                )
            elif kind == "move":
                cursor.execute(
                    "UPDATE conversation_turns SET session_id = %s, turn_index = turn_index + 1000 "
                    "WHERE id = %s",
                    [args[1][0], target],
                )
            else:
                cursor.execute("DELETE FROM conversation_turns WHERE id = %s", [target])


def kept() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT hour, session_id, turns, tokens FROM tommemory_turn_hours")
        return {(hour, sid): (n, total) for hour, sid, n, total in cursor.fetchall()}


def aggregated() -> dict:
    """The turns' own aggregate, as the overview summed them before the table."""
    rows = (
        Turn.objects.filter(is_canonical("created_at"))
        .annotate(hour=hour_of("created_at"))
        .values_list("hour", "session_id")
        .annotate(n=Count("*"), total=Sum(story._summed_value("token_count")))
    )
    return {(hour, sid): (n, total) for hour, sid, n, total in rows}


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, (n, total) in a.items():
        assert n == b[key][0], key
        assert math.isclose(total, b[key][1], rel_tol=1e-9, abs_tol=1e-6), key


def same_tally(a: story.Tally, b: story.Tally) -> None:
    assert a.undated == b.undated
    same(
        {k: tuple(v) for k, v in a.counts.items() if v[0]},
        {k: tuple(v) for k, v in b.counts.items() if v[0]},
    )


def windows() -> list[Window]:
    return [
        Window(T0 - timedelta(hours=24), T0, "24h"),
        Window(T0 - timedelta(days=7), T0, "7d"),
        # Cut inside hours at both ends, the window before too.
        Window(parse_iso("2026-12-05T10:17:03.250Z"), parse_iso("2026-12-06T08:59:59.999Z"), ""),
        Window(parse_iso("2026-12-06T07:20:00Z"), parse_iso("2026-12-06T08:40:00Z"), ""),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes)
def test_the_kept_hours_are_the_turns_aggregate_after_any_writes(ops):
    apply(ops)
    same(kept(), aggregated())
    for window in windows():
        turns = Turn.objects.all()
        same_tally(
            rollups.turns(window),
            story.tally(turns, "created_at", window, summed="token_count"),
        )
        same_tally(
            rollups.turns(window, by_session=True, before=False),
            story.tally(
                turns,
                "created_at",
                window,
                ("session__actor", "session__channel"),
                summed="token_count",
                before=False,
            ),
        )


@pytest.mark.parametrize(
    ("first", "last", "whole", "pieces"),
    [
        ("2026-12-06T07:00:00.000Z", "2026-12-06T08:59:59.999Z",
         ("2026-12-06T07", "2026-12-06T08"), []),
        (
            "2026-12-06T07:20:00.000Z",
            "2026-12-06T10:40:00.000Z",
            ("2026-12-06T08", "2026-12-06T09"),
            [
                ("2026-12-06T07:20:00.000Z", "2026-12-06T07:59:59.999Z"),
                ("2026-12-06T10:00:00.000Z", "2026-12-06T10:40:00.000Z"),
            ],
        ),
        ("2026-12-06T07:20:00.000Z", "2026-12-06T08:40:00.000Z", None,
         [("2026-12-06T07:20:00.000Z", "2026-12-06T08:40:00.000Z")]),
        ("9999-12-31T23:00:00.000Z", "9999-12-31T23:59:59.999Z",
         ("9999-12-31T23", "9999-12-31T23"), []),
        ("0001-01-01T00:00:00.001Z", "0001-01-01T00:59:59.998Z", None,
         [("0001-01-01T00:00:00.001Z", "0001-01-01T00:59:59.998Z")]),
    ],
)  # fmt: skip
def test_a_span_is_its_whole_hours_and_the_pieces_at_its_ends(first, last, whole, pieces):
    assert rollups.whole_hours(first, last) == (whole, pieces)


def test_a_window_s_hours_are_read_from_the_kept_hours_through_their_key():
    key = "PRIMARY KEY" if connection.vendor == "sqlite" else "tommemory_turn_hours_pkey"
    for sql in (rollups._OVER_TIME, rollups._BY_SESSION):
        plan = query_plan(sql % ("10", "'2026-11-01T00'", "'2026-12-01T00'"))
        assert table_scans(plan) == [], plan
        assert any(key in step for step in plan), plan


def handed_over(call, table: str) -> int:
    """How many rows the first query of ``call`` reading ``table`` hands over."""
    with CaptureQueriesContext(connection) as queries:
        call()
    sql = next(q["sql"] for q in queries.captured_queries if f"FROM {table}" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return len(cursor.fetchall())


def test_a_daily_window_is_counted_per_day_in_the_database():
    """On the million-turn file a 30-day window's sessions were ~7,000 groups of an hour, an
    actor and a channel, where the page shows days: ~800. Each query hands over a row per
    day (and group), not per hour."""
    apply([("insert", SESSIONS[0], format_iso(T0 - timedelta(hours=h, minutes=1)), 1)
           for h in (1, 2, 3)])  # fmt: skip
    with connection.cursor() as cursor:
        for h in (1, 2, 3):  # more of tom's on the cli, at other hours of that day
            cursor.execute(
                "INSERT INTO sessions (id, actor, channel, started_at, status, metadata_json) "
                "VALUES (%s, 'tom', 'cli', %s, 'active', '{}')",
                [f"early{h}", format_iso(T0 - timedelta(hours=h))],
            )
    window = Window(T0 - timedelta(days=7), T0, "7d")
    sessions = Session.objects.all()
    tally = lambda: story.tally(sessions, "started_at", window, ("actor", "channel"))  # noqa: E731
    assert handed_over(tally, '"sessions"') == len(SESSIONS)
    by_session = lambda: rollups.turns(window, by_session=True, before=False)  # noqa: E731
    assert handed_over(by_session, rollups.TABLE) == 1
