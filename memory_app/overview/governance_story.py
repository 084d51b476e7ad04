"""What the overview tells of proposals in a window: opened, decided and waiting over time,
how long a decision took, and what the waiting ones still miss.

*Decided* is the governance rule's word (``rule.TERMINAL_STATUSES``: rejected or promoted),
at the time the rule counts (``decision_time``): a proposal is decided when its earliest
counted rejection, or its latest counted successful deploy, made it so; the decision's
latency runs from its drafting (``created_at``) to then. What a waiting proposal still
misses is its verdict's ``missing`` (``rule.verdict_for``): the rule is asked, never
re-implemented here.

A counted time is never later than the decision log recorded its row (``decision_time``),
so the rows that may have decided a proposal in a window are found through indexes: those
claiming a time since it began, those in other time forms, and those the log recorded
since it began. One case is left out: a row claiming an earlier time that the log has not
taken in yet, whose counted time is the log's last take-in (every governed write, the
notifications worker and ``audit_checkpoint`` take in, so it is decided as soon as one does).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Q

from memory_app import timeutil
from memory_app.expressions import is_canonical, other_times
from memory_app.overview.story import BEFORE, NOW, Tally, tally
from memory_app.overview.window import Window
from memory_app.promotion import decision_time, rule
from memory_app.promotion.lineage import Judged, judged
from memory_app.promotion.models import (
    Approval,
    AuditLeaf,
    Decision,
    DeployOutcome,
    DeployStatus,
    Proposal,
    ProposalStatus,
)
from memory_app.timeutil import parse_iso


@dataclass(frozen=True)
class Decided:
    proposal: Proposal
    status: str  # rejected or promoted
    at: str  # the counted time it was decided (canonical text)
    bucket: str
    period: str
    hours: float | None  # from drafted to decided; None when its drafting time is unreadable


@dataclass(frozen=True)
class Governance:
    opened: Tally
    decided: list[Decided]
    waiting_by_risk: list[tuple[object, int]]
    missing: list[tuple[str, int]]  # each type a waiting proposal still misses, how many miss it
    waiting_now: int

    def decided_series(self, buckets: list[str]) -> list[int]:
        counts = Counter(d.bucket for d in self.decided if d.period == NOW)
        return [counts[b] for b in buckets]

    def decided_total(self, period: str = NOW) -> int:
        return sum(d.period == period for d in self.decided)

    def latencies(self, period: str = NOW) -> list[float]:
        return [d.hours for d in self.decided if d.period == period and d.hours is not None]

    def waiting_series(self, buckets: list[str], window: Window) -> list[int] | None:
        """Waiting at the end of each bucket, counted back from those waiting now: less
        those opened since, plus those decided since. Only for a window that ends now
        (a custom one ending earlier would need what came after it)."""
        if not window.preset:
            return None
        opened = self.opened.series(buckets)
        decided = self.decided_series(buckets)
        series, waiting = [], self.waiting_now
        for n_opened, n_decided in zip(reversed(opened), reversed(decided), strict=True):
            series.append(waiting)
            waiting = max(0, waiting - n_opened + n_decided)
        return series[::-1]


def _decisive_rows(since: str) -> list:
    """Rejections and successful deploys that may count at ``since`` or later (see the module
    docstring), each with its counted time: three queries."""
    found = []
    for model, column, kind, decisive in (
        (Approval, "decided_at", "approval", Q(decision=Decision.REJECTED)),
        (DeployOutcome, "deployed_at", "deploy", Q(status=DeployStatus.SUCCEEDED)),
    ):
        claimed = model.objects.filter(is_canonical(column), **{f"{column}__gte": since})
        recorded = AuditLeaf.objects.filter(kind=kind, logged_at__gte=since)
        ids = (
            claimed.values("pk")
            .union(model.objects.filter(other_times(column)).values("pk"))
            .union(recorded.values("row_id"))
        )
        found += model.objects.filter(decisive, pk__in=ids)
    return decision_time.attach(found)


def _decided_at(found: Judged) -> str:
    """When the rows made the proposal rejected or promoted, as the rule counts time."""
    if found.verdict.status == ProposalStatus.REJECTED:
        times = [rule.counted_time(a, "decided_at") for a in found.verdict.rejected_by]
        return min((t for t in times if t), default="")
    deploys = decision_time.in_order(found.deploy_outcomes, "deployed_at")
    return rule.counted_time(deploys[-1], "deployed_at") if deploys else ""


def governance(window: Window) -> Governance:
    """Proposals in the window: opened (two queries), decided (three, then the rows of each
    proposal they may have decided, read with the waiting ones and judged by the rule:
    ``lineage.judged``, seven queries per 500 proposals)."""
    start, end = window.bounds
    lo, _ = window.previous.bounds
    rows = [r for r in _decisive_rows(lo) if lo <= getattr(r, decision_time.COUNTED) <= end]
    maybe_decided = {r.proposal_id for r in rows}
    read = Proposal.objects.filter(
        Q(pk__in=maybe_decided) | Q(status__in=rule.OPEN_STATUSES)
    ).order_by()
    decided, risks, missing, waiting = [], Counter(), Counter(), 0
    for found in judged(read, timeutil.now()):
        proposal, verdict = found.proposal, found.verdict
        if proposal.status in rule.OPEN_STATUSES:  # waiting, as the queue says
            waiting += 1
            risks[proposal.risk_level] += 1
            missing.update(verdict.missing)
        if proposal.pk not in maybe_decided or verdict.status not in rule.TERMINAL_STATUSES:
            continue
        at = _decided_at(found)
        if not at or not lo <= at <= end:
            continue
        drafted = parse_iso(proposal.created_at)
        hours = None if drafted is None else (parse_iso(at) - drafted).total_seconds() / 3600
        period = NOW if at >= start else BEFORE
        decided.append(Decided(proposal, verdict.status, at, at[: window.prefix], period, hours))
    return Governance(
        opened=tally(Proposal.objects.all(), "created_at", window),
        decided=decided,
        waiting_by_risk=sorted(risks.items(), key=lambda kv: (-kv[1], str(kv[0]))),
        missing=sorted(missing.items(), key=lambda kv: (-kv[1], kv[0])),
        waiting_now=waiting,
    )
