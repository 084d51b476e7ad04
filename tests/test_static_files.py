"""Static files: production serves them compressed under hashed names, cached for a year;
the suite (and debug) serve the source files as they are being edited."""

import json
import re
import subprocess
import sys

import pytest
from django.templatetags.static import static

from tests.helpers import REPO, django_env, manage

# The settings' choice of storage, not the database, is under test: it runs once.
pytestmark = pytest.mark.engine_free

# Production's defaults (an empty TOM_HASHED_STATIC is unset: the suite's own 0 goes), on
# the plain HTTP of the test client.
PRODUCTION = {"TOM_HASHED_STATIC": "", "DJANGO_ALLOWED_HOSTS": "testserver"}
# WhiteNoise's "forever" for a hashed name: ten years, well past the year asked for.
FOREVER = "max-age=315360000, public, immutable"

# In a production process: the sign-in page (base.html, the layout of every page), then each
# static file it links, asked for with each compression a browser accepts.
FETCH = """
import json, re
import django
django.setup()
from django.test import Client
client = Client()
page = client.get("/accounts/login/", secure=True).content.decode()
zipped = client.get("/accounts/login/", secure=True, headers={"accept-encoding": "gzip"})
links = re.findall(r'<(?:link|script)\\b[^>]*\\b(?:href|src)="([^"]+)"', page)
served = {}
for url in links:
    for accepted in ("br", "gzip", "identity"):
        response = client.get(url, secure=True, headers={"accept-encoding": accepted})
        served[f"{url} {accepted}"] = [
            response.status_code,
            response.headers.get("Content-Encoding", "identity"),
            response.headers.get("Cache-Control"),
        ]
favicon = client.get("/favicon.ico", secure=True)["Location"]
page_encoding = zipped.headers.get("Content-Encoding")
print(json.dumps({"links": links, "served": served, "favicon": favicon, "page": page_encoding}))
"""


@pytest.fixture
def production_static(tmp_path):
    """A production environment whose static files collectstatic has gathered."""
    env = PRODUCTION | {"TOM_STATIC_ROOT": str(tmp_path / "static")}
    collected = manage(tmp_path / "db.sqlite", "collectstatic", "--no-input", "-v0", **env)
    assert collected.returncode == 0, collected.stderr
    return django_env(tmp_path / "db.sqlite", **env)


def test_production_serves_static_files_compressed_under_hashed_names_for_a_year(
    production_static,
):
    fetched = subprocess.run(
        [sys.executable, "-c", FETCH],
        env=production_static,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(fetched.stdout)
    names = [re.sub(r"\.[0-9a-f]{12}\.", ".", url) for url in found["links"]]
    assert set(names) >= {
        "/static/memory_app/app.css",
        "/static/memory_app/app.js",
        "/static/memory_app/favicon.svg",
    }
    assert any(name.startswith("/static/django_htmx/") for name in names)
    assert found["favicon"] in found["links"]
    assert found["page"] == "gzip"  # the page itself too
    assert all(name != url for name, url in zip(names, found["links"], strict=True)), found
    for url in found["links"]:
        if url.endswith((".css", ".js")):
            assert found["served"][f"{url} br"] == [200, "br", FOREVER]
            assert found["served"][f"{url} gzip"] == [200, "gzip", FOREVER]
        assert found["served"][f"{url} identity"] == [200, "identity", FOREVER]


def test_the_production_server_refuses_to_start_before_collectstatic(tmp_path):
    env = django_env(tmp_path / "db.sqlite", **PRODUCTION, TOM_STATIC_ROOT=str(tmp_path / "no"))
    # manage.py runs before it (migrate: the URLs load without the manifest).
    checked = manage(
        tmp_path / "db.sqlite", "check", **PRODUCTION, TOM_STATIC_ROOT=str(tmp_path / "no")
    )
    assert checked.returncode == 0, checked.stderr
    started = subprocess.run(
        [sys.executable, "-c", "import tommemory.wsgi"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode != 0
    assert f"No static files in {tmp_path / 'no'}: run `python manage" in started.stderr


def test_the_suite_serves_the_source_files_as_they_are(client):
    """The live servers of the browser tests show app.css as it is being edited."""
    url = static("memory_app/app.css")
    assert url == "/static/memory_app/app.css"
    served = b"".join(client.get(url).streaming_content)
    assert served == (REPO / "static" / "memory_app" / "app.css").read_bytes()
