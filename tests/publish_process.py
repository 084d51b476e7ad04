"""A profile admin in its own process: publishes one behavior version.

Usage: python -m tests.publish_process NAME LABEL START_AT
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from memory_app.store import RuntimeMemoryStore, StoreError

    name, label, start_at = sys.argv[1:4]
    store = RuntimeMemoryStore()
    time.sleep(max(0.0, float(start_at) - time.monotonic()))
    try:
        version = store.publish_behavior_profile(name, {"by": label}, created_by=label)
    except StoreError as exc:
        print(f"refused: {exc}")
    else:
        print(f"published v{version.version}")


if __name__ == "__main__":
    main()
