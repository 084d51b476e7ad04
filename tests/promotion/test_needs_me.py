"""The "needs me" view, and who can still give each missing type on every proposal page."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from memory_app.models import Proposal
from tests.helpers import PASSWORD, body, count_queries, decide, validate

pytestmark = pytest.mark.django_db

NEEDS_ME = reverse("memory_app:needs_me")
QUEUE = reverse("memory_app:proposals")


def an_ops_person(name: str) -> User:
    user = User.objects.create_user(username=name, password=PASSWORD)
    user.groups.add(Group.objects.get(name="ops"))
    return user


def drafted(store, key: str, risk: str, created: str, passed: bool | None = True):
    skill = store.learn_skill(key, "d", source_type="doc", confidence=0.5)
    proposal = store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={},
        risk_level=risk, created_at=created,
    )  # fmt: skip
    if passed is not None:
        validate(store, proposal, passed=passed)
    return proposal


def people(*names: str) -> str:
    """Names as the pages list them, each kept whole."""
    return ", ".join(f'<span class="person">{name}</span>' for name in names)


@pytest.fixture
def waiting(store, ops):
    """Proposals of each kind: some a decision of oscar-ops would move, some not."""
    made = {
        "low-old": drafted(store, "low-old", "low", "2026-11-01"),
        "critical-new": drafted(store, "critical-new", "critical", "2026-12-01"),
        "critical-old": drafted(store, "critical-old", "critical", "2026-11-20"),
        "high": drafted(store, "high", "high", "2026-11-02"),
        "failing": drafted(store, "failing", "critical", "2026-11-01", passed=False),
        "mine": drafted(store, "mine", "critical", "2026-11-01"),
        "counted": drafted(store, "counted", "high", "2026-11-01"),
        "rejected": drafted(store, "rejected", "critical", "2026-11-01"),
    }
    Proposal.objects.filter(pk=made["mine"].pk).update(proposed_by=ops.username)
    decide(store, made["counted"], ops.username, "human")
    decide(store, made["rejected"], "bob", "human", "rejected", notes="no")
    decide(store, made["critical-old"], "ann", "human")
    return made


def test_the_page_is_for_people_who_decide(client, outsider_client, reviewer_client):
    assert outsider_client.get(NEEDS_ME).status_code == 403
    assert reviewer_client.get(NEEDS_ME).status_code == 403  # reads, never decides
    client.logout()
    response = client.get(NEEDS_ME)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_needs_me_lists_what_a_decision_of_mine_would_move_riskiest_then_oldest(
    ops_client, waiting
):
    response = ops_client.get(NEEDS_ME)
    keys = [row.proposal.skill.skill_key for row in response.context["rows"]]
    # Not the failing one, not my own, not where I already count at high risk, not the
    # rejected one.
    assert keys == ["critical-old", "critical-new", "high", "low-old"]
    html = body(response)
    assert "riskiest first (critical, high, medium, low" in html
    assert "then the longest waiting (drafted first)" in html
    rows = {row.proposal.skill.skill_key: row for row in response.context["rows"]}
    assert rows["critical-old"].mine == ("policy", "security", "ops")
    assert rows["low-old"].mine == ("human",)


def test_each_missing_type_names_who_can_still_give_it(client, store, ops, waiting):
    an_ops_person("olivia-ops")
    Proposal.objects.filter(pk=waiting["high"].pk).update(proposed_by="olivia-ops")
    decide(store, waiting["high"], ops.username, "human")
    client.force_login(an_ops_person("petra-ops"))
    html = body(client.get(NEEDS_ME))
    # critical-old: ann counts as human, anyone else may give the rest (said once for all).
    assert (
        "<strong>policy, security, ops</strong>: can be given by "
        + people("olivia-ops", "oscar-ops", "petra-ops")
        in html
    )
    detail = body(client.get(waiting["high"].get_absolute_url()))
    # high: oscar counts as human, olivia proposed it: only petra can give policy.
    assert "✗ policy: missing; can be given by " + people("petra-ops") in detail
    queue = body(client.get(QUEUE))
    assert "<strong>policy, security</strong>: can be given by " + people("petra-ops") in queue


def test_nobody_can_is_said_plainly(ops_client, store, ops, waiting):
    proposal = waiting["counted"]  # oscar, the only one who decides, counts as human
    detail = body(ops_client.get(proposal.get_absolute_url()))
    assert (
        "✗ policy: missing; nobody can: everyone who may decide proposed this or already "
        "counts for another type (a high-risk proposal needs each type from a different person)"
    ) in detail
    failing = body(ops_client.get(waiting["failing"].get_absolute_url()))
    assert "nobody can: no approval counts until a validation passes all four checks" in failing


def test_a_closed_proposal_names_nobody_and_misses_nothing(ops_client, waiting):
    html = body(ops_client.get(waiting["rejected"].get_absolute_url()))
    assert "Still missing" not in html
    assert "can be given by" not in html
    assert "nobody can" not in html
    assert "human: no counted approval" in html


def test_needs_me_makes_the_same_queries_however_many_proposals_wait(ops_client, store, waiting):
    few = count_queries(ops_client, NEEDS_ME)
    for n in range(15):
        proposal = drafted(store, f"more-{n}", "high", "2026-11-03")
        decide(store, proposal, "ann", "human")
    assert len(ops_client.get(NEEDS_ME).context["rows"]) == 4 + 15
    assert count_queries(ops_client, NEEDS_ME) == few


def test_the_queue_links_needs_me_for_people_who_decide(ops_client, reviewer, waiting):
    assert f'href="{NEEDS_ME}"' in body(ops_client.get(QUEUE))
    ops_client.force_login(reviewer)
    assert f'href="{NEEDS_ME}"' not in body(ops_client.get(QUEUE))


def test_nothing_waiting_says_so(ops_client):
    assert "Nothing waits for you" in body(ops_client.get(NEEDS_ME))


def test_a_proposal_whose_id_is_needs_me_keeps_its_own_page(reviewer_client, store):
    # Another writer chooses proposal ids: the view of what needs me cannot take one.
    skill = store.learn_skill("k", "d", source_type="doc", confidence=0.5)
    store.draft_proposal(
        skill.id, proposed_by="oxide", proposal_type="code_patch", proposal={},
        risk_level="low", proposal_id="needs-me",
    )  # fmt: skip
    page = reviewer_client.get(reverse("memory_app:proposal", args=["needs-me"]))
    assert page.status_code == 200
    assert "<h1>Waiting for you" not in body(page)


def test_the_navigation_shows_what_waits_for_people_who_decide(ops_client):
    nav = body(ops_client.get(reverse("memory_app:activity"))).split("</nav>")[0]
    assert f'<a href="{NEEDS_ME}">Waiting for you</a>' in nav
    nav = body(ops_client.get(NEEDS_ME)).split("</nav>")[0]
    assert f'<a href="{NEEDS_ME}" aria-current="page">Waiting for you</a>' in nav


def test_the_navigation_leaves_it_out_for_people_who_do_not_decide(reviewer_client):
    assert "Waiting for you" not in body(reviewer_client.get(QUEUE))
