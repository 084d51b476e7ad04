"""Row ids: TEXT, time-ordered UUIDv7 for rows this project creates."""

import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

_lock = threading.Lock()
_last = (0, 0)  # (unix ms, 12-bit sequence) of the last id made in this process


def _wall_millis() -> int:
    return time.time_ns() // 1_000_000


# Where an id's time and random bits come from: the wall clock and the operating system,
# or (``drawn_from``) a given clock and a seeded generator.
_millis: Callable[[], int] = _wall_millis
_random_bytes: Callable[[int], bytes] = os.urandom


def uuid7() -> uuid.UUID:
    """Return an RFC 9562 UUIDv7, monotonic within this process."""
    global _last
    with _lock:
        millis = _millis()
        last_millis, seq = _last
        if millis <= last_millis:
            millis, seq = last_millis, seq + 1
            if seq > 0xFFF:
                millis, seq = millis + 1, 0
        else:
            seq = int.from_bytes(_random_bytes(2)) & 0x3FF  # leave room to count up
        _last = (millis, seq)
    rand_b = int.from_bytes(_random_bytes(8)) & ((1 << 62) - 1)
    value = (millis << 80) | (0x7 << 76) | (seq << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    """Return a new row id as text."""
    return str(uuid7())


@contextmanager
def drawn_from(rng: random.Random, clock: Callable[[], datetime]) -> Iterator[None]:
    """Make ids from ``clock`` and ``rng`` (and from a fresh sequence), so rows written
    through the store come out the same each time: the demo's review rows, from its
    seed and anchor."""
    global _last, _millis, _random_bytes
    with _lock:
        before = (_last, _millis, _random_bytes)
        _last, _millis, _random_bytes = (
            (0, 0),
            lambda: int(clock().timestamp() * 1000),
            rng.randbytes,
        )
    try:
        yield
    finally:
        with _lock:
            _last, _millis, _random_bytes = before
