"""The profiles wing's tables (v1): behavior and personality profile versions, and the one
home of the rules of which version is active and how windows fit."""

from __future__ import annotations

import itertools

from django.db import models

from memory_app.base_models import (
    AppendOnlyError,
    AppendOnlyModel,
    AppendOnlyQuerySet,
    JSONColumnsMixin,
)
from memory_app.errors import InvalidInput, NotFound
from memory_app.expressions import other_times_index
from memory_app.fields import IntegerColumn, JSONTextField, TextColumn, TextIdField, TimestampField
from memory_app.ids import new_id
from memory_app.jsontext import ParsedJSON
from memory_app.timeutil import instant_key, parse_iso


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

    def reopen_windows(self) -> int:
        """Open these versions' windows again: the one change a withdrawal makes to the
        versions its withdrawn one had closed (migration 0023 lets no other reopen through)."""
        return super().update(effective_to=None)

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

    def starts_after(self, at: object) -> bool:
        """Whether this version is scheduled: its start is readable and after ``at``."""
        start = instant_key(self.effective_from)
        return bool(start) and start > instant_key(at)

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


class StartRefused(InvalidInput):
    """A refused start of a new version, said of ``subject``: ``text`` has ``{}`` where the
    time it names goes, so a form can show it beside the field in the reader's zone."""

    def __init__(self, subject: str, text: str, moment: object):
        super().__init__(f"{subject} " + text.format(moment))
        self.text, self.moment = text, moment


def _literal(text: object) -> str:
    """``text`` as it reads after ``str.format`` (a name may hold braces)."""
    return str(text).replace("{", "{{").replace("}", "}}")


def windows_to_close(
    versions: list[ProfileVersion], name: str, start: str, withdrawn: frozenset = frozenset()
) -> list:
    """The open windows a version starting at ``start`` closes; StartRefused on any overlap.

    A new version starts after every existing start, and no closed window may run past it.
    A withdrawn version (its id in ``withdrawn``) was never in effect, and counts for neither.
    """
    begin = instant_key(start)
    to_close = []
    for version in versions:
        if version.pk in withdrawn:
            continue
        if instant_key(version.effective_from) >= begin:
            raise StartRefused(
                name,
                f"v{_literal(version.version)} starts at {{}}; a new version must start after it",
                version.effective_from,
            )
        if version.is_open:
            to_close.append(version.pk)
        elif instant_key(version.effective_to) > begin:
            raise StartRefused(
                name,
                f"v{_literal(version.version)} is in effect until {{}}; "
                "a new version cannot start before that",
                version.effective_to,
            )
    return to_close


def withdrawable(
    versions: list[ProfileVersion], withdrawn: frozenset, name: str, number: int, now: str
) -> ProfileVersion:
    """The version ``number`` of ``versions`` (newest first; ``withdrawn``: the ids of those
    withdrawn) if it may be withdrawn at ``now``: the latest not withdrawn, not started and
    open. Refused otherwise, with why."""
    target = next((v for v in versions if v.version == number), None)
    if target is None:
        raise NotFound(f"{name} has no v{number}")
    if target.pk in withdrawn:
        raise InvalidInput(f"{name} v{number} is already withdrawn")
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        # Another writer's version text: no withdrawal (nor its URL) can name it.
        raise InvalidInput(f"{name} v{number!r} is not a version number: it cannot be withdrawn")
    latest = next(v for v in versions if v.pk not in withdrawn)
    if latest is not target:
        raise InvalidInput(
            f"{name} v{number} is not the latest version (v{latest.version} is): "
            "only the latest can be withdrawn"
        )
    if not target.starts_after(now):
        raise InvalidInput(
            f"{name} v{number} started at {target.effective_from}: only a version that "
            "has not started yet can be withdrawn"
        )
    if not target.is_open:
        raise InvalidInput(
            f"{name} v{number} already ends at {target.effective_to}: only a version "
            "whose window is open can be withdrawn"
        )
    return target


class WithdrawalQuerySet(AppendOnlyQuerySet):
    def of_kind(self, model: type[ProfileVersion]) -> WithdrawalQuerySet:
        """The withdrawals of versions of one profile kind."""
        return self.filter(profile_table=model._meta.db_table)

    def of(self, model: type[ProfileVersion], version_ids: list) -> WithdrawalQuerySet:
        """The withdrawals of these versions of one profile kind."""
        return self.of_kind(model).filter(version_id__in=version_ids)


class ProfileWithdrawal(AppendOnlyModel):
    """A scheduled profile version withdrawn before it started: who, when and why.

    tommemory's own table beside v1 (contract/tommemory_schema.sql; both stores write it).
    The withdrawal itself is in the v1 rows, so v1 readers see it too: the withdrawn
    version's window is closed at its own start (empty: never in effect), and the
    windows it had closed are open again (``profiles.writes.withdraw_version``).
    """

    id = models.TextField(primary_key=True, default=new_id, editable=False)
    profile_table = models.TextField()
    version_id = models.TextField()
    withdrawn_by = models.TextField()
    withdrawn_at = models.TextField()
    reason = models.TextField()

    objects = WithdrawalQuerySet.as_manager()

    class Meta:
        db_table = "tommemory_profile_withdrawals"
        constraints = [
            models.UniqueConstraint(
                fields=["profile_table", "version_id"], name="uniq_profile_withdrawal"
            ),
        ]

    def __str__(self) -> str:
        return f"withdrawn by {self.withdrawn_by}"


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
