"""Accent- and case-folding word search over turn content, for rows any writer adds.

The trigram index (0006) matches substrings but not "resume" against "Résumé": SQLite's
trigram tokenizer only learned to remove diacritics in 3.45, and the SQLite bundled with
Python here is 3.40. FTS5's unicode61 tokenizer with remove_diacritics 2 (since 3.27)
folds case and accents for every word, and it is built in, so a runtime writing turns
through any SQLite keeps this index current through the triggers below. The table keeps
no copy of the text: it reads content from conversation_turns by rowid (snippets too).
"""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor

FORWARD = [
    "CREATE VIRTUAL TABLE turn_words USING fts5(content, content = 'conversation_turns', "
    "content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO turn_words (turn_words) VALUES ('rebuild')",
    "CREATE TRIGGER turn_words_insert AFTER INSERT ON conversation_turns BEGIN "
    "INSERT INTO turn_words (rowid, content) VALUES (NEW.rowid, NEW.content); END",
    "CREATE TRIGGER turn_words_delete AFTER DELETE ON conversation_turns BEGIN "
    "INSERT INTO turn_words (turn_words, rowid, content) "
    "VALUES ('delete', OLD.rowid, OLD.content); END",
    "CREATE TRIGGER turn_words_update AFTER UPDATE OF content ON conversation_turns BEGIN "
    "INSERT INTO turn_words (turn_words, rowid, content) "
    "VALUES ('delete', OLD.rowid, OLD.content); "
    "INSERT INTO turn_words (rowid, content) VALUES (NEW.rowid, NEW.content); END",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS turn_words_update",
    "DROP TRIGGER IF EXISTS turn_words_delete",
    "DROP TRIGGER IF EXISTS turn_words_insert",
    "DROP TABLE IF EXISTS turn_words",
]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0010_proposal_changes")]

    # PostgreSQL's index of 0006 folds accents already.
    operations = [
        RunSQLFor(sqlite=FORWARD, reverse_sqlite=BACKWARD, postgresql=[], reverse_postgresql=[])
    ]
