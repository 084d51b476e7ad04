"""Publishing a profile version in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from memory_app.models import BehaviorProfile
from memory_app.store import RuntimeMemoryStore
from tests.helpers import days_ahead

# What the browser shows is the same page on either engine, whose queries the page tests
# run on both: these run once, in the SQLite half.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]


def test_profile_admin_publishes_a_version_and_sees_the_diff(
    sign_in, profile_admin, live_app, back_then
):
    with back_then():
        RuntimeMemoryStore().publish_behavior_profile(
            "tom", {"tone": "calm", "max_retries": 2}, created_by="bootstrap",
            effective_from="2026-01-01T00:00:00Z",
        )  # fmt: skip
    page = sign_in(profile_admin)
    page.goto(live_app.url + "/profiles/behavior/tom/")
    page.click("text=Edit (publishes v2)")
    page.fill("#id_document", '{"tone": "brisk", "max_retries": 2, "notify": ["ops"]}')
    page.fill("#id_rationale", "faster answers")
    page.click("text=Preview the changes")
    preview = page.locator(".preview")
    expect(preview).to_contain_text("What v2 changes against v1")
    expect(preview.locator("tr.change-added")).to_contain_text("notify[0]")
    page.click("text=Publish v2")
    expect(page).to_have_url(live_app.url + "/profiles/behavior/tom/")
    expect(page.locator(".messages")).to_contain_text("Published tom v2")
    expect(page.locator("#v2")).to_contain_text("faster answers")
    table = page.locator("#compare table")
    expect(table.locator("tr.change-changed")).to_contain_text("tone")
    expect(table.locator("tr.change-added")).to_contain_text("notify[0]")
    page.select_option("select[name=base]", "2")
    expect(page).to_have_url(live_app.url + "/profiles/behavior/tom/?base=2&compare=2")
    # Let htmx finish swapping and settling the new form before using it.
    page.wait_for_function(
        "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )
    page.select_option("select[name=compare]", "1")
    expect(page).to_have_url(live_app.url + "/profiles/behavior/tom/?base=2&compare=1")
    expect(page.locator("#compare tr.change-removed")).to_contain_text("notify[0]")
    assert BehaviorProfile.objects.get(version=2).created_by == profile_admin.username


@pytest.fixture
def browser_context_args(browser_context_args):
    """A reader east of UTC: the times a page shows are theirs (app.js)."""
    return {**browser_context_args, "timezone_id": "Asia/Tokyo"}


def test_a_profile_admin_withdraws_a_scheduled_version(sign_in, profile_admin, live_app, clock):
    store = RuntimeMemoryStore()
    store.publish_behavior_profile("tom", {"tone": "calm"}, created_by="bootstrap")
    store.publish_behavior_profile(
        "tom", {"tone": "brisk"}, created_by="bootstrap", effective_from=days_ahead(clock, 10)
    )
    page = sign_in(profile_admin)
    page.goto(live_app.url + "/profiles/behavior/tom/")
    expect(page.locator("#v2 .badge").get_by_text("scheduled", exact=True)).to_be_visible()
    page.locator("#v2 textarea[name=reason]").fill("the threshold was wrong")
    page.get_by_role("button", name="Withdraw v2").click()
    expect(page.locator(".messages")).to_contain_text("Withdrew tom v2")
    expect(page.locator("#v2 .badge.withdrawn")).to_have_text("withdrawn")
    expect(page.locator("#v2")).to_contain_text("the threshold was wrong")
    expect(page.locator("#v1 .badge.status-active")).to_have_text("active now")
    # Its start, like every time on the page, in the reader's own zone.
    # in the server's shape, so no line rewraps when app.js localizes it (no layout shift).
    expect(page.locator("#v2 time").first).to_have_text(
        re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\+9$")
    )
    assert BehaviorProfile.objects.count() == 2
