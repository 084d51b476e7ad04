"""Each decision log entry's previous take-in, kept beside the log by triggers (migration
0029, contract/tommemory_schema.sql): what walking the log back gives, whoever appends and
whatever the clock did; nobody changes it or slips in another; counted times read through it
are the walk's."""

import sqlite3
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from memory_app.models import Approval
from memory_app.promotion import decision_log, decision_time
from memory_app.timeutil import format_iso, parse_iso
from tests.helpers import REPO, audit_triggers_lifted

pytestmark = pytest.mark.django_db

T0 = parse_iso("2026-12-06T09:00:00Z")
LOG, TABLE = "tommemory_audit_log", "tommemory_audit_log_previous"


def walked() -> dict[int, str | None]:
    """Each entry's previous take-in by the definition: the latest earlier entry, by log
    position, whose moment is earlier than its own."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "index", logged_at FROM {LOG} ORDER BY "index"')
        entries = cursor.fetchall()
    return {
        index: next((t for i, t in reversed(entries[:n]) if t < moment), None)
        for n, (index, moment) in enumerate(entries)
    }


def kept() -> dict[int, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "index", previous_take_in FROM {TABLE}')
        return dict(cursor.fetchall())


def append(moments: list[str]) -> None:
    """Entries another process appends at these moments, in one statement (as a take-in
    appends all it found)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX("index") + 1, 0) FROM {LOG}')
        (start,) = cursor.fetchone()
        values = ", ".join(["(%s, 'approval', %s, 'hash', %s)"] * len(moments))
        cursor.execute(
            f'INSERT INTO {LOG} ("index", kind, row_id, leaf_hash, logged_at) VALUES {values}',
            [v for n, m in enumerate(moments) for v in (start + n, f"row-{start + n}", m)],
        )


# Moments a few minutes apart, so take-ins share one, follow one, or come before one (a clock
# that ran back).
moments = st.integers(0, 5).map(lambda m: format_iso(T0 + timedelta(minutes=m)))


@given(take_ins=st.lists(st.lists(moments, min_size=1, max_size=4), min_size=1, max_size=8))
def test_each_entry_keeps_what_walking_the_log_back_gives(take_ins):
    with transaction.atomic():
        for take_in in take_ins:
            append(take_in)
        assert kept() == walked()
        transaction.set_rollback(True)


def test_the_store_s_take_ins_keep_it_with_the_clock_run_back(proposal, clock):
    """Rows another writer added, taken in two at a time: twice at one moment, then with
    the clock run back."""
    for n, minutes in enumerate((0, 30, 30, 10, 45)):
        clock.set(T0 + timedelta(minutes=minutes), ticking=False)
        for m in range(2):
            Approval.objects.create(
                id=f"a{n}-{m}", proposal=proposal, approver=f"p{n}", approval_type="human",
                decision="approved", decided_at=format_iso(T0),
            )  # fmt: skip
        assert decision_log.take_in() == 2
    assert len(kept()) == 10
    assert kept() == walked()


def test_no_one_changes_a_previous_take_in_or_slips_in_another():
    append([format_iso(T0), format_iso(T0 + timedelta(minutes=1))])
    with connection.cursor() as cursor:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            cursor.execute(f"UPDATE {TABLE} SET previous_take_in = '2000-01-01T00:00:00.000Z'")
        # Taken out, an entry is read by walking the log back (nothing gained).
        cursor.execute(f'DELETE FROM {TABLE} WHERE "index" = 1')
        for wrong in ("'2000-01-01T00:00:00.000Z'", "NULL"):
            with pytest.raises(IntegrityError, match="own previous"), transaction.atomic():
                cursor.execute(f"INSERT INTO {TABLE} VALUES (1, {wrong})")
        with pytest.raises(IntegrityError, match="own previous"), transaction.atomic():
            cursor.execute(f"INSERT INTO {TABLE} VALUES (7, NULL)")  # no such entry
        cursor.execute(f"INSERT INTO {TABLE} VALUES (1, %s)", [format_iso(T0)])
    assert kept() == walked() == {0: None, 1: format_iso(T0)}


def test_entries_appended_again_after_some_were_taken_out_replace_what_was_kept():
    append([format_iso(T0)] * 3)
    with audit_triggers_lifted() as cursor:
        cursor.execute(f'DELETE FROM {LOG} WHERE "index" >= 1')
    append([format_iso(T0 - timedelta(minutes=1)), format_iso(T0 + timedelta(minutes=1))])
    assert kept() == walked()


def test_counted_times_read_it_and_walk_only_where_it_lacks_an_entry(store, clock, validated):
    """The bounds are the table's (one lookup); an entry it lacks is walked to, with the
    same answer."""
    clock.set(T0, ticking=False)
    decision_log.take_in()
    clock.set(T0 + timedelta(hours=1), ticking=False)
    store.record_approval(validated.id, approver="ann", approval_type="human", decision="approved")
    approval = Approval.objects.get(approver="ann")
    entry = decision_log_index(approval)
    counted = decision_time.attach([approval])[0].counted_at
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM {TABLE} WHERE "index" = %s', [entry])
    assert decision_time.attach([Approval.objects.get(pk=approval.pk)])[0].counted_at == counted
    # What the table says is what counts: an earlier moment slipped in behind the triggers'
    # back (the only way in) moves the lower bound.
    dated_back = Approval.objects.get(pk=approval.pk)
    dated_back.decided_at = "2000-01-01T00:00:00.000Z"
    with audit_triggers_lifted() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} VALUES (%s, '1999-01-01T00:00:00.000Z')", [entry])
    assert decision_time.attach([dated_back])[0].counted_at == "2000-01-01T00:00:00.000Z"


def decision_log_index(row) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "index" FROM {LOG} WHERE row_id = %s', [row.pk])
        return cursor.fetchone()[0]


@pytest.mark.engine("sqlite")
def test_the_contract_s_triggers_are_the_migration_s_word_for_word(tmp_path):
    """A store's bootstrap makes the same triggers the migration does (the shape test
    compares their names only)."""
    fresh = sqlite3.connect(tmp_path / "contract.sqlite")
    for name in ("v1_schema.sql", "tommemory_schema.sql"):
        fresh.executescript((REPO / "contract" / name).read_text())
    query = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        f"AND (tbl_name = '{TABLE}' OR name LIKE '{TABLE}%') ORDER BY name"
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        migrated = cursor.fetchall()
    assert len(migrated) == 3
    assert fresh.execute(query).fetchall() == migrated
