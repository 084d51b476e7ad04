"""No script ever runs from data: hostile values on every page, in a real browser.

The page fixture fails the test on any dialog, console error (a CSP refusal included)
or page error; the payloads also set a flag if they ever ran.
"""

import pytest
from playwright.sync_api import expect

from memory_app.models import Approval, BehaviorProfile, Session, TaskEvent, Turn
from memory_app.store import RuntimeMemoryStore

# What the browser shows is the same page on either engine, whose queries the page tests
# run on both: these run once, in the SQLite half.
pytestmark = [pytest.mark.browser, pytest.mark.engine_free]

SCRIPT = "<script>window.__ran = 'script'; alert('script')</script>"
IMG = "<img src=x onerror=\"window.__ran = 'img'; alert('img')\">"
JS_URL = "javascript:window.__ran='url';alert('url')"
PAYLOAD = f"{SCRIPT} {IMG} {JS_URL}"


@pytest.fixture
def hostile(live_app, back_then):
    store = RuntimeMemoryStore()
    session = store.start_session(
        PAYLOAD, channel=PAYLOAD, metadata={"x": PAYLOAD, "link": JS_URL}, session_id="s<script>"
    )
    store.append_turn(session.id, "user", PAYLOAD, metadata={"note": PAYLOAD})
    store.append_turn(session.id, "tool", '{"result": "' + SCRIPT.replace('"', '\\"') + '"}')
    Turn.objects.create(
        session=session, turn_index=2, role=PAYLOAD, content=IMG, created_at=PAYLOAD,
        metadata_json=PAYLOAD,
    )  # fmt: skip
    run = store.start_workflow_run(PAYLOAD, trigger_source="agent", initiated_by=PAYLOAD)
    step = store.add_step(run.id, PAYLOAD, details={"x": PAYLOAD})
    store.add_event("error", "critical", PAYLOAD, step_id=step.id, payload={"x": PAYLOAD})
    TaskEvent.objects.create(
        workflow_run=run, event_type=PAYLOAD, event_level=PAYLOAD, message=PAYLOAD,
        payload_json=PAYLOAD, created_at="2026-11-24T00:00:00Z",
    )  # fmt: skip
    skill = store.learn_skill(PAYLOAD, PAYLOAD, source_type="doc", confidence=0.5)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", risk_level="low",
        proposal={"diff": f"--- a\n+++ b\n@@ -1 +1 @@\n-{SCRIPT}\n+{IMG}\n", "x": JS_URL},
    )  # fmt: skip
    store.record_validation(
        proposal.id, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1,
        details={"log": PAYLOAD},
    )  # fmt: skip
    store.record_approval(
        proposal.id, approver=PAYLOAD, approval_type="human", decision="rejected", notes=PAYLOAD
    )
    Approval.objects.create(
        proposal=proposal, approver=PAYLOAD, approval_type=PAYLOAD, decision=PAYLOAD,
        notes=PAYLOAD, decided_at="2026-11-24T01:00:00Z",
    )  # fmt: skip
    store.record_deploy_outcome(
        proposal.id, deployment_target=PAYLOAD, status="failed", summary=PAYLOAD,
        metrics={"x": PAYLOAD},
    )  # fmt: skip
    with back_then():
        store.publish_behavior_profile(
            PAYLOAD, {"x": PAYLOAD}, created_by=PAYLOAD, rationale=PAYLOAD, source_ref=JS_URL,
            effective_from="2026-01-01",
        )  # fmt: skip
        store.publish_behavior_profile(
            PAYLOAD, {"x": IMG}, created_by=PAYLOAD, rationale=PAYLOAD, effective_from="2026-02-01"
        )
    BehaviorProfile.objects.create(
        profile_name="tom", version=1, behavior_json=PAYLOAD, rationale=PAYLOAD,
        effective_from=PAYLOAD, created_at=PAYLOAD, created_by=PAYLOAD,
    )  # fmt: skip
    return {"session": Session.objects.get(), "run": run, "proposal": proposal}


def test_no_payload_ever_runs(sign_in, reviewer, live_app, hostile):
    from urllib.parse import quote

    page = sign_in(reviewer)
    session_url = f"/sessions/{quote(hostile['session'].pk)}/"
    pages = [
        "/",
        "/activity/",
        "/sessions/",
        "/sessions/?q=script",
        "/sessions/?q=onerror",
        session_url,
        session_url + "?turn=0",
        "/workflows/",
        f"/workflows/{hostile['run'].pk}/",
        "/proposals/?status=",
        f"/proposals/{hostile['proposal'].pk}/",
        f"/proposals/{hostile['proposal'].pk}/?at=2026-01-01",
        "/profiles/",
        f"/profiles/behavior/{quote(PAYLOAD, safe='')}/",
        f"/profiles/behavior/{quote(PAYLOAD, safe='')}/?base=1&compare=2",
        "/profiles/behavior/tom/",
    ]
    for url in pages:
        response = page.goto(live_app.url + url)
        assert response.status == 200, url
        # Open every collapsed JSON block too.
        for details in page.locator("details").all():
            details.evaluate("d => d.open = true")
        page.wait_for_timeout(50)
        assert page.evaluate("window.__ran") is None, url
    expect(page.locator("body")).to_contain_text("<script>")
