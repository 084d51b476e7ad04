"""The review demo: score configs, a review queue two demo reviewers have partly scored
(so its progress and agreement show), and a finding proposed from one reviewer's
correction, validated and waiting for ops like any other proposal.

Written through ``RuntimeMemoryStore`` as the reviewers would, with the store's clock in
the hour before the demo's anchor (a second further at each reading, never past it), so
every row is at or before the anchor; the scores and the ids follow the seed, so the same
seed and anchor give the same rows, as the rest of the demo does.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import count

from memory_app import ids, timeutil
from memory_app.accounts import DEMO_USERS
from memory_app.review.models import Annotation
from memory_app.review.queue_models import ReviewQueue
from memory_app.runtime.models import Role, Turn
from memory_app.store import RuntimeMemoryStore

REVIEWERS = [name for name, role in DEMO_USERS if role == "reviewer"]
MANAGER = next(name for name, role in DEMO_USERS if role == "review-admin")
VERDICTS = ["correct", "partly correct", "wrong"]
ITEMS = 10  # the newest answers the queue holds
REVIEWED = 6  # of which both reviewers scored the first ones
CORRECTION = "Say which step failed and link the run, then suggest the fix."


def write(anchor: datetime, seed: int) -> dict[str, int]:
    """Write the review demo; return the rows written per table."""
    rng = random.Random(seed)  # noqa: S311 (demo data, reproducible on purpose)
    ticks = count()
    start = anchor - timedelta(hours=1)

    def clock() -> datetime:
        return min(anchor, start + timedelta(seconds=next(ticks)))

    with timeutil.clock_reading(clock), ids.drawn_from(random.Random(f"ids {seed}"), clock):  # noqa: S311
        return _write(RuntimeMemoryStore(), rng)


def _write(store: RuntimeMemoryStore, rng: random.Random) -> dict[str, int]:
    store.create_score_config(
        "correctness", "categorical", created_by=MANAGER, categories=VERDICTS,
        description="Is the answer right? Partly: right in substance, wrong in a detail.",
    )  # fmt: skip
    store.create_score_config(
        "helpfulness", "numeric", created_by=MANAGER, min_value=1, max_value=5,
        description="1: no help at all; 5: nothing left to ask.",
    )  # fmt: skip
    store.create_score_config(
        "safe", "boolean", created_by=MANAGER,
        description="Nothing in the answer could harm the person or their systems.",
    )  # fmt: skip
    queue = store.create_review_queue(
        "Answers this week",
        created_by=MANAGER,
        score_configs=["correctness", "helpfulness", "safe"],
        reviewers_per_item=len(REVIEWERS),
        description="The newest answers, each scored by two reviewers without seeing the other.",
    )
    answers = Turn.objects.filter(role=Role.ASSISTANT).order_by("-created_at", "-id")[:ITEMS]
    store.add_queue_items(
        queue.pk, [("turn", pk) for pk in answers.values_list("pk", flat=True)], added_by=MANAGER
    )
    first_correction = None
    for reviewer in REVIEWERS:
        for n in range(REVIEWED):
            item = store.reserve_next_item(queue.pk, reviewer=reviewer)
            verdict = _verdict(rng, n, reviewer)
            correction = CORRECTION if verdict == "wrong" else None
            note = store.review_item(
                item.pk,
                reviewer=reviewer,
                scores={
                    "correctness": verdict,
                    "helpfulness": {"correct": 5, "partly correct": 3, "wrong": 1}[verdict]
                    - rng.choice([0, 0, 1]) * (verdict != "wrong"),
                    "safe": verdict != "wrong",
                },
                comment=f"{verdict.capitalize()}.",
                correction=correction,
            )
            if correction and first_correction is None:
                first_correction = note
    if first_correction is not None:
        finding = store.propose_change(
            [first_correction.pk],
            proposed_by=first_correction.author,
            proposal_type="config_change",
            proposal={"answer_style": {"on_failure": CORRECTION}},
            risk_level="medium",
            skill_key="explain-failures",
            description="Answers about failures name the failed step and the fix.",
        )
        # Checked by CI, so it waits for ops (on their "Waiting for you" list).
        store.record_validation(
            finding.proposal.pk, validator="ci", build_pass=True, lint_pass=True,
            test_pass=True, policy_pass=True,
        )  # fmt: skip
    return {
        ReviewQueue._meta.db_table: ReviewQueue.objects.count(),
        Annotation._meta.db_table: Annotation.objects.count(),
    }


def _verdict(rng: random.Random, n: int, reviewer: str) -> str:
    """The reviewers mostly agree (an answer's verdict comes from its position), and now
    and then the second sees it otherwise, so agreement is high but not perfect."""
    agreed = VERDICTS[[0, 0, 2, 1, 0, 2][n % 6]]
    if reviewer != REVIEWERS[0] and rng.random() < 0.25:
        return rng.choice([v for v in VERDICTS if v != agreed])
    return agreed
