"""Property-based: any query string on the list pages gets an answer (never a 5xx), and a
redirect that cleans a filter URL leaves no empty parameter and lands on a page.

tests/test_hostile_data.py asks every page every query for a 5xx; this asks the three lists
that redirect (sessions, workflows, activity) what they redirect to, in place and not.
"""

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

LISTS = ["memory_app:sessions", "memory_app:workflows", "memory_app:activity"]
keys = st.sampled_from(
    ["q", "actor", "channel", "status", "started_from", "started_to", "after", "match_after",
     "meta_key", "meta_value", "sort", "workflow_name", "trigger_source", "initiated_by",
     "kind", "level", "format", "x"]
)  # fmt: skip
values = st.one_of(
    st.just(""),
    st.sampled_from(["cli", "tom", "failed", "critical", "events", "started", "2026-11-24"]),
    st.text(max_size=12),
)
queries = st.lists(st.tuples(keys, values), max_size=6)


@given(query=queries, htmx=st.booleans())
@example(query=[("actor", ""), ("channel", "cli")], htmx=False)
@example(query=[("q", ""), ("q", "x"), ("format", "")], htmx=True)
@example(query=[("q", ""), ("actor", "cli"), ("q", "cli")], htmx=False)
def test_any_query_string_answers_and_no_empty_parameter_survives_a_redirect(
    reviewer_client, query, htmx
):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    for name in LISTS:
        url = f"{reverse(name)}?{urlencode(query)}"
        response = reviewer_client.get(url, **headers)
        assert response.status_code < 500, (url, response.status_code)
        has_empty = any(value == "" for _, value in query)
        assert (response.status_code == 302) == has_empty, url
        if response.status_code == 302:
            target = urlsplit(response["Location"])
            assert target.path == reverse(name)
            kept = parse_qsl(target.query, keep_blank_values=True)
            # Every value chosen, in its order under its name (names may come grouped).
            assert _by_name(kept) == _by_name([(k, v) for k, v in query if v != ""])
            landed = reviewer_client.get(response["Location"], **headers)
            assert landed.status_code < 300, (response["Location"], landed.status_code)


def _by_name(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped
