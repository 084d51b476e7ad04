"""The migrated schema is the v1 contract: any drift from contract/v1_schema.sql fails."""

import sqlite3

import pytest
from django.db import connection

from tests.helpers import REPO

V1_SQL = REPO / "contract" / "v1_schema.sql"
SEED = REPO.parent / "shared" / "seed" / "runtime-memory-schema-v1.md"

# Indexes we add beyond v1, each for a query of ours (see memory_app/models.py).
OUR_INDEXES = {
    "sessions": {"idx_sessions_started", "idx_sessions_canonical", "idx_sessions_other_times"},
    "conversation_turns": {"idx_turns_canonical", "idx_turns_other_times"},
    "workflow_runs": {
        "idx_workflow_runs_started",
        "idx_workflow_runs_canonical",
        "idx_workflow_runs_other_times",
    },
    "task_events": {
        "idx_task_events_run_created",
        "idx_task_events_step",
        "idx_task_events_created",
        "idx_task_events_level",
        "idx_task_events_other_times",
    },
    "skill_to_logic_proposals": {
        "idx_proposals_skill",
        "idx_proposals_canonical",
        "idx_proposals_other_times",
    },
    "validation_results": {"idx_validations_proposal"},
    "approvals": {"idx_approvals_proposal", "idx_approvals_decided", "idx_approvals_other_times"},
    "deploy_outcomes": {"idx_deploys_proposal", "idx_deploys_deployed", "idx_deploys_other_times"},
    "behavior_profiles": {"idx_behavior_created", "idx_behavior_other_times"},
    "personality_profiles": {"idx_personality_created", "idx_personality_other_times"},
}


def describe(conn, table: str) -> dict:
    """Everything SQLite reports about one table, in comparable form."""
    indexes = {}
    for _seq, name, unique, origin, partial in conn.execute(f"PRAGMA index_list('{table}')"):
        columns = [row[2] for row in conn.execute(f"PRAGMA index_info('{name}')")]
        indexes[name] = (unique, origin, partial, columns)
    return {
        "columns": conn.execute(f"PRAGMA table_xinfo('{table}')").fetchall(),
        "foreign_keys": sorted(
            conn.execute(f"PRAGMA foreign_key_list('{table}')").fetchall(), key=lambda r: r[2:]
        ),
        "indexes": indexes,
    }


@pytest.fixture(scope="module")
def reference():
    conn = sqlite3.connect(":memory:")
    conn.executescript(V1_SQL.read_text())
    yield conn
    conn.close()


def v1_tables(conn) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]


def test_shipped_ddl_is_the_seed_verbatim():
    if not SEED.exists():
        pytest.skip("shared/seed is not beside this checkout")
    seed_sql = SEED.read_text().split("```sql\n", 1)[1].split("```", 1)[0]
    shipped = "".join(line + "\n" for line in V1_SQL.read_text().splitlines() if line[:2] != "--")
    assert (
        shipped.strip()
        == "\n".join(line for line in seed_sql.splitlines() if line[:2] != "--").strip()
    )


def test_reference_has_the_twelve_tables(reference):
    assert len(v1_tables(reference)) == 12


V1_TABLES = [
    "sessions",
    "conversation_turns",
    "workflow_runs",
    "workflow_steps",
    "task_events",
    "skills_learned",
    "behavior_profiles",
    "personality_profiles",
    "skill_to_logic_proposals",
    "validation_results",
    "approvals",
    "deploy_outcomes",
]


@pytest.mark.django_db
@pytest.mark.engine("sqlite")
@pytest.mark.parametrize("table", V1_TABLES)
def test_migrated_table_matches_v1(reference, table):
    conn = connection.connection
    ours, theirs = describe(conn, table), describe(reference, table)
    # Column order, names, declared types, NOT NULL, defaults and primary key.
    assert ours["columns"] == theirs["columns"]
    assert ours["foreign_keys"] == theirs["foreign_keys"]
    for name, spec in theirs["indexes"].items():
        assert ours["indexes"].get(name) == spec, f"index {name} drifted"
    assert set(ours["indexes"]) - set(theirs["indexes"]) == OUR_INDEXES.get(table, set())


def test_v1_declared_types_are_uppercase_like_the_contract(reference):
    types = {row[2] for t in v1_tables(reference) for row in describe(reference, t)["columns"]}
    assert types == {"TEXT", "INTEGER", "REAL"}


# PostgreSQL: the same contract, types mapped, read from the catalog.
PG_TYPES = {"TEXT": "text", "INTEGER": "bigint", "REAL": "double precision"}
PG_ON_DELETE = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


def describe_postgresql(cursor, table: str) -> dict:
    """Columns, keys and indexes of one table from PostgreSQL's catalog, in the form
    ``expected_on_postgresql`` gives for the v1 DDL."""
    cursor.execute(
        "SELECT column_name, data_type, is_nullable = 'NO', "
        "regexp_replace(column_default, '::[a-z ]+$', '') "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    columns = [tuple(row) for row in cursor.fetchall()]
    cursor.execute(
        "SELECT array_agg(a.attname ORDER BY k.n), c.contype, c.confdeltype, "
        "(SELECT array_agg(fa.attname ORDER BY fk.n) FROM unnest(c.confkey) WITH ORDINALITY "
        "AS fk(attnum, n) JOIN pg_attribute fa ON fa.attrelid = c.confrelid "
        "AND fa.attnum = fk.attnum), c.confrelid::regclass::text "
        "FROM pg_constraint c CROSS JOIN unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u', 'f') "
        "GROUP BY c.oid, c.contype, c.confdeltype, c.confrelid",
        [table],
    )
    keys, foreign_keys = set(), set()
    for cols, kind, on_delete, ref_cols, ref_table in cursor.fetchall():
        if kind == "f":
            foreign_keys.add((tuple(cols), ref_table, tuple(ref_cols), PG_ON_DELETE[on_delete]))
        else:
            keys.add(tuple(cols))
    cursor.execute(
        "SELECT i.relname, array_agg(a.attname ORDER BY k.n) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid "
        "CROSS JOIN unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
        "LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
        "WHERE x.indrelid = %s::regclass AND NOT x.indisunique GROUP BY i.relname",
        [table],
    )
    indexes = {name: tuple(cols) for name, cols in cursor.fetchall()}
    return {"columns": columns, "keys": keys, "foreign_keys": foreign_keys, "indexes": indexes}


def expected_on_postgresql(reference, table: str) -> dict:
    """What the v1 DDL says of one table, in PostgreSQL's terms."""
    described = describe(reference, table)
    columns = [
        # A PRIMARY KEY column is NOT NULL on PostgreSQL (SQLite allows NULL in a TEXT key).
        (name, PG_TYPES[type_], bool(notnull or pk), default)
        for _cid, name, type_, notnull, default, pk, _hidden in described["columns"]
    ]
    keys = {(row[1],) for row in described["columns"] if row[5]}
    keys |= {tuple(cols) for unique, _o, _p, cols in described["indexes"].values() if unique}
    foreign_keys = {
        ((from_,), ref_table, (to,), on_delete)
        for _id, _seq, ref_table, from_, to, _on_update, on_delete, _match in described[
            "foreign_keys"
        ]
    }
    indexes = {
        name: tuple(cols)
        for name, (unique, _o, _p, cols) in described["indexes"].items()
        if not unique
    }
    return {"columns": columns, "keys": keys, "foreign_keys": foreign_keys, "indexes": indexes}


@pytest.mark.django_db
@pytest.mark.engine("postgresql")
@pytest.mark.parametrize("table", V1_TABLES)
def test_migrated_postgresql_table_matches_v1(reference, table):
    with connection.cursor() as cursor:
        ours = describe_postgresql(cursor, table)
    theirs = expected_on_postgresql(reference, table)
    # Column order, names, mapped types, NOT NULL and defaults.
    assert ours["columns"] == theirs["columns"]
    assert ours["keys"] == theirs["keys"]
    assert ours["foreign_keys"] == theirs["foreign_keys"]
    for name, columns in theirs["indexes"].items():
        assert ours["indexes"].get(name) == columns, f"index {name} drifted"
    # Beyond v1: our indexes, and the search index on turn content.
    extra = set(ours["indexes"]) - set(theirs["indexes"])
    assert extra == OUR_INDEXES.get(table, set()) | (
        {"turn_search"} if table == "conversation_turns" else set()
    )
