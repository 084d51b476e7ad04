"""Helpers shared by the benchmark scripts: the production server and a signed-in client."""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
USER, PASSWORD = "bench-reviewer", "bench-password-not-secret"


def production_env(db: Path, database_url: str | None = None) -> dict[str, str]:
    """Production settings on plain-HTTP loopback, on the SQLite file ``db`` or on the
    PostgreSQL database ``database_url``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env | {
        "TOM_RUNTIME_DB": str(db),
        "DJANGO_SECRET_KEY": "benchmark-only-" + "0123456789abcdef" * 4,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "DJANGO_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # collectstatic (prepare) gathers them here, as production's own folder.
        "TOM_STATIC_ROOT": str(REPO / "benchmarks" / "out" / "static"),
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "tommemory.settings",
    }


def prepare(db: Path, database_url: str | None = None) -> dict[str, str]:
    """Migrate the database, gather the static files and make the benchmark reviewer;
    return the server environment."""
    env = production_env(db, database_url)
    setup = (
        "from django.contrib.auth.models import User, Group\n"
        f"u, _ = User.objects.get_or_create(username={USER!r})\n"
        f"u.set_password({PASSWORD!r}); u.save()\n"
        "u.groups.add(Group.objects.get(name='reviewer'))\n"
    )
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True)
    subprocess.run([*manage, "shell", "-v0", "-c", setup], env=env, check=True)
    return env


def start_gunicorn(
    env: dict[str, str], port: int, workers: int = 2, log=subprocess.DEVNULL
) -> subprocess.Popen:
    """The production server command from the README, on loopback; its log to ``log``."""
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "tommemory.wsgi", "-w", str(workers), "-b", f"127.0.0.1:{port}"],
        env=env,
        cwd=REPO,
        stderr=log,
    )


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server at {url} did not start")


def signed_in_opener(base: str) -> urllib.request.OpenerDirector:
    """An HTTP client signed in as the benchmark reviewer through the login form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    request = urllib.request.Request(base + "/accounts/login/", data=data)
    request.add_header("Referer", base + "/accounts/login/")
    opener.open(request).read()
    if not any(c.name == "sessionid" for c in jar):
        raise SystemExit("could not sign in to tommemory")
    return opener


def timed(opener, url: str) -> float:
    started = time.perf_counter()
    with opener.open(url, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return time.perf_counter() - started
