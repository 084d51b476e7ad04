"""The migrated schema is the v1 contract: any drift from contract/v1_schema.sql fails."""

import sqlite3
from pathlib import Path

import pytest
from django.db import connection

V1_SQL = Path(__file__).resolve().parent.parent / "contract" / "v1_schema.sql"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "runtime-memory-schema-v1.md"

# Indexes we add beyond v1, each for a query of ours (see memory_app/models.py).
OUR_INDEXES = {
    "sessions": {"idx_sessions_started"},
    "workflow_runs": {"idx_workflow_runs_started"},
    "task_events": {
        "idx_task_events_run_created",
        "idx_task_events_step",
        "idx_task_events_created",
        "idx_task_events_level",
    },
    "skill_to_logic_proposals": {"idx_proposals_skill"},
    "validation_results": {"idx_validations_proposal"},
    "approvals": {"idx_approvals_proposal"},
    "deploy_outcomes": {"idx_deploys_proposal"},
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


@pytest.mark.django_db
@pytest.mark.parametrize(
    "table",
    [
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
    ],
)
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
