"""A file a runtime made is a file the dashboard adopts (the seed's migration path, steps 1
and 2), whichever store made it: the seed's DDL alone, the TypeScript store's bootstrap or
the Python store's, rows written before the dashboard ever saw the file. `migrate` (and
`migrate --fake-initial`, as the README long said) keeps every row, gives the file exactly
the schema a migrated one has, and the pages show the rows."""

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.utils.html import escape

from memory_app.store import RuntimeMemoryStore, StoreError
from tests.helpers import REPO, django_env, manage, typescript_node

V1_SQL = (REPO / "contract" / "v1_schema.sql").read_text()
OURS = ("tommemory_approval_evidence", "tommemory_overrides", "tommemory_audit_log")

# The seed's step 1 without any store: the DDL, and rows another runtime wrote by hand.
SEED_ROWS = """
INSERT INTO sessions (id, actor, started_at) VALUES ('seed-session', 'tom', '2026-01-01');
INSERT INTO conversation_turns (id, session_id, turn_index, role, content, created_at)
    VALUES ('seed-t1', 'seed-session', 0, 'user', 'written from the seed DDL', '2026-01-01');
INSERT INTO workflow_runs (id, workflow_name, trigger_source, initiated_by, status, started_at)
    VALUES ('seed-run', 'seed-nightly', 'cron', 'tom', 'running', '2026-01-01');
INSERT INTO workflow_steps (id, workflow_run_id, step_index, step_name, status, started_at)
    VALUES ('seed-step', 'seed-run', 0, 'seed-collect', 'running', '2026-01-01');
INSERT INTO skills_learned (id, skill_key, description, source_type, confidence, learned_at)
    VALUES ('seed-skill', 'seed-k', 'd', 'doc', 0.5, '2026-01-01');
INSERT INTO skill_to_logic_proposals (id, skill_id, proposed_by, proposal_type, proposal_json,
    risk_level, status, created_at, updated_at)
    VALUES ('seed-proposal', 'seed-skill', 'oxide', 'code_patch', '{}', 'low', 'drafted',
            '2026-01-01', '2026-01-01');
INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)
    VALUES ('seed-a1', 'seed-proposal', 'seed-ann', 'human', 'approved', '2026-01-02');
"""

# The seed's step 1 in Python: the store's bootstrap, then every kind of row the Python
# store writes, governed ones included, before any migration.
PYTHON_RUNTIME = """
import json, django
django.setup()
from memory_app.store import RuntimeMemoryStore
store = RuntimeMemoryStore.bootstrap()
at = "2026-05-01T08:00:00.000Z"
session = store.start_session("tom", channel="sdk", started_at=at)
store.append_turn(session.id, "user", "Python bootstrapped this file", created_at=at)
run = store.start_workflow_run("py-nightly", trigger_source="cron", initiated_by="tom",
                               started_at=at)
step = store.add_step(run.id, "py-collect", started_at=at)
store.add_event("info", "low", "py step event", run_id=run.id, step_id=step.id, created_at=at)
skill = store.learn_skill("py-k", "learned in Python", source_type="doc", confidence=0.6,
                          learned_at=at)
proposal = store.draft_proposal(skill.id, proposed_by="oxide", proposal_type="code_patch",
                                proposal={"diff": "py"}, risk_level="low", created_at=at)
store.record_validation(proposal.id, validator="ci", build_pass=True, lint_pass=True,
                        test_pass=True, policy_pass=True)
store.record_approval(proposal.id, approver="py-rita", approval_type="human",
                      decision="approved")
print(json.dumps({"session": session.id, "run": run.id, "proposal": proposal.id}))
"""

# The pages, as a reviewer sees them, in a process of the adopted file's own.
PAGES = """
import json, sys, django
django.setup()
from django.contrib.auth.models import Group, User
from django.test import Client
user = User.objects.create_user("adoption-reviewer")
user.groups.add(Group.objects.get(name="reviewer"))
client = Client()
client.force_login(user)
shown = {}
for path in json.loads(sys.argv[1]):
    page = client.get(path)
    shown[path] = [page.status_code, page.content.decode()]
print(json.dumps(shown))
"""


def run_typescript(db: Path, how: str) -> dict:
    if not (REPO / "runtime-store-ts" / "dist" / "index.js").exists():
        pytest.fail("the TypeScript store is not built: run scripts/test-store-ts (make test does)")
    written = subprocess.run(
        [typescript_node(), str(REPO / "tests" / "ts_bootstrap_writer.mjs"), str(db), how],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    return json.loads(written.stdout)


def run_python(db: Path, code: str, *args: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env=django_env(db, DJANGO_SSL_REDIRECT="0", DJANGO_ALLOWED_HOSTS="testserver"),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.splitlines()[-1]


def made_by_the_seed_ddl(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        conn.executescript(V1_SQL + SEED_ROWS)
    conn.close()
    return [{"session": "seed-session", "run": "seed-run", "proposal": "seed-proposal"}]


def bootstrapped_by_typescript(db: Path) -> list[dict]:
    return [run_typescript(db, "bootstrap")]


def bootstrapped_by_python(db: Path) -> list[dict]:
    python = json.loads(run_python(db, PYTHON_RUNTIME))
    return [python, run_typescript(db, "open")]  # a second writer on the same file


MAKERS = {
    "seed DDL": made_by_the_seed_ddl,
    "TypeScript bootstrap": bootstrapped_by_typescript,
    "Python bootstrap": bootstrapped_by_python,
}


@pytest.fixture(scope="module", params=list(MAKERS))
def runtime_file(request, tmp_path_factory) -> tuple[Path, list[dict]]:
    """A file a runtime made and wrote, never migrated; copy it before adopting it."""
    db = tmp_path_factory.mktemp("runtime") / "tom_runtime.sqlite"
    written = MAKERS[request.param](db)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
    conn.close()
    return db, written


def every_row(db: Path, tables=None) -> dict[str, list]:
    """The rows of each table (by default every one, before any migration made its own)."""
    with sqlite3.connect(db) as conn:
        if tables is None:
            listed = (
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            tables = [r[0] for r in conn.execute(listed)]
        rows = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
    conn.close()
    return rows


def schema(db: Path) -> dict:
    """Every table's columns, foreign keys and indexes, and every trigger, as SQLite reports
    them (an index's or a table's SQL text differs between the seed's DDL and Django's)."""

    def indexes(conn, table: str) -> list:
        listed = conn.execute(f'PRAGMA index_list("{table}")').fetchall()
        return sorted(
            (
                name,
                unique,
                origin,
                partial,
                conn.execute(f'PRAGMA index_xinfo("{name}")').fetchall(),
            )
            for _seq, name, unique, origin, partial in listed
        )

    with sqlite3.connect(db) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        described = {
            table: (
                conn.execute(f'PRAGMA table_xinfo("{table}")').fetchall(),
                sorted(conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()),
                indexes(conn, table),
            )
            for (table,) in tables
        }
        triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    conn.close()
    return {"tables": described, "triggers": triggers}


# Adoption is of SQLite files; a PostgreSQL database gets its tables from the migrations.
@pytest.mark.engine("sqlite")
@pytest.mark.parametrize("command", [["migrate"], ["migrate", "--fake-initial"]])
def test_the_dashboard_adopts_a_file_a_runtime_made(
    runtime_file, command, migrated_file_db, tmp_path
):
    made, written = runtime_file
    db = tmp_path / "tom_runtime.sqlite"
    shutil.copy(made, db)
    before = every_row(db)

    adopted = manage(db, *command, "--no-input")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr

    # Every row stays as it was, and the schema is exactly a migrated file's.
    assert every_row(db, before) == before
    assert schema(db) == schema(migrated_file_db)
    unapplied = manage(db, "migrate", "--check")
    assert unapplied.returncode == 0, unapplied.stdout + unapplied.stderr
    if "tommemory_audit_log" in before:
        audit = manage(db, "verify_audit")
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert "decision chain intact" in audit.stdout

    # The pages show what the runtime wrote: its transcripts, workflows and proposals, and
    # the search finds the turns written before the search indexes existed.
    searches = {f"/sessions/?{urlencode({'q': t[4]})}": t[1] for t in before["conversation_turns"]}
    pages = {"sessions": "session", "workflows": "run", "proposals": "proposal"}
    paths = [f"/{page}/{ids[key]}/" for ids in written for page, key in pages.items()]
    paths += searches
    shown = json.loads(run_python(db, PAGES, json.dumps(paths)))
    assert {path: status for path, (status, _) in shown.items()} == dict.fromkeys(paths, 200)
    pages = "\n".join(html for _, html in shown.values())
    for turn in before["conversation_turns"]:
        assert escape(turn[4]) in pages  # every turn's content, on its session's page
    for step in before["workflow_steps"]:
        assert escape(step[3]) in pages
    for approval in before["approvals"]:
        assert escape(approval[2]) in pages  # every approver, on their proposal's page
    for search, session in searches.items():
        assert f"/sessions/{session}/" in shown[search][1], search


# Tables another process made that look like ours but are not: adopting them would leave
# the migrations after them, and every store, working on the wrong table.
NOT_THE_CONTRACT_S = {
    "tommemory_audit_log": (
        'CREATE TABLE tommemory_audit_log ("index" bigint NOT NULL PRIMARY KEY, kind text)',
        "INSERT INTO tommemory_audit_log VALUES (0, 'someone else''s')",
        "columns and indexes differ from those of the table contract/tommemory_schema.sql makes",
    ),
    "sessions": (
        "ALTER TABLE sessions ADD COLUMN mood TEXT",
        "INSERT INTO sessions (id, actor, started_at, mood) VALUES ('s', 'tom', '2026', 'ok')",
        "columns differ from those of the table contract/v1_schema.sql makes",
    ),
}


@pytest.mark.engine("sqlite")
@pytest.mark.parametrize("table", list(NOT_THE_CONTRACT_S))
def test_a_table_that_differs_from_the_contract_s_is_refused_not_adopted(table, tmp_path):
    db = tmp_path / "tom_runtime.sqlite"
    made, row, differs = NOT_THE_CONTRACT_S[table]
    with sqlite3.connect(db) as conn:
        conn.executescript(V1_SQL)
        conn.execute(made)
        conn.execute(row)
    conn.close()
    before = schema(db)["tables"][table], every_row(db, [table])

    refused = manage(db, "migrate", "--no-input")

    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert f"CommandError: {table} is already in this database, but its {differs}" in (
        refused.stderr
    )
    assert (schema(db)["tables"][table], every_row(db, [table])) == before


def copy_database(source: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "copy_database", "--from", str(source),
         "--to", str(target)],
        env=django_env(target.parent / "default.sqlite"), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.engine("sqlite")
def test_copy_database_says_how_to_adopt_a_v1_file_and_copies_it_once_adopted(
    runtime_file, tmp_path
):
    made, _ = runtime_file
    source, target = tmp_path / "runtime.sqlite", tmp_path / "copy.sqlite"
    shutil.copy(made, source)

    refused = copy_database(source, target)

    assert refused.returncode == 1
    assert "not a tommemory database" not in refused.stderr
    assert "is a runtime memory v1 file the dashboard has not adopted yet" in refused.stderr
    told = re.search(r"TOM_RUNTIME_DB=(\S+) python manage.py (migrate);", refused.stderr)
    assert told, refused.stderr
    assert told[1] == str(source)
    assert not target.exists()  # nothing was copied, nor the target migrated
    # What it says to run adopts the file; the copy then carries every row.
    adopted = manage(source, told[2], "--no-input")
    assert adopted.returncode == 0, adopted.stderr
    copied = copy_database(source, target)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert f"Copied {source} to {target}." in copied.stdout
    rows = every_row(source, ["conversation_turns", "approvals"])
    assert every_row(target, ["conversation_turns", "approvals"]) == rows


@pytest.mark.engine("sqlite")
def test_copy_database_still_refuses_a_file_that_is_not_v1(tmp_path):
    source = tmp_path / "other.sqlite"
    with sqlite3.connect(source) as conn:
        conn.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY)")
    conn.close()
    refused = copy_database(source, tmp_path / "copy.sqlite")
    assert refused.returncode == 1
    assert "has no table conversation_turns: not a tommemory database" in refused.stderr


@pytest.mark.engine("sqlite")
def test_the_python_and_typescript_bootstraps_make_the_same_file(tmp_path):
    python, typescript = tmp_path / "python.sqlite", tmp_path / "typescript.sqlite"
    run_python(
        python,
        "import django; django.setup()\n"
        "from memory_app.store import RuntimeMemoryStore\n"
        "RuntimeMemoryStore.bootstrap().start_session('tom', started_at='2026-05-01')\n"
        "print('made')",
    )
    run_typescript(typescript, "bootstrap")
    assert schema(python) == schema(typescript)
    for db in (python, typescript):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.close()


# A PostgreSQL database gets its tables from the migrations, as in TypeScript.
@pytest.mark.engine("postgresql")
def test_the_python_bootstrap_refuses_postgresql():
    with pytest.raises(StoreError, match="bootstrap makes SQLite files; a PostgreSQL database"):
        RuntimeMemoryStore.bootstrap()
