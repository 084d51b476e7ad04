"""A reviewer in its own process: takes the next item of a review queue through
RuntimeMemoryStore and prints its id ("-" for none).

Usage: python -m tests.reserve_process QUEUE_ID REVIEWER START_AT
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from memory_app.store import RuntimeMemoryStore

    queue_id, reviewer, start_at = sys.argv[1:4]
    store = RuntimeMemoryStore()
    time.sleep(max(0.0, float(start_at) - time.monotonic()))
    item = store.reserve_next_item(queue_id, reviewer=reviewer)
    print(item.id if item else "-")


if __name__ == "__main__":
    main()
