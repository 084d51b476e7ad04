"""The shared file: WAL, busy timeout, IMMEDIATE writes, concurrent writers, adoption."""

import itertools
import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import REPO, django_env, manage, start_together

V1_SQL = (REPO / "contract" / "v1_schema.sql").read_text()


def test_two_writer_processes_append_to_one_session_without_locking_errors(shared_db):
    # On both engines (shared_db): SQLite serializes on its IMMEDIATE transaction,
    # PostgreSQL on the session's row lock.
    shared_db.execute(
        "INSERT INTO sessions (id, actor, started_at) VALUES ('s/1 ü', 'tom', '2026-11-24')"
    )
    count = 300
    start_at = start_together()
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.writer_process", "s/1 ü", str(count), label, start_at],
            cwd=REPO,
            env=shared_db.env | {"TOM_DB_TIMEOUT": "60"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in ("alpha", "beta")
    ]
    outputs = [w.communicate(timeout=240) for w in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "database is locked" not in err
    indexes = [r[0] for r in shared_db.execute("SELECT turn_index FROM conversation_turns")]
    labels = [
        r[0].split()[0]
        for r in shared_db.execute("SELECT content FROM conversation_turns ORDER BY turn_index")
    ]
    assert sorted(indexes) == list(range(2 * count))
    assert sorted(labels) == ["alpha"] * count + ["beta"] * count
    # The writers really ran at the same time: their turns interleave.
    switches = sum(1 for a, b in itertools.pairwise(labels) if a != b)
    assert switches > 2


@pytest.mark.engine("sqlite")
def test_connection_runs_wal_with_foreign_keys_and_immediate_transactions(migrated_file_db):
    code = (
        "import django; django.setup()\n"
        "from django.db import connection, transaction\n"
        "c = connection.cursor()\n"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0])\n"
        "print(c.execute('PRAGMA foreign_keys').fetchone()[0])\n"
        "print(c.execute('PRAGMA busy_timeout').fetchone()[0])\n"
        "print(connection.transaction_mode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=django_env(migrated_file_db),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "1", "30000", "IMMEDIATE"]


@pytest.fixture
def runtime_made_db(tmp_path):
    """A database another runtime created from the seed DDL, already holding rows."""
    path = tmp_path / "adopted.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SQL)
        conn.executescript(
            """
            INSERT INTO sessions (id, actor, started_at) VALUES ('sess-1', 'tom', '2026-01-01');
            INSERT INTO conversation_turns (id, session_id, turn_index, role, content, created_at)
                VALUES ('t1', 'sess-1', 0, 'user', 'hello', '2026-01-01 00:00:01');
            INSERT INTO skills_learned (id, skill_key, description, source_type, confidence,
                learned_at) VALUES ('sk', 'k', 'd', 'doc', 0.5, '2026-01-01');
            INSERT INTO skill_to_logic_proposals (id, skill_id, proposed_by, proposal_type,
                proposal_json, risk_level, status, created_at, updated_at)
                VALUES ('p1', 'sk', 'oxide', 'code_patch', '{}', 'low', 'drafted', 'x', 'x');
            INSERT INTO approvals (id, proposal_id, approver, approval_type, decision, decided_at)
                VALUES ('a1', 'p1', 'ann', 'human', 'approved', '2026-01-02');
            """
        )
    return path


@pytest.mark.engine("sqlite")
def test_runtime_made_database_is_adopted_with_fake_initial(runtime_made_db):
    result = manage(runtime_made_db, "migrate", "--fake-initial", "--no-input")
    assert result.returncode == 0, result.stderr
    assert "0001_initial... FAKED" in result.stdout
    with sqlite3.connect(runtime_made_db) as conn:
        assert conn.execute("SELECT content FROM conversation_turns").fetchall() == [("hello",)]
        assert conn.execute("SELECT COUNT(*) FROM approvals").fetchone()[0] == 1
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
        groups = {r[0] for r in conn.execute("SELECT name FROM auth_group")}
        indexes = {r[1] for r in conn.execute("PRAGMA index_list('approvals')")}
        searchable = conn.execute(
            "SELECT id FROM conversation_turns WHERE rowid IN "
            "(SELECT rowid FROM turn_search WHERE turn_search MATCH 'hello')"
        ).fetchall()
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM approvals")
    assert "approvals_append_only_delete" in triggers
    assert groups == {"reviewer", "ops", "profile-admin", "review-admin", "auditor"}
    assert "idx_approvals_proposal" in indexes
    assert searchable == [("t1",)]  # rows already there are indexed for search
    check = manage(runtime_made_db, "migrate", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.engine("sqlite")
def test_a_writer_killed_mid_transaction_leaves_the_file_consistent(migrated_file_db, tmp_path):
    db = tmp_path / "killed.sqlite"
    shutil.copy(migrated_file_db, db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO sessions (id, actor, started_at) VALUES ('s', 'tom', '2026')")
        conn.execute(
            "INSERT INTO conversation_turns (id, session_id, turn_index, role, content, "
            "created_at) VALUES ('t0', 's', 0, 'user', 'committed', '2026')"
        )
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.killed_writer_process", "s", "50"],
        cwd=REPO,
        env=django_env(db),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "in transaction"
    writer.kill()  # SIGKILL: no rollback, no cleanup
    writer.wait(timeout=30)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        contents = [r[0] for r in conn.execute("SELECT content FROM conversation_turns")]
        searchable = conn.execute(
            "SELECT COUNT(*) FROM turn_search WHERE turn_search MATCH '\"uncommitted\"'"
        ).fetchone()[0]
    assert contents == ["committed"]  # none of the killed transaction's turns
    assert searchable == 0
    # The dashboard keeps serving and writing: the lock died with the writer.
    serve = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from django.contrib.auth.models import Group, User\n"
        "from memory_app.store import RuntimeMemoryStore\n"
        "RuntimeMemoryStore().append_turn('s', 'assistant', 'after the crash')\n"
        "u = User.objects.create_user('r'); u.groups.add(Group.objects.get(name='reviewer'))\n"
        "c = Client(); c.force_login(u)\n"
        "r = c.get('/sessions/s/')\n"
        "print(r.status_code, r.content.count(b'class=\"turn '))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", serve],
        cwd=REPO,
        env=django_env(db, DJANGO_SSL_REDIRECT="0", DJANGO_ALLOWED_HOSTS="testserver"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "2"]
