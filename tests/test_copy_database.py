"""copy_database moves every row between a SQLite file and PostgreSQL, either way."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from memory_app.management.commands.copy_database import COPIED
from tests.helpers import REPO, django_env, manage, postgresql_admin, postgresql_url

TABLES = [model._meta.db_table for model in COPIED]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    """A small demo database file with accounts, decisions and a logged proposal change."""
    path = tmp_path_factory.mktemp("copy") / "demo.sqlite"
    for command in (
        ["migrate", "--no-input"],
        ["seed_demo", "--sessions", "12", "--turns", "6", "--runs", "4", "--skills", "6"],
        ["demo_users"],
    ):
        result = manage(path, *command, DJANGO_DEBUG="1")
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(path) as conn:  # another writer edits a proposal: the log notices
        conn.execute("UPDATE skill_to_logic_proposals SET risk_level = 'critical' WHERE rowid = 1")
        # Notifications set up and sent: they move with the database.
        conn.execute(
            "INSERT INTO tommemory_webhook_endpoints (id, name, url, secret, events, format, "
            "active, log_index, created_at) VALUES (1, 'ops chat', 'https://hooks.example.org/x',"
            " 's3cret', '[\"decision.needed\", \"proposal.approved\"]', 'slack', 1, 5, "
            "'2026-11-01 10:00:00')"
        )
        conn.execute(
            "INSERT INTO tommemory_webhook_deliveries (endpoint_id, event, event_id, body, "
            "status, attempts, created_at, response_status, response_body, error) VALUES "
            "(1, 'decision.needed', 'e1', '{\"text\": \"x\"}', 'delivered', 1, "
            "'2026-11-01 10:00:01.250000', 200, 'ok', '')"
        )
        # A withdrawn profile version's who, when and why move with it.
        conn.execute(
            "INSERT INTO tommemory_profile_withdrawals VALUES ('w1', 'behavior_profiles', "
            "'v-2', 'paula', '2026-11-01T09:00:00.000Z', 'the threshold was wrong')"
        )
        # A reviewer's annotation, its edit and their scores move with the turns they are on.
        conn.executescript(
            "INSERT INTO tommemory_score_configs VALUES ('c1', 'helpful', 'categorical', "
            "'[\"yes\",\"no\"]', NULL, NULL, '', 'rhea', '2026-11-01T08:00:00.000Z', NULL);"
            "INSERT INTO tommemory_annotations SELECT 'a1', 'turn', id, 'rita', 'wrong', "
            "'the right answer', NULL, '2026-11-01T08:01:00.000Z', NULL "
            "FROM conversation_turns LIMIT 1;"
            "INSERT INTO tommemory_annotations SELECT 'a2', target_kind, target_id, author, '', "
            "correction, 'q1', '2026-11-01T08:02:00.000Z', 'a1' FROM tommemory_annotations "
            "WHERE id = 'a1';"
            "INSERT INTO tommemory_annotation_scores VALUES ('s1', 'no', NULL, 'a1', 'c1');"
            "INSERT INTO tommemory_annotation_scores VALUES ('s2', 'yes', NULL, 'a2', 'c1');"
        )
        # A review queue, the item the edit was given for, and who held it when.
        conn.executescript(
            "INSERT INTO tommemory_review_queues (id, name, description, reviewers_per_item, "
            "reservation_seconds, created_by, created_at) VALUES ('rq', 'answers', '', 2, 900, "
            "'rhea', '2026-11-01T07:00:00.000Z');"
            "INSERT INTO tommemory_review_queue_configs (id, queue_id, score_config_id, "
            "position) VALUES ('rc', 'rq', 'c1', 0);"
            "INSERT INTO tommemory_review_queue_items (id, queue_id, target_kind, target_id, "
            "added_by, added_at) SELECT 'q1', 'rq', 'turn', target_id, 'rhea', "
            "'2026-11-01T07:30:00.000Z' FROM tommemory_annotations WHERE id = 'a1';"
            "INSERT INTO tommemory_review_reservations (id, item_id, reviewer, reserved_at, "
            "expires_at) VALUES ('rr', 'q1', 'rita', '2026-11-01T08:00:00.000Z', "
            "'2026-11-01T08:15:00.000Z');"
        )
        conn.execute(
            "INSERT INTO tommemory_digests (user_id, sent_at, proposals) "
            "SELECT id, '2026-11-01 11:00:00', '[\"p1\", \"p2\"]' FROM auth_user LIMIT 1"
        )
    return path


@pytest.fixture
def copy(tmp_path):
    """Run copy_database in its own process (its default database a file of the test's)."""

    def run(source: str, target: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO / "manage.py"), "copy_database", "--from", source,
             "--to", target, *extra],
            env=django_env(tmp_path / "default.sqlite"), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip

    return run


def rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every copied table, turns in the order they were added."""
    with sqlite3.connect(path) as conn:
        found = {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}
        found["turn order"] = conn.execute(
            "SELECT id FROM conversation_turns ORDER BY rowid"
        ).fetchall()
        found["roles"] = conn.execute(
            "SELECT u.username, g.name FROM auth_user_groups m "
            "JOIN auth_user u ON u.id = m.user_id JOIN auth_group g ON g.id = m.group_id "
            "ORDER BY 1"
        ).fetchall()
    return found


@pytest.fixture
def empty_postgresql_url():
    """A new, empty PostgreSQL database (PostgreSQL runs only)."""
    name = f"tommemory_copy_{os.getpid()}"
    postgresql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    yield postgresql_url(name)
    postgresql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.engine("postgresql")
def test_a_copy_to_postgresql_and_back_loses_nothing(
    demo_file, empty_postgresql_url, tmp_path, copy
):
    there = copy(str(demo_file), empty_postgresql_url)
    assert there.returncode == 0, there.stderr
    assert "decision chain intact" in there.stdout
    assert "conversation_turns" in there.stderr  # the progress bar
    back = tmp_path / "back.sqlite"
    returned = copy(empty_postgresql_url, str(back))
    assert returned.returncode == 0, returned.stderr
    original, copied = rows(demo_file), rows(back)
    assert original["tommemory_proposal_changes"]  # the logged change travelled too
    assert original["roles"]
    assert original["tommemory_review_reservations"]  # a queue's rows travelled too
    for table, found in original.items():
        assert copied[table] == found, table


@pytest.mark.engine("postgresql")
def test_a_row_postgresql_cannot_hold_stops_the_copy_and_copies_nothing(
    demo_file, empty_postgresql_url, tmp_path, copy
):
    odd = tmp_path / "odd.sqlite"
    odd.write_bytes(demo_file.read_bytes())
    with sqlite3.connect(odd) as conn:
        conn.execute("UPDATE conversation_turns SET token_count = 'many' WHERE rowid = 3")
    refused = copy(str(odd), empty_postgresql_url)
    assert refused.returncode != 0
    assert "cannot hold a row of the source" in refused.stderr
    assert "Nothing was copied" in refused.stderr
    import psycopg

    with psycopg.connect(empty_postgresql_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)


def test_a_copy_between_files_loses_nothing(demo_file, tmp_path, copy):
    target = tmp_path / "copy.sqlite"
    copied = copy(str(demo_file), str(target))
    assert copied.returncode == 0, copied.stderr
    assert rows(target) == rows(demo_file)
    # Our own tables are among those compared (an edit and what it superseded, and scores).
    annotations = {r[0]: r for r in rows(target)["tommemory_annotations"]}
    assert annotations["a2"][-1] == "a1"
    assert len(annotations) == 2 + 12  # and the demo reviewers' (demo/review.py)
    assert len(rows(target)["tommemory_annotation_scores"]) == 2 + 12 * 3
    # The copy is searchable: its search indexes were filled.
    found = manage(
        target, "shell", "-c",
        "from memory_app.models import Turn; print(Turn.objects.search('the').count())",
    )  # fmt: skip
    assert int(found.stdout.split()[-1]) > 0


def test_a_non_empty_target_is_refused_unless_told(demo_file, tmp_path, copy):
    target = tmp_path / "full.sqlite"
    assert copy(str(demo_file), str(target)).returncode == 0
    before = rows(target)
    refused = copy(str(demo_file), str(target))
    assert refused.returncode != 0
    assert "already holds rows (sessions); nothing was copied" in refused.stderr
    assert rows(target) == before


def test_the_same_database_twice_is_refused(demo_file, copy):
    refused = copy(str(demo_file), str(demo_file))
    assert refused.returncode != 0
    assert "name the same database" in refused.stderr
