"""Refresh the README's screenshots: demo data, a local server, Debian's chromium.

    .venv/bin/python scripts/screenshots.py

Seeds a throw-away database with the demo data and logins, serves it on a free loopback
port, signs in as each role a page is for, and writes docs/screenshots/*.png.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
CHROMIUM = os.environ.get("TOM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = os.environ.get("TOM_DEMO_PASSWORD", "tommemory-demo")  # what demo_users sets

# (file, login, a path or the name of a finder in resolve(), viewport width)
SHOTS = [
    # The demo is anchored in the past: a 30-day window holds its story.
    ("overview", "demo-reviewer", "/?window=30d", 1280),
    ("overview-phone", "demo-reviewer", "/?window=30d", 390),
    ("sessions", "demo-reviewer", "/sessions/", 1280),
    ("sessions-phone", "demo-reviewer", "/sessions/", 390),
    ("search", "demo-reviewer", "/sessions/?q=resume", 1280),
    ("transcript", "demo-reviewer", "first-session", 1280),
    ("workflow", "demo-reviewer", "first-run", 1280),
    ("proposals", "demo-ops", "/proposals/", 1280),
    ("needs-me", "demo-ops", "/needs-me/", 1280),
    ("proposal", "demo-ops", "critical-proposal", 1280),
    ("profile", "demo-profile-admin", "/profiles/behavior/tom/", 1280),
    ("activity", "demo-reviewer", "/activity/", 1280),
    ("proposal-phone", "demo-ops", "critical-proposal", 390),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"DJANGO_DEBUG": "1", "TOM_RUNTIME_DB": f"{tmp}/demo.sqlite"}
        manage(env, "migrate", "--no-input", "-v0")
        manage(env, "seed_demo", "--anchor=2026-11-24T12:00Z")
        manage(env, "demo_users")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    urlopen(base + "/accounts/login/", timeout=1)  # loopback only
                    break
                except OSError:
                    time.sleep(0.2)
            shoot(base)
        finally:
            server.terminate()
            server.wait(timeout=10)


def resolve(page, base: str, where: str) -> str:
    """A fixed path, or the first matching link on a list page."""
    finders = {
        "first-session": ("/sessions/", "table.rows td.title a"),
        "first-run": ("/workflows/", "table.rows td a"),
        "critical-proposal": ("/proposals/?risk_level=critical", "table.rows td a"),
    }
    if where not in finders:
        return where
    path, selector = finders[where]
    page.goto(base + path)
    return page.locator(selector).first.get_attribute("href")


def shoot(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, login, where, width in SHOTS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(base + "/accounts/login/")
            page.fill("#id_username", login)
            page.fill("#id_password", PASSWORD)
            page.click("form.login button[type=submit]")
            page.wait_for_url(base + "/")
            page.goto(base + resolve(page, base, where))
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=width < 800)
            context.close()
            print(f"docs/screenshots/{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
