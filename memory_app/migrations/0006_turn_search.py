"""Full-text search over turn content, kept in sync by triggers for every writer.

The trigram tokenizer matches any substring of three or more characters, so
accented, Cyrillic and CJK text (which has no spaces between words) is found too.
Rows are tied to their turn by rowid (for cheap deletes) and carry the turn id,
which is what results are joined on (see Turn.objects.search).

PostgreSQL has no FTS5 and no rowid. There a trigram GIN index (pg_trgm) over the
content folded by ``tom_fold`` (lower case, accents removed by the unaccent extension)
answers the same searches, and ``tommemory_turn_positions`` numbers turns in the order
they were added, as SQLite's rowid does, so results page the same way on both engines.
"""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor

FORWARD = [
    "CREATE VIRTUAL TABLE turn_search USING fts5(turn_id UNINDEXED, content, tokenize = 'trigram')",
    "INSERT INTO turn_search (rowid, turn_id, content) "
    "SELECT rowid, id, content FROM conversation_turns",
    "CREATE TRIGGER turn_search_insert AFTER INSERT ON conversation_turns BEGIN "
    "INSERT INTO turn_search (rowid, turn_id, content) VALUES (NEW.rowid, NEW.id, NEW.content); "
    "END",
    "CREATE TRIGGER turn_search_delete AFTER DELETE ON conversation_turns BEGIN "
    "DELETE FROM turn_search WHERE rowid = OLD.rowid; END",
    "CREATE TRIGGER turn_search_update AFTER UPDATE OF id, content ON conversation_turns BEGIN "
    "UPDATE turn_search SET turn_id = NEW.id, content = NEW.content WHERE rowid = OLD.rowid; "
    "END",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS turn_search_update",
    "DROP TRIGGER IF EXISTS turn_search_delete",
    "DROP TRIGGER IF EXISTS turn_search_insert",
    "DROP TABLE IF EXISTS turn_search",
]

POSTGRESQL = [
    # Both are trusted extensions: the database's owner may create them.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() is only STABLE (its dictionary could change); naming the dictionary makes
    # the folding fixed, which an index expression needs.
    "CREATE FUNCTION tom_fold(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    "AS $$ SELECT lower(unaccent('unaccent'::regdictionary, $1)) $$",
    "CREATE INDEX turn_search ON conversation_turns USING gin (tom_fold(content) gin_trgm_ops)",
    "CREATE TABLE tommemory_turn_positions (position bigserial PRIMARY KEY, "
    "turn_id text NOT NULL UNIQUE REFERENCES conversation_turns (id) "
    "ON DELETE CASCADE ON UPDATE CASCADE)",
    "INSERT INTO tommemory_turn_positions (turn_id) "
    "SELECT id FROM conversation_turns ORDER BY created_at, id",
    "CREATE FUNCTION tom_turn_position() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN INSERT INTO tommemory_turn_positions (turn_id) VALUES (NEW.id); RETURN NULL; END $$",
    "CREATE TRIGGER turn_positions_insert AFTER INSERT ON conversation_turns "
    "FOR EACH ROW EXECUTE FUNCTION tom_turn_position()",
]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0005_browse_indexes")]

    operations = [
        RunSQLFor(
            sqlite=FORWARD,
            reverse_sqlite=BACKWARD,
            postgresql=POSTGRESQL,
            reverse_postgresql=[
                "DROP TRIGGER IF EXISTS turn_positions_insert ON conversation_turns",
                "DROP FUNCTION IF EXISTS tom_turn_position()",
                "DROP TABLE IF EXISTS tommemory_turn_positions",
                "DROP INDEX IF EXISTS turn_search",
                "DROP FUNCTION IF EXISTS tom_fold(text)",
            ],
        )
    ]
