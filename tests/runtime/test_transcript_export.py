"""A long transcript's replay export: streamed rows (no model instances), in large pieces,
complete and in order. benchmarks/export_transcript.py times 100,000 turns."""

import json

import pytest
from django.db import connection
from django.db.models.signals import pre_init
from django.urls import reverse

from memory_app.models import Turn

pytestmark = pytest.mark.django_db

TURNS = 600


@pytest.fixture
def long_session(store):
    session = store.start_session("tom", channel="cli")
    rows = [
        (f"t-{n:05d}", session.id, n, ("user", "assistant", "tool")[n % 3], f"turn {n} " * 20,
         n if n % 7 else None, f"2026-11-24T10:00:{n % 60:02d}.000Z", f'{{"n":{n}}}')
        for n in range(TURNS)
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO conversation_turns (id, session_id, turn_index, role, content,"
            " token_count, created_at, metadata_json) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return session


def export(client, session, fmt: str) -> tuple[list[str], int]:
    """The streamed pieces of an export, and how many turns became model instances."""
    made = []

    def count(sender, **kwargs):
        made.append(sender)

    pre_init.connect(count, sender=Turn)
    try:
        response = client.get(reverse("memory_app:session", args=[session.pk]), {"format": fmt})
        assert response.status_code == 200
        assert response.streaming
        pieces = [chunk.decode() for chunk in response.streaming_content]
    finally:
        pre_init.disconnect(count, sender=Turn)
    return pieces, len(made)


def test_the_json_export_streams_every_turn_as_a_row(reviewer_client, long_session):
    pieces, instances = export(reviewer_client, long_session, "json")
    assert instances == 0  # rows, not model instances
    assert len(pieces) < TURNS / 20  # large pieces, not a write per turn
    document = json.loads("".join(pieces))
    assert document["session"]["id"] == long_session.pk
    turns = document["turns"]
    assert [t["turn_index"] for t in turns] == list(range(TURNS))
    assert turns[1] == {
        "id": "t-00001",
        "turn_index": 1,
        "role": "assistant",
        "content": "turn 1 " * 20,
        "token_count": 1,
        "created_at": "2026-11-24T10:00:01.000Z",
        "metadata_json": '{"n":1}',
    }
    assert turns[7]["token_count"] is None


def test_the_markdown_export_streams_every_turn_as_a_row(reviewer_client, long_session):
    pieces, instances = export(reviewer_client, long_session, "md")
    assert instances == 0
    assert len(pieces) < TURNS / 20
    text = "".join(pieces)
    assert text.startswith(f"# Session {long_session.pk}\n")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert len(headings) == TURNS
    assert headings[1] == "## 1 · assistant · 2026-11-24T10:00:01.000Z · 1 tokens"
    assert headings[7] == "## 7 · assistant · 2026-11-24T10:00:07.000Z"
    assert f"\n\n{'turn 599 ' * 20}\n\n" in text


@pytest.mark.engine("sqlite")  # a PostgreSQL bigint holds no infinity
def test_an_infinity_another_writer_stored_is_still_strict_json(reviewer_client, long_session):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversation_turns SET token_count = %s WHERE turn_index = 3", [float("inf")]
        )
    pieces, _ = export(reviewer_client, long_session, "json")
    turns = json.loads("".join(pieces))["turns"]
    assert turns[3]["token_count"] == "inf"
    assert turns[4]["token_count"] == 4
