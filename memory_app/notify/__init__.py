"""The notify wing. Its tasks were queued as ``memory_app.notify.<name>`` before the wings:
a worker still finds those it holds under the old names here."""

from memory_app.notify.notifications import dispatch, send, send_digests

__all__ = ["dispatch", "send", "send_digests"]
