"""Both search indexes read turn content from conversation_turns instead of keeping copies.

The trigram index (0006) stored its own copy of every turn's text and turn id; as an
external-content index (like the word index of 0011) it stores only the index, which
halves the space search takes and the pages each appended turn writes. Neither index keeps
per-row token counts (``columnsize=0``): those serve bm25 ranking, and results are ordered
newest first, never by rank. Together this is a fifth fewer database pages per appended turn,
which is what bounds an appending writer (benchmarks/append_turns.py).

External content means a row is removed from an index by handing it the old text, so the
delete and update triggers pass ``OLD.content``.
"""

from django.db import migrations

from memory_app.vendor_sql import RunSQLFor


def index(name: str, tokenizer: str) -> list[str]:
    return [
        f"CREATE VIRTUAL TABLE {name} USING fts5(content, content = 'conversation_turns', "
        f"content_rowid = 'rowid', tokenize = '{tokenizer}', columnsize = 0)",
        f"INSERT INTO {name} ({name}) VALUES ('rebuild')",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON conversation_turns BEGIN "
        f"INSERT INTO {name} (rowid, content) VALUES (NEW.rowid, NEW.content); END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON conversation_turns BEGIN "
        f"INSERT INTO {name} ({name}, rowid, content) "
        f"VALUES ('delete', OLD.rowid, OLD.content); END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF content ON conversation_turns BEGIN "
        f"INSERT INTO {name} ({name}, rowid, content) "
        f"VALUES ('delete', OLD.rowid, OLD.content); "
        f"INSERT INTO {name} (rowid, content) VALUES (NEW.rowid, NEW.content); END",
    ]


def drop(name: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {name}_update",
        f"DROP TRIGGER IF EXISTS {name}_delete",
        f"DROP TRIGGER IF EXISTS {name}_insert",
        f"DROP TABLE IF EXISTS {name}",
    ]


class Migration(migrations.Migration):
    dependencies = [("memory_app", "0011_turn_words")]

    operations = [
        RunSQLFor(
            # PostgreSQL's search index (0006) never kept a copy.
            postgresql=[],
            reverse_postgresql=[],
            sqlite=drop("turn_search") + index("turn_search", "trigram"),
            # Back to 0006's copying trigram index.
            reverse_sqlite=drop("turn_search")
            + [
                "CREATE VIRTUAL TABLE turn_search USING fts5(turn_id UNINDEXED, content, "
                "tokenize = 'trigram')",
                "INSERT INTO turn_search (rowid, turn_id, content) "
                "SELECT rowid, id, content FROM conversation_turns",
                "CREATE TRIGGER turn_search_insert AFTER INSERT ON conversation_turns BEGIN "
                "INSERT INTO turn_search (rowid, turn_id, content) "
                "VALUES (NEW.rowid, NEW.id, NEW.content); END",
                "CREATE TRIGGER turn_search_delete AFTER DELETE ON conversation_turns BEGIN "
                "DELETE FROM turn_search WHERE rowid = OLD.rowid; END",
                "CREATE TRIGGER turn_search_update AFTER UPDATE OF id, content "
                "ON conversation_turns BEGIN UPDATE turn_search SET turn_id = NEW.id, "
                "content = NEW.content WHERE rowid = OLD.rowid; END",
            ],
        ),
        RunSQLFor(
            postgresql=[],
            reverse_postgresql=[],
            sqlite=drop("turn_words") + index("turn_words", "unicode61 remove_diacritics 2"),
            # Back to 0011's word index, which kept token counts.
            reverse_sqlite=drop("turn_words")
            + [
                "CREATE VIRTUAL TABLE turn_words USING fts5(content, "
                "content = 'conversation_turns', content_rowid = 'rowid', "
                "tokenize = 'unicode61 remove_diacritics 2')",
                "INSERT INTO turn_words (turn_words) VALUES ('rebuild')",
            ]
            + index("turn_words", "unicode61 remove_diacritics 2")[2:],
        ),
    ]
