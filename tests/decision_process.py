"""A decider in its own process: records one decision through RuntimeMemoryStore.

Usage: python -m tests.decision_process PROPOSAL_ID APPROVER TYPE START_AT
"""

import sys
import time

import django


def main() -> None:
    django.setup()
    from memory_app.store import RuntimeMemoryStore

    proposal_id, approver, kind, start_at = sys.argv[1:5]
    store = RuntimeMemoryStore()
    time.sleep(max(0.0, float(start_at) - time.monotonic()))
    recorded = store.record_approval(
        proposal_id, approver=approver, approval_type=kind, decision="approved"
    )
    print(recorded.verdict.status)


if __name__ == "__main__":
    main()
