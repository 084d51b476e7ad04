"""The twelve tables of runtime memory schema v1 (see contract/v1_schema.sql).

Fields are declared in the contract's column order, with its types, defaults,
keys and indexes; other processes write the same tables. Reads are QuerySet
methods named for the domain; runtime writes go through ``memory_app.store``.
Our indexes beyond v1 are declared as SQLite has them; on PostgreSQL they hold bounded
keys instead (``0021_postgresql_bounded_index_keys``), so none refuses another writer's row.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Iterator
from typing import Literal

from django.core.validators import URLValidator
from django.db import connections, models
from django.db.models import Case, Func, IntegerField, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest, Length, Lower, RowNumber, Substr
from django.db.models.lookups import Exact
from django.urls import reverse

from . import webhook_http
from .expressions import (
    indexed_prefix,
    instant,
    instant_or_empty,
    json_text_at,
    other_times_index,
)
from .fields import (
    IntegerColumn,
    JSONTextField,
    RealColumn,
    TextColumn,
    TextIdField,
    TimestampField,
)
from .ids import new_id
from .jsontext import ParsedJSON, parse_json_text
from .timeutil import instant_key, parse_iso


class Role(models.TextChoices):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    AGENT = "agent"


class SessionStatus(models.TextChoices):
    ACTIVE = "active"
    ENDED = "ended"
    FAILED = "failed"


class Channel(models.TextChoices):
    CLI = "cli"
    API = "api"
    SDK = "sdk"
    CRON = "cron"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    ABORTED = "aborted"


class StepStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"


class TriggerSource(models.TextChoices):
    CRON = "cron"
    MANUAL = "manual"
    API = "api"
    AGENT = "agent"


class EventType(models.TextChoices):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"
    POLICY = "policy"
    APPROVAL = "approval"


class Level(models.TextChoices):
    """Event level and proposal risk share one scale."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SourceType(models.TextChoices):
    CONVERSATION = "conversation"
    DOC = "doc"
    EXTERNAL = "external"


class SkillState(models.TextChoices):
    ACTIVE = "active"
    PROMOTED = "promoted"
    RETIRED = "retired"


class ProposedBy(models.TextChoices):
    OXIDE = "oxide"
    HUMAN = "human"


class ProposalType(models.TextChoices):
    CODE_PATCH = "code_patch"
    CONFIG_CHANGE = "config_change"
    POLICY_CHANGE = "policy_change"


class ProposalStatus(models.TextChoices):
    DRAFTED = "drafted"
    VALIDATED = "validated"
    REJECTED = "rejected"
    APPROVED = "approved"
    PROMOTED = "promoted"


class Validator(models.TextChoices):
    CI = "ci"
    OXIDE = "oxide"
    HUMAN = "human"


class ApprovalType(models.TextChoices):
    POLICY = "policy"
    HUMAN = "human"
    SECURITY = "security"
    OPS = "ops"


class Decision(models.TextChoices):
    APPROVED = "approved"
    REJECTED = "rejected"


class DeployStatus(models.TextChoices):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete a row of the audit trail."""


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk changes and deletes are refused: the audit trail only grows."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be updated")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model._meta.db_table} is append-only: rows cannot be updated")


class AppendOnlyModel(models.Model):
    """A row that is written once and then never changed or deleted.

    The same rule is enforced by SQLite triggers (migration 0003), so raw SQL
    from any process is refused too.
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(
                f"{self._meta.db_table} is append-only: row {self.pk!r} cannot be changed"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(
            f"{self._meta.db_table} is append-only: row {self.pk!r} cannot be deleted"
        )


class PageMixin:
    """The dashboard page of a row; ``None`` for a row another writer stored without a text id."""

    PAGE: str

    def get_absolute_url(self) -> str | None:
        if not isinstance(self.pk, str):
            return None
        return reverse(self.PAGE, args=[self.pk])


class JSONColumnsMixin:
    """Lenient access to the model's ``*_json`` columns."""

    def json(self, field_name: str) -> ParsedJSON:
        """Parse one JSON column, keeping the raw text when another writer broke it."""
        return parse_json_text(getattr(self, field_name))


# --- conversations -------------------------------------------------------------------------


# The orders a list can be sorted in through its index, as they appear in ?sort=.
NEWEST_FIRST, OLDEST_FIRST = "-started", "started"


class ListQuerySet(models.QuerySet):
    """Filters and keyset paging shared by the list pages (newest first by start)."""

    def started_between(self, start: str | None, end: str | None):
        """Rows whose ``started_at`` instant lies in [start, end] (canonical bounds).

        An unreadable ``started_at`` lies in no range (``timeutil``).
        """
        if not (start or end):
            return self
        qs = self.alias(started_utc=instant("started_at"))
        if start:
            qs = qs.filter(started_utc__gte=start)
        if end:
            qs = qs.filter(started_utc__lte=end)
        return qs

    def newest_first(self):
        return self.in_order(NEWEST_FIRST)

    def _prefixed(self) -> bool:
        """Whether the list's index holds ``started_at``'s first characters only (PostgreSQL,
        ``expressions.INDEXED_CHARACTERS``): then the order is led by that prefix, which
        the index serves, and rows sharing it are sorted by (started_at, id) as they come.
        That is (started_at, id)'s order where texts compare character by character (as on
        SQLite, and PostgreSQL's C collation); under another collation it could differ only
        between texts longer than the prefix, which no readable time is."""
        return connections[self.db].vendor == "postgresql"

    def in_order(self, order: str):
        """``NEWEST_FIRST`` or ``OLDEST_FIRST`` by (started_at, id): the list's index serves
        both directions."""
        keys = [models.F("started_at"), models.F("id")]
        if self._prefixed():
            keys.insert(0, indexed_prefix("started_at"))
        return self.order_by(*(k.asc() if order == OLDEST_FIRST else k.desc() for k in keys))

    def before(self, cursor: tuple[str, str] | None, order: str = NEWEST_FIRST):
        """The rows after ``cursor`` (a (started_at, id) pair) in ``order``."""
        if cursor is None:
            return self
        started_at, pk = cursor
        beyond = "gt" if order == OLDEST_FIRST else "lt"
        later = models.Q(**{f"started_at__{beyond}": started_at}) | models.Q(
            started_at=started_at, **{f"id__{beyond}": pk}
        )
        if not self._prefixed():
            return self.filter(later)
        # In the prefix's order first: its bound is where the index starts reading.
        head = indexed_prefix(Value(started_at))
        return self.alias(started_head=indexed_prefix("started_at")).filter(
            models.Q(**{f"started_head__{beyond}e": head}),
            models.Q(**{f"started_head__{beyond}": head}) | later,
        )


class SessionQuerySet(ListQuerySet):
    def active(self):
        return self.filter(status=SessionStatus.ACTIVE)

    def with_metadata(self, key: str, value: str | None):
        """Sessions whose ``metadata_json`` has ``key`` (equal to ``value`` when given)."""
        qs = self.alias(meta_value=json_text_at("metadata_json", key))
        if value in (None, ""):
            return qs.filter(meta_value__isnull=False)
        return qs.filter(meta_value=value)

    def with_turn_totals(self):
        """Annotate a title, turn and token totals in the same query (indexed subqueries).

        The title is the start of the session's first user turn, read through the
        (session_id, turn_index) index: a huge first turn costs only its first characters.
        """
        turns = Turn.objects.filter(session=models.OuterRef("pk")).order_by().values("session")
        first_question = (
            Turn.objects.filter(session=models.OuterRef("pk"), role=Role.USER)
            .order_by("turn_index")
            .values(text=Substr("content", 1, TITLE_LENGTH))[:1]
        )
        return self.annotate(
            title=models.Subquery(first_question, output_field=models.TextField()),
            turn_total=models.Subquery(
                turns.annotate(n=models.Count("*")).values("n"), output_field=models.IntegerField()
            ),
            token_total=models.Subquery(
                turns.annotate(n=models.Sum("token_count")).values("n"),
                output_field=models.IntegerField(),
            ),
        )


class Session(PageMixin, JSONColumnsMixin, models.Model):
    PAGE = "memory_app:session"

    id = TextIdField()
    actor = TextColumn()
    channel = TextColumn(null=True, blank=True)
    started_at = TimestampField()
    ended_at = TimestampField(null=True, blank=True)
    status = TextColumn(db_default="active", choices=SessionStatus)
    metadata_json = JSONTextField(db_default="{}")

    objects = SessionQuerySet.as_manager()

    class Meta:
        db_table = "sessions"
        indexes = [
            # Not in v1: the sessions list pages newest first by (started_at, id).
            models.Index(fields=["started_at", "id"], name="idx_sessions_started"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} session {self.id}"


# A session's title: the start of its first user turn.
TITLE_LENGTH = 120
# A search shorter than a trigram scans only this many of the newest turns.
SHORT_SEARCH_WINDOW = 200_000
# A search result shows this much of a turn, starting this far before the first match.
SNIPPET_LENGTH, SNIPPET_BEFORE = 240, 80
# Marks around a match in the word index's excerpt: control characters no text shows.
SNIPPET_MARKS = ("\x02", "\x03")


def word_query(text: str) -> str:
    """An FTS5 query for the word index: the words of ``text`` in a row, the last a prefix."""
    words = re.findall(r"\w+", text)
    return '"' + " ".join(words) + '"*' if words else ""


class TurnQuerySet(models.QuerySet):
    def for_replay(self, session: Session | str):
        """The session's turns in ``turn_index`` order."""
        return self.filter(session=session).order_by("turn_index")

    def page_of(self, session: Session, start: int, size: int, roles=None) -> list[Turn]:
        """Up to ``size`` turns from ``turn_index`` ``start`` on, optionally only some roles."""
        qs = self.for_replay(session).filter(turn_index__gte=start)
        if roles is not None:
            qs = qs.filter(role__in=roles)
        return list(qs[:size])

    def _on_postgresql(self) -> bool:
        return connections[self.db].vendor == "postgresql"

    def with_rowid(self):
        """Each turn's place in the order turns were added as ``search_rowid``: what search
        results are ordered and paged by. SQLite's rowid; on PostgreSQL, which has none,
        the position ``tommemory_turn_positions`` gave the turn when it was added."""
        if self._on_postgresql():
            return self.annotate(search_rowid=models.F("position__position"))
        return self.annotate(search_rowid=RawSQL("conversation_turns.rowid", ()))

    def search(self, text: str, *, below: int | None = None, first: int | None = None):
        """Turns whose content contains ``text``, newest first, through the search indexes.

        Two FTS5 indexes answer together: the trigram one (0006) finds any substring of
        three or more characters, case-insensitively (Cyrillic, CJK); the word one (0011)
        folds accents and case, so "resume" finds "Résumé" and "cafe" finds "Café" (the
        words of ``text`` in a row, the last one as a word prefix). A text shorter than a
        trigram (a two-letter CJK word, say) is matched as a substring in the newest
        ``SHORT_SEARCH_WINDOW`` turns only, so the page stays fast on a large table.

        ``below`` keeps the matches older than that ``search_rowid`` (the next page);
        ``first`` promises the caller reads at most that many, so on SQLite each index
        hands over only its newest ``first``: a page of a word in every thirtieth turn
        reads the rows it shows, not every match.
        """
        qs = self.with_rowid()
        if below is not None:
            qs = qs.filter(search_rowid__lt=below)
        if self._on_postgresql():
            return qs.filter(self._folded_match(text)).order_by("-search_rowid")
        found = models.Q()
        if len(text) >= 3:
            phrase = '"' + text.replace('"', '""') + '"'
            found |= models.Q(
                search_rowid__in=self._index_rowids("turn_search", phrase, below, first)
            )
        else:
            window = RawSQL(
                "(SELECT MAX(rowid) FROM conversation_turns) - %s", (SHORT_SEARCH_WINDOW,)
            )
            found |= models.Q(search_rowid__gt=window, content__contains=text)
        if words := word_query(text):
            found |= models.Q(
                search_rowid__in=self._index_rowids("turn_words", words, below, first)
            )
        return qs.filter(found).order_by("-search_rowid")

    @staticmethod
    def _index_rowids(
        index: Literal["turn_search", "turn_words"],
        query: str,
        below: int | None,
        first: int | None,
    ) -> RawSQL:
        """The rowids an FTS5 index matches, newest first, older than ``below`` and at
        most ``first`` of them when given; FTS5 answers both from its own index."""
        # The table name is one of the two above, never a value from a request.
        sql = (
            f"SELECT rowid FROM {index} WHERE {index} MATCH %s"  # noqa: S608
            " AND rowid <= coalesce(%s - 1, 9223372036854775807)"
            " ORDER BY rowid DESC LIMIT coalesce(%s, -1)"
        )
        return RawSQL(sql, (query, below, first))  # noqa: S611

    @staticmethod
    def _folded_match(text: str) -> models.Q:
        """PostgreSQL: the folded text (``tom_fold``: lower case, no accents) contains the
        folded query, which the trigram GIN index of 0006 answers from three characters on;
        a shorter query scans the newest ``SHORT_SEARCH_WINDOW`` turns, as on SQLite."""
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
        matches = models.Q(
            RawSQL(
                "tom_fold(conversation_turns.content) LIKE tom_fold(%s)",
                (pattern,),
                output_field=models.BooleanField(),
            )
        )
        if len(text) >= 3:
            return matches
        window = RawSQL(
            "(SELECT MAX(position) FROM tommemory_turn_positions) - %s", (SHORT_SEARCH_WINDOW,)
        )
        return matches & models.Q(search_rowid__gt=window)

    def with_snippet(self, text: str):
        """Each turn's excerpt around the first match, cut in SQL: a huge turn is never loaded.

        ``snippet_start`` is its 1-based position in ``content`` (SQLite's ``lower`` folds
        ASCII only, so a match it cannot see gives the start of the turn), and
        ``content_length`` tells the page whether text follows it. A turn the word index
        matched (an accent- or case-folded word) also gets ``word_snippet``: FTS5's own
        excerpt around that word, the match between the marks ``SNIPPET_MARKS``; only when
        the plain match missed, since FTS5 reads a common word's whole index for each one.
        """
        if self._on_postgresql():
            # The folded match search found; folding keeps most texts' length, so the
            # position is the match's in the turn.
            found = Func(
                Func("content", function="tom_fold"),
                Func(Value(text), function="tom_fold"),
                function="strpos",
                output_field=IntegerField(),
            )
        else:
            found = Func(
                Lower("content"), Lower(Value(text)), function="instr", output_field=IntegerField()
            )
        start = Greatest(Value(1), found - SNIPPET_BEFORE, output_field=IntegerField())
        qs = self.defer("content").annotate(
            snippet_start=start,
            snippet=Substr("content", start, SNIPPET_LENGTH),
            content_length=Length("content"),
        )
        if (words := word_query(text)) and not self._on_postgresql():
            opening, closing = SNIPPET_MARKS
            excerpt = RawSQL(
                # snippet() counts words, and one word may be a megabyte long.
                "(SELECT substr(snippet(turn_words, 0, %s, %s, '…', 24), 1, %s) "
                "FROM turn_words WHERE turn_words MATCH %s "
                "AND rowid = conversation_turns.rowid)",
                (opening, closing, SNIPPET_LENGTH, words),
            )
            qs = qs.annotate(
                word_snippet=Case(When(Exact(found, 0), then=excerpt), output_field=TextField())
            )
        return qs


class Turn(JSONColumnsMixin, models.Model):
    id = TextIdField()
    session = models.ForeignKey(
        Session, on_delete=models.DB_CASCADE, related_name="turns", db_index=False
    )
    turn_index = IntegerColumn()
    role = TextColumn(choices=Role)
    content = TextColumn()
    token_count = IntegerColumn(null=True, blank=True)
    created_at = TimestampField()
    metadata_json = JSONTextField(db_default="{}")

    objects = TurnQuerySet.as_manager()

    class Meta:
        db_table = "conversation_turns"
        constraints = [
            models.UniqueConstraint(fields=["session", "turn_index"], name="uniq_turn_position"),
        ]
        indexes = [
            models.Index(fields=["session", "created_at"], name="idx_turns_session_created"),
        ]

    def __str__(self) -> str:
        return f"turn {self.turn_index} of {self.session_id}"


# --- workflows -----------------------------------------------------------------------------


class TurnPosition(models.Model):
    """PostgreSQL only: the order turns were added in, which SQLite's rowid gives.

    Migration 0006 makes the table and the trigger that numbers every new turn, whoever
    writes it; search results are ordered and paged by it (``Turn.objects.with_rowid``).
    On SQLite the model has no table (0014 records it without making one).
    """

    position = models.BigAutoField(primary_key=True)
    turn = models.OneToOneField(
        Turn, on_delete=models.DB_CASCADE, db_column="turn_id", related_name="position"
    )

    class Meta:
        db_table = "tommemory_turn_positions"

    def __str__(self) -> str:
        return f"turn {self.turn_id} at {self.position}"


class WorkflowRun(PageMixin, JSONColumnsMixin, models.Model):
    PAGE = "memory_app:workflow"

    id = TextIdField()
    workflow_name = TextColumn()
    trigger_source = TextColumn(choices=TriggerSource)
    initiated_by = TextColumn()
    status = TextColumn(choices=RunStatus)
    started_at = TimestampField()
    finished_at = TimestampField(null=True, blank=True)
    context_json = JSONTextField(db_default="{}")

    objects = ListQuerySet.as_manager()

    class Meta:
        db_table = "workflow_runs"
        indexes = [
            models.Index(fields=["status", "started_at"], name="idx_workflow_runs_status"),
            # Not in v1: the workflows list pages newest first by (started_at, id).
            models.Index(fields=["started_at", "id"], name="idx_workflow_runs_started"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_name} run {self.id}"


class WorkflowStepQuerySet(models.QuerySet):
    def for_replay(self, run: WorkflowRun | str):
        """The run's steps in ``step_index`` order."""
        return self.filter(workflow_run=run).order_by("step_index")

    def page_of(self, run: WorkflowRun, start: int, size: int) -> list[WorkflowStep]:
        """Up to ``size`` of the run's steps from ``step_index`` ``start`` on."""
        return list(self.for_replay(run).filter(step_index__gte=start)[:size])

    def latest_instant(self, run: WorkflowRun) -> str | None:
        """The latest time any of the run's steps started or finished, as canonical UTC
        text (``instant``), over every step whatever page is shown; None when none reads."""
        ends = self.filter(workflow_run=run).aggregate(
            finished=models.Max(instant("finished_at")), started=models.Max(instant("started_at"))
        )
        return max(filter(None, ends.values()), default=None)


class WorkflowStep(JSONColumnsMixin, models.Model):
    id = TextIdField()
    workflow_run = models.ForeignKey(
        WorkflowRun, on_delete=models.DB_CASCADE, related_name="steps", db_index=False
    )
    step_index = IntegerColumn()
    step_name = TextColumn()
    status = TextColumn(choices=StepStatus)
    started_at = TimestampField()
    finished_at = TimestampField(null=True, blank=True)
    details_json = JSONTextField(db_default="{}")

    objects = WorkflowStepQuerySet.as_manager()

    class Meta:
        db_table = "workflow_steps"
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_run", "step_index"], name="uniq_step_position"
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.step_index} {self.step_name}"


class TaskEventQuerySet(AppendOnlyQuerySet):
    def of_run(self, run: WorkflowRun):
        """The run's events: its own, and those of its steps (another writer may link an
        event to a step only). A union, so each half reads its own index on both engines
        (PostgreSQL reads every event for an OR of the two)."""
        own = TaskEvent.objects.filter(workflow_run=run).values("pk")
        of_steps = TaskEvent.objects.filter(step__workflow_run=run).values("pk")
        return self.filter(pk__in=own.union(of_steps))

    def at_level(self, level: str):
        """Of this level, through ``idx_task_events_level``: on PostgreSQL it holds the level's
        first characters (``expressions.indexed_prefix``), compared first."""
        qs = self.filter(event_level=level)
        if connections[self.db].vendor != "postgresql":
            return qs
        return qs.alias(level_head=indexed_prefix("event_level")).filter(
            level_head=indexed_prefix(Value(level))
        )

    def chosen(self, types: list[str], levels: list[str]):
        """Of these types and levels; an empty list chooses every one."""
        qs = self.filter(event_type__in=types) if types else self
        return qs.filter(event_level__in=levels) if levels else qs

    def in_time_order(self):
        """By the instant each was created (``timeutil.chronological``'s order, in SQL)."""
        return self.order_by(instant_or_empty("created_at"), "id")

    def counts_by_kind(self) -> dict[tuple[str, str], int]:
        """How many of each (type, level), in one GROUP BY."""
        rows = (
            self.order_by().values_list("event_type", "event_level").annotate(n=models.Count("*"))
        )
        return {(kind, level): n for kind, level, n in rows}

    def counts_by_step(self, steps: list[WorkflowStep]) -> dict[str, int]:
        """How many each of these steps has, in one GROUP BY."""
        rows = (
            self.filter(step__in=[s.pk for s in steps])
            .order_by()
            .values_list("step_id")
            .annotate(n=models.Count("*"))
        )
        return dict(rows)

    def first_of_each_step(self, steps: list[WorkflowStep], size: int) -> dict[str, list]:
        """The first ``size`` events of each of these steps in time order, in one query."""
        ranked = self.filter(step__in=[s.pk for s in steps]).annotate(
            place=models.Window(
                RowNumber(),
                partition_by=[models.F("step_id")],
                order_by=[instant_or_empty("created_at"), models.F("id")],
            )
        )
        by_step: dict[str, list] = {}
        for event in ranked.filter(place__lte=size).order_by("step_id", "place"):
            by_step.setdefault(event.step_id, []).append(event)
        return by_step


class TaskEvent(JSONColumnsMixin, AppendOnlyModel):
    id = TextIdField()
    workflow_run = models.ForeignKey(
        WorkflowRun,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    step = models.ForeignKey(
        WorkflowStep,
        on_delete=models.DB_SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    event_type = TextColumn(choices=EventType)
    event_level = TextColumn(choices=Level)
    message = TextColumn()
    payload_json = JSONTextField(db_default="{}")
    created_at = TimestampField()

    objects = TaskEventQuerySet.as_manager()

    class Meta:
        db_table = "task_events"
        indexes = [
            # Not in v1: workflow_replay reads a run's events in time order.
            models.Index(fields=["workflow_run", "created_at"], name="idx_task_events_run_created"),
            # Not in v1: a step's events, and the ON DELETE SET NULL when a step goes.
            models.Index(fields=["step"], name="idx_task_events_step"),
            # Not in v1: the activity timeline, newest first, optionally by level.
            models.Index(fields=["created_at"], name="idx_task_events_created"),
            models.Index(fields=["event_level", "created_at"], name="idx_task_events_level"),
            # Not in v1: the activity timeline's events whose time is not canonical.
            other_times_index("created_at", "idx_task_events_other_times", after=("event_level",)),
        ]

    def __str__(self) -> str:
        return f"{self.event_level} {self.event_type}: {self.message[:60]}"


# --- skills and profiles -------------------------------------------------------------------


class Skill(JSONColumnsMixin, models.Model):
    id = TextIdField()
    skill_key = TextColumn()
    description = TextColumn()
    source_type = TextColumn(choices=SourceType)
    source_ref = TextColumn(null=True, blank=True)
    confidence = RealColumn()
    learned_at = TimestampField()
    state = TextColumn(db_default="active", choices=SkillState)
    metadata_json = JSONTextField(db_default="{}")

    class Meta:
        db_table = "skills_learned"
        constraints = [
            models.UniqueConstraint(fields=["skill_key", "learned_at"], name="uniq_skill_learned"),
        ]
        indexes = [models.Index(fields=["skill_key", "state"], name="idx_skills_key_state")]

    def __str__(self) -> str:
        return self.skill_key


class ProfileQuerySet(models.QuerySet):
    """Published versions are immutable: the one change allowed is closing an open window."""

    def update(self, **kwargs):
        raise AppendOnlyError(
            f"{self.model._meta.db_table}: a published version cannot be changed; "
            "publish a new version instead"
        )

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.db_table}: versions cannot be deleted")

    def close_windows(self, at: str) -> int:
        """Close the open windows among these versions at ``at``."""
        open_windows = self.filter(models.Q(effective_to__isnull=True) | models.Q(effective_to=""))
        return super(ProfileQuerySet, open_windows).update(effective_to=at)

    def versions_of(self, name: str):
        """Every version of one profile, newest first (one indexed query)."""
        return self.filter(profile_name=name).order_by("-version")

    def active_at(self, name: str, at: object) -> ProfileVersion | None:
        """The highest version of ``name`` in effect at ``at`` (see ``active_version``).

        A profile has few versions: they are read with one indexed query and their
        windows compared as instants here, since other writers store other ISO forms.
        """
        return active_version(list(self.versions_of(name)), at)


class ProfileVersion(JSONColumnsMixin, models.Model):
    """Behaviour common to both versioned profile tables."""

    DOCUMENT_FIELD: str

    objects = ProfileQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.profile_name} v{self.version}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(
                f"{self._meta.db_table}: {self} is published and cannot be changed; "
                "publish a new version instead"
            )
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.db_table}: {self} cannot be deleted")

    @property
    def document(self) -> ParsedJSON:
        return self.json(self.DOCUMENT_FIELD)

    @property
    def is_open(self) -> bool:
        return self.effective_to in (None, "")

    def is_active_at(self, at: object) -> bool:
        """Whether the window ``[effective_from, effective_to)`` contains ``at``.

        An unreadable bound leaves the window unknown, and an unknown window contains no
        instant (``timeutil``); the profile page warns about it.
        """
        moment, start = instant_key(at), instant_key(self.effective_from)
        if not (moment and start) or start > moment:
            return False
        end = instant_key(self.effective_to)
        return self.is_open or (bool(end) and end > moment)


# --- which version is active, and how windows fit: the one home of these rules -------------


def active_version[P: ProfileVersion](versions_newest_first: list[P], at: object) -> P | None:
    """The highest version whose window contains ``at`` (any ISO-8601 time)."""
    if parse_iso(at) is None:
        raise ValueError(f"not an ISO-8601 timestamp: {at!r}")
    return next((v for v in versions_newest_first if v.is_active_at(at)), None)


def window_warnings(versions_newest_first: list[ProfileVersion]) -> list[str]:
    """Gaps, overlaps and unreadable bounds between consecutive versions."""
    warnings = []
    ordered = list(reversed(versions_newest_first))
    for v in ordered:
        if parse_iso(v.effective_from) is None:
            warnings.append(f"v{v.version} has an unreadable effective_from: {v.effective_from!r}")
        if not v.is_open and parse_iso(v.effective_to) is None:
            warnings.append(f"v{v.version} has an unreadable effective_to: {v.effective_to!r}")
    for older, newer in itertools.pairwise(ordered):
        starts = instant_key(newer.effective_from)
        if not starts:
            continue
        ends = instant_key(older.effective_to)
        if older.is_open:
            warnings.append(
                f"overlap: v{older.version} is still open while v{newer.version} "
                f"starts at {newer.effective_from}"
            )
        elif ends and ends > starts:
            warnings.append(
                f"overlap: v{older.version} runs until {older.effective_to}, after "
                f"v{newer.version} starts at {newer.effective_from}"
            )
        elif ends and ends < starts:
            warnings.append(
                f"gap: nothing is in effect from {older.effective_to} (end of v{older.version}) "
                f"to {newer.effective_from} (start of v{newer.version})"
            )
    return warnings


def next_version_number(versions: list[ProfileVersion]) -> int:
    """One more than the highest whole version number (other writers may store others)."""
    numbers = [v.version for v in versions if isinstance(v.version, int)]
    return max(numbers, default=0) + 1


def windows_to_close(versions: list[ProfileVersion], name: str, start: str) -> list:
    """The open windows a version starting at ``start`` closes; ValueError on any overlap.

    A new version starts after every existing start, and no closed window may run past it.
    """
    begin = instant_key(start)
    to_close = []
    for version in versions:
        if instant_key(version.effective_from) >= begin:
            raise ValueError(
                f"{name} v{version.version} starts at {version.effective_from}; "
                f"a new version must start after it"
            )
        if version.is_open:
            to_close.append(version.pk)
        elif instant_key(version.effective_to) > begin:
            raise ValueError(
                f"{name} v{version.version} is in effect until {version.effective_to}; "
                f"a new version cannot start before that"
            )
    return to_close


class BehaviorProfile(ProfileVersion):
    DOCUMENT_FIELD = "behavior_json"

    id = TextIdField()
    profile_name = TextColumn()
    version = IntegerColumn()
    behavior_json = JSONTextField()
    rationale = TextColumn(null=True, blank=True)
    source_ref = TextColumn(null=True, blank=True)
    effective_from = TimestampField()
    effective_to = TimestampField(null=True, blank=True)
    created_at = TimestampField()
    created_by = TextColumn()

    class Meta:
        db_table = "behavior_profiles"
        constraints = [
            models.UniqueConstraint(
                fields=["profile_name", "version"], name="uniq_behavior_version"
            ),
        ]
        indexes = [
            models.Index(fields=["profile_name", "effective_from"], name="idx_behavior_effective"),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["created_at"], name="idx_behavior_created"),
            other_times_index("created_at", "idx_behavior_other_times"),
        ]


class PersonalityProfile(ProfileVersion):
    DOCUMENT_FIELD = "personality_json"

    id = TextIdField()
    profile_name = TextColumn()
    version = IntegerColumn()
    personality_json = JSONTextField()
    rationale = TextColumn(null=True, blank=True)
    source_ref = TextColumn(null=True, blank=True)
    effective_from = TimestampField()
    effective_to = TimestampField(null=True, blank=True)
    created_at = TimestampField()
    created_by = TextColumn()

    class Meta:
        db_table = "personality_profiles"
        constraints = [
            models.UniqueConstraint(
                fields=["profile_name", "version"], name="uniq_personality_version"
            ),
        ]
        indexes = [
            models.Index(
                fields=["profile_name", "effective_from"], name="idx_personality_effective"
            ),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["created_at"], name="idx_personality_created"),
            other_times_index("created_at", "idx_personality_other_times"),
        ]


# --- skill-to-logic promotion --------------------------------------------------------------


class ProposalQuerySet(models.QuerySet):
    def waiting(self):
        """Proposals that still take decisions."""
        return self.filter(status__in=[ProposalStatus.DRAFTED, ProposalStatus.VALIDATED])

    def by_urgency(self):
        """Critical risk first, then the longest waiting."""
        rank = models.Case(
            *[models.When(risk_level=level, then=n) for n, level in enumerate(reversed(Level))],
            default=len(Level),
        )
        return self.alias(risk_rank=rank).order_by("risk_rank", "created_at", "id")

    def with_lineage(self, chunk_size: int = 500) -> Iterator[Proposal]:
        """The proposals with their skill, validations, approvals (with evidence), deploys
        and break-glass decisions, each row with its counted time (``decision_time``).

        Read in chunks, each with one query per relation. The skill is prefetched, not
        joined, since a join would hide a proposal whose skill another writer removed; a
        proposal stored without an id has no rows to fetch.
        """
        lineage = [
            "skill",
            "validations",
            "deploy_outcomes",
            "overrides",
            models.Prefetch("approvals", queryset=Approval.objects.select_related("evidence")),
        ]
        from . import decision_time  # reads the decision log, whose models are these

        for chunk in itertools.batched(self.iterator(chunk_size), chunk_size):
            models.prefetch_related_objects([p for p in chunk if p.pk is not None], *lineage)
            # The time each row counts at (one more query per chunk): governance reads it.
            decision_time.attach(
                row
                for p in chunk
                if p.pk is not None
                for rows in (p.validations, p.approvals, p.deploy_outcomes, p.overrides)
                for row in rows.all()
            )
            yield from chunk


class Proposal(PageMixin, JSONColumnsMixin, models.Model):
    PAGE = "memory_app:proposal"

    id = TextIdField()
    skill = models.ForeignKey(
        Skill, on_delete=models.DB_CASCADE, related_name="proposals", db_index=False
    )
    proposed_by = TextColumn(choices=ProposedBy)
    proposal_type = TextColumn(choices=ProposalType)
    proposal_json = JSONTextField()
    determinism_score = RealColumn(null=True, blank=True)
    risk_level = TextColumn(choices=Level)
    status = TextColumn(choices=ProposalStatus)
    created_at = TimestampField()
    updated_at = TimestampField()

    objects = ProposalQuerySet.as_manager()

    class Meta:
        db_table = "skill_to_logic_proposals"
        indexes = [
            models.Index(fields=["status", "risk_level"], name="idx_proposals_status_risk"),
            # Not in v1: a skill's proposals, and the cascade when a skill goes.
            models.Index(fields=["skill"], name="idx_proposals_skill"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_type} proposal {self.id}"

    @property
    def skill_or_none(self) -> Skill | None:
        """The proposal's skill, or None when another writer left the link dangling."""
        try:
            return self.skill
        except Skill.DoesNotExist:
            return None

    def delete(self, *args, **kwargs):
        if self.approvals.exists():
            raise AppendOnlyError(f"proposal {self.pk!r} has approvals and cannot be deleted")
        return super().delete(*args, **kwargs)


def check_passed(value: object) -> bool:
    """A check passed when it is 1; any other value another writer stored is not a pass."""
    return not isinstance(value, str) and value == 1


class ValidationResult(JSONColumnsMixin, AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="validations", db_index=False
    )
    validator = TextColumn(choices=Validator)
    build_pass = IntegerColumn(db_default=0)
    lint_pass = IntegerColumn(db_default=0)
    test_pass = IntegerColumn(db_default=0)
    policy_pass = IntegerColumn(db_default=0)
    details_json = JSONTextField(db_default="{}")
    validated_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "validation_results"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "validated_at"], name="idx_validations_proposal")
        ]

    def __str__(self) -> str:
        return f"{self.validator} validation {self.id}"

    @property
    def all_passed(self) -> bool:
        checks = (self.build_pass, self.lint_pass, self.test_pass, self.policy_pass)
        return all(check_passed(check) for check in checks)


class Approval(AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="approvals", db_index=False
    )
    approver = TextColumn()
    approval_type = TextColumn(choices=ApprovalType)
    decision = TextColumn(choices=Decision)
    notes = TextColumn(null=True, blank=True)
    decided_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "approvals"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "decided_at"], name="idx_approvals_proposal"),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["decided_at"], name="idx_approvals_decided"),
            other_times_index("decided_at", "idx_approvals_other_times"),
        ]

    def __str__(self) -> str:
        return f"{self.approval_type} {self.decision} by {self.approver}"


class DeployOutcome(JSONColumnsMixin, AppendOnlyModel):
    id = TextIdField()
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="deploy_outcomes", db_index=False
    )
    deployment_target = TextColumn()
    deployment_id = TextColumn(null=True, blank=True)
    status = TextColumn(choices=DeployStatus)
    summary = TextColumn(null=True, blank=True)
    metrics_json = JSONTextField(db_default="{}")
    deployed_at = TimestampField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "deploy_outcomes"
        # Not in v1: proposal_lineage reads these by proposal in time order.
        indexes = [
            models.Index(fields=["proposal", "deployed_at"], name="idx_deploys_proposal"),
            # Not in v1: the activity timeline, newest first.
            models.Index(fields=["deployed_at"], name="idx_deploys_deployed"),
            other_times_index("deployed_at", "idx_deploys_other_times"),
        ]

    def __str__(self) -> str:
        return f"{self.status} to {self.deployment_target}"


# The twelve tables of the v1 contract, parents before children.
V1_MODELS = [
    Session,
    Turn,
    WorkflowRun,
    WorkflowStep,
    TaskEvent,
    Skill,
    BehaviorProfile,
    PersonalityProfile,
    Proposal,
    ValidationResult,
    Approval,
    DeployOutcome,
]


# --- tables of ours beside v1 --------------------------------------------------------------


class ApprovalEvidence(AppendOnlyModel):
    """What a decision was given against, and its link in the proposal's hash chain.

    Kept beside ``approvals`` so the v1 columns stay as they are. ``row_hash`` covers
    the approvals row, this evidence and ``prev_hash`` (the previous decision's hash on
    the same proposal), so editing the file behind the triggers' back breaks the chain.
    """

    approval = models.OneToOneField(
        Approval,
        on_delete=models.DB_CASCADE,
        primary_key=True,
        related_name="evidence",
        db_column="approval_id",
    )
    proposal = models.ForeignKey(
        Proposal, on_delete=models.DB_CASCADE, related_name="+", db_index=False
    )
    seq = models.IntegerField(help_text="position in the proposal's chain, from 1")
    # NULL, not "": no validation existed, or no token was sent (tokens are unique).
    validation_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    proposal_sha256 = models.TextField()
    # NULL on decisions recorded before the risk level was kept as evidence.
    risk_level = models.TextField(null=True, blank=True)  # noqa: DJ001
    idempotency_token = models.TextField(null=True, blank=True, unique=True)
    prev_hash = models.TextField()
    row_hash = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_approval_evidence"
        constraints = [
            models.UniqueConstraint(fields=["proposal", "seq"], name="uniq_evidence_chain_seq"),
        ]

    def __str__(self) -> str:
        return f"evidence #{self.seq} of {self.proposal_id}"


class Override(AppendOnlyModel):
    """A break-glass decision: a superuser let a proposal through the governance rule.

    Kept in its own table, not ``approvals``, so no v1 reader takes it for an ordinary
    approval; ``governance`` counts it (shown as "bypassed") when it was given against the
    latest validation, the current ``proposal_json`` and risk level, and has not expired.
    """

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.DB_CASCADE, related_name="overrides")
    actor = models.TextField()
    reason = models.TextField()
    decided_at = models.TextField()
    validation_id = models.TextField(null=True, blank=True)  # noqa: DJ001
    proposal_sha256 = models.TextField()
    risk_level = models.TextField(null=True, blank=True)  # noqa: DJ001

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_overrides"

    def __str__(self) -> str:
        return f"bypassed by {self.actor}"


class AuditLeaf(AppendOnlyModel):
    """One entry of the append-only decision log: a Merkle tree leaf (``auditlog``).

    Every decision (its approvals row with its evidence), validation, deploy outcome and
    published profile version gets one, in the order the log took them in. ``leaf_hash``
    is the RFC 6962 leaf hash of the row's canonical text; signed checkpoints kept away
    from the database (``audit_checkpoint``) make any later rewrite of rows or leaves
    visible (``verify_audit --checkpoint``).
    """

    index = models.BigIntegerField(primary_key=True, help_text="position in the log, from 0")
    kind = models.TextField()
    row_id = models.TextField()
    leaf_hash = models.TextField()
    logged_at = models.TextField()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_audit_log"
        constraints = [
            models.UniqueConstraint(fields=["kind", "row_id"], name="uniq_audit_log_row"),
        ]

    def __str__(self) -> str:
        return f"log entry #{self.index}: {self.kind} {self.row_id}"


class ProposalChangeQuerySet(AppendOnlyQuerySet):
    def of(self, proposal: Proposal | str):
        return self.filter(proposal_id=getattr(proposal, "pk", proposal)).order_by("id")


class ProposalChange(AppendOnlyModel):
    """A change of a proposal's ``risk_level`` or ``proposal_json``, noticed by the database.

    A trigger (migration 0010) writes one row whenever any process changes either column,
    with the time SQLite noticed it, so the page can say what changed and when, even
    though v1 keeps no history of a proposal. No foreign key: a proposal deleted later
    keeps its change history.
    """

    proposal_id = models.TextField()
    column = models.TextField()
    old_value = models.TextField(null=True)  # noqa: DJ001
    new_value = models.TextField(null=True)  # noqa: DJ001
    noticed_at = models.TextField()

    objects = ProposalChangeQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_proposal_changes"
        indexes = [models.Index(fields=["proposal_id", "id"], name="idx_proposal_changes")]

    def __str__(self) -> str:
        return f"{self.column} of {self.proposal_id} changed at {self.noticed_at}"

    @property
    def summary(self) -> str:
        """What changed: the values of a short column, the digests of the document."""
        if self.column != "proposal_json":
            return f"changed from {self.old_value!r} to {self.new_value!r}"
        from .governance import proposal_digest

        old, new = proposal_digest(self.old_value), proposal_digest(self.new_value)
        return f"changed (sha256 {old[:12]}… → {new[:12]}…)"


# --- notifications: webhooks and email digests (memory_app.notify) ---------------------


class WebhookEvent(models.TextChoices):
    DECISION_NEEDED = "decision.needed", "a decision is needed (with the missing types)"
    DECISION_RECORDED = "decision.recorded", "a decision was recorded (break-glass too)"
    PROPOSAL_APPROVED = "proposal.approved", "a proposal was approved"
    PROPOSAL_REJECTED = "proposal.rejected", "a proposal was rejected"
    PROPOSAL_PROMOTED = "proposal.promoted", "a proposal was promoted"
    PROFILE_PUBLISHED = "profile.published", "a profile version was published"


class WebhookFormat(models.TextChoices):
    JSON = "json", "JSON, signed (X-Tom-Signature)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams workflow (Adaptive Card)"


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """Where an admin wants events posted; it hears of what is logged after it is added."""

    name = models.CharField(max_length=100)
    url = models.URLField(
        max_length=2000,
        validators=[URLValidator(schemes=list(webhook_http.SCHEMES))],
        help_text="http:// or https://",
    )
    secret = models.CharField(
        max_length=200,
        default=new_webhook_secret,
        help_text="signs each delivery: HMAC-SHA256 of '<timestamp>.<body>' (README)",
    )
    events = models.JSONField(default=list, help_text="the events this endpoint receives")
    format = models.CharField(max_length=10, choices=WebhookFormat, default=WebhookFormat.JSON)
    active = models.BooleanField(default=True)
    # The last decision-log entry this endpoint was told about (set when it is added).
    log_index = models.BigIntegerField(default=-1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tommemory_webhook_endpoints"

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Whoever saves it (the admin's form, a script): only an http(s) URL is kept, so a
        # signed delivery never goes to file: or another scheme. ``send`` checks again.
        self._meta.get_field("url").run_validators(self.url)
        if self._state.adding:  # history is not news: it hears of what is logged from now
            last = AuditLeaf.objects.aggregate(last=models.Max("index"))["last"]
            self.log_index = -1 if last is None else last
        super().save(*args, **kwargs)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"  # every attempt failed


class WebhookDelivery(models.Model):
    """One event posted (or to be posted) to one endpoint, with what the endpoint answered."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.DB_CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent)
    event_id = models.CharField(max_length=40, help_text="the same for every endpoint")
    body = models.TextField(help_text="the exact body posted")
    status = models.CharField(max_length=10, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "tommemory_webhook_deliveries"
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="idx_deliveries_endpoint")]

    def __str__(self) -> str:
        return f"{self.event} to {self.endpoint_id}: {self.status}"


class Digest(models.Model):
    """An email digest sent to one person: at most one per interval (``TOM_DIGEST_INTERVAL``)."""

    user = models.ForeignKey(
        "auth.User", on_delete=models.DB_CASCADE, related_name="tommemory_digests"
    )
    sent_at = models.DateTimeField()
    proposals = models.JSONField(default=list)

    class Meta:
        db_table = "tommemory_digests"
        indexes = [models.Index(fields=["user", "-sent_at"], name="idx_digests_user")]

    def __str__(self) -> str:
        return f"digest to {self.user_id} at {self.sent_at:%Y-%m-%d %H:%M}"


class ChangeToken(models.Model):
    """A token that triggers replace whenever any writer changes a listed table's rows
    (migration 0018), so a cache of something computed over the whole table (a list's
    facet counts) is keyed by the rows themselves. Random, so a token never comes back."""

    table = models.TextField(primary_key=True)
    token = models.TextField()

    class Meta:
        db_table = "tommemory_change_tokens"

    def __str__(self) -> str:
        return f"{self.table}: {self.token}"

    @classmethod
    def of(cls, table: str) -> str:
        """The table's current token ("" until a writer first changes it)."""
        return cls.objects.filter(pk=table).values_list("token", flat=True).first() or ""
