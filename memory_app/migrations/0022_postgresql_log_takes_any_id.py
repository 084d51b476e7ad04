"""PostgreSQL: the decision log takes in a row whatever the length of its id.

The log's (kind, row_id) uniqueness was a B-tree entry, which holds at most 2,704 bytes:
another writer's validation or decision with an id of about 2.7 kB that does not compress
(which the v1 primary key takes) made every take-in fail, so no governed write of any store
could be logged after it. On PostgreSQL the uniqueness is now an exclusion constraint over a
hash of (kind, row_id), and lookups by row id use a hash index; neither holds the id itself.
SQLite has no such limit and keeps the model's unique constraint (the state is unchanged).
"""

from django.db import migrations

# A kind never holds a space, so "kind row_id" names one (kind, row_id) pair.
FORWARDS = [
    "ALTER TABLE tommemory_audit_log DROP CONSTRAINT uniq_audit_log_row",
    "ALTER TABLE tommemory_audit_log ADD CONSTRAINT uniq_audit_log_row "
    "EXCLUDE USING hash ((kind || ' ' || row_id) WITH =)",
    "CREATE INDEX tommemory_audit_log_row_id ON tommemory_audit_log USING hash (row_id)",
]
BACKWARDS = [
    "DROP INDEX tommemory_audit_log_row_id",
    "ALTER TABLE tommemory_audit_log DROP CONSTRAINT uniq_audit_log_row",
    "ALTER TABLE tommemory_audit_log ADD CONSTRAINT uniq_audit_log_row UNIQUE (kind, row_id)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0021_postgresql_bounded_index_keys")]

    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS))]
