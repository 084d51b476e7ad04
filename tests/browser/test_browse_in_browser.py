"""Reading memory in a real browser: scrolling, deep links, in-place filters, keys, tailing."""

import re

import pytest
from playwright.sync_api import expect

from memory_app.models import Turn
from memory_app.store import RuntimeMemoryStore

# What the browser shows is the same page on either engine, whose queries the page tests
# run on both: these run once, in the SQLite half.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]


@pytest.fixture
def long_session(live_app):
    store = RuntimeMemoryStore()
    session = store.start_session("tom", session_id="long/one")
    store.end_session(session.id)
    RuntimeMemoryStore.bulk_insert(
        Turn,
        [
            (
                f"t{n}",
                session.id,
                n,
                "user" if n % 2 else "assistant",
                f"message {n}",
                2,
                f"2026-11-24T10:{n // 60:02d}:{n % 60:02d}Z",
                "{}",
            )
            for n in range(230)
        ],
    )
    return session


def test_sign_in_and_scroll_a_long_transcript(sign_in, reviewer, live_app, long_session):
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/long/one/")
    turns = page.locator("li.turn")
    expect(turns).to_have_count(100)
    page.locator("li.more").scroll_into_view_if_needed()
    expect(turns).to_have_count(200)
    page.locator("li.more").scroll_into_view_if_needed()
    expect(turns).to_have_count(230)
    expect(page.locator("li.end")).to_contain_text("End of transcript")
    # Times are shown in the viewer's zone (this browser's is UTC; another zone is
    # test_profiles_in_browser's), in the server's shape, with UTC on hover.
    first_time = page.locator("#turn-0 time")
    expect(first_time).to_have_attribute("title", "2026-11-24 10:00:00 UTC")
    expect(first_time).to_have_text("2026-11-24 10:00:00 UTC")


def test_jump_to_a_turn_by_link(sign_in, reviewer, live_app, long_session):
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/long/one/#turn-150")
    expect(page).to_have_url(re.compile(r"\?from=150#turn-150$"))
    expect(page.locator("#turn-150")).to_be_in_viewport()


def test_keys_move_between_turns_and_open_help(sign_in, reviewer, live_app, long_session):
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/long/one/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("li.turn.current")).to_have_id("turn-1")
    page.keyboard.press("k")
    expect(page.locator("li.turn.current")).to_have_id("turn-0")
    page.keyboard.press("?")
    expect(page.locator("dialog#keys")).to_be_visible()
    page.keyboard.press("Escape")
    page.goto(live_app.url + "/sessions/")
    page.keyboard.press("/")
    expect(page.locator("#id_q")).to_be_focused()


def test_search_filters_in_place_and_keeps_the_url(sign_in, reviewer, live_app, long_session):
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/")
    page.fill("#id_q", "message 17")
    page.keyboard.press("Enter")
    expect(page.locator("ol.matches li mark").first).to_have_text("message 17")
    expect(page).to_have_url(re.compile(r"/sessions/\?.*q=message(%20|\+)17"))
    page.reload()
    expect(page.locator("ol.matches li mark").first).to_have_text("message 17")


def test_filter_workflow_events_without_a_reload(sign_in, reviewer, live_app):
    store = RuntimeMemoryStore()
    run = store.start_workflow_run("nightly", trigger_source="cron", initiated_by="s")
    step = store.add_step(run.id, "collect")
    store.add_event("info", "low", "all good", step_id=step.id)
    store.add_event("error", "critical", "disk full", step_id=step.id)
    store.finish_workflow_run(run.id, status="failed")
    page = sign_in(reviewer)
    page.goto(live_app.url + f"/workflows/{run.id}/")
    page.evaluate("window.__sameDocument = true")
    page.check("input[name=level][value=critical]")
    expect(page.locator("#timeline")).not_to_contain_text("all good")
    expect(page.locator("#timeline")).to_contain_text("disk full")
    expect(page).to_have_url(re.compile(r"level=critical"))
    assert page.evaluate("window.__sameDocument") is True


def test_a_long_timeline_loads_steps_as_they_scroll_in_and_more_events_in_place(
    sign_in, reviewer, live_app
):
    store = RuntimeMemoryStore()
    run = store.start_workflow_run("long", trigger_source="cron", initiated_by="s")
    for n in range(25):
        step = store.add_step(run.id, f"step-{n}")
        for e in range(14 if n == 0 else 1):
            store.add_event("info", "low", f"step {n} event {e}", step_id=step.id)
        store.finish_step(step.id, status="succeeded")
    store.finish_workflow_run(run.id, status="succeeded")
    page = sign_in(reviewer)
    page.goto(live_app.url + f"/workflows/{run.id}/")
    steps = page.locator("li.step")
    expect(steps).to_have_count(10)
    page.locator("ol.steps > li.more").scroll_into_view_if_needed()
    expect(steps).to_have_count(20)
    page.locator("ol.steps > li.more").scroll_into_view_if_needed()
    expect(steps).to_have_count(25)
    first = steps.first.locator("li.event")
    expect(first).to_have_count(10)
    steps.first.get_by_role("link", name="4 more events of this step »").click()
    expect(first).to_have_count(14)
    expect(steps.first).to_contain_text("step 0 event 13")
    expect(page).to_have_url(re.compile(rf"/workflows/{run.id}/$"))


def test_active_session_tails_a_turn_written_by_the_store(sign_in, reviewer, live_app):
    store = RuntimeMemoryStore()
    session = store.start_session("tom", session_id="live")
    store.append_turn(session.id, "user", "are you there?")
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/live/")
    expect(page.locator("li.tail")).to_be_visible()
    store.append_turn(session.id, "assistant", "yes, written by the runtime")
    expect(page.locator("#turn-1")).to_contain_text("yes, written by the runtime", timeout=10_000)
    store.end_session(session.id)
    expect(page.locator("li.end")).to_be_visible(timeout=10_000)


def test_facet_counts_follow_a_filter_applied_in_place_and_the_url_stays_clean(
    sign_in, reviewer, live_app
):
    store = RuntimeMemoryStore()
    for actor, channel in [("tom", "cli")] * 3 + [("oxide", "cli"), ("oxide", "api")]:
        store.start_session(actor, channel=channel)
    page = sign_in(reviewer)
    page.goto(live_app.url + "/sessions/")
    expect(page.locator("#id_channel option[value=cli]")).to_have_text("cli (4)")
    page.evaluate("window.__sameDocument = true")
    page.select_option("#id_actor", "oxide")
    # The counts under the new filter, as a reload shows them.
    expect(page.locator("#id_channel option[value=cli]")).to_have_text("cli (1)")
    expect(page.locator("#id_channel option[value=api]")).to_have_text("api (1)")
    expect(page.locator("#id_actor")).to_have_value("oxide")
    expect(page.locator("#results tbody tr")).to_have_count(2)
    # Every empty field of the form is dropped from the pushed URL.
    expect(page).to_have_url(live_app.url + "/sessions/?actor=oxide")
    assert page.evaluate("window.__sameDocument") is True
    page.reload()
    expect(page.locator("#id_channel option[value=cli]")).to_have_text("cli (1)")
