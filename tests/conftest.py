import functools
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from hypothesis import HealthCheck, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from memory_app.store import RuntimeMemoryStore


@pytest.fixture
def store() -> RuntimeMemoryStore:
    return RuntimeMemoryStore()


# The store refuses profile versions that start in the past. Tests that write a history of
# versions through it (January, March, June 2026) do so as if it were December 2025.
EARLY_NOW = "2025-12-01T00:00:00.000Z"


@pytest.fixture
def back_then(monkeypatch):
    """A context in which the store's clock reads December 2025 (pages keep the real one)."""

    @contextmanager
    def clock():
        with monkeypatch.context() as patched:
            patched.setattr("memory_app.store.now_iso", lambda: EARLY_NOW)
            yield

    return clock


def _user_in(username: str, group: str | None) -> User:
    user = User.objects.create_user(username=username, password="pw-for-tests-only")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def reviewer(db) -> User:
    return _user_in("rita-reviewer", "reviewer")


@pytest.fixture
def ops(db) -> User:
    return _user_in("oscar-ops", "ops")


@pytest.fixture
def profile_admin(db) -> User:
    return _user_in("paula-admin", "profile-admin")


@pytest.fixture
def outsider(db) -> User:
    return _user_in("olga-outsider", None)


@pytest.fixture
def session_with_turns(db, store):
    """A session with three turns."""
    session = store.start_session("tom", channel="cli", metadata={"topic": "demo"})
    for role, content in [("system", "be brief"), ("user", "hi"), ("assistant", "hello")]:
        store.append_turn(session.id, role, content, token_count=3)
    return session


@pytest.fixture
def proposal(db, store):
    """A drafted high-risk proposal for a freshly learned skill."""
    skill = store.learn_skill(
        "summarise-logs", "Summarise logs", source_type="conversation", confidence=0.8
    )
    return store.draft_proposal(
        skill.id,
        proposed_by="oxide",
        proposal_type="code_patch",
        proposal={"diff": "--- a\n+++ b\n"},
        risk_level="high",
        determinism_score=0.9,
    )


REPO = Path(__file__).resolve().parent.parent


def django_env(db_path: Path, **extra: str) -> dict[str, str]:
    """Environment for a separate Django process on its own database file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "tommemory.settings",
        "DJANGO_SECRET_KEY": "insecure-key-for-the-test-suite-only",
        "TOM_RUNTIME_DB": str(db_path),
        "PYTHONPATH": str(REPO),
    }
    return env | extra


@functools.cache
def typescript_node() -> str:
    """The Node the TypeScript store runs on (scripts/find-node; make test set it up)."""
    found = subprocess.run(
        [str(REPO / "scripts" / "find-node")], capture_output=True, text=True, check=False
    )
    if found.returncode:
        pytest.fail(found.stderr)
    return found.stdout.strip()


def manage(db_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a separate process against db_path."""
    return subprocess.run(
        [sys.executable, str(REPO / "manage.py"), *args],
        env=django_env(db_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="session")
def migrated_file_db(tmp_path_factory) -> Path:
    """A migrated runtime database file, made once; copy it before writing to it."""
    path = tmp_path_factory.mktemp("migrated") / "tom_runtime.sqlite"
    result = manage(path, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@contextmanager
def audit_triggers_lifted():
    """Lift the append-only triggers for test cleanup only, then put them back.

    The search triggers stay, so the search index keeps in sync with what is deleted.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' "
            "AND name NOT LIKE 'turn_search%' AND name NOT LIKE 'turn_words%'"
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            yield cursor
        finally:
            for _, sql in triggers:
                cursor.execute(sql)


# Property-based tests: a fixed budget per test. Examples that once failed are kept in the
# repository (tests/hypothesis-examples) and replayed first on every run; the run never
# drops them (read-only), and new failures go to .hypothesis/ (not committed).
# HYPOTHESIS_PROFILE=record writes new failures into the kept examples instead;
# HYPOTHESIS_PROFILE=thorough searches longer.
KEPT_EXAMPLES = DirectoryBasedExampleDatabase(REPO / "tests" / "hypothesis-examples")
COMMON = {
    "max_examples": int(os.environ.get("TOM_HYPOTHESIS_EXAMPLES", "25")),
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
}
settings.register_profile(
    "default",
    database=MultiplexedDatabase(
        ReadOnlyDatabase(KEPT_EXAMPLES),
        DirectoryBasedExampleDatabase(REPO / ".hypothesis" / "examples"),
    ),
    **COMMON,
)
settings.register_profile("record", database=KEPT_EXAMPLES, **COMMON)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
