"""Turns per hour kept by the database itself (issue #22: the overview's data from indexed
aggregates, at most twice a transcript's time, on the first request after any write).

``tommemory_turn_hours`` holds, for each hour (a canonical time's first 13 characters) and
session, how many turns the session has in that hour and their tokens. Triggers on
``conversation_turns`` keep it on every insert, delete and change of a turn's time, tokens
or session, whoever writes (either store, or SQL from any process): the overview reads a
window's whole hours from it (a row per session-hour, not per turn) and only the hours a
window cuts, from the turns (``overview/rollups``). Keyed by session, not by its actor and
channel, so a session's edit or deletion needs no trigger of its own (a turn's row never
has to be found again under another key); the overview joins the sessions of the window's
rows to group them by actor and channel.

Only turns whose time is canonical are kept (the same test as the partial indexes,
``expressions.CanonicalTime``): on SQLite that test needs no function of ours, so a writer
without tommemory's functions still writes turns. Turns in other time forms are read whole
through their partial index as before, and those with unreadable times counted as undated.
A token count reads as SQL's CAST to a real reads it; one that reads as infinity ("1e999",
which another writer may store as text on SQLite) counts as none, as other text does.

The table and its triggers come with ``migrate`` alone, not with a store's bootstrap
(contract/tommemory_schema.sql): they are the dashboard's, and a file a store made is
migrated before the dashboard reads it, which fills the table from the turns it holds.
"""

from django.db import migrations

from memory_app.expressions import CanonicalTime
from memory_app.vendor_sql import RunSQLFor

TABLE = "tommemory_turn_hours"


class _Ref:
    """A column of the row a trigger fires for (``NEW.created_at``), as an expression."""

    def __init__(self, sql: str):
        self.sql = sql

    def resolve_expression(self, *args, **kwargs):
        return self

    def as_sql(self, compiler, connection):
        return self.sql, []


class _Compiler:
    def compile(self, node):
        return node.as_sql(self, None)


def canonical(ref: str, vendor: str) -> str:
    """Whether ``ref`` is a canonical time, spelled as the partial indexes spell it."""
    flag = CanonicalTime(_Ref(ref))
    sql, _ = getattr(flag, f"as_{vendor}")(_Compiler(), None)
    return f"{sql} = 1" if vendor == "sqlite" else sql


def tokens(ref: str, real: str) -> str:
    """A turn's tokens as a real; none for a value that reads as infinity (or NaN)."""
    value = f"CAST({ref} AS {real})"
    return f"COALESCE(CASE WHEN abs({value}) < 1e308 THEN {value} END, 0)"


def _add(row: str, vendor: str, *, where: bool) -> str:
    real = "REAL" if vendor == "sqlite" else "double precision"
    guard = f" WHERE {canonical(f'{row}.created_at', vendor)}" if where else ""
    return (
        f"INSERT INTO {TABLE} (hour, session_id, turns, tokens) "
        f"SELECT substr({row}.created_at, 1, 13), {row}.session_id, 1, "
        f"{tokens(f'{row}.token_count', real)}{guard} "
        "ON CONFLICT (hour, session_id) DO UPDATE SET turns = "
        f"{TABLE}.turns + excluded.turns, tokens = {TABLE}.tokens + excluded.tokens"
    )


def _remove(row: str, vendor: str) -> list[str]:
    real = "REAL" if vendor == "sqlite" else "double precision"
    key = f"hour = substr({row}.created_at, 1, 13) AND session_id = {row}.session_id"
    flag = canonical(f"{row}.created_at", vendor)
    return [
        f"UPDATE {TABLE} SET turns = turns - 1, tokens = tokens - "
        f"{tokens(f'{row}.token_count', real)} WHERE {key} AND {flag}",
        # An hour a session no longer has turns in goes (and its sum's rounding with it).
        f"DELETE FROM {TABLE} WHERE {key} AND turns <= 0",
    ]


SQLITE_TABLE = (
    f"CREATE TABLE {TABLE} (hour TEXT NOT NULL, session_id TEXT NOT NULL, "
    "turns INTEGER NOT NULL, tokens REAL NOT NULL, PRIMARY KEY (hour, session_id)) WITHOUT ROWID"
)
POSTGRESQL_TABLE = (
    f"CREATE TABLE {TABLE} (hour text NOT NULL, session_id text NOT NULL, "
    "turns bigint NOT NULL, tokens double precision NOT NULL, PRIMARY KEY (hour, session_id))"
)
UPDATED = "UPDATE OF created_at, token_count, session_id"


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON conversation_turns "
        f"BEGIN {_add('NEW', 'sqlite', where=True)}; END",
        f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON conversation_turns "
        f"BEGIN {'; '.join(_remove('OLD', 'sqlite'))}; END",
        f"CREATE TRIGGER {TABLE}_update AFTER {UPDATED} ON conversation_turns BEGIN "
        f"{'; '.join(_remove('OLD', 'sqlite'))}; {_add('NEW', 'sqlite', where=True)}; END",
    ]


POSTGRESQL_FUNCTION = (
    f"CREATE FUNCTION {TABLE}_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
    + "; ".join(_remove("OLD", "postgresql"))
    + "; END IF; IF TG_OP IN ('UPDATE', 'INSERT') THEN "
    + _add("NEW", "postgresql", where=True)
    + "; END IF; RETURN NULL; END $$"
)
POSTGRESQL_TRIGGER = (
    f"CREATE TRIGGER {TABLE}_keep AFTER INSERT OR DELETE OR {UPDATED} ON conversation_turns "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_keep()"
)


def backfill(vendor: str) -> str:
    real = "REAL" if vendor == "sqlite" else "double precision"
    return (
        f"INSERT INTO {TABLE} (hour, session_id, turns, tokens) "
        f"SELECT substr(created_at, 1, 13), session_id, COUNT(*), "
        f"SUM({tokens('token_count', real)}) FROM conversation_turns "
        f"WHERE {canonical('created_at', vendor)} GROUP BY substr(created_at, 1, 13), session_id"
    )


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0027_finding_evidence")]

    operations = [
        RunSQLFor(
            sqlite=[SQLITE_TABLE, *_sqlite_triggers(), backfill("sqlite")],
            reverse_sqlite=[
                *(f"DROP TRIGGER IF EXISTS {TABLE}_{op}" for op in ("insert", "delete", "update")),
                f"DROP TABLE IF EXISTS {TABLE}",
            ],
            postgresql=[
                POSTGRESQL_TABLE,
                POSTGRESQL_FUNCTION,
                POSTGRESQL_TRIGGER,
                backfill("postgresql"),
            ],
            reverse_postgresql=[
                f"DROP TRIGGER IF EXISTS {TABLE}_keep ON conversation_turns",
                f"DROP FUNCTION IF EXISTS {TABLE}_keep()",
                f"DROP TABLE IF EXISTS {TABLE}",
            ],
        ),
    ]
