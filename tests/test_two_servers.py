"""Two app servers on one database: a user's next request may land on either.

Sessions, CSRF tokens, form tokens and sign-in lockouts live in the database (or in
cookies signed with the shared secret key), never in a server's memory. Runs on both
engines (shared_db): two servers on one SQLite file, or on one PostgreSQL database.
"""

import re
import socket
import subprocess
import sys
import time
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest

from tests.helpers import REPO, VALIDATED_PROPOSAL

PASSWORD = "pw-for-tests-only"
ACCOUNTS = (
    "from django.contrib.auth.models import Group, User\n"
    f"User.objects.create_user('oscar', password='{PASSWORD}')"
    ".groups.add(Group.objects.get(name='ops'))\n"
    f"User.objects.create_user('victim', password='{PASSWORD}')\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(shared_db):
    """Two production-mode servers on the shared database; their base URLs."""
    env = shared_db.env | {
        "DJANGO_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "TOM_LOGIN_FAILURE_LIMIT": "3",
    }
    shared_db.executescript(VALIDATED_PROPOSAL.replace("{risk}", "low"))
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ACCOUNTS],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            for _ in range(150):
                try:
                    build_opener().open(base + "/accounts/login/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
        yield bases
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


class Browser:
    """One person's cookies, whichever server answers (cookies are per host, not port)."""

    def __init__(self):
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, url: str) -> str:
        return self.opener.open(url, timeout=30).read().decode()

    def post(self, url: str, data: dict) -> tuple[int, str]:
        try:
            response = self.opener.open(url, urlencode(data).encode(), timeout=30)
            return response.status, response.read().decode()
        except HTTPError as refused:
            return refused.code, refused.read().decode()


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', html)[1]


def sign_in(browser: Browser, form_server: str, post_server: str, username: str, password: str):
    page = browser.get(form_server + "/accounts/login/")
    return browser.post(
        post_server + "/accounts/login/",
        {"username": username, "password": password,
         "csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken")},
    )  # fmt: skip


def test_a_decision_signed_in_on_one_server_is_recorded_through_the_other(two_servers, shared_db):
    a, b = two_servers
    ops = Browser()
    status, html = sign_in(ops, a, b, "oscar", PASSWORD)  # the form from A, posted to B
    assert status == 200
    assert "Sign out" in html, html[:500]
    page = ops.get(a + "/proposals/p/")  # the session B made is good on A
    status, html = ops.post(
        b + "/proposals/p/approvals/",
        {"csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken"), "token": field(page, "token"),
         "approval_type": "human", "decision": "approved", "notes": ""},
    )  # fmt: skip
    assert status == 200, html[:500]
    assert shared_db.execute("SELECT approver, decision FROM approvals") == [("oscar", "approved")]


def test_sign_in_failures_count_across_servers(two_servers):
    a, b = two_servers
    intruder = Browser()
    for server in (a, b, a):  # three failures, spread over both servers
        sign_in(intruder, server, server, "victim", "wrong")
    status, html = sign_in(Browser(), b, b, "victim", PASSWORD)
    assert status == 429
    assert "Sign-in refused" in html
