import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from urllib.request import urlopen

import psycopg
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

from memory_app import timeutil
from memory_app.ingest.models import IngestToken
from memory_app.models import Proposal
from memory_app.store import RuntimeMemoryStore

from .helpers import (
    ENGINE,
    PASSWORD,
    REPO,
    TEST_NOW,
    IngestServer,
    SharedDatabase,
    django_env,
    free_port,
    manage,
    postgresql_admin,
    postgresql_url,
    validate,
)


def pytest_collection_modifyitems(config, items):
    """Leave out tests of the other engine (``@pytest.mark.engine("sqlite")``), and on
    PostgreSQL those that do not depend on the engine (``@pytest.mark.engine_free``): make
    test runs the suite once per engine, and what does not depend on it once."""
    chosen, other = [], []
    for item in items:
        marker = item.get_closest_marker("engine")
        elsewhere = marker is not None and marker.args[0] != ENGINE
        once = item.get_closest_marker("engine_free") is not None and ENGINE != "sqlite"
        (other if elsewhere or once else chosen).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = chosen


class Clock:
    """The clock a test runs under (``timeutil.clock``): it reads ``TEST_NOW`` when the test
    begins and moves on as the test's own time passes (``time.monotonic``, which is no date),
    so waits and timeouts behave as ever; ``set`` moves it to any moment, and stops it there
    with ``ticking=False`` (as a contract scenario's ``now`` stops the TypeScript store's)."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, moment: datetime | str, *, ticking: bool = True) -> None:
        self._base = moment if isinstance(moment, datetime) else timeutil.parse_iso(moment)
        self._since, self._ticking = time.monotonic(), ticking

    def __call__(self) -> datetime:
        if not self._ticking:
            return self._base
        return self._base + timedelta(seconds=time.monotonic() - self._since)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashes():
    """Test users' passwords hashed at one iteration (``QuickHasher``)."""
    hashers = ["tests.helpers.QuickHasher", *django_settings.PASSWORD_HASHERS]
    with override_settings(PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """Every test's clock (see ``Clock``): ask for it to read or set the time."""
    pinned = Clock(timeutil.parse_iso(TEST_NOW))
    monkeypatch.setattr(timeutil, "clock", pinned)
    return pinned


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
            # Every writer that reads the store's clock (the store's front door is thin).
            for writer in ("checks", "profiles.writes", "promotion.writes"):
                patched.setattr(f"memory_app.{writer}.now_iso", lambda: EARLY_NOW)
            yield

    return clock


def _user_in(username: str, group: str | None) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
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
def review_admin(db) -> User:
    return _user_in("rhea-review-admin", "review-admin")


@pytest.fixture
def auditor(db) -> User:
    return _user_in("audrey-auditor", "auditor")


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
def turn_review_queue(db, store, session_with_turns):
    """A review queue asking a categorical ("helpful": yes/no) and a boolean ("safe")
    score, one reviewer per item, holding the session_with_turns' assistant turn."""
    store.create_score_config("helpful", "categorical", created_by="rhea", categories=["yes", "no"])
    store.create_score_config("safe", "boolean", created_by="rhea")
    queue = store.create_review_queue(
        "answers", created_by="rhea", score_configs=["helpful", "safe"]
    )
    turn = session_with_turns.turns.get(role="assistant")
    store.add_queue_items(queue.id, [("turn", turn.id)], added_by="rhea")
    return queue


@pytest.fixture
def issued_token(db) -> tuple[IngestToken, str]:
    """An active ingest token issued to a support agent, and its secret."""
    return IngestToken.objects.issue(
        "support-agent prod", source="support-agent", created_by="root"
    )


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


@pytest.fixture
def validated(store, proposal):
    """That proposal with a passing validation: open to decisions."""
    validate(store, proposal)
    return proposal


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture(scope="session")
def migrated_file_db(tmp_path_factory) -> Path:
    """A migrated runtime database file, made once; copy it before writing to it."""
    path = tmp_path_factory.mktemp("migrated") / "tom_runtime.sqlite"
    result = manage(path, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="session")
def migrated_postgresql_template(tmp_path_factory):
    """PostgreSQL runs only: a migrated database to copy (CREATE DATABASE ... TEMPLATE)."""
    if ENGINE != "postgresql":
        yield None
        return
    name = f"tommemory_template_{os.getpid()}"
    postgresql_admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "migrate", "--no-input"],
        env=django_env(
            tmp_path_factory.mktemp("template") / "unused.sqlite",
            DATABASE_URL=postgresql_url(name),
        ),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    yield name
    postgresql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shared_db(request, tmp_path, migrated_file_db, migrated_postgresql_template):
    """A ``SharedDatabase`` for this test, removed afterwards."""
    if ENGINE == "sqlite":
        path = tmp_path / "shared.sqlite"
        shutil.copy(migrated_file_db, path)
        yield SharedDatabase(str(path), django_env(path), lambda: sqlite3.connect(path))
        return

    name = f"tommemory_test_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    postgresql_admin(
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}" TEMPLATE "{migrated_postgresql_template}"',
    )
    url = postgresql_url(name)
    yield SharedDatabase(
        url, django_env(tmp_path / "unused.sqlite", DATABASE_URL=url), lambda: psycopg.connect(url)
    )
    postgresql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# An ingest token and a reviewer, made in the server's database; the token's secret printed.
INGEST_ACCOUNTS = f"""
from django.contrib.auth.models import Group, User
from memory_app.ingest.models import IngestToken
rita = User.objects.create_user("rita", password="{PASSWORD}")
rita.groups.add(Group.objects.get(name="reviewer"))
print(IngestToken.objects.issue("agents", source="test agents", created_by="root")[1])
"""


@pytest.fixture
def ingest_server(shared_db):
    """The production server, gunicorn as docs/production.md runs it (it reads the chunked
    bodies the JavaScript exporter streams; Django's development server cannot), on the
    shared database, with an ingest token and a reviewer: what a real exporter posts to."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.fail(f"{gunicorn} is missing: .venv/bin/pip install gunicorn (the bench extra)")
    env = shared_db.env | {
        "DJANGO_SSL_REDIRECT": "0", "DJANGO_SECURE_COOKIES": "0", "TOM_DB_TIMEOUT": "2",
    }  # fmt: skip
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", INGEST_ACCOUNTS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    base = f"http://127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [str(gunicorn), "tommemory.wsgi", "-w", "1", "--threads", "4", "-b", base[7:]],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                urlopen(base + "/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield IngestServer(base, made.stdout.strip(), shared_db, ("rita", PASSWORD))
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


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
# CI (CI=true): the default's budget, sized so make test stays within its 10 minutes, and a
# failure prints the blob that replays it (@reproduce_failure) into CI's log.
settings.register_profile("ci", parent=settings.get_profile("default"), print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "default")
)


# --- the decision log ------------------------------------------------------------------


@pytest.fixture
def keys(tmp_path):
    """A signing key and its verifier key, made by audit_keygen, outside the database."""
    private = tmp_path / "keys" / "audit.key"
    with override_settings(TOM_AUDIT_KEY=private, TOM_AUDIT_PUBLIC_KEY=Path(f"{private}.pub")):
        call_command("audit_keygen", stdout=StringIO())
        yield private, Path(f"{private}.pub")


@pytest.fixture
def decided(store):
    """A high-risk proposal with a validation and three decisions, logged by the store."""
    skill = store.learn_skill("log-skill", "d", source_type="doc", confidence=0.7)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch",
        proposal={"diff": "--- a\n+++ b\n"}, risk_level="high",
    )  # fmt: skip
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1,
        validated_at="2026-01-01T00:00:00.000Z",
    )  # fmt: skip
    for n, (who, kind) in enumerate([("ann", "human"), ("bob", "policy"), ("cy", "security")]):
        store.record_approval(
            proposal.id, approver=who, approval_type=kind, decision="approved",
            decided_at=f"2026-01-0{n + 2}T00:00:00.000Z",
        )  # fmt: skip
    return Proposal.objects.get(pk=proposal.id)
