"""The decision log's tree as C2SP tlog-tiles (issue #25), and the auditor role.

``tommemory_log_tiles`` (``LogTile``, ``memory_app.promotion.log_tiles``): every writer that
appends to the log writes the tiles it changes in the same transaction, so proofs read a few
tiles instead of every leaf. A tile only grows: a trigger refuses any other change (its
place, or a hash it holds), on both engines; rows may be deleted (the tiles are made again
from the log). A store's bootstrap makes the table and trigger too (contract/
tommemory_schema.sql), so a file a store made is adopted as it is. The tiles of a log made
before them are built here, from its entries.

The ``auditor`` group reads the log as C2SP serves it (``access.can_audit``): the checkpoint,
the tiles and the entries under ``TOM_LOG_PREFIX``, and nothing else.
"""

import importlib

from django.db import migrations, models

from memory_app.adoption import CreateOrAdoptModel  # a store's bootstrap makes it too
from memory_app.promotion import log_tiles
from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger, pg_refuse, quote

_0004 = importlib.import_module("memory_app.migrations.0004_role_groups")
TABLE = "tommemory_log_tiles"
TRIGGER = f"{TABLE}_grow_only"
REFUSED = f"{TABLE} only grows: a tile keeps its place and every hash it holds"
# Another place, or the hashes it held not kept as they were at its start.
CHANGED = (
    'NEW.level <> OLD.level OR NEW."index" <> OLD."index" '
    "OR substr(NEW.hashes, 1, length(OLD.hashes)) <> OLD.hashes"
)
GROUP = "auditor"
PERMISSIONS = ["view_auditleaf", "view_logtile"]


def build_tiles(apps, schema_editor) -> None:
    log_tiles.rebuild(schema_editor.connection)


def create_group(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    # The permissions of the models made above, made now so the group can hold them (0004).
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        _0004.create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = models_module
    group, _ = apps.get_model("auth", "Group").objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(
        *apps.get_model("auth", "Permission")
        .objects.using(using)
        .filter(content_type__app_label="memory_app", codename__in=PERMISSIONS)
    )


def remove_group(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(using).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0031_ingest_ledger")]

    operations = [
        CreateOrAdoptModel(
            name="LogTile",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "level",
                        "index",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("level", models.IntegerField(help_text="tile level: 0 holds leaf hashes")),
                (
                    "index",
                    models.BigIntegerField(help_text="the tile's place in its level, from 0"),
                ),
                (
                    "hashes",
                    models.TextField(help_text="its hashes, in order, as hex (64 digits each)"),
                ),
            ],
            options={"db_table": TABLE},
        ),
        RunSQLFor(
            # A store's bootstrap makes the trigger too: the migration's replaces it.
            sqlite=[
                f"DROP TRIGGER IF EXISTS {TRIGGER}",
                f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON {TABLE} WHEN {CHANGED} "
                f"BEGIN SELECT RAISE(ABORT, {quote(REFUSED)}); END",
            ],
            reverse_sqlite=[f"DROP TRIGGER IF EXISTS {TRIGGER}"],
            postgresql=[pg_refuse(TRIGGER, TABLE, "UPDATE", REFUSED, CHANGED)],
            reverse_postgresql=[pg_drop_trigger(TRIGGER, TABLE)],
        ),
        migrations.RunPython(build_tiles, migrations.RunPython.noop),
        migrations.RunPython(create_group, remove_group),
    ]
