"""A cached fragment is shared by everyone whose request gives the same key: nothing in it
may come from one request's query beyond what the key holds."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.helpers import REPO

pytestmark = pytest.mark.django_db

TEMPLATES = REPO / "templates" / "memory_app"
CACHE_BLOCK = re.compile(r"{% cache .*?{% endcache %}", re.DOTALL)


@pytest.fixture
def busy_step_run(store):
    """A finished run (its bars stay put) whose one step has more events than the timeline
    shows: a "more" link."""
    start, end = "2026-11-24T10:00:00Z", "2026-11-24T10:01:00Z"
    run = store.start_workflow_run("w", trigger_source="cron", initiated_by="s", started_at=start)
    step = store.add_step(run.id, "step-0", started_at=start)
    for n in range(13):
        store.add_event("info", "low", f"e{n}", step_id=step.id)
    store.finish_step(step.id, status="succeeded", finished_at=end)
    store.finish_workflow_run(run.id, status="succeeded", finished_at=end)
    return run, step


def test_a_cached_timeline_carries_no_other_reader_s_query_parameters(reviewer, busy_step_run):
    run, step = busy_step_run
    url = reverse("memory_app:workflow", args=[run.id])
    alice, bob = Client(), Client()
    alice.force_login(reviewer)
    other = User.objects.create_user("bob-reader")
    other.groups.set(reviewer.groups.all())
    bob.force_login(other)
    first = alice.get(url + "?type=info&campaign=alice-only&from=")
    assert first.status_code == 200
    second = bob.get(url + "?type=info")
    html = second.content.decode()
    # The same filter, the same rows: one fragment, from the cache for bob.
    assert first.context["steps_key"] == second.context["steps_key"]
    assert f'href="?type=info&amp;step={step.id}&amp;events_from=10"' in html
    assert "alice-only" not in html
    assert "campaign" not in html


def test_no_cached_fragment_builds_links_from_the_request():
    """Every link inside a ``{% cache %}`` block is made from values its key holds: neither
    ``{% querystring %}`` nor ``request`` (which hold the whole query) appear in one."""
    blocks = [
        (path.name, block)
        for path in TEMPLATES.rglob("*.html")
        for block in CACHE_BLOCK.findall(path.read_text())
    ]
    assert blocks  # the pattern still finds the fragments
    for name, block in blocks:
        assert "{% querystring" not in block, name
        assert "request." not in block, name
