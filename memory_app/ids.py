"""Row ids: TEXT, time-ordered UUIDv7 for rows this project creates."""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = (0, 0)  # (unix ms, 12-bit sequence) of the last id made in this process


def uuid7() -> uuid.UUID:
    """Return an RFC 9562 UUIDv7, monotonic within this process."""
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        last_millis, seq = _last
        if millis <= last_millis:
            millis, seq = last_millis, seq + 1
            if seq > 0xFFF:
                millis, seq = millis + 1, 0
        else:
            seq = int.from_bytes(os.urandom(2)) & 0x3FF  # leave room to count up
        _last = (millis, seq)
    rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    """Return a new row id as text."""
    return str(uuid7())
