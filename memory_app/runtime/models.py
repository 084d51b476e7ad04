"""The runtime wing's tables (v1): conversations (sessions, turns, their search) and
workflows (runs, steps, task events). Writes go through ``memory_app.runtime.writes``."""

from __future__ import annotations

import re
from typing import Literal

from django.db import connections, models
from django.db.models import Case, Func, IntegerField, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest, Length, Lower, RowNumber, Substr
from django.db.models.lookups import Exact

from memory_app.base_models import (
    AppendOnlyModel,
    AppendOnlyQuerySet,
    JSONColumnsMixin,
    Level,
    PageMixin,
)
from memory_app.expressions import (
    canonical_time_index,
    hourly_index,
    indexed_prefix,
    instant,
    instant_or_empty,
    json_text_at,
    other_times_index,
    other_times_prefix_index,
)
from memory_app.fields import (
    IntegerColumn,
    JSONTextField,
    TextColumn,
    TextIdField,
    TimestampField,
    WholeSum,
)


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
                output_field=WholeSum(),
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
            # Not in v1: the overview's sessions over time (both engines alike).
            canonical_time_index("started_at", "idx_sessions_canonical"),
            other_times_prefix_index("started_at", "idx_sessions_other_times"),
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
            # Not in v1: the overview's turns and tokens per hour, from the index alone.
            hourly_index("created_at", "idx_turns_canonical", also=("token_count",)),
            other_times_prefix_index("created_at", "idx_turns_other_times"),
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
            # Not in v1: the overview's runs over time.
            canonical_time_index("started_at", "idx_workflow_runs_canonical"),
            other_times_prefix_index("started_at", "idx_workflow_runs_other_times"),
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
