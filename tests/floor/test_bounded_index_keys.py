"""The pages read through our indexes, in the order they always had, on both engines.

On PostgreSQL our indexes on the v1 tables hold bounded keys so that none refuses a row the
v1 DDL accepts (0021_postgresql_bounded_index_keys, issue #20 point 8): the lists' index a
prefix of ``started_at``, the activity timeline's the canonical times, a level's prefix,
the instant of other times. Their queries say the same, and sort and filter as before:
texts sharing that prefix, times in other forms, unreadable and huge ones included.
"""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memory_app.expressions import INDEXED_CHARACTERS
from memory_app.models import (
    NEWEST_FIRST,
    OLDEST_FIRST,
    Approval,
    BehaviorProfile,
    Session,
    TaskEvent,
    WorkflowRun,
)
from memory_app.overview.activity import _sources, timeline
from tests.helpers import full_sorts, query_plan, table_scans

pytestmark = pytest.mark.django_db


def incompressible(seed: str, size: int) -> str:
    """``size`` characters no compressor shrinks much: longer than any PostgreSQL index
    entry once ``size`` passes 2,704."""
    digests = (hashlib.sha256(f"{seed}-{n}".encode()).hexdigest() for n in range(size // 64 + 1))
    return "".join(digests)[:size]


# Two texts sharing the first INDEXED_CHARACTERS characters, whose ids sort the other way
# round: an order by (prefix, id) would list them wrongly.
SHARED = "2026-11-24T10:00:00.000Z" + "~" * (INDEXED_CHARACTERS - 24)
STARTS = {
    "c1": "2026-11-24T10:00:00.000Z",
    "c0": "2026-11-24T10:00:00.000Z",  # the same time: the id breaks the tie
    "d": "2026-11-24T09:00:00.000Z",
    "other": "2026-11-24 11:00",
    "now": "now",
    "empty": "",
    "z-long": SHARED + "a",
    "a-long": SHARED + "b",
    # Longer than the prefix; not longer than an index entry, which the v1 DDL's own
    # (status, started_at) index of workflow_runs refuses on PostgreSQL.
    "long": incompressible("long", 2_000),
}


def _walk(model, order: str, size: int = 3) -> list[str]:
    """Every row's id, page after page, as the list pages continue after a cursor."""
    seen, cursor = [], None
    while True:
        page = list(model.objects.in_order(order).before(cursor, order)[:size])
        seen += [row.pk for row in page]
        if len(page) < size:
            return seen
        cursor = (page[-1].started_at, page[-1].pk)


def _make_lists() -> None:
    Session.objects.bulk_create(
        Session(id=pk, actor="tom", started_at=start) for pk, start in STARTS.items()
    )
    WorkflowRun.objects.bulk_create(
        WorkflowRun(
            id=pk,
            workflow_name="w",
            trigger_source="cron",
            initiated_by="s",
            status="running",
            started_at=start,
        )
        for pk, start in STARTS.items()
    )


@pytest.mark.parametrize("model", [Session, WorkflowRun])
def test_the_lists_page_in_started_at_then_id_order_whatever_the_text(model):
    _make_lists()
    expected = sorted(STARTS, key=lambda pk: (STARTS[pk], pk))
    assert _walk(model, OLDEST_FIRST) == expected
    assert _walk(model, NEWEST_FIRST) == expected[::-1]
    assert _walk(model, OLDEST_FIRST, size=50) == expected


@pytest.mark.parametrize(
    ("model", "index"),
    [(Session, "idx_sessions_started"), (WorkflowRun, "idx_workflow_runs_started")],
)
def test_the_lists_read_their_index_in_both_orders_and_after_a_cursor(model, index):
    _make_lists()
    for order in (OLDEST_FIRST, NEWEST_FIRST):
        for cursor in (None, (STARTS["c1"], "c1"), (STARTS["long"], "long")):
            with CaptureQueriesContext(connection) as captured:
                list(model.objects.in_order(order).before(cursor, order)[:51])
            plan = query_plan(captured.captured_queries[0]["sql"], sorts_priced_out=True)
            assert index in " ".join(plan), plan
            assert full_sorts(plan) == [], plan


# The index each activity query reads: the canonical times' (by level when levels are
# chosen), then the other times'.
ACTIVITY_INDEXES = {
    "event": ("idx_task_events_created", "idx_task_events_other_times"),
    "approval": ("idx_approvals_decided", "idx_approvals_other_times"),
    "deploy": ("idx_deploys_deployed", "idx_deploys_other_times"),
    "behavior": ("idx_behavior_created", "idx_behavior_other_times"),
    "personality": ("idx_personality_created", "idx_personality_other_times"),
}
KINDS = ["events", "approvals", "deploys", "profiles"]


@pytest.mark.parametrize("levels", [[], ["high", "critical"]])
@pytest.mark.parametrize("after", [None, ("2026-11-24T10:00:00.000Z", "event", "x")])
def test_each_activity_query_reads_its_index(levels, after):
    for label, querysets, _ in _sources(KINDS, levels, after):
        if label == "override":  # our own table, not a v1 one
            continue
        canonical, other = ACTIVITY_INDEXES[label]
        if label == "event" and levels:
            canonical = "idx_task_events_level"
        for qs, index in zip(querysets, [canonical] * (len(querysets) - 1) + [other], strict=True):
            with CaptureQueriesContext(connection) as captured:
                list(qs[:51])
            plan = query_plan(captured.captured_queries[0]["sql"], sorts_priced_out=True)
            assert index in " ".join(plan), (label, plan)
            if connection.vendor == "postgresql":
                # (SQLite walks the index from its end, and sorts rows sharing a time by
                # id in a temporary B-tree, as it did before 0021.)
                assert table_scans(plan) == [], (label, plan)
                assert full_sorts(plan) == [], (label, plan)


def test_the_timeline_shows_huge_times_and_levels_as_any_other(proposal):
    """A huge unreadable time is an unknown time, listed last; a huge level is found by
    its whole text, not by the prefix PostgreSQL's index holds of it."""
    huge_time = incompressible("time", 6_400)
    level = incompressible("level", 3_000)
    Approval.objects.create(
        proposal=proposal, approver="a", approval_type="human", decision="approved",
        decided_at=huge_time,
    )  # fmt: skip
    Approval.objects.create(
        proposal=proposal, approver="b", approval_type="human", decision="approved",
        decided_at="2026-11-24T10:00:00.000Z",
    )  # fmt: skip
    BehaviorProfile.objects.create(
        profile_name="tom", version=1, behavior_json="{}", effective_from="2026-01-01",
        created_at="2026-11-24 09:00", created_by="p",
    )  # fmt: skip
    for n, (at_level, created_at) in enumerate(
        [
            (level, "2026-11-24T08:00:00.000Z"),
            (level, huge_time),
            (level[:INDEXED_CHARACTERS] + "other", "2026-11-24T09:00:00.000Z"),
        ]
    ):
        TaskEvent.objects.create(
            id=f"e{n}", event_type="info", event_level=at_level, message=f"m{n}",
            created_at=created_at,
        )  # fmt: skip
    entries, _ = timeline(["approvals", "profiles"], [], None, 10)
    assert [e.when for e in entries] == [
        "2026-11-24T10:00:00.000Z",
        "2026-11-24 09:00",
        huge_time,
    ]
    entries, _ = timeline(["events"], [level], None, 10)
    assert [e.row.pk for e in entries] == ["e0", "e1"]
