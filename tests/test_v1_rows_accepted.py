"""Property-based: what we add to the v1 tables never refuses a row the v1 schema accepts.

Another writer knows only the seed's DDL. Our indexes, triggers and functions on its tables
must not turn a write the DDL accepts into an error (issue #20, point 8: a time column
holding ``now`` made SQLite refuse the row, "non-deterministic use of julianday() in an
index"). So the same generated rows go into a database made by contract/v1_schema.sql
alone and into a migrated one, row by row as another process writes them, and each row is
accepted by both or refused by both. Values are anything SQLite keeps (texts SQLite's or
PostgreSQL's date functions read as the current moment or a modifier, other times, numbers,
bytes, NULL, huge texts), in every column.
"""

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import psycopg
import pytest
from django.db import connection
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from memory_app.timeutil import ISO_8601, sql_instant
from tests.helpers import REPO, manage

V1_SQL = (REPO / "contract" / "v1_schema.sql").read_text()


def _reference_columns() -> dict[str, list[tuple[str, str]]]:
    """Each v1 table's columns as the DDL declares them: (name, "key", "link" or "value")."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(V1_SQL)
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
        )
    ]
    columns = {}
    for table in tables:
        links = {row[3] for row in conn.execute(f"PRAGMA foreign_key_list('{table}')")}
        columns[table] = [
            (name, "key" if pk else "link" if name in links else "value")
            for _cid, name, _type, _notnull, _default, pk in conn.execute(
                f"PRAGMA table_info('{table}')"
            )
        ]
    conn.close()
    return columns


COLUMNS = _reference_columns()

# Texts a date function may read as the current moment, a modifier or a special value:
# SQLite's julianday()/datetime() ('now' in any case; modifiers), PostgreSQL's date input
# ('now', 'today', 'infinity', 'epoch', 'allballs', Julian days, years beyond 9999).
SPECIAL_TIMES = [
    "now", "NOW", "Now", "nOw", " now", "now ", "now\n", "'now'", "now', '+1 day",
    "localtime", "utc", "subsec", "subsecond", "unixepoch", "auto", "julianday",
    "+1 day", "-3 hours", "start of month", "weekday 0", "ceiling", "floor",
    "today", "tomorrow", "yesterday", "infinity", "-infinity", "epoch", "allballs",
    "J2451187", "2461000.5", "1e999", "294277-01-01", "99999-12-31T00:00:00.000Z",
    "-2026-01-01", "+2026-01-01", "0000-01-01T00:00:00.000Z", "0000-00-00T00:00:00.000Z",
    "2026-02-30T10:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-11-24T24:00:00.000Z",
    "2026-11-24T10:00:00.000Z", "9999-12-31T23:59:59.999Z", "0001-01-01T00:00:00.000Z",
    "2026-11-24 10:00", "2026-11-24T10:00:00+05:00", "2026-W48-2", "20261124T100000Z",
    "2026-11-24T10:00:00.000Z\x00", "now\x00",
]  # fmt: skip


def _incompressible(seed: int, size: int) -> str:
    """``size`` characters no compressor shrinks much (an index may compress a value)."""
    digests = (hashlib.sha256(f"{seed}-{n}".encode()).hexdigest() for n in range(size // 64 + 1))
    return "".join(digests)[:size]


# Keys and links from a few ids, so that rows meet their parents, clash and link.
ids = st.sampled_from(["a", "b", "now", ""])
OMITTED = object()


def _is_time(column: str) -> bool:
    return column.endswith(("_at", "_from", "_to"))


def row_lists(huge: tuple[int, ...]) -> st.SearchStrategy:
    """Lists of (table, row): any value in any column, texts that do not compress of each
    length in ``huge`` (repeated ones far longer)."""
    texts = st.one_of(
        st.text(max_size=20),
        st.sampled_from(["", "{}", "{", "[]", "abc", "-0", " 7 "]),
        st.builds(lambda s: s * 5_000, st.sampled_from(["now ", "2026-11-24T10:00:00.000Z"])),
        st.builds(
            _incompressible, st.integers(min_value=0, max_value=1_000), st.sampled_from(huge)
        ),
    )
    values = st.one_of(
        texts,
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.integers(min_value=2**63, max_value=10**30).map(str),  # beyond 64 bits: as text
        st.floats(),  # NaN and the infinities too
        st.binary(max_size=12),
    )
    times = st.one_of(
        st.sampled_from(SPECIAL_TIMES),
        st.sampled_from(SPECIAL_TIMES).map(str.encode),  # the same as bytes
        st.datetimes().map(lambda d: d.isoformat(sep=" ")),
        st.text(alphabet="0123456789-:TZ+. nowNOW", max_size=30),
        texts,
    )
    anything = st.one_of(st.none(), values)

    def value(column: str, kind: str) -> st.SearchStrategy:
        # Mostly a value of the column's kind (so that most rows pass the DDL's own checks
        # and reach our indexes and triggers), sometimes anything, or left out (default).
        usual = ids if kind != "value" else times if _is_time(column) else values
        return st.one_of(*[usual] * 5, anything, st.just(OMITTED))

    return st.lists(
        st.one_of(
            *(
                st.tuples(
                    st.just(table),
                    st.fixed_dictionaries({c: value(c, kind) for c, kind in columns}),
                )
                for table, columns in COLUMNS.items()
            )
        ),
        max_size=12,
    )


# One valid parent of each kind, so that the generated rows link to something.
PARENTS = [
    ("sessions", {"id": "a", "actor": "tom", "started_at": "2026-11-24T10:00:00.000Z"}),
    ("workflow_runs", {
        "id": "a", "workflow_name": "w", "trigger_source": "cron", "initiated_by": "s",
        "status": "running", "started_at": "2026-11-24T10:00:00.000Z",
    }),
    ("workflow_steps", {
        "id": "a", "workflow_run_id": "a", "step_index": 0, "step_name": "s",
        "status": "running", "started_at": "2026-11-24T10:00:00.000Z",
    }),
    ("skills_learned", {
        "id": "a", "skill_key": "k", "description": "d", "source_type": "doc",
        "confidence": 0.5, "learned_at": "2026-11-24T10:00:00.000Z",
    }),
    ("skill_to_logic_proposals", {
        "id": "a", "skill_id": "a", "proposed_by": "oxide", "proposal_type": "code_patch",
        "proposal_json": "{}", "risk_level": "low", "status": "drafted",
        "created_at": "2026-11-24T10:00:00.000Z", "updated_at": "2026-11-24T10:00:00.000Z",
    }),
]  # fmt: skip


def valid_row(table: str, time: object) -> dict:
    """A row of ``table`` the DDL accepts after ``PARENTS``, every time column ``time``."""
    values = {"key": "n", "link": "a", "value": "1"}
    return {c: time if _is_time(c) else values[kind] for c, kind in COLUMNS[table]}


# Rows the property must always try, whatever Hypothesis draws: 'now' in every time column
# of every table (the refusal of issue #20, point 8, found only at random before).
EVERY_TIME_NOW = [(table, valid_row(table, "now")) for table in COLUMNS]
# And on PostgreSQL, every time too long for any index entry (what 0021 made our indexes take).
EVERY_TIME_HUGE = [(table, valid_row(table, _incompressible(2, 6_400))) for table in COLUMNS]


def _insert_sql(table: str, row: dict, mark: str, schema: str = "") -> tuple[str, list]:
    given_ = {c: v for c, v in row.items() if v is not OMITTED}
    if not given_:
        return f"INSERT INTO {schema}{table} DEFAULT VALUES", []
    columns = ", ".join(f'"{c}"' for c in given_)
    marks = ", ".join(mark for _ in given_)
    return f"INSERT INTO {schema}{table} ({columns}) VALUES ({marks})", list(given_.values())


def _outcome(execute, *args) -> str:
    """'accepted', or the refusal's kind and message."""
    try:
        execute(*args)
    except (sqlite3.Error, psycopg.Error) as refused:
        return f"refused: {type(refused).__name__}: {refused}"
    return "accepted"


def _alike(table: str, row: dict, v1: str, ours: str) -> None:
    """Both accept or both refuse (each for its own reason: names of indexes differ)."""
    event("v1 DDL " + ("refused" if v1.startswith("refused") else "accepted"))
    assert v1.startswith("refused") == ours.startswith("refused"), (
        f"{table} {row!r}\n  v1 DDL alone: {v1}\n  migrated:     {ours}"
    )


# --- SQLite: a file from the seed's DDL alone beside a migrated file ------------------------


@pytest.fixture(scope="module")
def pristine_migrated(migrated_file_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("v1-rows") / "migrated.sqlite"
    shutil.copy(migrated_file_db, path)
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def _migrated_copy(pristine: sqlite3.Connection, foreign_keys: bool = True):
    """A fresh copy of the migrated database, connected as another writer connects: none
    of our functions registered, each statement its own transaction."""
    ours = sqlite3.connect(":memory:", isolation_level=None)
    pristine.backup(ours)
    ours.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return ours


def _sqlite_pair(pristine: sqlite3.Connection, foreign_keys: bool):
    """A fresh database made by the v1 DDL alone, and a fresh copy of the migrated one."""
    v1 = sqlite3.connect(":memory:", isolation_level=None)
    v1.executescript(V1_SQL)
    v1.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    return v1, _migrated_copy(pristine, foreign_keys)


@pytest.mark.engine("sqlite")
@settings(max_examples=4 * settings.default.max_examples)
@given(rows=row_lists(huge=(6_400,)), foreign_keys=st.booleans())
@example(rows=EVERY_TIME_NOW, foreign_keys=True)
def test_sqlite_migrated_file_accepts_what_the_v1_ddl_accepts(
    pristine_migrated, rows, foreign_keys
):
    v1, ours = _sqlite_pair(pristine_migrated, foreign_keys)
    try:
        for table, row in [*PARENTS, *rows]:
            sql, params = _insert_sql(table, row, "?")
            _alike(
                table,
                row,
                _outcome(v1.execute, sql, params),
                _outcome(ours.execute, sql, params),
            )
    finally:
        v1.close()
        ours.close()


@pytest.mark.engine("sqlite")
@pytest.mark.parametrize("value", ["now", "NOW", b"now", "Now"])
@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("approvals", "decided_at"),
        ("deploy_outcomes", "deployed_at"),
        ("task_events", "created_at"),
        ("behavior_profiles", "created_at"),
        ("personality_profiles", "created_at"),
    ],
)
def test_a_time_of_now_is_stored_in_a_migrated_file(pristine_migrated, table, column, value):
    """The rows of the issue, named: before the fix each was refused."""
    ours = _migrated_copy(pristine_migrated)
    for parent, row in PARENTS:
        ours.execute(*_insert_sql(parent, row, "?"))
    ours.execute(*_insert_sql(table, valid_row(table, value), "?"))
    assert ours.execute(f"SELECT {column} FROM {table}").fetchall() == [(value,)]
    ours.close()


# The condition 0019 gave its partial indexes before issue #20 (julianday() on any text).
OLD_CONDITION = (
    "NOT (COALESCE((({c}) GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:"
    "[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z') AND (date(julianday(substr({c}, 1, 10))) = "
    "substr({c}, 1, 10)) AND (substr({c}, 12, 2) < '24') AND (substr({c}, 1, 4) > '0000'), "
    "0) = 1)"
)
OTHER_TIMES_INDEXES = {
    "idx_approvals_other_times": ("approvals", "decided_at"),
    "idx_deploys_other_times": ("deploy_outcomes", "deployed_at"),
    "idx_task_events_other_times": ("task_events", "event_level, created_at"),
    "idx_behavior_other_times": ("behavior_profiles", "created_at"),
    "idx_personality_other_times": ("personality_profiles", "created_at"),
}
OTHER_TIMES_TABLES = [table for table, _ in OTHER_TIMES_INDEXES.values()]


@pytest.mark.engine("sqlite")
def test_migrating_a_file_made_before_the_fix_makes_it_accept_now(tmp_path):
    """A file migrated to 0019 before the fix keeps the indexes it was made with until
    0020 makes them again."""
    path = tmp_path / "before.sqlite"
    # Migrated as far as 0019 only (the migrations after it make tables of their own),
    # with the indexes as they were made before the fix.
    made = manage(path, "migrate", "--no-input", "memory_app", "0019_activity_time_indexes")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(path) as conn:
        for name, (table, columns) in OTHER_TIMES_INDEXES.items():
            condition = OLD_CONDITION.format(c=f'"{columns.split(", ")[-1]}"')
            conn.execute(f"DROP INDEX {name}")
            conn.execute(f"CREATE INDEX {name} ON {table} ({columns}) WHERE {condition}")
    conn.close()
    assert _refusing_now(path) == set(OTHER_TIMES_TABLES)
    result = manage(path, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    assert _refusing_now(path) == set()


def _refusing_now(path: Path) -> set[str]:
    """The tables where a copy of the file refuses a row with every time 'now'."""
    source = sqlite3.connect(path)
    copy = _migrated_copy(source)
    source.close()
    for table, row in PARENTS:
        copy.execute(*_insert_sql(table, row, "?"))
    refused = {
        table
        for table, row in EVERY_TIME_NOW
        if _outcome(copy.execute, *_insert_sql(table, row, "?")) != "accepted"
    }
    copy.close()
    return refused


# --- PostgreSQL: the v1 DDL (types mapped as tests/test_schema.py maps them) in a schema of
# its own beside the migrated tables, in one database made from the migrated template ----

PG_REFERENCE = "v1_reference"
# A PostgreSQL B-tree entry holds at most 2,704 bytes (after compression), in the v1 DDL's
# own indexes as in ours: the longest text that does not compress a one-column index
# takes is PG_LONGEST_KEY characters. Texts that long, one longer, and far shorter and
# longer, in any column (our indexes hold bounded keys there: expressions.INDEXED_CHARACTERS).
PG_LONGEST_KEY = 2_692
PG_HUGE = (1_200, PG_LONGEST_KEY, PG_LONGEST_KEY + 1, 6_400)


def v1_ddl_for_postgresql() -> str:
    """The seed's DDL as PostgreSQL takes it: INTEGER as BIGINT and REAL as DOUBLE
    PRECISION (the mapping our models make and test_schema checks), no PRAGMA."""
    ddl = "\n".join(line for line in V1_SQL.splitlines() if not line.startswith("PRAGMA"))
    ddl = re.sub(r"\bINTEGER\b", "BIGINT", ddl)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", ddl)


@pytest.fixture
def postgresql_pair(shared_db):
    conn = psycopg.connect(shared_db.target)
    conn.execute(f"CREATE SCHEMA {PG_REFERENCE}")
    conn.execute(f"SET search_path TO {PG_REFERENCE}")
    for statement in filter(str.strip, v1_ddl_for_postgresql().split(";")):
        conn.execute(statement)
    conn.execute("RESET search_path")
    conn.commit()
    yield conn
    conn.close()


def _pg_execute(conn, sql: str, params: list) -> None:
    """One row in a savepoint of its own: a refusal undoes that row only."""
    conn.execute("SAVEPOINT row")
    try:
        conn.execute(sql, params)
    except BaseException:
        conn.execute("ROLLBACK TO SAVEPOINT row")
        raise
    conn.execute("RELEASE SAVEPOINT row")


@pytest.mark.engine("postgresql")
@settings(max_examples=2 * settings.default.max_examples)
@given(rows=row_lists(huge=PG_HUGE))
@example(rows=EVERY_TIME_NOW)
@example(rows=EVERY_TIME_HUGE)
def test_postgresql_migrated_tables_accept_what_the_v1_ddl_accepts(postgresql_pair, rows):
    conn = postgresql_pair
    try:
        # Django's keys are deferred to the commit, the DDL's are checked at once: checked
        # at each statement, as each row would be if another writer committed it alone.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, row in [*PARENTS, *rows]:
            v1_sql, params = _insert_sql(table, row, "%s", f"{PG_REFERENCE}.")
            ours_sql, _ = _insert_sql(table, row, "%s", "public.")
            _alike(
                table,
                row,
                _outcome(_pg_execute, conn, v1_sql, params),
                _outcome(_pg_execute, conn, ours_sql, params),
            )
    finally:
        conn.rollback()


def _pg_try(conn, sql: str, params: list) -> None:
    """One statement in a savepoint of its own, undone whatever its outcome: rows tried
    this way never meet each other (their keys and unique columns may be alike)."""
    conn.execute("SAVEPOINT row")
    try:
        conn.execute(sql, params)
    finally:
        conn.execute("ROLLBACK TO SAVEPOINT row")


def _pg_both(conn, table: str, row: dict, execute=_pg_try) -> tuple[str, str]:
    """The outcome of one row in the v1 DDL's tables and in ours."""
    v1_sql, params = _insert_sql(table, row, "%s", f"{PG_REFERENCE}.")
    ours_sql, _ = _insert_sql(table, row, "%s", "public.")
    return _outcome(execute, conn, v1_sql, params), _outcome(execute, conn, ours_sql, params)


def _pg_parents(conn, parents: list[tuple[str, dict]]) -> None:
    """Rows the others link to, kept, accepted by both."""
    conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, row in parents:
        assert _pg_both(conn, table, row, _pg_execute) == ("accepted", "accepted"), table


def _differing(outcomes: dict) -> dict:
    return {
        row: (v1, ours)
        for row, (v1, ours) in outcomes.items()
        if v1.startswith("refused") != ours.startswith("refused")
    }


@pytest.mark.engine("postgresql")
def test_a_huge_text_in_any_column_is_accepted_as_the_v1_ddl_accepts_it(postgresql_pair):
    """Every column that is not a key or a link (times, event levels, statuses, ...) holding
    a text that does not compress, longer than any index entry: accepted by both, unless
    an index of the v1 DDL's own holds the column (then refused by both). Before 0021 our
    indexes refused such a row of sessions, workflow_runs, task_events, validation_results,
    approvals, deploy_outcomes, behavior_profiles and personality_profiles."""
    conn = postgresql_pair
    huge = _incompressible(0, 6_400)
    try:
        _pg_parents(conn, PARENTS)
        outcomes = {
            (table, column): _pg_both(
                conn, table, valid_row(table, "2026-11-24T10:00:00.000Z") | {column: huge}
            )
            for table, columns in COLUMNS.items()
            for column, kind in columns
            if kind == "value"
        }
    finally:
        conn.rollback()
    assert _differing(outcomes) == {}
    for time in ["started_at", "created_at", "decided_at", "deployed_at", "validated_at"]:
        table = next(t for t, c in outcomes if c == time and t != "conversation_turns")
        assert outcomes[table, time] == ("accepted", "accepted"), (table, time)
    assert outcomes["task_events", "event_level"] == ("accepted", "accepted")
    # The v1 DDL's own index on the column refuses it alike: the contract, not ours.
    assert outcomes["workflow_runs", "status"][0].startswith("refused")


@pytest.mark.engine("postgresql")
def test_the_longest_key_a_primary_key_takes_is_accepted_with_its_links(postgresql_pair):
    """A key of ``PG_LONGEST_KEY`` characters that do not compress (the longest the primary
    key's own index takes) in every table, linking to parents with such keys, and a change
    of such a proposal (its trigger logs the key, 0010). Our indexes held such a key beside
    a time or a number, and refused it; since 0021 they hold a key alone."""
    conn = postgresql_pair
    longest = _incompressible(1, PG_LONGEST_KEY)
    links = {column for columns in COLUMNS.values() for column, kind in columns if kind == "link"}

    def keyed(row: dict) -> dict:
        return {c: longest if c == "id" or c in links else v for c, v in row.items()}

    try:
        one_more = keyed(PARENTS[0][1]) | {"id": longest + "0"}
        assert _pg_both(conn, "sessions", one_more)[0].startswith("refused"), (
            "PG_LONGEST_KEY is no longer the longest key a primary key takes"
        )
        # Parents with the longest keys, linking to the short ones (the v1 DDL's own unique
        # (workflow_run_id, step_index) refuses a step of a run with such a key), and
        # unlike them where the v1 DDL wants a unique pair.
        unlike = {"workflow_steps": {"step_index": 1}, "skills_learned": {"skill_key": "k2"}}
        longest_parents = [
            (table, row | {"id": longest} | unlike.get(table, {})) for table, row in PARENTS
        ]
        _pg_parents(conn, PARENTS + longest_parents)
        outcomes = {
            table: _pg_both(conn, table, keyed(valid_row(table, "2026-11-24T10:00:00.000Z")))
            for table in COLUMNS
            if table not in dict(PARENTS)
        }
        outcomes["proposal changed"] = tuple(
            _outcome(
                _pg_try,
                conn,
                f"UPDATE {schema}.skill_to_logic_proposals SET risk_level = 'high', "
                "proposal_json = '[]' WHERE id = %s",
                [longest],
            )
            for schema in (PG_REFERENCE, "public")
        )
    finally:
        conn.rollback()
    assert _differing(outcomes) == {}
    for table in ["task_events", "approvals", "deploy_outcomes", "validation_results"]:
        assert outcomes[table] == ("accepted", "accepted"), table
    assert outcomes["proposal changed"] == ("accepted", "accepted")


# tom_instant is IMMUTABLE and sits in our indexes' conditions on PostgreSQL: it must answer
# every text, never raise (a raise there refuses the row), and read as Python reads.
instant_texts = st.one_of(
    st.sampled_from(SPECIAL_TIMES),
    st.text(alphabet="0123456789-:.,TtWZz+ \t\n", max_size=40),
    st.from_regex(r"[0-9]{4,9}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"),
    st.from_regex(ISO_8601, fullmatch=True),
    st.text(max_size=70),
).map(lambda text: text.replace("\x00", ""))


@pytest.mark.django_db
@pytest.mark.engine("postgresql")
@settings(max_examples=4 * settings.default.max_examples)
@given(texts=st.lists(instant_texts, min_size=1, max_size=20))
def test_tom_instant_answers_every_text_as_python_does(texts):
    with connection.cursor() as cursor:
        for text in texts:
            cursor.execute("SELECT tom_instant(%s)", [text])
            assert cursor.fetchone() == (sql_instant(text),), text
