"""The profiles wing's writes: publishing the next version of a behavior or personality
profile, closing the open window, and withdrawing a scheduled version before it starts.
``RuntimeMemoryStore`` is their front door, which takes each version into the decision log
in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from memory_app import checks
from memory_app.errors import InvalidInput
from memory_app.fields import MAX_INTEGER, sql_integer
from memory_app.profiles.models import (
    BehaviorProfile,
    PersonalityProfile,
    ProfileVersion,
    ProfileWithdrawal,
    StartRefused,
    next_version_number,
    windows_to_close,
    withdrawable,
)
from memory_app.timeutil import format_iso, now_iso, parse_iso
from memory_app.vendor_sql import serialize_on

# Clock skew between the caller and this process: a start this little in the past means now.
START_GRACE = timedelta(seconds=5)


def _start(value: datetime | str | None) -> str:
    """A new profile version's start: now or later, never in the past."""
    now = now_iso()
    start = now if value is None else checks.when(value, "effective_from")
    if start < now:
        if start < format_iso(parse_iso(now) - START_GRACE):
            raise StartRefused(
                "effective_from",
                "{} is in the past: a new version starts now or later, "
                "so which version was active before now never changes",
                start,
            )
        start = now
    return start


def _next_version(versions: list[ProfileVersion]) -> int:
    following = next_version_number(versions)
    if following > MAX_INTEGER:
        raise InvalidInput("the version numbers of this profile are used up")
    return following


def publish_behavior_profile(profile_name: str, behavior: Any, **kwargs) -> BehaviorProfile:
    """Publish the next version of a behavior profile (see ``publish_version``)."""
    return publish_version(BehaviorProfile, profile_name, behavior, **kwargs)


def publish_personality_profile(
    profile_name: str, personality: Any, **kwargs
) -> PersonalityProfile:
    """Publish the next version of a personality profile (see ``publish_version``)."""
    return publish_version(PersonalityProfile, profile_name, personality, **kwargs)


def check_publish(
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
    values = _publish_values(
        model, profile_name, document, created_by, rationale, source_ref, effective_from
    )
    versions = list(model.objects.versions_of(values["profile_name"]))
    windows_to_close(
        versions, values["profile_name"], values["effective_from"], _withdrawn(model, versions)
    )


def _publish_values(
    model, profile_name, document, created_by, rationale, source_ref, effective_from
) -> dict[str, Any]:
    """The validated column values of a new profile version."""
    return {
        "profile_name": checks.text(profile_name, "profile_name"),
        model.DOCUMENT_FIELD: checks.json_object(document, model.DOCUMENT_FIELD),
        "rationale": checks.text(rationale, "rationale", required=False),
        "source_ref": checks.text(source_ref, "source_ref", required=False),
        "created_by": checks.text(created_by, "created_by"),
        "effective_from": _start(effective_from),
    }


def _withdrawn(model: type[ProfileVersion], versions: list[ProfileVersion]) -> frozenset:
    """The ids of the withdrawn versions among ``versions`` (one query)."""
    ids = [v.pk for v in versions]
    return frozenset(ProfileWithdrawal.objects.of(model, ids).values_list("version_id", flat=True))


def publish_version[P: ProfileVersion](
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
    that is not after the latest version's start (a withdrawn version counts for
    neither: it was never in effect). The IMMEDIATE transaction
    serialises concurrent publishers: each gets its own version number or a clear
    refusal.
    """
    values = _publish_values(
        model, profile_name, document, created_by, rationale, source_ref, effective_from
    )
    name, start_text = values["profile_name"], values["effective_from"]
    with transaction.atomic():
        serialize_on(f"{model._meta.db_table}:{name}")
        versions = list(model.objects.versions_of(name))
        to_close = windows_to_close(versions, name, start_text, _withdrawn(model, versions))
        model.objects.filter(pk__in=to_close).close_windows(start_text)
        published = model.objects.create(
            version=_next_version(versions), effective_to=None, created_at=now_iso(), **values
        )
        return published


def withdraw_version(
    model: type[ProfileVersion], profile_name: str, version: int, *, withdrawn_by: str, reason: str
) -> ProfileWithdrawal:
    """Withdraw a scheduled version before it starts: the version before it stays in effect.

    Append-only, and visible to a v1 reader: in one transaction the withdrawal (who, when,
    why) is recorded, the version's window is closed at its own start (an empty window:
    never in effect) and the windows its publishing closed (those ending at its start) are
    open again. Only the latest version not withdrawn, not yet started (at the store's
    clock) and still open can be withdrawn; anything else is refused, writing nothing.
    """
    name = checks.text(profile_name, "profile_name")
    if not sql_integer(version):
        raise InvalidInput(f"version must be a whole number; got {version!r}")
    by = checks.text(withdrawn_by, "withdrawn_by")
    why = checks.text(reason, "reason")
    with transaction.atomic():
        serialize_on(f"{model._meta.db_table}:{name}")
        versions = list(model.objects.versions_of(name))
        withdrawn = _withdrawn(model, versions)
        target = withdrawable(versions, withdrawn, name, version, now_iso())
        recorded = ProfileWithdrawal.objects.create(
            profile_table=model._meta.db_table,
            version_id=target.pk,
            withdrawn_by=by,
            withdrawn_at=now_iso(),
            reason=why,
        )
        model.objects.filter(pk=target.pk).close_windows(target.effective_from)
        # The windows this version's publishing closed: exactly those ending at its start.
        closed_by_it = [
            v.pk
            for v in versions
            if v.pk not in withdrawn and v is not target and v.effective_to == target.effective_from
        ]
        model.objects.filter(pk__in=closed_by_it).reopen_windows()
        return recorded


def withdraw_behavior_profile(profile_name: str, version: int, **kwargs) -> ProfileWithdrawal:
    """Withdraw a scheduled behavior profile version (see ``withdraw_version``)."""
    return withdraw_version(BehaviorProfile, profile_name, version, **kwargs)


def withdraw_personality_profile(profile_name: str, version: int, **kwargs) -> ProfileWithdrawal:
    """Withdraw a scheduled personality profile version (see ``withdraw_version``)."""
    return withdraw_version(PersonalityProfile, profile_name, version, **kwargs)
