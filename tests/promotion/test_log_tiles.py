"""The decision log's tree kept as C2SP tlog-tiles: made as the log grows, in the same
transaction, and brought back to the log when they are not its."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction

from memory_app.models import AuditLeaf
from memory_app.promotion import decision_log, log_tiles
from tests.helpers import add_validations, audit_triggers_lifted
from tommemory_verify import merkle, tiles

MIGRATION = importlib.import_module("memory_app.migrations.0032_log_tiles")


# --- the tiles the stores keep -------------------------------------------------------------


def stored() -> dict:
    return log_tiles.stored()


def log_hashes() -> list[bytes]:
    return [
        bytes.fromhex(h)
        for h in AuditLeaf.objects.order_by("index").values_list("leaf_hash", flat=True)
    ]


pytestmark = pytest.mark.django_db


def test_every_take_in_writes_the_tiles_of_the_log_it_appended_to(store, decided):
    assert stored() == tiles.build(log_hashes())
    add_validations(decided.pk, 300)
    assert decision_log.take_in() == 300
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert len(log_hashes()) == 305
    assert stored() == tiles.build(log_hashes())
    assert log_tiles.tree_size() == 305
    assert set(stored()) == {(0, 0), (0, 1), (1, 0)}


def test_entries_a_writer_appended_without_tiles_are_tiled_at_the_next_take_in(store, decided):
    """An older store appends entries and no tiles: the next take-in tiles them first."""
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO tommemory_audit_log ("index", kind, row_id, leaf_hash, logged_at) '
            "VALUES (4, 'validation', 'older-writer', %s, '2026-01-03T00:00:00.000Z')",
            [merkle.leaf_hash(b"older").hex()],
        )
    assert log_tiles.tree_size() == 4
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert stored() == tiles.build(log_hashes())
    assert log_tiles.tree_size() == 6


def test_tiles_that_are_not_the_log_s_are_made_again_from_it(store, decided):
    """Entries taken out of the log (its triggers lifted) and others appended in their
    place: the tiles hold more, or another last hash; the next take-in makes them again."""
    with audit_triggers_lifted() as cursor:
        cursor.execute('DELETE FROM tommemory_audit_log WHERE "index" >= 2')
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert stored() == tiles.build(log_hashes())
    with audit_triggers_lifted() as cursor:
        cursor.execute(
            'UPDATE tommemory_audit_log SET leaf_hash = %s WHERE "index" = '
            '(SELECT MAX("index") FROM tommemory_audit_log)',
            [merkle.leaf_hash(b"swapped").hex()],
        )
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert stored() == tiles.build(log_hashes())


def test_tiles_stop_before_a_gap_in_the_log(store, decided):
    with audit_triggers_lifted() as cursor:
        cursor.execute('DELETE FROM tommemory_audit_log WHERE "index" = 1')
        cursor.execute("DELETE FROM tommemory_log_tiles")
    store.record_deploy_outcome(decided.pk, deployment_target="prod", status="failed")
    assert log_tiles.tree_size() == 1
    assert stored() == tiles.build(log_hashes()[:1])


def test_the_migration_tiles_a_log_made_before_tiles(store, decided):
    add_validations(decided.pk, 600)
    decision_log.take_in()
    expected = stored()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tommemory_log_tiles")
    MIGRATION.build_tiles(None, SimpleNamespace(connection=connection))
    assert stored() == expected == tiles.build(log_hashes())


def test_a_tile_only_grows(decided):
    grown = stored()[0, 0] + merkle.leaf_hash(b"next")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tommemory_log_tiles SET hashes = %s WHERE level = 0", [grown.hex()])
    changed = merkle.leaf_hash(b"other") + grown[32:]
    for statement, params in (
        ("UPDATE tommemory_log_tiles SET hashes = %s WHERE level = 0", [changed.hex()]),
        ('UPDATE tommemory_log_tiles SET "index" = 7 WHERE level = 0', []),
        ("UPDATE tommemory_log_tiles SET hashes = %s WHERE level = 0", [grown[:32].hex()]),
    ):
        with (
            pytest.raises(IntegrityError, match="tommemory_log_tiles only grows"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, params)
