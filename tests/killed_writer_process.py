"""A writer killed mid-transaction: appends turns inside one transaction, then waits.

Usage: python -m tests.killed_writer_process SESSION_ID COUNT
It prints "in transaction" once the rows are written but not committed, then sleeps
until the test kills it with SIGKILL.
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from django.db import transaction

    from memory_app.store import RuntimeMemoryStore

    session_id, count = sys.argv[1], int(sys.argv[2])
    store = RuntimeMemoryStore()
    with transaction.atomic():
        for n in range(count):
            store.append_turn(session_id, "agent", f"uncommitted {n}")
        print("in transaction", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
