"""A rejection's notes and a break-glass reason say something: visible characters.

Spaces, zero-width and other format characters, and letters or symbols that render blank
(U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN BLANK) alone are refused, by the forms (a
422, nothing written) and by the store; one visible character among them is enough.
contract/visible_text.json holds the rule; contract/scenarios/visible_notes.json runs it
in both stores.
"""

import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from memory_app.models import Approval, Override
from memory_app.promotion.people import has_visible, is_visible
from memory_app.store import InvalidInput
from tests.helpers import REPO

pytestmark = pytest.mark.django_db

CONTRACT = json.loads((REPO / "contract" / "visible_text.json").read_text())
BLANK_LOOKING = [
    chr(code)
    for low, high in CONTRACT["not_visible_ranges"]
    for code in range(int(low, 16), int(high, 16) + 1)
]
# Characters that are not visible: separators and others by category, and the blank ones.
invisible = st.one_of(
    st.characters(categories=CONTRACT["not_visible_categories"]),
    st.sampled_from(BLANK_LOOKING),
)
# Sendable in a form (UTF-8 has no lone surrogates) and not refused by Django first (NUL).
invisible_in_a_form = invisible.filter(lambda c: not "\ud800" <= c <= "\udfff" and c != "\x00")
visible = st.characters(
    codec="utf-8", exclude_categories=CONTRACT["not_visible_categories"]
).filter(lambda c: c not in BLANK_LOOKING)
# A few examples per property: each page example is a request.
PAGE = hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_the_named_blank_characters_are_not_visible():
    for char in "\u2800\u3164\u115f\u1160\uffa0\u200b\u200d\u2060\ufeff\u00a0\u3000\u034f\ufe0f":
        assert not is_visible(char), f"U+{ord(char):04X}"
    assert has_visible("\u3164no\u2800")
    assert has_visible("\u0301")  # a combining accent on its own still shows
    assert not has_visible(None)


@given(st.text(invisible))
def test_a_text_of_invisible_characters_says_nothing(text):
    assert not has_visible(text)


@given(st.text(invisible), visible, st.text(invisible))
def test_one_visible_character_is_enough(before, char, after):
    assert has_visible(before + char + after)


@given(st.text(invisible, min_size=1))
@PAGE
def test_the_store_refuses_a_blank_rejection_and_a_blank_reason(store, validated, settings, text):
    settings.TOM_BREAK_GLASS = True
    with pytest.raises(InvalidInput, match="a rejection needs notes saying why"):
        store.record_approval(
            validated.id, approver="rita", approval_type="human", decision="rejected", notes=text
        )
    with pytest.raises(InvalidInput, match="a break-glass reason"):
        store.record_override(validated.id, actor="sam", reason=text)
    assert not Approval.objects.exists()
    assert not Override.objects.exists()


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("sam-super", password="pw-for-tests-only"))
    return client


@given(st.text(invisible_in_a_form, min_size=1))
@PAGE
def test_the_pages_refuse_blank_notes_and_reasons_with_422(
    superuser_client, validated, settings, text
):
    settings.TOM_BREAK_GLASS = True
    decision = superuser_client.post(
        reverse("memory_app:record_decision", args=[validated.pk]),
        {"approval_type": "human", "decision": "rejected", "notes": text, "token": "t-1"},
    )
    assert decision.status_code == 422
    assert "a rejection needs notes" in decision.content.decode()
    override = superuser_client.post(
        reverse("memory_app:record_override", args=[validated.pk]), {"reason": text}
    )
    assert override.status_code == 422
    assert "Say why the rule is bypassed" in override.content.decode()
    assert not Approval.objects.exists()
    assert not Override.objects.exists()


def test_a_visible_character_among_blank_ones_is_recorded(superuser_client, validated, settings):
    settings.TOM_BREAK_GLASS = True
    reason = "\u3164\u200bok\u2800"
    response = superuser_client.post(
        reverse("memory_app:record_override", args=[validated.pk]), {"reason": reason}
    )
    assert response.status_code == 302
    assert Override.objects.get().reason == reason
