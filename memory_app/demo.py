"""Deterministic demo data for every v1 table, written in bulk.

The same seed and anchor always give the same rows (ids included), so a demo
database, a benchmark database and a bug report can be rebuilt exactly.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import audit
from .governance import current_rule, proposal_digest
from .jsontext import dump_json
from .models import (
    Approval,
    ApprovalEvidence,
    BehaviorProfile,
    DeployOutcome,
    Level,
    PersonalityProfile,
    Proposal,
    Session,
    Skill,
    TaskEvent,
    Turn,
    ValidationResult,
    WorkflowRun,
    WorkflowStep,
)
from .store import RuntimeMemoryStore
from .timeutil import format_iso

ACTORS = ["tom"] * 6 + ["oxide"] * 3 + ["user", "system"]
CHANNELS = ["cli", "api", "sdk", "cron"]
LOCALES = ["en-GB", "fr-FR", "de-DE", "ru-RU", "ja-JP", "zh-CN", "es-ES"]
USER_LINES = [
    "Can you summarise yesterday's failed deploys?",
    "Why did the nightly digest take so long?",
    "Résumé des décisions de la semaine, s'il te plaît.",
    "Покажи последние ошибки в рабочих процессах.",
    "昨日のワークフローの失敗をまとめてください。",
    "请列出等待审批的高风险提案。",
    "Which behavior profile was active when the escalation happened?",
    "Draft a config change to lower the retry budget.",
    "¿Qué habilidades aprendió ToM esta semana?",
]
ASSISTANT_LINES = [
    "Here is a summary of the {n} runs that failed, grouped by step.",
    "The digest waited {n} seconds on the search index; I suggest a smaller batch.",
    "Voici les {n} décisions, la plus récente en premier.",
    "Нашёл {n} ошибок; две из них критические.",
    "{n} 件の失敗が見つかりました。",
    "有 {n} 个高风险提案正在等待审批。",
    "Version {n} of the behavior profile was in effect at that moment.",
]
SYSTEM_LINES = [
    "You are ToM, a careful assistant. Escalate anything irreversible.",
    "Follow the active behavior profile; cite workflow ids when you refer to runs.",
]
AGENT_LINES = [
    "O.X.I.D.E noticed a repeated pattern and drafted skill {n}.",
    "Validation queued for proposal batch {n}.",
]
TOOLS = ["search_runs", "read_profile", "list_proposals", "fetch_metrics"]
WORKFLOWS = {
    "nightly-digest": ["collect", "rank", "summarise", "deliver"],
    "skill-distill": ["scan-sessions", "cluster", "draft-skill"],
    "memory-compaction": ["snapshot", "compact", "verify"],
    "proposal-validate": ["checkout", "build", "lint", "test", "policy"],
    "profile-refresh": ["diff", "review", "publish"],
}
LEVEL_WEIGHTS = {"low": 60, "medium": 25, "high": 10, "critical": 5}
EVENT_FOR_LEVEL = {"low": "info", "medium": "warn", "high": "error", "critical": "policy"}
PROPOSAL_STATUSES = ["drafted", "validated", "rejected", "approved", "promoted"]


# The demo logins (debug only), one per role; None is the superuser.
DEMO_USERS = [
    ("demo-admin", None),
    ("demo-reviewer", "reviewer"),
    ("demo-ops", "ops"),
    ("demo-profile-admin", "profile-admin"),
]


def demo_password() -> str:
    return os.environ.get("TOM_DEMO_PASSWORD", "tommemory-demo")


@dataclass
class DemoSize:
    sessions: int = 200
    turns: int = 40
    runs: int = 80
    skills: int = 30


class DemoBuilder:
    """Builds the demo rows from one seed; ``write`` inserts them in batches."""

    def __init__(self, size: DemoSize, seed: int, anchor: datetime) -> None:
        self.size, self.anchor = size, anchor
        self.rng = random.Random(seed)  # noqa: S311 (demo data, reproducible on purpose)
        self.store = RuntimeMemoryStore()

    def _id(self, moment: datetime) -> str:
        """A UUIDv7-shaped id from the row's time and the seeded generator."""
        millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
        rand = self.rng.getrandbits(74)
        value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
        return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))

    def _ago(self, max_days: float) -> datetime:
        return self.anchor - timedelta(seconds=self.rng.uniform(0, max_days * 86400))

    def write(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
        """Insert every demo row; return the number written per table."""
        counts: dict[str, int] = {}
        steps = [
            ("profiles", self._profiles),
            ("workflows", self._workflows),
            ("promotion flow", self._promotion_flow),
            ("conversations", self._conversations),
        ]
        for label, build in steps:
            for model, rows, done, total in build():
                written = self.store.bulk_insert(model, rows)
                counts[model._meta.db_table] = counts.get(model._meta.db_table, 0) + written
                if progress:
                    progress(label, done, total)
        return counts

    # --- conversations ------------------------------------------------------------------

    def _conversations(self) -> Iterator[tuple]:
        total, chunk = self.size.sessions, 500
        for start in range(0, total, chunk):
            sessions, turns = [], []
            for n in range(start, min(start + chunk, total)):
                session, session_turns = self._session(n, total)
                sessions.append(session)
                turns.extend(session_turns)
            yield Session, sessions, None, None
            yield Turn, turns, min(start + chunk, total), total

    def _session(self, n: int, total: int) -> tuple[tuple, list[tuple]]:
        rng = self.rng
        # Older sessions first; the newest few are still active.
        begins = self.anchor - timedelta(minutes=(total - n) * 7 + rng.randint(0, 5))
        active = n >= total - 3
        session_id = self._id(begins)
        moment, turns = begins, []
        for index in range(self.size.turns):
            moment += timedelta(seconds=rng.randint(2, 40))
            role, content, meta = self._turn(index)
            turns.append(
                (
                    self._id(moment),
                    session_id,
                    index,
                    role,
                    content,
                    max(1, len(content) // 4),
                    format_iso(moment),
                    meta,
                )
            )
        metadata = {"locale": rng.choice(LOCALES), "client": rng.choice(["tui", "web", "sdk"])}
        session = (
            session_id,
            rng.choice(ACTORS),
            rng.choice(CHANNELS),
            format_iso(begins),
            None if active else format_iso(moment + timedelta(seconds=5)),
            "active" if active else rng.choices(["ended", "failed"], [19, 1])[0],
            dump_json(metadata),
        )
        return session, turns

    def _turn(self, index: int) -> tuple[str, str, str]:
        rng = self.rng
        if index == 0:
            return "system", rng.choice(SYSTEM_LINES), "{}"
        role = rng.choices(["user", "assistant", "tool", "agent"], [4, 4, 2, 1])[0]
        n = rng.randint(1, 40)
        if role == "user":
            return role, rng.choice(USER_LINES), "{}"
        if role == "assistant":
            return role, rng.choice(ASSISTANT_LINES).format(n=n), dump_json({"model": "tom-2"})
        if role == "agent":
            return role, rng.choice(AGENT_LINES).format(n=n), dump_json({"agent": "oxide"})
        tool = rng.choice(TOOLS)
        content = json.dumps({"tool": tool, "args": {"limit": n}, "result": {"rows": n % 7}})
        return role, content, dump_json({"tool": tool, "ms": rng.randint(3, 900)})

    # --- workflows ----------------------------------------------------------------------

    def _workflows(self) -> Iterator[tuple]:
        rng, total = self.rng, self.size.runs
        runs, steps, events = [], [], []
        for n in range(total):
            name = rng.choice(list(WORKFLOWS))
            begins = self.anchor - timedelta(minutes=(total - n) * 37)
            live = n >= total - 3
            status = (
                rng.choice(["running", "queued"])
                if live
                else rng.choices(["succeeded", "failed", "aborted"], [16, 3, 1])[0]
            )
            run_id = self._id(begins)
            moment = begins
            names = WORKFLOWS[name]
            last_step = len(names) - 1
            if status == "queued":
                names = []
            for index, step_name in enumerate(names):
                step_begins = moment + timedelta(seconds=rng.randint(1, 5))
                moment = step_begins + timedelta(seconds=rng.randint(2, 240))
                is_last = index == last_step
                if status == "running" and is_last:
                    step_status, finished = "running", None
                elif status in ("failed", "aborted") and is_last:
                    step_status, finished = status if status == "failed" else "skipped", moment
                else:
                    step_status, finished = "succeeded", moment
                step_id = self._id(step_begins)
                steps.append(
                    (
                        step_id,
                        run_id,
                        index,
                        step_name,
                        step_status,
                        format_iso(step_begins),
                        finished and format_iso(finished),
                        dump_json({"attempt": 1, "items": rng.randint(0, 500)}),
                    )
                )
                for _ in range(rng.randint(0, 3)):
                    events.append(self._event(run_id, step_id, step_begins, moment))
                if step_status == "failed":
                    events.append(self._event(run_id, step_id, moment, moment, level="critical"))
            events.append(self._event(run_id, None, begins, begins, level="low"))
            finished = None if live else moment + timedelta(seconds=1)
            runs.append(
                (
                    run_id,
                    name,
                    rng.choice(["cron", "manual", "api", "agent"]),
                    rng.choice(["scheduler", "tom", "oxide", "alice"]),
                    status,
                    format_iso(begins),
                    finished and format_iso(finished),
                    dump_json({"batch": n, "dry_run": rng.random() < 0.1}),
                )
            )
        yield WorkflowRun, runs, None, None
        yield WorkflowStep, steps, None, None
        yield TaskEvent, events, total, total

    def _event(self, run_id, step_id, earliest, latest, level=None) -> tuple:
        rng = self.rng
        level = level or rng.choices(list(LEVEL_WEIGHTS), list(LEVEL_WEIGHTS.values()))[0]
        span = max(0.0, (latest - earliest).total_seconds())
        moment = earliest + timedelta(seconds=rng.uniform(0, span))
        messages = {
            "low": "progress checkpoint",
            "medium": "retrying a slow dependency",
            "high": "step exceeded its error budget",
            "critical": "policy guard stopped the step",
        }
        return (
            self._id(moment),
            run_id,
            step_id,
            EVENT_FOR_LEVEL[level] if rng.random() < 0.85 else "approval",
            level,
            messages[level],
            dump_json({"latency_ms": rng.randint(5, 5000), "host": f"worker-{rng.randint(1, 4)}"}),
            format_iso(moment),
        )

    # --- skills, proposals, validations, approvals, deploys ----------------------------

    def _promotion_flow(self) -> Iterator[tuple]:
        rng = self.rng
        skills, proposals, validations, approvals, deploys, evidence = [], [], [], [], [], []
        rule = current_rule()
        for n in range(self.size.skills):
            learned = self._ago(60)
            skill_id = self._id(learned)
            skills.append(
                (
                    skill_id,
                    f"skill-{n:03d}-{rng.choice(['summarise', 'triage', 'retry', 'escalate'])}",
                    rng.choice(["Summarise failed runs", "Triage alerts", "Tune retries"]),
                    rng.choice(["conversation", "doc", "external"]),
                    f"session:{n}",
                    round(rng.uniform(0.5, 0.99), 2),
                    format_iso(learned),
                    "active",
                    "{}",
                )
            )
            status = PROPOSAL_STATUSES[n % len(PROPOSAL_STATUSES)]
            risk = Level.values[(n // len(PROPOSAL_STATUSES)) % len(Level.values)]
            drafted = learned + timedelta(hours=rng.randint(1, 48))
            proposal_id = self._id(drafted)
            moment = drafted
            if status != "drafted" or rng.random() < 0.5:
                moment += timedelta(minutes=rng.randint(5, 90))
                passed = status != "drafted"
                checks = (1, 1, 1 if passed else 0, 1)
                validations.append(
                    (
                        self._id(moment),
                        proposal_id,
                        rng.choice(["ci", "oxide"]),
                        *checks,
                        dump_json({"tests": rng.randint(40, 400), "duration_s": 31}),
                        format_iso(moment),
                    )
                )
            document = dump_json(self._proposal_document(n))
            if status in ("approved", "promoted", "rejected"):
                link = None
                needed = rule.required_for(risk)
                for kind in needed:
                    moment += timedelta(minutes=rng.randint(10, 300))
                    rejects = status == "rejected" and kind == needed[-1]
                    approval = Approval(
                        self._id(moment),
                        proposal_id,
                        f"{kind}-lead",
                        kind,
                        "rejected" if rejects else "approved",
                        "Too broad: narrow the patch to one module." if rejects else None,
                        format_iso(moment),
                    )
                    link = audit.next_link(
                        approval,
                        link,
                        validation_id=validations[-1][0],
                        proposal_sha256=proposal_digest(document),
                        risk_level=risk,
                    )
                    approvals.append(RuntimeMemoryStore.row_values(approval))
                    evidence.append(RuntimeMemoryStore.row_values(link))
            if status == "promoted":
                if rng.random() < 0.3:
                    moment += timedelta(minutes=20)
                    deploys.append(self._deploy(proposal_id, moment, "rolled_back"))
                moment += timedelta(minutes=30)
                deploys.append(self._deploy(proposal_id, moment, "succeeded"))
            proposals.append(
                (
                    proposal_id,
                    skill_id,
                    rng.choice(["oxide", "oxide", "human"]),
                    rng.choice(["code_patch", "config_change", "policy_change"]),
                    document,
                    round(rng.uniform(0.6, 1.0), 2),
                    risk,
                    status,
                    format_iso(drafted),
                    format_iso(moment),
                )
            )
        yield Skill, skills, None, None
        yield Proposal, proposals, None, None
        yield ValidationResult, validations, None, None
        yield Approval, approvals, None, None
        yield ApprovalEvidence, evidence, None, None
        yield DeployOutcome, deploys, self.size.skills, self.size.skills

    def _deploy(self, proposal_id: str, moment: datetime, status: str) -> tuple:
        return (
            self._id(moment),
            proposal_id,
            self.rng.choice(["tom-runtime", "oxide-worker"]),
            f"deploy-{self.rng.randint(1000, 9999)}",
            status,
            "Rolled back: error rate rose." if status == "rolled_back" else "Healthy after 30 min.",
            dump_json({"error_rate": round(self.rng.uniform(0, 0.05), 4), "p95_ms": 180}),
            format_iso(moment),
        )

    def _proposal_document(self, n: int) -> dict:
        return {
            "summary": f"Promote skill {n} to deterministic logic",
            "files": [f"tom/skills/skill_{n}.py"],
            "diff": (
                f"--- a/tom/skills/skill_{n}.py\n+++ b/tom/skills/skill_{n}.py\n"
                "@@ -1,3 +1,3 @@\n def run(ctx):\n-    return ask_model(ctx)\n"
                "+    return summarise(ctx.failed_runs)\n"
            ),
        }

    # --- profiles -----------------------------------------------------------------------

    def _profiles(self) -> Iterator[tuple]:
        plans = [
            (BehaviorProfile, "tom", 4, self._behavior),
            (BehaviorProfile, "oxide", 2, self._behavior),
            (PersonalityProfile, "tom", 3, self._personality),
            (PersonalityProfile, "oxide", 2, self._personality),
        ]
        for model, name, versions, document in plans:
            starts = [self.anchor - timedelta(days=30 * (versions - v)) for v in range(versions)]
            rows = []
            for v, begins in enumerate(starts, start=1):
                ends = starts[v] if v < versions else None
                rows.append(
                    (
                        self._id(begins),
                        name,
                        v,
                        dump_json(document(v)),
                        f"Version {v}: {'initial profile' if v == 1 else 'tuned after review'}",
                        f"review-{100 + v}",
                        format_iso(begins),
                        ends and format_iso(ends),
                        format_iso(begins - timedelta(hours=2)),
                        "profile-admin" if v > 1 else "bootstrap",
                    )
                )
            yield model, rows, None, None

    def _behavior(self, version: int) -> dict:
        return {
            "escalation": {"threshold": round(0.9 - version * 0.05, 2), "notify": ["ops"]},
            "guardrails": ["no irreversible action without approval"]
            + (["cite workflow ids"] if version > 1 else []),
            "execution_style": "cautious" if version < 3 else "balanced",
            "max_retries": 2 + version,
        }

    def _personality(self, version: int) -> dict:
        return {
            "tone": ["formal", "warm", "concise"][(version - 1) % 3],
            "traits": {"curiosity": 0.5 + version / 10, "patience": 0.8},
            "adaptive": {"mirror_language": version > 1},
        }
