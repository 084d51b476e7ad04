"""RuntimeMemoryStore: the one front door for every write, and the v1 query set.

The Python counterpart of the seed's TypeScript adapter, and a thin one: each call is a
wing's writer or reader (``memory_app.runtime``, ``profiles``, ``promotion``). Every write
validates its input first and raises ``StoreError`` (``NotFound`` or ``InvalidInput``)
with a clear message before anything is written; multi-row writes run in one
transaction (IMMEDIATE, see settings), so concurrent writers never interleave. A governed
write (a validation, a decision, break-glass, a deploy, a profile version) is taken into
the decision log in its transaction; once it commits, the front door lets the
notifications worker know (``memory_app.notify.notifications``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from django.db import connections, transaction

from memory_app import adoption, checks
from memory_app.errors import InvalidInput, NotFound, StoreError
from memory_app.notify import notifications
from memory_app.profiles import writes as profile_writes
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion import decision_log, lineage
from memory_app.promotion import writes as promotion_writes
from memory_app.promotion.lineage import ProposalLineage
from memory_app.promotion.writes import RecordedDecision, RecordedOverride
from memory_app.review import findings
from memory_app.review import queues as review_queues
from memory_app.review import reads as review_reads
from memory_app.review import writes as review_writes
from memory_app.review.reads import AnnotationRead, AnnotationsSince
from memory_app.runtime import batch_writes, bulk, replays
from memory_app.runtime import writes as runtime_writes
from memory_app.runtime.replays import SessionReplay, StepReplay, WorkflowReplay

__all__ = [
    "AnnotationRead",
    "AnnotationsSince",
    "InvalidInput",
    "NotFound",
    "ProposalLineage",
    "RecordedDecision",
    "RecordedOverride",
    "RuntimeMemoryStore",
    "SessionReplay",
    "StepReplay",
    "StoreError",
    "WorkflowReplay",
]


def _governed[**P, R](write: Callable[P, R]) -> staticmethod[P, R]:
    """A governed write through the front door: in one transaction with the decision log's
    take-in of its rows (``decision_log.take_in``); once it commits, the notifications
    worker hears of it (``notifications.dispatch_soon``). A refused write logs and tells
    nothing."""

    @functools.wraps(write)
    def governed(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic():
            written = write(*args, **kwargs)
            decision_log.take_in()
            transaction.on_commit(notifications.dispatch_soon)
        return written

    return staticmethod(governed)


class RuntimeMemoryStore:
    """Writes and replays runtime memory through the Django connection."""

    @classmethod
    def bootstrap(cls) -> RuntimeMemoryStore:
        """Make the v1 tables and the contract's own in the SQLite file this store writes
        (the seed's step 1), as the TypeScript store's ``bootstrap`` does; ``manage.py
        migrate`` adopts the file later, rows and all (memory_app/adoption.py)."""
        database = connections["default"]
        if database.vendor != "sqlite":
            raise StoreError(
                "bootstrap makes SQLite files; a PostgreSQL database gets its tables from "
                "tommemory's migrations (DATABASE_URL=... python manage.py migrate)"
            )
        adoption.bootstrap(database.settings_dict["NAME"])
        return cls()

    # --- conversations and workflows (memory_app.runtime.writes) ------------------------
    start_session = staticmethod(runtime_writes.start_session)
    end_session = staticmethod(runtime_writes.end_session)
    append_turn = staticmethod(runtime_writes.append_turn)
    start_workflow_run = staticmethod(runtime_writes.start_workflow_run)
    finish_workflow_run = staticmethod(runtime_writes.finish_workflow_run)
    add_step = staticmethod(runtime_writes.add_step)
    finish_step = staticmethod(runtime_writes.finish_step)
    add_event = staticmethod(runtime_writes.add_event)

    # --- the same rows, many a call (memory_app.runtime.batch_writes) --------------------
    start_sessions = staticmethod(batch_writes.start_sessions)
    append_turns = staticmethod(batch_writes.append_turns)
    append_turns_across = staticmethod(batch_writes.append_turns_across)
    start_workflow_runs = staticmethod(batch_writes.start_workflow_runs)
    finish_workflow_runs = staticmethod(batch_writes.finish_workflow_runs)
    add_steps = staticmethod(batch_writes.add_steps)
    add_steps_across = staticmethod(batch_writes.add_steps_across)
    add_events = staticmethod(batch_writes.add_events)

    # --- skills, proposals and governed rows (memory_app.promotion.writes) --------------
    learn_skill = staticmethod(promotion_writes.learn_skill)
    draft_proposal = staticmethod(promotion_writes.draft_proposal)
    record_validation = _governed(promotion_writes.record_validation)
    record_approval = _governed(promotion_writes.record_approval)
    record_override = _governed(promotion_writes.record_override)
    record_deploy_outcome = _governed(promotion_writes.record_deploy_outcome)

    # --- a reviewer's finding as a proposal (memory_app.review.findings) ---------------
    # Governed: its evidence links are decision-log leaves, taken in with the write.
    propose_change = _governed(findings.propose_change)

    # --- review queues (memory_app.review.queues) -----------------------------------------
    create_review_queue = staticmethod(review_queues.create_review_queue)
    add_queue_items = staticmethod(review_queues.add_queue_items)
    reserve_next_item = staticmethod(review_queues.reserve_next_item)
    review_item = staticmethod(review_queues.review_item)

    # --- profiles (memory_app.profiles.writes) ------------------------------------------
    publish_behavior_profile = _governed(profile_writes.publish_behavior_profile)
    publish_personality_profile = _governed(profile_writes.publish_personality_profile)
    publish_version = _governed(profile_writes.publish_version)
    check_publish = staticmethod(profile_writes.check_publish)
    # A withdrawal changes no row the decision log covers (a version's leaf leaves out
    # effective_to): its own table keeps who, when and why.
    withdraw_behavior_profile = staticmethod(profile_writes.withdraw_behavior_profile)
    withdraw_personality_profile = staticmethod(profile_writes.withdraw_personality_profile)
    withdraw_version = staticmethod(profile_writes.withdraw_version)

    # --- reviewers' annotations (memory_app.review): not governed rows themselves --------
    create_score_config = staticmethod(review_writes.create_score_config)
    annotate = staticmethod(review_writes.annotate)
    annotations_for_session = staticmethod(review_reads.annotations_for_session)
    annotations_since = staticmethod(review_reads.annotations_since)

    # --- the minimum v1 query set -------------------------------------------------------

    def latest_active_behavior_profile(
        self, profile_name: str, at: datetime | str | None = None
    ) -> BehaviorProfile | None:
        """The highest behavior version in effect at ``at`` (default now), or None."""
        return BehaviorProfile.objects.active_at(profile_name, checks.when(at, "at"))

    def latest_active_personality_profile(
        self, profile_name: str, at: datetime | str | None = None
    ) -> PersonalityProfile | None:
        """The highest personality version in effect at ``at`` (default now), or None."""
        return PersonalityProfile.objects.active_at(profile_name, checks.when(at, "at"))

    session_replay = staticmethod(replays.session_replay)
    workflow_replay = staticmethod(replays.workflow_replay)
    proposal_lineage = staticmethod(lineage.proposal_lineage)
    proposal_status = staticmethod(lineage.proposal_status)

    # --- bulk import (demo data, copies; memory_app.runtime.bulk) -----------------------
    settle_search = staticmethod(bulk.settle_search)
    row_values = staticmethod(bulk.row_values)
    bulk_insert = staticmethod(bulk.bulk_insert)
