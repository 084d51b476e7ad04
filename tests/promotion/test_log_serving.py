"""The decision log served as a C2SP tlog-tiles log: to auditors and the log's token only,
at the spec's paths, and checked by an outside client with nothing but tommemory_verify."""

import json

import pytest
from django.db import connection
from django.test import Client, override_settings

from memory_app.promotion import decision_log, log_tiles
from tests.helpers import add_validations, audit_triggers_lifted, checkpoint
from tommemory_verify import merkle, tiles, tlog
from tommemory_verify.leaves import leaf_text
from tommemory_verify.note import parse_verifier_key

pytestmark = pytest.mark.django_db

TOKEN = "log-read-token-for-tests"


@pytest.fixture(autouse=True)
def _served(tmp_path, keys):
    """The log's checkpoints where the tests sign them, and a read token."""
    with override_settings(
        TOM_AUDIT_CHECKPOINTS=tmp_path / "checkpoints",
        TOM_AUDIT_PUBLIC_KEY=keys[1],
        TOM_LOG_TOKEN=TOKEN,
    ):
        yield


def with_token(token: str = TOKEN) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def fetcher(client: Client):
    """What an outside client gets for each path under the prefix (None: 404)."""

    def fetch(path: str) -> bytes | None:
        response = client.get("/log/" + path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, (path, response.status_code)
        return response.content

    return fetch


def check(client: Client, keys) -> tuple[list[str], str]:
    name, key = parse_verifier_key(keys[1].read_text())
    return tlog.check(fetcher(client), name, key, name)


def a_long_log(decided, count: int = 300) -> None:
    add_validations(decided.pk, count)
    decision_log.take_in()


# --- who may read -------------------------------------------------------------------------


def test_only_auditors_and_the_token_read_the_log(
    client, reviewer, auditor, tmp_path, keys, decided
):
    checkpoint(tmp_path, keys)
    paths = ["/log/checkpoint", "/log/tile/0/000.p/4", "/log/tile/entries/000.p/4"]
    for path in paths:
        anonymous = client.get(path)
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/accounts/login/")
        assert with_token("not-the-token").get(path).status_code == 401
        assert with_token().get(path).status_code == 200
    client.force_login(reviewer)
    assert [client.get(p).status_code for p in paths] == [403, 403, 403]
    client.force_login(auditor)
    assert [client.get(p).status_code for p in paths] == [200, 200, 200]
    assert client.post(paths[0]).status_code == 405


def test_no_token_reads_the_log_while_none_is_set(tmp_path, keys, decided):
    checkpoint(tmp_path, keys)
    with override_settings(TOM_LOG_TOKEN=""):
        assert with_token("").get("/log/checkpoint").status_code == 401
        response = Client(headers={"Authorization": "Bearer"}).get("/log/checkpoint")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")


# --- what is served -------------------------------------------------------------------


def test_the_checkpoint_is_the_newest_signed_note(auditor_client, tmp_path, keys, decided):
    assert auditor_client.get("/log/checkpoint").status_code == 404
    directory = checkpoint(tmp_path, keys)
    response = auditor_client.get("/log/checkpoint")
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == sorted(directory.glob("*.note"))[-1].read_bytes()
    assert "max-age=5" in response["Cache-Control"]


def test_tiles_are_served_at_the_spec_s_paths_as_stored(auditor_client, store, decided):
    a_long_log(decided)  # 304 entries: a full level-0 tile, one of 48, level 1 of 1
    stored = log_tiles.stored()
    full = auditor_client.get("/log/tile/0/000")
    assert full["Content-Type"] == "application/octet-stream"
    assert full.content == stored[0, 0]
    assert "immutable" in full["Cache-Control"]
    assert auditor_client.get("/log/tile/0/001.p/48").content == stored[0, 1]
    # A narrower partial tile (an older checkpoint's) is the same hashes' beginning.
    assert auditor_client.get("/log/tile/0/001.p/7").content == stored[0, 1][: 7 * 32]
    assert auditor_client.get("/log/tile/1/000.p/1").content == merkle.root(
        tiles.split(stored[0, 0])
    )
    for missing in ("/log/tile/0/001", "/log/tile/0/001.p/49", "/log/tile/2/000.p/1"):
        assert auditor_client.get(missing).status_code == 404, missing
    beyond = "/log/tile/{}/x999/x999/x999/x999/x999/x999/x999/999"
    for huge in (beyond.format(0), beyond.format("entries"), beyond.format(63)):
        assert auditor_client.get(huge).status_code == 404, huge
    for wrong in ("/log/tile/0/1", "/log/tile/0/x000/001", "/log/tile/0/000.p/256"):
        response = auditor_client.get(wrong)
        assert response.status_code == 404
        assert b"not a tile path" in response.content


def read_bundle(body: bytes) -> list[bytes]:
    found, at = [], 0
    while at < len(body):
        length = int.from_bytes(body[at : at + 2], "big")
        found.append(body[at + 2 : at + 2 + length])
        at += 2 + length
    return found


def test_an_entry_bundle_holds_each_entry_s_leaf_text(auditor_client, store, decided):
    a_long_log(decided)
    body = auditor_client.get("/log/tile/entries/001.p/48").content
    entries = read_bundle(body)
    assert len(entries) == 48
    leaves = tiles.split(log_tiles.stored()[0, 1])
    assert [merkle.leaf_hash(e) for e in entries] == leaves
    first = json.loads(entries[0])
    assert first["kind"] == "validation"
    assert first["row"]["id"] == "raw-0000252"  # the 257th entry: 4 of decided's, then 252
    assert len(read_bundle(auditor_client.get("/log/tile/entries/000").content)) == 256
    assert auditor_client.get("/log/tile/entries/001").status_code == 404


def test_an_entry_too_long_for_a_bundle_is_said_so(auditor_client, store, decided):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO validation_results (id, proposal_id, validator, details_json, "
            "validated_at) VALUES ('long', %s, 'ci', %s, '2026-01-05T00:00:00.000Z')",
            [decided.pk, json.dumps({"log": "x" * 70_000})],
        )
    decision_log.take_in()
    response = auditor_client.get("/log/tile/entries/000.p/5")
    assert response.status_code == 404
    assert b"longer than an entry bundle holds (65,535)" in response.content
    assert auditor_client.get("/log/tile/entries/000.p/4").status_code == 200


# --- an outside client ------------------------------------------------------------------


def test_an_outside_client_checks_the_served_tree_against_the_checkpoint(
    tmp_path, keys, store, decided
):
    a_long_log(decided)
    checkpoint(tmp_path, keys)
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    problems, summary = check(with_token(), keys)  # the tiles grew since: still the same tree
    assert problems == []
    assert "of 304 entries" in summary
    assert "every tile, and 304 entries hashing to their leaves" in summary


def test_an_outside_client_finds_a_row_changed_behind_the_log(tmp_path, keys, store, decided):
    a_long_log(decided)
    checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET validator = 'human' WHERE id = 'raw-0000260'")
    problems, _ = check(with_token(), keys)
    assert problems == ["entry #264 does not hash to its leaf"]


def test_an_outside_client_finds_tiles_rewritten_with_a_row(tmp_path, keys, store, decided):
    """A writer who changes a row and makes the log's leaves and tiles again: the tree served
    is not the one the checkpoint signed."""
    a_long_log(decided)
    checkpoint(tmp_path, keys)
    with audit_triggers_lifted() as cursor:
        cursor.execute("UPDATE validation_results SET validator = 'human' WHERE id = 'raw-0000010'")
        row = decision_log.stored_rows("validation", ["raw-0000010"])["raw-0000010"]
        cursor.execute(
            "UPDATE tommemory_audit_log SET leaf_hash = %s WHERE row_id = 'raw-0000010'",
            [merkle.leaf_hash(leaf_text("validation", row, None)).hex()],
        )
        log_tiles.rebuild()
    problems, _ = check(with_token(), keys)
    assert problems == ["the tiles' tree is not the one the checkpoint signed"]


def test_the_outside_client_s_command_says_what_it_cannot_check(tmp_path, keys, capsys):
    assert tlog.main(["ftp://nowhere/log/", "--key", str(keys[1])]) == tlog.CANNOT_CHECK
    assert "not an http(s) URL" in capsys.readouterr().err
    assert tlog.main(["http://127.0.0.1:9/log/", "--key", str(keys[1])]) == tlog.CANNOT_CHECK
    assert capsys.readouterr().err.startswith("cannot check: ")
