"""Real-browser tests: Debian's chromium driven by Playwright against a live server."""

import importlib
import os
import shutil
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from tests.helpers import PASSWORD, audit_triggers_lifted

AUDIT_TABLES = [
    "behavior_profiles",
    "personality_profiles",
    "tommemory_approval_evidence",
    "tommemory_overrides",
    "approvals",
    "validation_results",
    "deploy_outcomes",
    "task_events",
    "tommemory_proposal_changes",
    "tommemory_audit_log",
    "tommemory_profile_withdrawals",
    "tommemory_finding_evidence",
    "tommemory_review_reservations",
    "tommemory_annotation_scores",
    "tommemory_annotations",
]
ROLES = importlib.import_module("memory_app.migrations.0004_role_groups")
CHROMIUM = os.environ.get("TOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"chromium not found at {CHROMIUM}: .ci/run installs Debian's chromium")
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _role_groups(transactional_db):
    """The flush after each live-server test drops the groups migration 0004 made.

    (serialized_rollback cannot restore them here: Playwright's greenlets see another
    connection object than the one holding the serialized data.)
    """
    # The migration function reads the database it works on from its schema editor.
    ROLES.create_groups(apps, SimpleNamespace(connection=connection))


@pytest.fixture
def live_app(live_server, transactional_db):
    """The live server; afterwards the audit rows go so the database flush can run."""
    yield live_server
    with audit_triggers_lifted() as cursor:
        for table in AUDIT_TABLES:
            cursor.execute(f"DELETE FROM {table}")


@pytest.fixture
def page(page):
    """A page that fails the test on any console error or dialog."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.set_default_timeout(10_000)
    yield page
    assert problems == []


@pytest.fixture
def sign_in(page, live_app):
    """Sign a user in through the login form."""

    def sign_in_as(user):
        page.goto(live_app.url + "/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("form.login button[type=submit]")
        page.wait_for_url(live_app.url + "/")
        return page

    return sign_in_as
