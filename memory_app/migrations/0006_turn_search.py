"""Full-text search over turn content, kept in sync by triggers for every writer.

The trigram tokenizer matches any substring of three or more characters, so
accented, Cyrillic and CJK text (which has no spaces between words) is found too.
Rows are tied to their turn by rowid (for cheap deletes) and carry the turn id,
which is what results are joined on (see Turn.objects.search).
"""

from django.db import migrations

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


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0005_browse_indexes")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
