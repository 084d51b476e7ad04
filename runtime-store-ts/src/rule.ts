/**
 * The governance rule, as memory_app/promotion/rule.py applies it to a proposal's rows: which
 * decisions count, the status they derive, and why a new decision would be refused. The
 * rule's settings are contract/governance.json, or the file TOM_GOVERNANCE names, as on the
 * Python side.
 */
import { readFileSync } from "node:fs";

import { contractText, people } from "./contract.js";
import { timeOf } from "./countedTime.js";
import type { Row } from "./engines.js";
import { digest } from "./evidenceChain.js";
import { instantKey } from "./times.js";
import { LEVELS, strictJsonObject, textOf } from "./values.js";

const OPEN_STATUSES = ["drafted", "validated"];
const TERMINAL_STATUSES = ["rejected", "promoted"];

/** The governance rule: the approval types each risk level requires, the levels needing
 * distinct people, and how long an approval counts. */
export interface Rule {
  required: Record<string, string[]>; distinct_people: string[];
  expire_after_days?: Record<string, number | null>;
}
const rules = new Map<string, Rule>();
/** The rule the dashboard applies too: a JSON file of the contract's form named by
 * TOM_GOVERNANCE (read as the dashboard's settings read it: an empty value names none), else
 * the contract's governance.json; so both stores derive one status from the same rows. */
export function contractRule(): Rule {
  const named = process.env.TOM_GOVERNANCE || "";
  let rule = rules.get(named);
  if (rule === undefined) {
    rule = JSON.parse(named ? readFileSync(named, "utf8") : contractText("governance.json")) as Rule;
    rules.set(named, rule);
  }
  return rule;
}

export interface Verdict {
  status: string; refusal: string; approvalRefusal: string; latestValidation: Row | null;
  /** Who proposed it (``proposers``): they approve nothing of it. */
  proposers: string[];
}

/** A proposal's governed rows, each in counted-time order (countedTime.ts). */
export interface ProposalRows {
  validations: Row[]; approvals: Row[]; deploys: Row[]; overrides: Row[];
  /** Each approval's evidence by its id. */
  evidence: Map<unknown, Row>;
  /** The proposal's skill (null when its link dangles): its metadata may name the proposer. */
  skill: Row | null;
}

/** The governance rule, as memory_app/promotion/rule.py applies it to a proposal's rows. */
export function evaluate(proposal: Row, rows: ProposalRows, rule: Rule, now: Date): Verdict {
  const { validations, approvals, deploys, overrides, evidence } = rows;
  const named = proposers(proposal, rows.skill);
  const scale = LEVELS as readonly string[];
  const rank = (level: unknown) => (scale.includes(String(level)) ? scale.indexOf(String(level)) : scale.length - 1);
  const levels = [
    proposal.risk_level,
    ...approvals.map((a) => evidence.get(a.id)?.risk_level).filter((l) => l),
    ...overrides.map((o) => o.risk_level).filter((l) => l),
  ];
  const risk = scale[Math.max(...levels.map(rank))] as string;
  const required = rule.required[risk] ?? rule.required.critical ?? [];
  const distinct = rule.distinct_people.includes(risk) || !(risk in rule.required);
  const latest = validations.at(-1) ?? null;
  const currentDigest = digest(proposal.proposal_json);
  const latestPerKey = new Map<string, unknown>();
  for (const a of approvals) latestPerKey.set(`${people.key(a.approver)}\u0000${a.approval_type}`, a.id);
  const expiry = rule.expire_after_days ?? {};
  const days = risk in expiry ? expiry[risk] : expiry.critical;
  const agedAt = agedAtMillis(deploys, now.getTime());
  // Evidence (an evidence row, or a break-glass decision's own columns) against now.
  const staleEvidence = (ev: Row) => (latest !== null && ev.validation_id !== latest.id)
    || ev.proposal_sha256 !== currentDigest
    || (ev.risk_level !== null && ev.risk_level !== textOf(proposal.risk_level));
  const expires = days !== null && days !== undefined;
  /** Whether an approval (or break-glass decision) by ``who`` can count: it names a person
   * other than the proposer, and at its time the latest validation passed every check. */
  const fit = (who: unknown, decision: Row): boolean => {
    if (people.key(who) === "" || ownProposalRefusal(named, textOf(who)) !== "") return false;
    const given = countedTime(decision, "decided_at");
    const before = validations.filter((v) => { const t = countedTime(v, "validated_at"); return t !== "" && t <= given; });
    const inEffect = before.at(-1);
    return inEffect !== undefined && allPassed(inEffect);
  };
  const counted = approvals.filter((a) => {
    const ev = evidence.get(a.id);
    let stale = false;
    if (ev) {
      stale = staleEvidence(ev);
    } else if (latest !== null && countedTime(latest, "validated_at") > countedTime(a, "decided_at")) {
      stale = true;
    }
    const superseded = latestPerKey.get(`${people.key(a.approver)}\u0000${a.approval_type}`) !== a.id;
    if (a.decision !== "approved") return !stale && !superseded;
    // Another writer may have recorded the proposer's own approval, one naming nobody, or
    // one after failing checks: none counts.
    const expired = expires && isOlderThan(countedTime(a, "decided_at"), agedAt, days);
    return !stale && !superseded && fit(a.approver, a) && !expired;
  });
  const rejected = counted.some((a) => a.decision === "rejected");
  const approvers = new Map<string, string[]>();  // type -> its approvers' person keys
  for (const a of counted) {
    if (a.decision === "approved" && required.includes(String(a.approval_type))) {
      approvers.set(String(a.approval_type), [...(approvers.get(String(a.approval_type)) ?? []), people.key(a.approver)]);
    }
  }
  const satisfied = assign(required, approvers, distinct);
  // A counted break-glass decision stands in for every missing type.
  const bypassed = overrides.some((o) => !staleEvidence(o) && fit(o.actor, o)
    && !(expires && isOlderThan(countedTime(o, "decided_at"), agedAt, days)));
  const missing = bypassed ? [] : required.filter((t) => !satisfied.has(t));
  const passed = latest !== null && allPassed(latest);
  let status: string;
  if (rejected) status = "rejected";
  else if (!missing.length) status = deploys.at(-1)?.status === "succeeded" ? "promoted" : "approved";
  else status = passed ? "validated" : "drafted";
  const stored = textOf(proposal.status);
  let refusal = "";
  if (!OPEN_STATUSES.includes(status)) {
    refusal = `The proposal is ${status}: decisions are accepted only while it is drafted or validated.`;
  } else if (stored !== status && TERMINAL_STATUSES.includes(stored)) {
    refusal = `Decisions are refused while the stored status '${stored}' disagrees with the rows ('${status}'): correct it, or record the rows that explain it.`;
  }
  let approvalRefusal = refusal;
  if (!approvalRefusal && !passed) {
    approvalRefusal = latest
      ? "The latest validation does not pass all four checks (build, lint, test, policy): only a rejection can be recorded."
      : "The proposal has no validation yet: only a rejection can be recorded.";
  }
  return { status, refusal, approvalRefusal, latestValidation: latest, proposers: named };
}

function allPassed(validation: Row): boolean {
  return [validation.build_pass, validation.lint_pass, validation.test_pass, validation.policy_pass].every((c) => c === 1);
}

/** The instant the rule places a governed row at ("" when unreadable): the one home of
 * which time of a row the rule reads, its counted time (countedTime.ts; Python:
 * memory_app/promotion/rule.py counted_time). */
function countedTime(row: Row, column: string): string {
  return timeOf(row, column);
}

/** The moment approvals are aged at: a promoted proposal's deploy, else ``now``. */
function agedAtMillis(deploys: Row[], now: number): number {
  const latest = deploys.at(-1);
  if (latest?.status !== "succeeded") return now;
  const deployed = Date.parse(countedTime(latest, "deployed_at"));
  return Number.isNaN(deployed) || deployed >= now ? now : deployed;
}

/** Whether a decision is older than ``days`` at ``moment``; an unreadable time is. */
function isOlderThan(decidedAt: unknown, moment: number, days: number): boolean {
  const decided = Date.parse(instantKey(decidedAt));
  return Number.isNaN(decided) || moment - decided > days * 86_400_000;
}

/** Required types each covered by an approver; with distinct people a maximum matching. */
function assign(required: string[], approvers: Map<string, string[]>, distinct: boolean): Map<string, string> {
  const chosen = new Map<string, string>();
  if (!distinct) {
    for (const t of required) {
      const people = approvers.get(t);
      if (people?.length) chosen.set(t, people.at(-1) as string);
    }
    return chosen;
  }
  const holder = new Map<string, string>();
  const augment = (kind: string, seen: Set<string>): boolean => {
    for (const person of [...new Set(approvers.get(kind) ?? [])].reverse()) {
      if (seen.has(person)) continue;
      seen.add(person);
      const held = holder.get(person);
      if (held === undefined || augment(held, seen)) {
        holder.set(person, kind);
        return true;
      }
    }
    return false;
  };
  for (const kind of required) augment(kind, new Set());
  for (const [person, kind] of holder) chosen.set(kind, person);
  return chosen;
}

/** Who proposed ``proposal``: its ``proposed_by``, and the person its skill's metadata names
 * as ``proposed_by`` (a reviewer's finding: the v1 column can only say ``human``). Naming more
 * proposers only narrows who may approve, so no writer gains by it (Python: rule.py proposers). */
export function proposers(proposal: Row, skill: Row | null): string[] {
  const named = [textOf(proposal.proposed_by)];
  const person = skill === null ? undefined : strictJsonObject(skill.metadata_json).proposed_by;
  if (typeof person === "string" && !named.includes(person)) named.push(person);
  return named;
}

/** Why ``approver`` may not approve a proposal of these ``proposers``, or "": nobody approves
 * what they proposed. */
export function ownProposalRefusal(named: string[], approver: string): string {
  const proposer = named.find((p) => people.same(p, approver));
  if (proposer === undefined) return "";
  const who = approver === proposer ? approver : `${JSON.stringify(approver)} (the same person as ${JSON.stringify(proposer)})`;
  return `${who} proposed this and cannot approve their own proposal: another ` +
    "person approves it (a rejection can still be recorded).";
}
