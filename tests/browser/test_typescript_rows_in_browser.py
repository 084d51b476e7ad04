"""Rows written only by the TypeScript store, read in a real browser through the dashboard."""

import socket
import subprocess
import sys
import time
from urllib.request import urlopen

import pytest

from ..conftest import REPO, django_env
from ..test_contract import write_with_typescript

pytestmark = pytest.mark.browser


@pytest.fixture
def typescript_world(migrated_file_db, tmp_path):
    """A server on a file the TypeScript store wrote, and the ids of what it wrote."""
    db, ids = write_with_typescript("ts_world.mjs", migrated_file_db, tmp_path)
    env = django_env(db, DJANGO_DEBUG="1", TOM_DEMO_PASSWORD="pw-for-tests-only")
    subprocess.run(
        [sys.executable, "manage.py", "demo_users"], cwd=REPO, env=env, check=True,
        capture_output=True, timeout=60,
    )  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urlopen(base + "/accounts/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield base, ids
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_session_timeline_and_proposal_written_in_typescript_read_in_the_browser(
    page, typescript_world
):
    base, ids = typescript_world
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", "demo-ops")
    page.fill("#id_password", "pw-for-tests-only")
    page.click("form.login button[type=submit]")
    page.wait_for_url(base + "/")
    page.goto(f"{base}/sessions/{ids['session']}/")
    assert "Frage aus TypeScript" in page.inner_text("main")
    assert "Antwort aus TypeScript" in page.inner_text("main")
    page.goto(f"{base}/workflows/{ids['run']}/")
    assert "collect-from-typescript" in page.inner_text("main")
    assert "slow step seen by TypeScript" in page.inner_text("main")
    page.goto(f"{base}/proposals/{ids['proposal']}/")
    main = page.inner_text("main")
    assert "Decision chain intact (1 chained decision)" in main
    assert "✓ human: approved by ts-human" in main
    assert "counts" in main
