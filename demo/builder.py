"""Deterministic demo data for every v1 table, written in bulk.

The same seed and anchor always give the same rows (ids included), so a demo
database, a benchmark database and a bug report can be rebuilt exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory_app.accounts import DEMO_USERS
from memory_app.jsontext import dump_json
from memory_app.profiles.models import BehaviorProfile, PersonalityProfile
from memory_app.promotion import decision_log, evidence_chain
from memory_app.promotion.models import (
    Approval,
    ApprovalEvidence,
    AuditLeaf,
    DeployOutcome,
    Override,
    Proposal,
    Skill,
    ValidationResult,
)
from memory_app.promotion.rule import current_rule, evaluate, proposal_digest
from memory_app.runtime.models import Session, TaskEvent, Turn, WorkflowRun, WorkflowStep
from memory_app.store import RuntimeMemoryStore
from memory_app.timeutil import format_iso

ACTORS = ["tom"] * 6 + ["oxide"] * 3 + ["user", "system"]
CHANNELS = ["cli", "api", "sdk", "cron"]
LOCALES = ["en-GB", "fr-FR", "de-DE", "ru-RU", "ja-JP", "zh-CN"]
# Exchanges: a question, the tool call it needs (or none), then the answer to it, in the
# question's language; {n} is a number the seeded generator picks.
EXCHANGES = {
    "en": [
        ("Can you summarise yesterday's failed deploys?", "search_runs",
         "{n} deploys failed yesterday; most stopped in the test step."),
        ("Why did the nightly digest take so long?", "fetch_metrics",
         "The digest waited {n} seconds on the search index; a smaller batch would help."),
        ("Which behavior profile was active when the escalation happened?", "read_profile",
         "Version {n} of the behavior profile was in effect at that moment."),
        ("Draft a config change to lower the retry budget.", None,
         "Drafted: retries go from {n} to 3; it waits for a policy review."),
    ],
    "de": [
        ("Wie viele Workflows sind heute fehlgeschlagen?", "search_runs",
         "Heute sind {n} Workflows fehlgeschlagen, die meisten beim Schritt „build“."),
        ("Welche Vorschläge warten auf eine Sicherheitsprüfung?", "list_proposals",
         "{n} Vorschläge warten auf die Sicherheitsprüfung; zwei davon sind kritisch."),
    ],
    "fr": [
        ("Résumé des décisions de la semaine, s'il te plaît.", "list_proposals",
         "Voici les {n} décisions de la semaine, la plus récente en premier."),
        ("Pourquoi le café-digest a-t-il échoué cette nuit ?", "search_runs",
         "L'étape « deliver » a expiré après {n} secondes."),
    ],
    "ru": [
        ("Покажи последние ошибки в рабочих процессах.", "search_runs",
         "Нашёл {n} ошибок; две из них критические."),
        ("Какой профиль поведения сейчас активен?", "read_profile",
         "Сейчас активна версия {n} профиля поведения."),
    ],
    "zh": [
        ("请列出等待审批的高风险提案。", "list_proposals", "有 {n} 个高风险提案正在等待审批。"),
        ("昨晚的摘要任务为什么这么慢？", "fetch_metrics", "搜索索引等待了 {n} 秒，建议减小批量。"),
    ],
    "ja": [
        ("昨日のワークフローの失敗をまとめてください。", "search_runs",
         "昨日は {n} 件の失敗がありました。ほとんどがテスト段階です。"),
        ("今有効な人格プロファイルはどれですか？", "read_profile",
         "現在はバージョン {n} の人格プロファイルが有効です。"),
    ],
}  # fmt: skip
LANGUAGE_OF_LOCALE = {"en-GB": "en", "de-DE": "de", "fr-FR": "fr", "ru-RU": "ru",
                      "ja-JP": "ja", "zh-CN": "zh"}  # fmt: skip
# A few sessions are long enough to page (over 300 turns), one holds turns over 10 KB.
LONG_SESSION_TURNS = 320
LONG_EVERY = 97
SYSTEM_LINES = [
    "You are ToM, a careful assistant. Escalate anything irreversible.",
    "Follow the active behavior profile; cite workflow ids when you refer to runs.",
]
AGENT_LINES = [
    "O.X.I.D.E noticed a repeated pattern and drafted skill {n}.",
    "Validation queued for proposal batch {n}.",
]
WORKFLOWS = {
    "nightly-digest": ["collect", "rank", "summarise", "deliver"],
    "skill-distill": ["scan-sessions", "cluster", "draft-skill"],
    "memory-compaction": ["snapshot", "compact", "verify"],
    "proposal-validate": ["checkout", "build", "lint", "test", "policy"],
    "profile-refresh": ["diff", "review", "publish"],
}
LEVEL_WEIGHTS = {"low": 60, "medium": 25, "high": 10, "critical": 5}
EVENT_FOR_LEVEL = {"low": "info", "medium": "warn", "high": "error", "critical": "policy"}


@dataclass(frozen=True)
class Scenario:
    """A proposal's story: its risk, what happened (in order), and either how long it has
    waited for a decision or how many days before the anchor its story ended.

    Fixed ages, not random ones, so each story shows the same state at any anchor: an
    approval's expiry depends on its age, and the demo must show both live and expired
    approvals whatever day it is built on.
    """

    risk: str
    steps: tuple[tuple[str, str], ...]
    waits_minutes: int | None = None  # None: decided ``ended_days_ago`` days before the anchor
    ended_days_ago: int = 0


PASS, FAIL = ("validate", "pass"), ("validate", "fail")
ROLLED_BACK = ("deploy", "rolled_back")
HUMAN, POLICY, SECURITY = ("approve", "human"), ("approve", "policy"), ("approve", "security")
BREAK_GLASS = ("override", "Outage: the retry storm needs this fix before the review is done.")
SCENARIOS = [
    Scenario("low", (), waits_minutes=12),  # drafted, no validation yet
    Scenario("high", (FAIL,), waits_minutes=95),  # failed checks
    Scenario("low", (PASS,), waits_minutes=30),  # waiting for human
    Scenario("medium", (PASS, HUMAN), waits_minutes=6 * 60),  # waiting for policy
    Scenario("high", (PASS, HUMAN, POLICY), waits_minutes=26 * 60),  # waiting for security
    # A superuser bypassed policy and security (within the 30 days a high-risk decision counts).
    Scenario("high", (PASS, HUMAN, BREAK_GLASS), ended_days_ago=5),
    Scenario("critical", (PASS, HUMAN, POLICY, SECURITY), waits_minutes=4 * 24 * 60),  # ops
    Scenario("medium", (PASS, HUMAN, PASS), waits_minutes=50),  # a stale decision
    Scenario("high", (PASS, HUMAN, ("reject", "policy")), ended_days_ago=10),  # rejected
    Scenario("medium", (PASS, HUMAN, POLICY), ended_days_ago=20),  # approved, not deployed
    Scenario("low", (PASS, HUMAN, ("deploy", "succeeded")), ended_days_ago=45),  # promoted
    # Rolled back after promotion: approved again, no longer promoted.
    Scenario(
        "high",
        (PASS, HUMAN, POLICY, SECURITY, ("deploy", "succeeded"), ROLLED_BACK),
        ended_days_ago=12,
    ),
    # Approved 40 days ago at high risk (30 days), never deployed: the approvals expired.
    Scenario("high", (PASS, HUMAN, POLICY, SECURITY), ended_days_ago=40),
]


@dataclass
class DemoSize:
    sessions: int = 200
    turns: int = 40
    runs: int = 80
    skills: int = 30


def _built_ahead[T](batches: Iterator[T]) -> Iterator[T]:
    """``batches``, the next one built in a second thread while the caller writes the one
    before: SQLite inserts and indexes a batch in single statements, without Python's
    lock, so building and writing overlap on two cores. The batches are the same, and
    built in the same order."""
    with ThreadPoolExecutor(max_workers=1) as builder:
        ahead = builder.submit(next, batches, None)
        while (batch := ahead.result()) is not None:
            ahead = builder.submit(next, batches, None)
            yield batch


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
        # str(uuid.UUID(int=...)), spelled out: a million turns each need one.
        h = f"{value | (rand & ((1 << 62) - 1)):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def batches(self) -> Iterator[tuple]:
        """Every demo row, built in batches: (label, model, rows, done, total), each row a
        tuple in the table's column order; every time in them is at or before the anchor."""
        steps = [
            ("profiles", self._profiles),
            ("workflows", self._workflows),
            ("promotion flow", self._promotion_flow),
            ("conversations", self._conversations),
        ]
        return ((label, *batch) for label, build in steps for batch in build())

    def write(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
        """Insert every demo row; return the number written per table."""
        counts: dict[str, int] = {}
        for label, model, rows, done, total in _built_ahead(self.batches()):
            written = self.store.bulk_insert(model, rows)
            counts[model._meta.db_table] = counts.get(model._meta.db_table, 0) + written
            if progress:
                progress(label, done, total)
        self.store.settle_search()
        # The demo's decisions, validations, deploys and profile versions enter the
        # decision log as the store's own would.
        counts[AuditLeaf._meta.db_table] = decision_log.take_in()
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
        locale = rng.choice(LOCALES)
        language = LANGUAGE_OF_LOCALE[locale]
        length = LONG_SESSION_TURNS if n % LONG_EVERY == LONG_EVERY - 1 else self.size.turns
        huge = n == total - 4  # one ended session with tool results over 10 KB
        dialogue = list(self._dialogue(language, length, huge))
        gaps = [timedelta(seconds=rng.randint(2, 40)) for _ in dialogue]
        # A long session started early enough to have ended (5 s after its last turn) by
        # the anchor: no demo row lies after it.
        begins = min(begins, self.anchor - sum(gaps, timedelta(seconds=5)))
        session_id = self._id(begins)
        moment, turns = begins, []
        for index, ((role, content, meta), gap) in enumerate(zip(dialogue, gaps, strict=True)):
            moment += gap
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
        metadata = {"locale": locale, "client": rng.choice(["tui", "web", "sdk"])}
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

    def _dialogue(self, language: str, length: int, huge: bool) -> Iterator[tuple[str, str, str]]:
        """A system prompt, then exchanges: question, tool call, answer; ``length`` turns."""
        rng = self.rng
        yield "system", rng.choice(SYSTEM_LINES), "{}"
        count = 1
        while count < length:
            question, tool, answer = rng.choice(EXCHANGES[language])
            n = rng.randint(2, 40)
            exchange = [("user", question, "{}")]
            if tool:
                rows = [{"id": f"run-{n}-{i}", "status": "failed"} for i in range(n % 5 + 1)]
                if huge:
                    rows = [{"id": f"run-{i}", "log": "step failed: timeout " * 12}
                            for i in range(60)]  # fmt: skip
                result = json.dumps({"tool": tool, "args": {"limit": n}, "result": rows})
                exchange.append(("tool", result, dump_json({"tool": tool, "ms": n * 13})))
            exchange.append(("assistant", answer.format(n=n), dump_json({"model": "tom-2"})))
            if rng.random() < 0.1:
                agent_line = rng.choice(AGENT_LINES).format(n=n)
                exchange.append(("agent", agent_line, dump_json({"agent": "oxide"})))
            yield from exchange[: length - count]
            count += len(exchange)

    # --- workflows ----------------------------------------------------------------------

    def _workflows(self) -> Iterator[tuple]:
        """Runs, their steps and events, in batches (one pass of the seeded random numbers,
        whose order is what keeps the demo deterministic, hence one function)."""
        rng, total = self.rng, self.size.runs
        runs, steps, events = [], [], []
        for n in range(total):
            name = rng.choice(list(WORKFLOWS))
            # 37 minutes apart: a run's at most five steps take at most 5 x 245 s, so the
            # newest run has finished (or still runs) before the anchor.
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
        """Proposals in every state a reviewer should see (``SCENARIOS``), in turn.

        Each one's status is what the governance rule derives from its rows; decisions
        carry evidence chained by ``evidence_chain.next_link``, as the store writes them.

        One function because the seeded random numbers are drawn in this order: cutting it
        would change every demo database.
        """
        rng = self.rng
        skills, proposals, validations, approvals, deploys, evidence = [], [], [], [], [], []
        overrides = []
        rule = current_rule()
        for n in range(self.size.skills):
            scenario = SCENARIOS[n % len(SCENARIOS)]
            waiting = scenario.waits_minutes is not None
            step = timedelta(minutes=1 if waiting else 45)
            if waiting:  # drafted minutes to days ago, still waiting
                drafted = self.anchor - timedelta(minutes=scenario.waits_minutes + n)
            else:  # the story's last step lies its days (and up to 12 hours) before the anchor
                ended = self.anchor - timedelta(
                    days=scenario.ended_days_ago, seconds=rng.uniform(0, 12 * 3600)
                )
                drafted = ended - step * len(scenario.steps)
            learned = drafted - timedelta(hours=rng.randint(1, 48))
            skill_id = self._id(learned)
            skill = Skill(
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
            proposal_id = self._id(drafted)
            document = dump_json(self._proposal_document(n))
            proposal = Proposal(
                proposal_id,
                skill_id,
                rng.choice(["oxide", "oxide", "human"]),
                rng.choice(["code_patch", "config_change", "policy_change"]),
                document,
                round(rng.uniform(0.6, 1.0), 2),
                scenario.risk,
                "drafted",
                format_iso(drafted),
                format_iso(drafted),
            )
            proposal.skill = skill  # the rule reads it (its proposer), not yet stored
            rows = {
                "validations": [], "approvals": [], "deploys": [], "evidence": {}, "overrides": [],
            }  # fmt: skip
            moment, link = drafted, None
            for kind, value in scenario.steps:
                moment += step
                if kind == "validate":
                    checks = (1, 1, 1 if value == "pass" else 0, 1)
                    rows["validations"].append(
                        ValidationResult(
                            self._id(moment), proposal_id, rng.choice(["ci", "oxide"]), *checks,
                            dump_json({"tests": rng.randint(40, 400), "duration_s": 31}),
                            format_iso(moment),
                        )
                    )  # fmt: skip
                elif kind == "deploy":
                    rows["deploys"].append(DeployOutcome(*self._deploy(proposal_id, moment, value)))
                elif kind == "override":  # by the demo superuser, as the dashboard records it
                    rows["overrides"].append(
                        Override(
                            self._id(moment), proposal_id, DEMO_USERS[0][0], value,
                            format_iso(moment), rows["validations"][-1].pk,
                            proposal_digest(document), scenario.risk,
                        )
                    )  # fmt: skip
                else:  # a decision: "approve" or "reject" of a type
                    rejects = kind == "reject"
                    approval = Approval(
                        self._id(moment), proposal_id, f"{value}-lead", value,
                        "rejected" if rejects else "approved",
                        "Too broad: narrow the patch to one module." if rejects else None,
                        format_iso(moment),
                    )  # fmt: skip
                    link = evidence_chain.next_link(
                        approval,
                        link,
                        validation_id=rows["validations"][-1].pk,
                        proposal_sha256=proposal_digest(document),
                        risk_level=scenario.risk,
                    )
                    rows["approvals"].append(approval)
                    rows["evidence"][approval.pk] = link
            verdict = evaluate(
                proposal, rows["validations"], rows["approvals"], rows["deploys"],
                rows["evidence"], rows["overrides"], now=self.anchor, rule=rule,
            )  # fmt: skip
            proposal.status, proposal.updated_at = verdict.status, format_iso(moment)
            skills.append(RuntimeMemoryStore.row_values(skill))
            proposals.append(RuntimeMemoryStore.row_values(proposal))
            validations += [RuntimeMemoryStore.row_values(v) for v in rows["validations"]]
            approvals += [RuntimeMemoryStore.row_values(a) for a in rows["approvals"]]
            evidence += [RuntimeMemoryStore.row_values(e) for e in rows["evidence"].values()]
            deploys += [RuntimeMemoryStore.row_values(d) for d in rows["deploys"]]
            overrides += [RuntimeMemoryStore.row_values(o) for o in rows["overrides"]]
        yield Skill, skills, None, None
        yield Proposal, proposals, None, None
        yield ValidationResult, validations, None, None
        yield Approval, approvals, None, None
        yield ApprovalEvidence, evidence, None, None
        yield Override, overrides, None, None
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
