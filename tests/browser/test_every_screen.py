"""Every page, every person: no sideways scrolling, no word broken across lines, no serious
axe-core violation, no layout shift after load."""

from pathlib import Path

import pytest
from django.urls import reverse

from memory_app.store import RuntimeMemoryStore
from tests.helpers import PASSWORD, days_ahead

# What the browser shows is the same page on either engine, whose queries the page tests
# run on both: these run once, in the SQLite half.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def world(live_app, back_then, ops, clock):
    """One row of each kind, so every page has something to show."""
    store = RuntimeMemoryStore()
    session = store.start_session("tom", channel="cli", metadata={"topic": "a long topic " * 8})
    store.append_turn(session.id, "system", "Follow the active profile.", token_count=19)
    store.append_turn(session.id, "user", "Wie spät ist es? " + "x" * 300, token_count=9)
    answer = store.append_turn(session.id, "assistant", "Es ist " + "sehr " * 80 + "spät.")
    store.create_score_config(
        "helpfulness", "numeric", created_by="rhea", min_value=1, max_value=5, description="1-5"
    )
    note = store.annotate(
        "turn", answer.id, author="ann", scores={"helpfulness": 2}, comment="Too long " * 20,
        correction="Es ist spät.",
    )  # fmt: skip
    finding = store.propose_change(
        [note.id], proposed_by="ann", proposal_type="config_change",
        proposal={"answer": "Es ist spät."}, risk_level="low",
        skill_key="shorter-time-answers", description="Answers about the time ramble " * 4,
    )  # fmt: skip
    queue = store.create_review_queue(
        "answers-of-the-week", created_by="rhea", score_configs=["helpfulness"],
        reviewers_per_item=2, description="Long answers " * 10,
    )  # fmt: skip
    store.add_queue_items(queue.id, [("turn", answer.id), ("session", session.id)], added_by="r")
    item = store.reserve_next_item(queue.id, reviewer="ann")
    store.review_item(item.id, reviewer="ann", scores={"helpfulness": 4}, comment="Fine " * 30)
    run = store.start_workflow_run(
        "nightly-digest-with-a-rather-long-name", trigger_source="cron", initiated_by="scheduler"
    )
    step = store.add_step(run.id, "collect")
    store.add_event("policy", "critical", "A critical policy event", step_id=step.id)
    store.add_event("warn", "medium", "A warning on the run itself", run_id=run.id)
    skill = store.learn_skill(
        "summarise-failed-runs", "Summarise failed runs", source_type="doc", confidence=0.9
    )
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", risk_level="critical",
        proposal={"diff": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new " + "y" * 200},
    )  # fmt: skip
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
    )
    store.record_approval(proposal.id, approver="ann", approval_type="human", decision="approved")
    with back_then():
        store.publish_behavior_profile("tom", {"tone": "calm"}, created_by="p", rationale="first")
        store.publish_behavior_profile(
            "tom", {"tone": "brisk", "notify": ["ops"]}, created_by="p", rationale="faster",
            effective_from="2026-03-01",
        )  # fmt: skip
    # A withdrawn version and a scheduled one (with its withdraw form for the superuser).
    for days in (20, 30):
        store.publish_behavior_profile(
            "tom", {"tone": "warm"}, created_by="p", effective_from=days_ahead(clock, days)
        )
    store.withdraw_behavior_profile("tom", 4, withdrawn_by="p", reason="not yet " * 12)
    return {
        "session": session, "run": run, "proposal": proposal, "answer": answer, "queue_item": item,
        "note": note, "finding": finding.proposal,
    }  # fmt: skip


def _pages(world) -> list[str]:
    return [
        reverse("memory_app:overview"),
        reverse("memory_app:activity"),
        reverse("memory_app:sessions"),
        reverse("memory_app:sessions") + "?q=sp%C3%A4t",
        reverse("memory_app:session", args=[world["session"].pk]),
        reverse("memory_app:workflows"),
        reverse("memory_app:workflow", args=[world["run"].pk]),
        reverse("memory_app:proposals"),
        reverse("memory_app:needs_me"),
        reverse("memory_app:proposal", args=[world["proposal"].pk]),
        reverse("memory_app:profiles"),
        reverse("memory_app:profile", args=["behavior", "tom"]),
        reverse("memory_app:publish_profile", args=["behavior", "tom"]),
        reverse("memory_app:new_profile"),
        reverse("admin:index"),
        reverse("admin:memory_app_session_changelist"),
        reverse("admin:memory_app_proposal_change", args=[world["proposal"].pk]),
        reverse("memory_app:turn_annotations", args=[world["answer"].pk]),
        reverse("memory_app:review_queues"),
        reverse("memory_app:review_queue_new"),
        reverse("memory_app:review_queue", args=[world["queue_item"].queue_id]),
        reverse(
            "memory_app:review_queue_item",
            args=[world["queue_item"].queue_id, world["queue_item"].pk],
        ),
        reverse("memory_app:new_finding") + f"?annotation={world['note'].pk}",
        reverse("memory_app:proposal", args=[world["finding"].pk]),
        reverse("memory_app:proposal_evidence", args=[world["finding"].pk]),
    ]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("sue", password=PASSWORD)


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# Every word of visible text that the browser broke across lines although it would have fit
# on one line of its block (so the layout, not the word, is at fault): a table column or
# flex item squeezed below its longest word ("Channe/l", "SYS/TEM"). A word wider than its
# block (a 300-letter token, a long id in a card) may wrap; so may text at a hyphen or a
# slash, and CJK text anywhere. Text inside a box that scrolls on its own (pre, textarea,
# select) is exempt: it never squeezes the page.
BROKEN_WORDS = """() => {
  const broken = [];
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const cjk = /[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}]/u;
  const squeezable = (el) => {
    const own = getComputedStyle(el).display;
    const parent = el.parentElement && getComputedStyle(el.parentElement).display;
    return own.startsWith("inline") || own.startsWith("table") || own === "contents"
      || /flex|grid/.test(parent || "");
  };
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.data.trim()) continue;
    if (el.closest("pre, textarea, select, script, style, svg")) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility !== "visible") continue;
    let block = el;
    while (block.parentElement && squeezable(block)) block = block.parentElement;
    const style = getComputedStyle(block);
    const room = block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    for (const match of node.data.matchAll(/[^\\s\\-\\/]+[\\-\\/]?/g)) {
      if (cjk.test(match[0])) continue;
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const rects = Array.from(range.getClientRects()).filter((r) => r.width > 0);
      const onAnotherLine = rects.some((r) => Math.abs(r.top - rects[0].top) > rects[0].height / 2);
      const width = rects.reduce((sum, r) => sum + r.width, 0);
      if (onAnotherLine && width <= room + 1) {
        const where = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
        const sizes = `${Math.round(width)} px, room ${Math.round(room)}`;
        broken.push(`"${match[0]}" in ${where} (${sizes})`);
      }
    }
  }
  return broken.slice(0, 8);
}"""


def _broken_words(page) -> list[str]:
    return page.evaluate(BROKEN_WORDS)


def _serious_violations(page) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [360, 390, 1280, 2560])
def test_no_page_scrolls_sideways_breaks_a_word_or_fails_axe(
    page, live_app, sign_in, world, superuser, width
):
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    page.goto(live_app.url + reverse("login"))
    found["/accounts/login/"] = (_overflow(page), _broken_words(page), _serious_violations(page))
    sign_in(superuser)
    for path in _pages(world):
        page.goto(live_app.url + path)
        found[path] = (_overflow(page), _broken_words(page), _serious_violations(page))
    problems = [f"{path}: {result}" for path, result in found.items() if result != (0, [], [])]
    assert problems == [], "\n".join(problems)


# The layout shifts a page makes after its first paint (hadRecentInput aside), as
# Lighthouse sums them (CLS), read from the buffered PerformanceObserver entries once the
# page has settled.
LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  const shifts = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.hadRecentInput) continue;
      total += entry.value;
      shifts.push(entry.sources.map((s) => s.node && s.node.nodeName).join(","));
    }
  }).observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve([total, shifts]), 600);
})"""

# Every control and link of a filter form, the links that open an annotation form and the
# pager's: at least 24 x 24 CSS px (WCAG 2.2 target size, as Lighthouse's audit counts it).
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
  "form.filters :is(input:not([type=hidden]), select, button, a), .annotations > a, .pager a"
)
).filter((el) => el.getClientRects().length).map((el) => [el, el.getBoundingClientRect()])
 .filter(([, box]) => box.width < 24 || box.height < 24)
 .map(([el, box]) => `${el.name || el.textContent.trim()}: ${box.width}x${box.height}`)
"""


def test_no_page_shifts_after_load_and_filters_are_easy_to_hit_on_a_phone(
    page, live_app, sign_in, world, superuser
):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(superuser)  # every page of the list is open to them (/needs-me/ is for deciders)
    shifted, small = {}, {}
    for path in _pages(world)[:9]:
        page.goto(live_app.url + path)
        total, sources = page.evaluate(LAYOUT_SHIFT)
        if total >= 0.05:
            shifted[path] = (round(total, 3), sources)
        if targets := page.evaluate(SMALL_TARGETS):
            small[path] = targets
    assert shifted == {}
    assert small == {}


def test_the_phone_layout_needs_no_script(page, live_app, sign_in, reviewer, browser):
    """The navigation is folded by the stylesheet alone, so app.js changes nothing once it
    runs (what moved body > main); without scripts it shows whole (nojs.css)."""
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(reviewer)
    page.route("**/app.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
    page.goto(live_app.url + reverse("memory_app:sessions"))
    assert not page.locator("#main-nav").is_visible()
    assert page.locator(".menu-toggle").is_visible()
    without = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 800})
    try:
        bare = without.new_page()
        bare.goto(live_app.url + reverse("login"))
        bare.fill("#id_username", reviewer.username)
        bare.fill("#id_password", PASSWORD)
        bare.click("form.login button[type=submit]")
        bare.goto(live_app.url + reverse("memory_app:sessions"))
        assert bare.locator("#main-nav").is_visible()
        assert not bare.locator(".menu-toggle").is_visible()
        # A plain form submit sends every field; the server answers with the clean URL.
        bare.select_option("#id_channel", "cli")
        bare.click("form.filters button[type=submit]")
        assert bare.url == live_app.url + reverse("memory_app:sessions") + "?channel=cli"
    finally:
        without.close()


def test_a_refusal_is_a_styled_page_with_the_missing_role_and_a_way_back(
    page, live_app, sign_in, reviewer
):
    sign_in(reviewer)
    # A page of its own: the browser logs the 403 as a console error, which is expected here.
    page = page.context.new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    response = page.goto(
        live_app.url + reverse("memory_app:publish_profile", args=["behavior", "tom"])
    )
    assert response.status == 403
    refused = page.locator(".refused")
    assert "needs the profile-admin role" in refused.inner_text()
    assert "with the role reviewer" in refused.inner_text()
    assert refused.locator("a", has_text="Back to the overview").count() == 1
    assert _overflow(page) == 0
    assert _serious_violations(page) == []


def test_navigation_folds_on_a_phone_and_marks_the_current_section(
    page, live_app, sign_in, reviewer
):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(reviewer)
    page.goto(live_app.url + reverse("memory_app:sessions"))
    nav = page.locator("#main-nav")
    assert not nav.is_visible()
    page.click(".menu-toggle")
    assert nav.is_visible()
    current = nav.locator("[aria-current=page]")
    assert current.inner_text() == "Sessions"
    page.set_viewport_size({"width": 1280, "height": 800})
    assert nav.is_visible()


def test_the_no_role_page_explains_itself_on_a_phone(page, live_app, outsider):
    page = page.context.new_page()  # the 403 is logged as a console error: expected here
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(live_app.url + reverse("login"))
    page.fill("#id_username", outsider.username)
    page.fill("#id_password", PASSWORD)
    page.click("form.login button[type=submit]")
    response = page.goto(live_app.url + reverse("memory_app:sessions"))
    assert response.status == 403
    assert "has no role yet" in page.inner_text("main")
    assert _overflow(page) == 0
    assert _serious_violations(page) == []


def test_the_sign_in_page_says_what_the_product_is(page, live_app):
    page.goto(live_app.url + reverse("login"))
    assert "runtime memory of the ToM assistant" in page.inner_text("main")
