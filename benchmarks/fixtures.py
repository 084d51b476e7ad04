"""The rows the page benchmarks add to the seeded file: a workflow run of 200 steps and
2,000 events and a proposal with 50 decisions, written through the store the first time
(found by their names after).

    .venv/bin/python benchmarks/fixtures.py --db benchmarks/out/million.sqlite

prints their ids as JSON; ``profile_pages`` calls ``ensure`` in its own process.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import prepare


def ensure() -> tuple[str, str]:
    """The ids of the run and the proposal (Django set up), made the first time."""
    from django.db import transaction

    from memory_app import models
    from memory_app.store import RuntimeMemoryStore

    store = RuntimeMemoryStore()
    with transaction.atomic():  # all of them or none
        return _run(store, models), _proposal(store, models)


def _run(store, models) -> str:
    run = models.WorkflowRun.objects.filter(workflow_name="bench-timeline").first()
    if run is None:
        run = store.start_workflow_run(
            "bench-timeline", trigger_source="manual", initiated_by="bench"
        )
        for s in range(200):
            step = store.add_step(run.pk, f"step-{s:03d}")
            for e in range(10):
                kind, level = (("info", "low"), ("warn", "medium"), ("error", "high"))[e % 3]
                store.add_event(kind, level, f"step {s} event {e}", step_id=step.pk)
            store.finish_step(step.pk, status="succeeded")
    return run.pk


def _proposal(store, models) -> str:
    proposal = models.Proposal.objects.filter(skill__skill_key="bench-skill").first()
    if proposal is None:
        skill = store.learn_skill("bench-skill", "d", source_type="doc", confidence=0.9)
        proposal = store.draft_proposal(
            skill.pk, proposed_by="oxide", proposal_type="code_patch",
            proposal={"diff": "x"}, risk_level="critical",
        )  # fmt: skip
        store.record_validation(
            proposal.pk, validator="ci", build_pass=1, lint_pass=1, test_pass=1, policy_pass=1
        )
        for n in range(50):  # people changing their minds: 50 decisions, latest ones count
            store.record_approval(
                proposal.pk, approver=f"person-{n % 10}",
                approval_type=("human", "policy", "security")[n % 3], decision="approved",
            )  # fmt: skip
    return proposal.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    os.environ.update(prepare(args.db.resolve()))
    import django

    django.setup()
    run_id, proposal_id = ensure()
    print(json.dumps({"run": run_id, "proposal": proposal_id}))


if __name__ == "__main__":
    main()
