"""Change tokens (memory_app.models.ChangeToken): any writer's change to a listed table
replaces its random token, on both engines, so caches of whole-table figures are keyed by
the rows themselves."""

from django.db import migrations, models

from memory_app.vendor_sql import RunSQLFor, pg_drop_trigger

TOKENS = "tommemory_change_tokens"
# The lists whose facet counts are cached (memory_app.forms.ListFilterForm).
WATCHED = ("sessions", "workflow_runs", "skill_to_logic_proposals")
OPERATIONS = ("insert", "update", "delete")

SQLITE = [
    f"CREATE TRIGGER {table}_change_token_{op} AFTER {op.upper()} ON {table} "
    f"""BEGIN INSERT INTO {TOKENS} ("table", token) """  # noqa: S608 (fixed names)
    f"VALUES ('{table}', lower(hex(randomblob(16)))) "
    "ON CONFLICT DO UPDATE SET token = excluded.token; END"
    for table in WATCHED
    for op in OPERATIONS
]
POSTGRESQL = [
    "CREATE FUNCTION tom_change_token() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f'BEGIN INSERT INTO {TOKENS} ("table", token) '
    "VALUES (TG_TABLE_NAME, md5(random()::text || clock_timestamp()::text)) "
    'ON CONFLICT ("table") DO UPDATE SET token = excluded.token; RETURN NULL; END $$',
    *(
        # Once per statement: a bulk insert replaces the token once.
        f"CREATE TRIGGER {table}_change_token AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION tom_change_token()"
        for table in WATCHED
    ),
]
REVERSE_SQLITE = [
    f"DROP TRIGGER IF EXISTS {table}_change_token_{op}" for table in WATCHED for op in OPERATIONS
]
REVERSE_POSTGRESQL = [
    *(pg_drop_trigger(f"{table}_change_token", table) for table in WATCHED),
    "DROP FUNCTION IF EXISTS tom_change_token()",
]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0017_notifications")]

    operations = [
        migrations.CreateModel(
            name="ChangeToken",
            fields=[
                ("table", models.TextField(primary_key=True, serialize=False)),
                ("token", models.TextField()),
            ],
            options={"db_table": TOKENS},
        ),
        RunSQLFor(
            sqlite=SQLITE,
            postgresql=POSTGRESQL,
            reverse_sqlite=REVERSE_SQLITE,
            reverse_postgresql=REVERSE_POSTGRESQL,
        ),
    ]
