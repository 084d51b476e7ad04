"""A runtime writer in its own process: appends turns through RuntimeMemoryStore.

Usage: python -m tests.writer_process SESSION_ID COUNT LABEL START_AT

START_AT (a time.monotonic() value, which every process on the machine shares) lines
writers up so they really write at once.
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from memory_app.store import RuntimeMemoryStore

    session_id, count, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = RuntimeMemoryStore()
    time.sleep(max(0.0, float(sys.argv[4]) - time.monotonic()))
    for n in range(count):
        store.append_turn(session_id, "agent", f"{label} {n}", token_count=n)
        time.sleep(0.001)  # a runtime does some work between turns
    print(f"{label} wrote {count}")


if __name__ == "__main__":
    main()
