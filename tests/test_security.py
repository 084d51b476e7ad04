"""Security by default: headers, production settings, CSRF, login throttling."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests.helpers import REPO, django_env

pytestmark = pytest.mark.django_db

LONG_KEY = "tests-only-" + "0123456789abcdef" * 4


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    env = django_env(tmp_path / "db.sqlite", DJANGO_SECRET_KEY=LONG_KEY)
    result = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_mode_secures_cookies_and_redirects_to_https(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.DEBUG)"
    )
    production = django_env(tmp_path / "db.sqlite", DJANGO_SECRET_KEY=LONG_KEY)
    debug = django_env(tmp_path / "db.sqlite", DJANGO_DEBUG="1")
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
            check=True,
        ).stdout.split()
        for env in (production, debug)
    ]  # fmt: skip
    assert outputs[0] == ["True", "True", "True", "True", "False"]
    assert outputs[1][-1] == "True"


def test_every_page_sends_the_security_headers(reviewer_client):
    response = reviewer_client.get("/", secure=True)
    csp = response["Content-Security-Policy"]
    for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"]:
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert settings.SESSION_COOKIE_HTTPONLY


def test_htmx_is_configured_for_the_csp(reviewer_client):
    html = reviewer_client.get("/").content.decode()
    assert '"includeIndicatorStyles": false' in html
    assert '"allowEval": false' in html
    assert " style=" not in html  # no inline style for the CSP to refuse


def test_login_form_needs_csrf(reviewer):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": reviewer.username, "password": "pw-for-tests-only"}
    )
    assert response.status_code == 403


def sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_repeated_failed_sign_ins_lock_the_account(client, reviewer):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, reviewer.username, "wrong")
        assert response.status_code == 200  # the form again, with its error
    assert sign_in(client, reviewer.username, "wrong").status_code == 429
    locked = sign_in(client, reviewer.username, "pw-for-tests-only")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_resets_the_count(client, reviewer):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, reviewer.username, "wrong")
    assert sign_in(client, reviewer.username, "pw-for-tests-only").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, reviewer.username, "wrong")
    assert sign_in(client, reviewer.username, "pw-for-tests-only").status_code == 302
