from django.apps import AppConfig
from django.db.backends.signals import connection_created

from memory_app.timeutil import sql_instant


def _prepare_sqlite(sender, connection, **kwargs) -> None:
    """Read any text other writers stored, and compare times as this project does.

    Another process may store bytes that are not UTF-8 in a TEXT column; the default
    decoder raises on them, so a page would fail. They are read with replacement
    characters instead. ``tom_instant`` gives SQL the same reading of a time as
    Python's (``timeutil.instant_key``), so filters and sorts agree everywhere.
    """
    if connection.vendor != "sqlite":
        return
    raw = connection.connection
    raw.text_factory = lambda data: data.decode("utf-8", "replace")
    raw.create_function("tom_instant", 1, sql_instant, deterministic=True)


class MemoryAppConfig(AppConfig):
    name = "memory_app"
    verbose_name = "Runtime memory"

    def ready(self) -> None:
        connection_created.connect(_prepare_sqlite, dispatch_uid="memory_app.prepare_sqlite")
