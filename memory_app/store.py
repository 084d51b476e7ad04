"""RuntimeMemoryStore: the one write path for the runtime side, and the v1 query set.

The Python counterpart of the seed's TypeScript adapter. Every write validates
its input first and raises ``StoreError`` (``NotFound`` or ``InvalidInput``)
with a clear message before anything is written; multi-row writes run in one
transaction (IMMEDIATE, see settings), so concurrent writers never interleave.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Max

from . import adoption, audit, auditlog, decision_time, governance, notify, people
from .fields import MAX_INTEGER, sql_integer
from .jsontext import dump_json, json_object_text
from .models import (
    Approval,
    ApprovalEvidence,
    ApprovalType,
    BehaviorProfile,
    Decision,
    DeployOutcome,
    DeployStatus,
    EventType,
    Level,
    Override,
    PersonalityProfile,
    ProfileVersion,
    Proposal,
    ProposalChange,
    ProposalStatus,
    ProposalType,
    ProposedBy,
    Role,
    RunStatus,
    Session,
    SessionStatus,
    Skill,
    SkillState,
    SourceType,
    StepStatus,
    TaskEvent,
    TriggerSource,
    Turn,
    ValidationResult,
    Validator,
    WorkflowRun,
    WorkflowStep,
    next_version_number,
    windows_to_close,
)
from .timeutil import chronological, format_iso, normalize_iso, now_iso, parse_iso
from .vendor_sql import serialize_on

# The search indexes (migration 0012), each with the insert trigger a bulk load turns off,
# and how it fills each index for the turns after a rowid in one pass instead.
SEARCH_INDEXES = {
    f"{index}_insert": f"INSERT INTO {index} (rowid, content) "  # noqa: S608 (constant table names)
    "SELECT rowid, content FROM conversation_turns WHERE rowid > %s"
    for index in ("turn_search", "turn_words")
}
SEARCH_INDEX_COMMAND = {
    f"{index}_insert": f"INSERT INTO {index} ({index}, rank) VALUES (%s, %s)"  # noqa: S608
    for index in ("turn_search", "turn_words")
}


def _json_rows(rows: list[Sequence[Any]]) -> str | None:
    """The rows as one JSON array, when every value comes back from SQLite's JSON exactly
    as it went in (text, NULL, integers of 64 bits); None when any other value is there
    (a float, bytes, a bigger integer), which then travel as parameters."""
    for row in rows:
        for value in row:
            if not (value is None or type(value) is str or sql_integer(value)):
                return None
    return dump_json(rows)


class StoreError(ValueError):
    """A write or read was refused; nothing was written."""


class NotFound(StoreError, LookupError):
    """The row a call names does not exist."""


class InvalidInput(StoreError):
    """A value is not one the v1 contract allows."""


@dataclass(frozen=True)
class RecordedDecision:
    approval: Approval
    verdict: governance.Verdict
    duplicate: bool  # the form token had been used: no new row was written


@dataclass(frozen=True)
class RecordedOverride:
    override: Override
    verdict: governance.Verdict


@dataclass(frozen=True)
class SessionReplay:
    session: Session
    turns: list[Turn]


@dataclass(frozen=True)
class StepReplay:
    step: WorkflowStep
    events: list[TaskEvent]


@dataclass(frozen=True)
class WorkflowReplay:
    run: WorkflowRun
    steps: list[StepReplay]
    run_events: list[TaskEvent]


@dataclass(frozen=True)
class ProposalLineage:
    """skill → proposal → validations → approvals → deploy outcomes, and what they mean."""

    skill: Skill | None  # None when another writer left the link dangling
    proposal: Proposal
    validations: list[ValidationResult]
    approvals: list[Approval]
    deploy_outcomes: list[DeployOutcome]
    evidence: dict[str, ApprovalEvidence]  # by approval id; other writers' decisions have none
    overrides: list[Override]  # break-glass decisions
    changes: list[ProposalChange]  # risk_level / proposal_json changes the database noticed

    @property
    def rows(self) -> tuple:
        """The arguments ``governance.evaluate`` takes, to replay the rule at any moment."""
        return (
            self.proposal,
            self.validations,
            self.approvals,
            self.deploy_outcomes,
            self.evidence,
            self.overrides,
        )

    @cached_property
    def verdict(self) -> governance.Verdict:
        return governance.evaluate(*self.rows)

    @cached_property
    def log(self) -> auditlog.ProposalLogStatus:
        """The proposal's rows in the decision log, checked against the latest checkpoint."""
        return auditlog.proposal_status(
            {
                "validation": [v.pk for v in self.validations],
                "approval": [a.pk for a in self.approvals],
                "deploy": [d.pk for d in self.deploy_outcomes],
                "override": [o.pk for o in self.overrides],
            }
        )

    @cached_property
    def audit(self) -> audit.AuditReport:
        """The proposal's decision chain, checked from these rows (no further query)."""
        chained = sorted(self.evidence.values(), key=lambda e: e.seq)
        unchained = [a.pk for a in self.approvals if a.pk not in self.evidence]
        return audit.check(chained, unchained)


def _get[M: models.Model](model: type[M], pk: object, *, lock: bool = False) -> M:
    """Fetch a row by id or raise NotFound naming the table.

    ``lock``: the row is the parent a write serializes on (a session for its next turn, a
    proposal for its next decision). On PostgreSQL ``FOR UPDATE`` makes every other
    writer of the same parent wait for this transaction; SQLite has one writer at a time
    already (transactions begin IMMEDIATE), and Django leaves ``FOR UPDATE`` out there.
    """
    if not isinstance(pk, str) or not pk:
        raise InvalidInput(f"{model._meta.db_table} id must be a non-empty text, got {pk!r}")
    rows = model.objects.select_for_update() if lock else model.objects
    try:
        return rows.get(pk=pk)
    except model.DoesNotExist:
        raise NotFound(f"no {model._meta.db_table} row with id {pk!r}") from None


def _finish[M: models.Model](model: type[M], pk: str, status: str, time_field: str, when: str) -> M:
    """Set a row's final status and the time it reached it, in one transaction."""
    with transaction.atomic():
        row = _get(model, pk, lock=True)
        row.status = status
        setattr(row, time_field, when)
        row.save(update_fields=["status", time_field])
    return row


def _next_position(rows: models.QuerySet, field: str) -> int:
    """The position after the highest ``field`` among rows: 0, 1, 2, ... without gaps."""
    last = rows.aggregate(last=Max(field))["last"]
    return 0 if last is None else last + 1


def _choice(value: object, choices: type[models.TextChoices], what: str) -> str:
    """Return value if it is one of the allowed choices."""
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise InvalidInput(f"{what} must be one of {allowed}; got {value!r}")
    return str(value)


def _text(value: object, what: str, *, required: bool = True) -> str | None:
    """Return a text value; required ones must be non-blank."""
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{what} must be a non-empty text; got {value!r}")
    return value


def _person(value: object, what: str) -> str:
    """A name that names a person: one with visible characters (``people``)."""
    name = _text(value, what)
    if not people.person_key(name):
        raise InvalidInput(f"{what} must name a person; {name!r} has no visible characters")
    return name


def _logged() -> None:
    """After a governed write, in its transaction: log the rows, and once it commits let
    the notifications worker tell ops (``notify``)."""
    auditlog.take_in()
    transaction.on_commit(notify.dispatch_soon)


def _clock() -> datetime:
    """The store's clock, as a moment (``now_iso``, which a scenario may pin)."""
    return parse_iso(now_iso())


def _when(value: datetime | str | None, what: str) -> str:
    """Canonical timestamp for value, or now when value is None."""
    if value is None:
        return now_iso()
    try:
        return normalize_iso(value)
    except ValueError:
        raise InvalidInput(f"{what} must be an ISO-8601 timestamp; got {value!r}") from None


# Clock skew between the caller and this process: a start this little in the past means now.
START_GRACE = timedelta(seconds=5)


def _start(value: datetime | str | None) -> str:
    """A new profile version's start: now or later, never in the past."""
    now = now_iso()
    start = now if value is None else _when(value, "effective_from")
    if start < now:
        if start < format_iso(parse_iso(now) - START_GRACE):
            raise InvalidInput(
                f"effective_from {start} is in the past: a new version starts now or later, "
                "so which version was active before now never changes"
            )
        start = now
    return start


def _next_version(versions: list[ProfileVersion]) -> int:
    following = next_version_number(versions)
    if following > MAX_INTEGER:
        raise InvalidInput("the version numbers of this profile are used up")
    return following


def _json(value: Any, what: str) -> str:
    """JSON object text for value (a mapping or JSON text); ``{}`` when None."""
    if value is None:
        return "{}"
    try:
        return json_object_text(value, what)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _id(value: str | None) -> dict[str, str]:
    """Keyword for an id the caller chose, or none to let the model make a UUIDv7."""
    return {} if value is None else {"id": _text(value, "id")}


def _flag(value: object, what: str) -> int:
    """0 or 1 for a pass/fail check."""
    if value not in (0, 1, True, False):
        raise InvalidInput(f"{what} must be true/false or 0/1; got {value!r}")
    return int(value)


def _number(value: object, what: str, *, required: bool = True) -> float | None:
    """A finite real number."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"{what} must be a number; got {value!r}")
    return float(value)


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

    # --- conversations ------------------------------------------------------------------

    def start_session(
        self,
        actor: str,
        *,
        channel: str | None = None,
        metadata: Any = None,
        started_at: datetime | str | None = None,
        session_id: str | None = None,
    ) -> Session:
        return Session.objects.create(
            **_id(session_id),
            actor=_text(actor, "actor"),
            channel=_text(channel, "channel", required=False),
            started_at=_when(started_at, "started_at"),
            status=SessionStatus.ACTIVE,
            metadata_json=_json(metadata, "metadata"),
        )

    def end_session(
        self,
        session_id: str,
        *,
        status: str = SessionStatus.ENDED,
        ended_at: datetime | str | None = None,
    ) -> Session:
        status = _choice(status, SessionStatus, "session status")
        if status == SessionStatus.ACTIVE:
            raise InvalidInput("an ended session cannot have status 'active'")
        return _finish(Session, session_id, status, "ended_at", _when(ended_at, "ended_at"))

    def append_turn(
        self,
        session_id: str,
        role: str,
        content: str,
        *,
        token_count: int | None = None,
        metadata: Any = None,
        created_at: datetime | str | None = None,
        turn_id: str | None = None,
    ) -> Turn:
        """Append a turn at the next ``turn_index`` of its session (gap-free, unique)."""
        role = _choice(role, Role, "role")
        if not isinstance(content, str):
            raise InvalidInput(f"content must be text; got {type(content).__name__}")
        if token_count is not None and (
            isinstance(token_count, bool) or not isinstance(token_count, int) or token_count < 0
        ):
            raise InvalidInput(f"token_count must be a non-negative integer; got {token_count!r}")
        values = {
            **_id(turn_id),
            "role": role,
            "content": content,
            "token_count": token_count,
            "created_at": _when(created_at, "created_at"),
            "metadata_json": _json(metadata, "metadata"),
        }
        # No other writer can append between reading the last index and inserting the
        # next one: SQLite's transaction begins IMMEDIATE, PostgreSQL locks the session.
        with transaction.atomic():
            session = _get(Session, session_id, lock=True)
            index = _next_position(Turn.objects.filter(session=session), "turn_index")
            return Turn.objects.create(session=session, turn_index=index, **values)

    # --- workflows ----------------------------------------------------------------------

    def start_workflow_run(
        self,
        workflow_name: str,
        *,
        trigger_source: str,
        initiated_by: str,
        status: str = RunStatus.RUNNING,
        context: Any = None,
        started_at: datetime | str | None = None,
        run_id: str | None = None,
    ) -> WorkflowRun:
        status = _choice(status, RunStatus, "workflow status")
        if status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            raise InvalidInput(f"a run starts queued or running; got {status!r}")
        return WorkflowRun.objects.create(
            **_id(run_id),
            workflow_name=_text(workflow_name, "workflow_name"),
            trigger_source=_choice(trigger_source, TriggerSource, "trigger_source"),
            initiated_by=_text(initiated_by, "initiated_by"),
            status=status,
            started_at=_when(started_at, "started_at"),
            context_json=_json(context, "context"),
        )

    def finish_workflow_run(
        self, run_id: str, *, status: str, finished_at: datetime | str | None = None
    ) -> WorkflowRun:
        status = _choice(status, RunStatus, "workflow status")
        if status in (RunStatus.QUEUED, RunStatus.RUNNING):
            raise InvalidInput(f"a run finishes failed, succeeded or aborted; got {status!r}")
        finished = _when(finished_at, "finished_at")
        return _finish(WorkflowRun, run_id, status, "finished_at", finished)

    def add_step(
        self,
        run_id: str,
        step_name: str,
        *,
        status: str = StepStatus.RUNNING,
        details: Any = None,
        started_at: datetime | str | None = None,
        step_id: str | None = None,
    ) -> WorkflowStep:
        """Add the run's next step (``step_index`` assigned like ``turn_index``)."""
        values = {
            **_id(step_id),
            "step_name": _text(step_name, "step_name"),
            "status": _choice(status, StepStatus, "step status"),
            "started_at": _when(started_at, "started_at"),
            "details_json": _json(details, "details"),
        }
        with transaction.atomic():
            run = _get(WorkflowRun, run_id, lock=True)
            index = _next_position(run.steps.all(), "step_index")
            return WorkflowStep.objects.create(workflow_run=run, step_index=index, **values)

    def finish_step(
        self,
        step_id: str,
        *,
        status: str,
        finished_at: datetime | str | None = None,
    ) -> WorkflowStep:
        status = _choice(status, StepStatus, "step status")
        finished = _when(finished_at, "finished_at")
        return _finish(WorkflowStep, step_id, status, "finished_at", finished)

    def add_event(
        self,
        event_type: str,
        event_level: str,
        message: str,
        *,
        run_id: str | None = None,
        step_id: str | None = None,
        payload: Any = None,
        created_at: datetime | str | None = None,
        event_id: str | None = None,
    ) -> TaskEvent:
        """Record a task event for a run, one of its steps, or neither (system-wide)."""
        values = {
            **_id(event_id),
            "event_type": _choice(event_type, EventType, "event_type"),
            "event_level": _choice(event_level, Level, "event_level"),
            "message": _text(message, "message"),
            "payload_json": _json(payload, "payload"),
            "created_at": _when(created_at, "created_at"),
        }
        run = _get(WorkflowRun, run_id) if run_id is not None else None
        step = _get(WorkflowStep, step_id) if step_id is not None else None
        if step is not None:
            if run is not None and step.workflow_run_id != run.pk:
                raise InvalidInput(f"step {step.pk!r} belongs to run {step.workflow_run_id!r}")
            run = step.workflow_run
        return TaskEvent.objects.create(workflow_run=run, step=step, **values)

    # --- skills and proposals -----------------------------------------------------------

    def learn_skill(
        self,
        skill_key: str,
        description: str,
        *,
        source_type: str,
        confidence: float,
        source_ref: str | None = None,
        metadata: Any = None,
        learned_at: datetime | str | None = None,
        state: str = SkillState.ACTIVE,
        skill_id: str | None = None,
    ) -> Skill:
        confidence = _number(confidence, "confidence")
        if not 0 <= confidence <= 1:
            raise InvalidInput(f"confidence must be between 0 and 1; got {confidence!r}")
        learned = _when(learned_at, "learned_at")
        key = _text(skill_key, "skill_key")
        if Skill.objects.filter(skill_key=key, learned_at=learned).exists():
            raise InvalidInput(f"skill {key!r} was already learned at {learned}")
        return Skill.objects.create(
            **_id(skill_id),
            skill_key=key,
            description=_text(description, "description"),
            source_type=_choice(source_type, SourceType, "source_type"),
            source_ref=_text(source_ref, "source_ref", required=False),
            confidence=confidence,
            learned_at=learned,
            state=_choice(state, SkillState, "skill state"),
            metadata_json=_json(metadata, "metadata"),
        )

    def draft_proposal(
        self,
        skill_id: str,
        *,
        proposed_by: str,
        proposal_type: str,
        proposal: Any,
        risk_level: str,
        determinism_score: float | None = None,
        created_at: datetime | str | None = None,
        proposal_id: str | None = None,
    ) -> Proposal:
        score = _number(determinism_score, "determinism_score", required=False)
        if score is not None and not 0 <= score <= 1:
            raise InvalidInput(f"determinism_score must be between 0 and 1; got {score!r}")
        if proposal is None:
            raise InvalidInput("proposal must be a JSON object; got None")
        created = _when(created_at, "created_at")
        values = {
            **_id(proposal_id),
            "proposed_by": _choice(proposed_by, ProposedBy, "proposed_by"),
            "proposal_type": _choice(proposal_type, ProposalType, "proposal_type"),
            "proposal_json": _json(proposal, "proposal"),
            "determinism_score": score,
            "risk_level": _choice(risk_level, Level, "risk_level"),
        }
        skill = _get(Skill, skill_id)
        return Proposal.objects.create(
            skill=skill,
            status=ProposalStatus.DRAFTED,
            created_at=created,
            updated_at=created,
            **values,
        )

    def record_validation(
        self,
        proposal_id: str,
        *,
        validator: str,
        build_pass: bool,
        lint_pass: bool,
        test_pass: bool,
        policy_pass: bool,
        details: Any = None,
        validated_at: datetime | str | None = None,
    ) -> ValidationResult:
        """Append a validation result; the proposal's status follows the governance rule."""
        values = {
            "validator": _choice(validator, Validator, "validator"),
            "build_pass": _flag(build_pass, "build_pass"),
            "lint_pass": _flag(lint_pass, "lint_pass"),
            "test_pass": _flag(test_pass, "test_pass"),
            "policy_pass": _flag(policy_pass, "policy_pass"),
            "details_json": _json(details, "details"),
            "validated_at": _when(validated_at, "validated_at"),
        }
        with transaction.atomic():
            proposal = _get(Proposal, proposal_id, lock=True)
            result = ValidationResult.objects.create(proposal=proposal, **values)
            self._sync_status(proposal, result.validated_at)
            _logged()
        return result

    def record_approval(
        self,
        proposal_id: str,
        *,
        approver: str,
        approval_type: str,
        decision: str,
        notes: str | None = None,
        decided_at: datetime | str | None = None,
        idempotency_token: str | None = None,
    ) -> RecordedDecision:
        """Append one decision under the governance rule; changing one's mind is a new row.

        Refused (nothing written) when the proposal no longer takes decisions, when an
        approval comes without a passing latest validation, or a rejection without notes.
        A token already used returns the decision it recorded instead of a second row.
        Runs in one IMMEDIATE transaction, so concurrent deciders are serialised and
        the status each computes includes the other's decision.
        """
        values = {
            "approver": _person(approver, "approver"),
            "approval_type": _choice(approval_type, ApprovalType, "approval_type"),
            "decision": _choice(decision, Decision, "decision"),
            "notes": _text(notes, "notes", required=False),
            "decided_at": _when(decided_at, "decided_at"),
        }
        if values["decision"] == Decision.REJECTED and not people.has_visible(notes):
            raise InvalidInput(f"a rejection needs notes saying why; {people.SAYS_NOTHING}")
        token = _text(idempotency_token, "idempotency_token", required=False)
        with transaction.atomic():
            proposal = _get(Proposal, proposal_id, lock=True)
            if token:
                earlier = ApprovalEvidence.objects.filter(idempotency_token=token).first()
                if earlier is not None:
                    if earlier.proposal_id != proposal.pk:
                        raise InvalidInput("this form token belongs to another proposal")
                    verdict = governance.verdict_for(proposal, now=_clock())
                    return RecordedDecision(earlier.approval, verdict, duplicate=True)
            verdict = governance.verdict_for(proposal, now=_clock())
            refusal = (
                verdict.approval_refusal
                or governance.own_proposal_refusal(proposal, values["approver"])
                if values["decision"] == Decision.APPROVED
                else verdict.refusal
            )
            if refusal:
                raise InvalidInput(refusal)
            approval = Approval.objects.create(proposal=proposal, **values)
            latest = verdict.latest_validation
            audit.next_link(
                approval,
                ApprovalEvidence.objects.filter(proposal=proposal).order_by("-seq").first(),
                validation_id=latest.pk if latest else None,
                proposal_sha256=governance.proposal_digest(proposal.proposal_json),
                risk_level=governance.text_of(proposal.risk_level),
                idempotency_token=token,
            ).save()
            verdict = self._sync_status(proposal, approval.decided_at)
            _logged()
            return RecordedDecision(approval, verdict, duplicate=False)

    def record_override(self, proposal_id: str, *, actor: str, reason: str) -> RecordedOverride:
        """Append a break-glass decision: it stands in for every missing approval type.

        Refused (nothing written) unless ``TOM_BREAK_GLASS`` is on, without a reason, when
        an approval could not be recorded now (no passing latest validation, a proposal no
        longer open, so nothing is missing), and by the proposal's proposer. Who may ask for one
        (a superuser) is ``access.can_break_glass``.
        """
        if not settings.TOM_BREAK_GLASS:
            raise InvalidInput(
                "Break-glass is off: an administrator enables it with TOM_BREAK_GLASS=1."
            )
        actor = _person(actor, "actor")
        reason = _text(reason, "a break-glass reason")
        if not people.has_visible(reason):
            raise InvalidInput(f"a break-glass reason must say why; {people.SAYS_NOTHING}")
        with transaction.atomic():
            proposal = _get(Proposal, proposal_id, lock=True)
            verdict = governance.verdict_for(proposal, now=_clock())
            refusal = verdict.approval_refusal or governance.own_proposal_refusal(proposal, actor)
            if refusal:
                raise InvalidInput(refusal)
            latest = verdict.latest_validation
            override = Override.objects.create(
                proposal=proposal,
                actor=actor,
                reason=reason,
                decided_at=now_iso(),
                validation_id=latest.pk if latest else None,
                proposal_sha256=governance.proposal_digest(proposal.proposal_json),
                risk_level=governance.text_of(proposal.risk_level),
            )
            verdict = self._sync_status(proposal, override.decided_at)
            _logged()
            return RecordedOverride(override, verdict)

    def record_deploy_outcome(
        self,
        proposal_id: str,
        *,
        deployment_target: str,
        status: str,
        deployment_id: str | None = None,
        summary: str | None = None,
        metrics: Any = None,
        deployed_at: datetime | str | None = None,
    ) -> DeployOutcome:
        """Append a deploy outcome; a successful deploy of an approved proposal promotes it."""
        values = {
            "deployment_target": _text(deployment_target, "deployment_target"),
            "deployment_id": _text(deployment_id, "deployment_id", required=False),
            "status": _choice(status, DeployStatus, "deploy status"),
            "summary": _text(summary, "summary", required=False),
            "metrics_json": _json(metrics, "metrics"),
            "deployed_at": _when(deployed_at, "deployed_at"),
        }
        with transaction.atomic():
            proposal = _get(Proposal, proposal_id, lock=True)
            outcome = DeployOutcome.objects.create(proposal=proposal, **values)
            self._sync_status(proposal, outcome.deployed_at)
            _logged()
        return outcome

    @staticmethod
    def _sync_status(proposal: Proposal, when: str) -> governance.Verdict:
        """Store the status the governance rule derives from the proposal's rows."""
        verdict = governance.verdict_for(proposal, now=_clock())
        if verdict.status != proposal.status:
            proposal.status, proposal.updated_at = verdict.status, when
            proposal.save(update_fields=["status", "updated_at"])
        return verdict

    # --- profiles -----------------------------------------------------------------------

    def publish_behavior_profile(
        self, profile_name: str, behavior: Any, **kwargs
    ) -> BehaviorProfile:
        """Publish the next version of a behavior profile (see ``publish_version``)."""
        return self.publish_version(BehaviorProfile, profile_name, behavior, **kwargs)

    def publish_personality_profile(
        self, profile_name: str, personality: Any, **kwargs
    ) -> PersonalityProfile:
        """Publish the next version of a personality profile (see ``publish_version``)."""
        return self.publish_version(PersonalityProfile, profile_name, personality, **kwargs)

    def check_publish(
        self,
        model: type[ProfileVersion],
        profile_name: str,
        document: Any,
        *,
        created_by: str,
        rationale: str | None = None,
        source_ref: str | None = None,
        effective_from: datetime | str | None = None,
    ) -> None:
        """Raise the error a publish with these values would raise, writing nothing."""
        values = self._publish_values(
            model, profile_name, document, created_by, rationale, source_ref, effective_from
        )
        self._windows_to_close(
            list(model.objects.versions_of(values["profile_name"])),
            values["profile_name"],
            values["effective_from"],
        )

    @staticmethod
    def _publish_values(
        model, profile_name, document, created_by, rationale, source_ref, effective_from
    ) -> dict[str, Any]:
        """The validated column values of a new profile version."""
        return {
            "profile_name": _text(profile_name, "profile_name"),
            model.DOCUMENT_FIELD: _json(document, model.DOCUMENT_FIELD),
            "rationale": _text(rationale, "rationale", required=False),
            "source_ref": _text(source_ref, "source_ref", required=False),
            "created_by": _text(created_by, "created_by"),
            "effective_from": _start(effective_from),
        }

    @staticmethod
    def _windows_to_close(versions: list[ProfileVersion], name: str, start: str) -> list:
        try:
            return windows_to_close(versions, name, start)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None

    def publish_version[P: ProfileVersion](
        self,
        model: type[P],
        profile_name: str,
        document: Any,
        *,
        created_by: str,
        rationale: str | None = None,
        source_ref: str | None = None,
        effective_from: datetime | str | None = None,
    ) -> P:
        """Add version N+1 and close the open window at its ``effective_from``, atomically.

        Old versions are never rewritten: the only change to one is closing its open
        ``effective_to``. A start in the past is refused (it would rewrite which version
        was active then), and so is one that would overlap an already-closed window or
        that is not after the latest version's start. The IMMEDIATE transaction
        serialises concurrent publishers: each gets its own version number or a clear
        refusal.
        """
        values = self._publish_values(
            model, profile_name, document, created_by, rationale, source_ref, effective_from
        )
        name, start_text = values["profile_name"], values["effective_from"]
        with transaction.atomic():
            serialize_on(f"{model._meta.db_table}:{name}")
            versions = list(model.objects.versions_of(name))
            to_close = self._windows_to_close(versions, name, start_text)
            model.objects.filter(pk__in=to_close).close_windows(start_text)
            published = model.objects.create(
                version=_next_version(versions), effective_to=None, created_at=now_iso(), **values
            )
            _logged()
            return published

    # --- the minimum v1 query set -------------------------------------------------------

    def latest_active_behavior_profile(
        self, profile_name: str, at: datetime | str | None = None
    ) -> BehaviorProfile | None:
        """The highest behavior version in effect at ``at`` (default now), or None."""
        return BehaviorProfile.objects.active_at(profile_name, _when(at, "at"))

    def latest_active_personality_profile(
        self, profile_name: str, at: datetime | str | None = None
    ) -> PersonalityProfile | None:
        """The highest personality version in effect at ``at`` (default now), or None."""
        return PersonalityProfile.objects.active_at(profile_name, _when(at, "at"))

    def session_replay(self, session_id: str) -> SessionReplay:
        """The session and its turns by ``turn_index`` (two indexed queries)."""
        session = _get(Session, session_id)
        return SessionReplay(session=session, turns=list(Turn.objects.for_replay(session)))

    def workflow_replay(self, run_id: str) -> WorkflowReplay:
        """The run, its steps by ``step_index`` with their events, and run-level events."""
        run = _get(WorkflowRun, run_id)
        steps = list(WorkflowStep.objects.for_replay(run))
        events = TaskEvent.objects.of_run(run).order_by("created_at", "id")
        by_step: dict[str | None, list[TaskEvent]] = {}
        for event in chronological(list(events), "created_at"):
            by_step.setdefault(event.step_id, []).append(event)
        return WorkflowReplay(
            run=run,
            steps=[StepReplay(step=step, events=by_step.get(step.pk, [])) for step in steps],
            run_events=by_step.get(None, []),
        )

    def proposal_lineage(self, proposal_id: str) -> ProposalLineage:
        """skill → proposal → validations → approvals (with evidence) → deploys, and
        break-glass decisions (eight queries: the last reads the decision log's moments).

        Each governed row carries its counted time (``decision_time``) and rows are in
        that order (unreadable times first, then by id: ``timeutil``).
        """
        proposal = _get(Proposal, proposal_id)
        validations = list(proposal.validations.all())
        approvals = list(proposal.approvals.select_related("evidence"))
        deploys = list(proposal.deploy_outcomes.all())
        overrides = list(proposal.overrides.all())
        decision_time.attach([*validations, *approvals, *deploys, *overrides])
        return ProposalLineage(
            skill=Skill.objects.filter(pk=proposal.skill_id).first(),
            proposal=proposal,
            validations=decision_time.in_order(validations, "validated_at"),
            approvals=(approvals := decision_time.in_order(approvals, "decided_at")),
            deploy_outcomes=decision_time.in_order(deploys, "deployed_at"),
            evidence={a.pk: ev for a in approvals if (ev := governance.evidence_of(a))},
            overrides=decision_time.in_order(overrides, "decided_at"),
            changes=list(ProposalChange.objects.of(proposal)),
        )

    def proposal_status(self, proposal_id: str) -> governance.Verdict:
        """The proposal's status as the rule derives it from its rows now (the store's
        clock), whatever status another writer stored."""
        return governance.verdict_for(_get(Proposal, proposal_id), now=_clock())

    # --- bulk import (demo data, imports) -----------------------------------------------

    @staticmethod
    def settle_search(using: str = "default") -> None:
        """After bulk loads of turns: merge each search index into one segment (FTS5's
        ``optimize``), so the writes that follow do not pay for merging what the loads
        left unmerged (on a million turns a later write then waited seconds).
        PostgreSQL's search index needs nothing."""
        connection = connections[using]
        if connection.vendor != "sqlite":
            return
        with transaction.atomic(using=using), connection.cursor() as cursor:
            for command in SEARCH_INDEX_COMMAND.values():
                cursor.execute(command, ["optimize", None])

    @staticmethod
    def row_values(row: models.Model) -> tuple:
        """A model instance's column values in the table's column order (for ``bulk_insert``)."""
        return tuple(getattr(row, f.attname) for f in row._meta.local_fields)

    @staticmethod
    def bulk_insert(
        model: type[models.Model], rows: Iterable[Sequence[Any]], using: str = "default"
    ) -> int:
        """Insert rows given as tuples in the table's column order, in one transaction.

        For trusted bulk loads only (``seed_demo``, ``copy_database``): the values are not
        validated. ``using`` names the database (an alias of ``DATABASES``).
        On SQLite turns are indexed for search in one pass per index after the insert
        rather than row by row through the insert triggers, which is several times slower.
        """
        connection = connections[using]
        columns = [f.column for f in model._meta.local_fields]
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        rows = list(rows)
        # Identifiers come from the model, never from input; values are parameters.
        document = _json_rows(rows) if connection.vendor == "sqlite" else None
        if document is None:
            placeholders = ", ".join("%s" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
        else:
            # One statement for the whole batch, which SQLite runs without Python's lock
            # (executemany takes it back for every row): ``seed_demo`` builds its next
            # batch meanwhile.
            values = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns)))
            sql = f"INSERT INTO {table} ({names}) SELECT {values} FROM json_each(%s)"  # noqa: S608

        def insert(cursor) -> None:
            if document is None:
                cursor.executemany(sql, rows)
            else:
                cursor.execute(sql, [document])

        with transaction.atomic(using=using), connection.cursor() as cursor:
            # PostgreSQL keeps its search index (a GIN index, with pending-list inserts)
            # and turn positions current as rows arrive, at a bulk load's pace already.
            if model is not Turn or connection.vendor == "postgresql":
                insert(cursor)
                return len(rows)
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE name IN (%s, %s)",
                list(SEARCH_INDEXES),
            )
            triggers = cursor.fetchall()
            cursor.execute("SELECT COALESCE(MAX(rowid), 0) FROM conversation_turns")
            (last_rowid,) = cursor.fetchone()
            # Other writers wait on the IMMEDIATE lock, so none can write while the triggers
            # are off.
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            insert(cursor)
            for index, fill in SEARCH_INDEXES.items():
                # FTS5 merges its segments as rows arrive; merging once, when the whole load
                # is in (``settle_search``), is less work. Automerge 4 is FTS5's default,
                # which later writes keep.
                cursor.execute(SEARCH_INDEX_COMMAND[index], ["automerge", 0])
                cursor.execute(fill, [last_rowid])
                cursor.execute(SEARCH_INDEX_COMMAND[index], ["automerge", 4])
            for _, trigger_sql in triggers:
                cursor.execute(trigger_sql)
        return len(rows)
