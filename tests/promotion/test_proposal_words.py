"""Words on the proposal pages say what they mean for the person deciding."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from memory_app.models import Proposal
from memory_app.timeutil import format_iso
from tests.helpers import body, checkpoint, decide, validate

pytestmark = pytest.mark.django_db

QUEUE = reverse("memory_app:proposals")


def page(client, proposal) -> str:
    return body(client.get(reverse("memory_app:proposal", args=[proposal.pk])))


def badges(html: str) -> list[tuple[str, str]]:
    """The header's badges: (class, text with tags kept)."""
    return re.findall(r'<p class="audit-badge ([\w -]+)">(.*?)</p>', html, re.S)


def test_no_decision_yet_is_said_neutrally_not_intact_in_green(reviewer_client, proposal):
    html = page(reviewer_client, proposal)
    assert badges(html) == [
        ("none", "No decision yet."),
        ("none", "Nothing on this page is in the decision log yet: no validation or decision."),
    ]
    assert "intact" not in html


def test_the_chain_badge_says_what_it_means_for_the_decisions_on_the_page(
    reviewer_client, store, proposal
):
    validate(store, proposal)
    decide(store, proposal, "ann", "human")
    (chain, chain_text), _ = badges(page(reviewer_client, proposal))
    assert chain == "intact"
    assert chain_text == (
        "Decision chain intact (1 chained decision): the decision on this page is as it was "
        "recorded, in its order."
    )


def test_the_log_badge_dates_the_signed_log_in_a_time_element(
    reviewer_client, tmp_path, keys, decided, clock
):
    clock.set(clock(), ticking=False)
    checkpoint(tmp_path, keys)
    with override_settings(
        TOM_AUDIT_PUBLIC_KEY=keys[1], TOM_AUDIT_CHECKPOINTS=tmp_path / "checkpoints"
    ):
        _, (log, text) = badges(page(reviewer_client, decided))
    assert log == "log-verified"
    signed = f'<time datetime="{format_iso(clock())}"'
    assert text.startswith(f"Every decision on this page is in the signed log of {signed}")


def test_no_shell_command_on_the_page_and_admins_are_pointed_to_the_docs(
    reviewer_client, reviewer, store, proposal
):
    validate(store, proposal)
    decide(store, proposal, "ann", "human")
    html = page(reviewer_client, proposal)
    assert "manage.py" not in html
    assert "docs/decision-log.md" not in html
    reviewer.is_staff = True
    reviewer.save()
    html = page(reviewer_client, proposal)
    assert "manage.py" not in html
    assert "An admin can check this log offline: see docs/decision-log.md." in html


def test_a_rejected_proposal_does_not_say_still_missing(reviewer_client, store, proposal):
    validate(store, proposal)
    decide(store, proposal, "ann", "human", "rejected", notes="the retry path breaks")
    html = page(reviewer_client, proposal)
    assert "Rule for high risk: human + policy + security, each from a different person." in html
    assert "missing" not in html.lower()
    assert "policy: no counted approval" in html
    Proposal.objects.filter(pk=proposal.pk).update(created_at="2026-01-01T00:00:00.000Z")
    queue = body(reviewer_client.get(QUEUE + "?status="))
    assert "still missing" not in queue
    assert '<span class="muted">not waiting: rejected</span>' in queue
    assert 'class="old"' not in queue  # drafted long ago, but it waits no more


def test_a_validation_names_each_check_and_which_failed(reviewer_client, store, proposal):
    validate(store, proposal, passed=False)  # every check but tests passes
    html = page(reviewer_client, proposal)
    for name in ("build", "lint", "policy"):
        assert f'<span class="check pass">✓ {name}</span>' in html
    assert '<span class="check fail">✗ test</span>' in html
    assert '<span class="failed">failed: test</span>' in html
    validate(store, proposal)
    queue = body(reviewer_client.get(QUEUE))
    assert '<span class="passed">all passed</span>' in queue


def test_the_queue_is_a_table_of_cards_each_cell_labelled(reviewer_client, store, proposal):
    Proposal.objects.filter(pk=proposal.pk).update(risk_level="critical")
    html = body(reviewer_client.get(QUEUE))
    table = re.search(r'<table class="rows">.*?</table>', html, re.S).group(0)
    headers = re.findall(r"<th>([^<]*)</th>", table)
    cells = re.findall(r"<td([^>]*)>", table.split("<tbody>")[1])
    labels = [re.search(r'data-label="([^"]*)"', cell).group(1) for cell in cells]
    assert labels == headers
    assert '<td data-label="Risk"><span class="badge' in table
