/**
 * RuntimeMemoryStore for TypeScript runtimes: the same rows as tommemory's Python store.
 *
 * SQLite through Node's built-in node:sqlite (no native build). Every write validates
 * its input first and throws NotFound or InvalidInput before anything is written; every
 * write runs in one BEGIN IMMEDIATE transaction, so concurrent writers never interleave.
 * The contract (v1 DDL, governance defaults, conformance scenarios) lives in ../contract.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import {
  type Connection, type Engine, isPostgresUrl, PostgresEngine, type Row, SqliteEngine, type Tx,
} from "./engines.js";
import { attachCountedTimes, inCountedOrder, timeOf } from "./countedTime.js";
import { loadPeople, SAYS_NOTHING } from "./people.js";

export type { Connection, Row } from "./engines.js";

export class StoreError extends Error {}
/** The row a call names does not exist. */
export class NotFound extends StoreError {}
/** A value is not one the v1 contract allows. */
export class InvalidInput extends StoreError {}

const HERE = dirname(fileURLToPath(import.meta.url));
/** The contract folder: beside the package when installed, the repository's otherwise. */
export const CONTRACT_DIR = [join(HERE, "..", "contract"), join(HERE, "..", "..", "contract")]
  .find((dir) => existsSync(join(dir, "v1_schema.sql"))) ?? join(HERE, "..", "contract");

/** Who is the same person, and whether a rejection's notes say something (contract/people.json,
 * contract/visible_text.json). */
export const people = loadPeople(CONTRACT_DIR);
export const ROLES = ["system", "user", "assistant", "tool", "agent"] as const;
export const SESSION_STATUSES = ["active", "ended", "failed"] as const;
export const RUN_STATUSES = ["queued", "running", "failed", "succeeded", "aborted"] as const;
export const STEP_STATUSES = ["queued", "running", "failed", "succeeded", "skipped"] as const;
export const TRIGGER_SOURCES = ["cron", "manual", "api", "agent"] as const;
export const EVENT_TYPES = ["info", "warn", "error", "policy", "approval"] as const;
export const LEVELS = ["low", "medium", "high", "critical"] as const;
export const SOURCE_TYPES = ["conversation", "doc", "external"] as const;
export const SKILL_STATES = ["active", "promoted", "retired"] as const;
export const PROPOSED_BY = ["oxide", "human"] as const;
export const PROPOSAL_TYPES = ["code_patch", "config_change", "policy_change"] as const;
export const VALIDATORS = ["ci", "oxide", "human"] as const;
export const APPROVAL_TYPES = ["policy", "human", "security", "ops"] as const;
export const DECISIONS = ["approved", "rejected"] as const;
export const DEPLOY_STATUSES = ["succeeded", "failed", "rolled_back"] as const;
const OPEN_STATUSES = ["drafted", "validated"];
const TERMINAL_STATUSES = ["rejected", "promoted"];
const GENESIS = "0".repeat(64);

/** The governance rule's defaults, the same file the Python side reads. */
export interface Rule {
  required: Record<string, string[]>; distinct_people: string[];
  expire_after_days?: Record<string, number | null>;
}
export function contractRule(): Rule {
  return JSON.parse(readFileSync(join(CONTRACT_DIR, "governance.json"), "utf8")) as Rule;
}
/** Which rows are decision-log leaves and what a leaf covers (contract/decision_log.json). */
interface DecisionLog {
  kinds: Record<string, { table: string; time: string; columns: string[] }>;
  evidence: { kind: string; table: string; key: string; columns: string[] };
  left_out: Record<string, string[]>;
}
const DECISION_LOG = JSON.parse(readFileSync(join(CONTRACT_DIR, "decision_log.json"), "utf8")) as DecisionLog;

/** JSON as Python's json.dumps(separators=(",", ":"), ensure_ascii=False) writes stored
 * values: big integers exactly, bytes as {"bytes": hex}. (An integral REAL another writer
 * stored reads as "1" here and "1.0" there: contract/README.md.) */
function storedJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `{"bytes":${JSON.stringify(Buffer.from(value).toString("hex"))}}`;
  if (Array.isArray(value)) return `[${value.map(storedJson).join(",")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${storedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The RFC 6962 leaf hash of a logged row, as tommemory_verify/leaves.py and merkle.py make it. */
export function leafHash(kind: string, row: Row, evidence: Row | null): string {
  const leftOut = DECISION_LOG.left_out[kind] ?? [];
  const covered = Object.fromEntries(DECISION_LOG.kinds[kind]!.columns
    .filter((c) => !leftOut.includes(c)).map((c) => [c, row[c] ?? null]));
  const text = storedJson({ kind, row: covered, evidence });
  return createHash("sha256").update(Buffer.from([0])).update(text, "utf8").digest("hex");
}

/** How every connection to the file is set up (contract/connection.json). */
export function contractConnection(): Connection {
  return JSON.parse(readFileSync(join(CONTRACT_DIR, "connection.json"), "utf8")) as Connection;
}
const V1_TABLES: Record<string, string[]> = {
  sessions: ["id", "actor", "channel", "started_at", "ended_at", "status", "metadata_json"],
  conversation_turns: [
    "id", "session_id", "turn_index", "role", "content", "token_count", "created_at", "metadata_json",
  ],
  workflow_runs: [
    "id", "workflow_name", "trigger_source", "initiated_by", "status", "started_at", "finished_at",
    "context_json",
  ],
  workflow_steps: [
    "id", "workflow_run_id", "step_index", "step_name", "status", "started_at", "finished_at",
    "details_json",
  ],
  task_events: [
    "id", "workflow_run_id", "step_id", "event_type", "event_level", "message", "payload_json",
    "created_at",
  ],
  behavior_profiles: [
    "id", "profile_name", "version", "behavior_json", "rationale", "source_ref", "effective_from",
    "effective_to", "created_at", "created_by",
  ],
  personality_profiles: [
    "id", "profile_name", "version", "personality_json", "rationale", "source_ref",
    "effective_from", "effective_to", "created_at", "created_by",
  ],
};
// Clock skew between a caller and this process: a start this little in the past means now.
const START_GRACE_MS = 5_000;
const MAX_INTEGER = 2n ** 63n - 1n;

export interface SessionReplay { session: Row; turns: Row[] }
export interface StepReplay { step: Row; events: Row[] }
export interface WorkflowReplay { run: Row; steps: StepReplay[]; runEvents: Row[] }

// --- values written as the contract says -------------------------------------------------

let lastMillis = 0;
let sequence = 0;

/** An RFC 9562 UUIDv7, monotonic within this process. */
export function uuid7(): string {
  let millis = Date.now();
  if (millis <= lastMillis) {
    millis = lastMillis;
    sequence += 1;
    if (sequence > 0xfff) { millis += 1; sequence = 0; }
  } else {
    sequence = randomBytes(2).readUInt16BE() & 0x3ff;
  }
  lastMillis = millis;
  const bytes = randomBytes(16);
  bytes.writeUIntBE(millis, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ]+(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/** Any ISO-8601 date or date-time as a canonical toISOString() text, or null. */
export function normalizeIso(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value !== "string" || value.length > 64) return null;
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h = "00", mi = "00", s = "00", frac = "", , sign, oh = "00", om = "00"] = m;
  const millis = Number((frac + "000").slice(0, 3));
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis);
  const date = new Date(utc);
  // Date.UTC rolls 2026-02-30 over to March: such a text is not a time.
  if (date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1
      || date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return null;
  }
  const offset = sign ? (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) : 0;
  const instant = new Date(utc - offset * 60_000);
  const year = instant.getUTCFullYear();
  if (year < 1 || year > 9999) return null;
  return instant.toISOString();
}

function number(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidInput(`${what} must be a number; got ${JSON.stringify(value)}`);
  }
  return value;
}

function flag(value: unknown, what: string): number {
  if (value !== 0 && value !== 1 && value !== true && value !== false) {
    throw new InvalidInput(`${what} must be true/false or 0/1; got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

function textOf(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

function digest(proposalJson: unknown): string {
  return createHash("sha256").update(textOf(proposalJson), "utf8").digest("hex");
}

/** The hash of one decision, exactly as memory_app/audit.py computes it. */
export function chainHash(approval: Row, evidence: Row): string {
  const content: unknown[] = [
    evidence.prev_hash, approval.id, approval.proposal_id, approval.approver,
    approval.approval_type, approval.decision, approval.notes, approval.decided_at,
    evidence.seq, evidence.validation_id, evidence.proposal_sha256, evidence.idempotency_token,
  ];
  if (evidence.risk_level !== null && evidence.risk_level !== undefined) content.push(evidence.risk_level);
  return createHash("sha256").update(JSON.stringify(content), "utf8").digest("hex");
}

interface Verdict {
  status: string; refusal: string; approvalRefusal: string; latestValidation: Row | null;
}

/** The governance rule, as memory_app/governance.py applies it to a proposal's rows. */
function evaluate(
  proposal: Row, validations: Row[], approvals: Row[], deploys: Row[],
  evidence: Map<unknown, Row>, overrides: Row[], rule: Rule, now: Date,
): Verdict {
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
    if (people.key(who) === "" || ownProposalRefusal(proposal, textOf(who)) !== "") return false;
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
  return { status, refusal, approvalRefusal, latestValidation: latest };
}

function allPassed(validation: Row): boolean {
  return [validation.build_pass, validation.lint_pass, validation.test_pass, validation.policy_pass].every((c) => c === 1);
}

/** The instant the rule places a governed row at ("" when unreadable): the one home of
 * which time of a row the rule reads, its counted time (countedTime.ts; Python:
 * memory_app/governance.py counted_time). */
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

/** The sort key of a stored time: canonical text, or "" when unreadable (sorts first). */
/** Why ``approver`` may not approve this proposal, or "": nobody approves what they proposed. */
function ownProposalRefusal(proposal: Row, approver: string): string {
  const proposer = textOf(proposal.proposed_by);
  if (!people.same(proposer, approver)) return "";
  const who = approver === proposer ? approver : `${JSON.stringify(approver)} (the same person as ${JSON.stringify(proposer)})`;
  return `${who} proposed this and cannot approve their own proposal: another ` +
    "person approves it (a rejection can still be recorded).";
}

export function instantKey(value: unknown): string {
  return normalizeIso(value) ?? "";
}

/** Whether a version's window [effective_from, effective_to) contains ``moment``; an
 * unreadable bound leaves the window unknown, and an unknown window contains nothing. */
function isActiveAt(version: Row, moment: string): boolean {
  const start = instantKey(version.effective_from);
  if (!start || start > moment) return false;
  if (version.effective_to === null || version.effective_to === "") return true;
  const end = instantKey(version.effective_to);
  return Boolean(end) && end > moment;
}

function text(value: unknown, what: string, required = true): string | null {
  if ((value === undefined || value === null) && !required) return null;
  if (typeof value !== "string" || (required && !value.trim())) {
    throw new InvalidInput(`${what} must be a non-empty text; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A name that names a person: one with visible characters (contract/people.json). */
function person(value: unknown, what: string): string {
  const name = text(value, what) as string;
  if (people.key(name) === "") {
    throw new InvalidInput(`${what} must name a person; ${JSON.stringify(name)} has no visible characters`);
  }
  return name;
}

function choice<T extends string>(value: unknown, choices: readonly T[], what: string): T {
  if (!choices.includes(value as T)) {
    throw new InvalidInput(`${what} must be one of ${choices.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** JSON object text for an object or JSON text; "{}" when absent. */
function jsonObject(value: unknown, what: string): string {
  if (value === undefined || value === null) return "{}";
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new InvalidInput(`${what} is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    const kind = Array.isArray(parsed) ? "list" : parsed === null ? "NoneType" : typeof parsed;
    throw new InvalidInput(`${what} must be a JSON object, got ${kind}`);
  }
  return JSON.stringify(parsed);
}

// --- the store -----------------------------------------------------------------------------

export interface StartSessionOptions {
  channel?: string | null; metadata?: unknown; startedAt?: string | Date; sessionId?: string;
}
export interface EndSessionOptions { status?: string; endedAt?: string | Date }
export interface StartWorkflowRunOptions {
  triggerSource: string; initiatedBy: string; status?: string; context?: unknown;
  startedAt?: string | Date; runId?: string;
}
export interface FinishOptions { status: string; finishedAt?: string | Date }
export interface AddStepOptions {
  status?: string; details?: unknown; startedAt?: string | Date; stepId?: string;
}
export interface AddEventOptions {
  runId?: string | null; stepId?: string | null; payload?: unknown; createdAt?: string | Date;
  eventId?: string;
}
export interface PublishOptions {
  createdBy: string; rationale?: string | null; sourceRef?: string | null;
  effectiveFrom?: string | Date;
}
export interface LearnSkillOptions {
  sourceType: string; confidence: number; sourceRef?: string | null; metadata?: unknown;
  learnedAt?: string | Date; state?: string; skillId?: string;
}
export interface DraftProposalOptions {
  proposedBy: string; proposalType: string; proposal: unknown; riskLevel: string;
  determinismScore?: number | null; createdAt?: string | Date; proposalId?: string;
}
export interface ValidationOptions {
  validator: string; buildPass: boolean | number; lintPass: boolean | number;
  testPass: boolean | number; policyPass: boolean | number; details?: unknown;
  validatedAt?: string | Date;
}
export interface ApprovalOptions {
  approver: string; approvalType: string; decision: string; notes?: string | null;
  decidedAt?: string | Date; idempotencyToken?: string | null;
}
export interface DeployOptions {
  deploymentTarget: string; status: string; deploymentId?: string | null;
  summary?: string | null; metrics?: unknown; deployedAt?: string | Date;
}
export interface RecordedDecision { approval: Row; status: string; duplicate: boolean }
export interface ProposalLineage {
  skill: Row | null; proposal: Row; validations: Row[]; approvals: Row[]; deployOutcomes: Row[];
}
export interface OpenOptions {
  /** The store's clock (tests and replays); the system clock by default. */
  now?: () => Date;
}
export interface AppendTurnOptions {
  tokenCount?: number | null; metadata?: unknown; createdAt?: string | Date; turnId?: string;
}

export class RuntimeMemoryStore {
  private constructor(
    private readonly db: Engine,
    private readonly clock: () => Date,
  ) {}

  /**
   * Open a v1 database: a SQLite file path or a PostgreSQL URL (postgres://...). Without
   * one, DATABASE_URL, else TOM_RUNTIME_DB, else memory/tom_runtime.sqlite, as the
   * dashboard chooses.
   */
  static async open(target?: string, options: OpenOptions = {}): Promise<RuntimeMemoryStore> {
    const chosen = target ?? (process.env.DATABASE_URL?.trim() || undefined)
      ?? process.env.TOM_RUNTIME_DB ?? "memory/tom_runtime.sqlite";
    const engine = isPostgresUrl(chosen)
      ? await PostgresEngine.open(chosen)
      : SqliteEngine.open(chosen, CONTRACT_DIR);
    const store = new RuntimeMemoryStore(engine, options.now ?? (() => new Date()));
    try {
      await store.checkSchema();
    } catch (error) {
      await engine.close();
      throw error;
    }
    return store;
  }

  /**
   * Create the v1 tables in a SQLite file (the seed's step 1), then open it. A PostgreSQL
   * database gets its tables from the dashboard's migrations (python manage.py migrate).
   */
  static async bootstrap(path: string, options: OpenOptions = {}): Promise<RuntimeMemoryStore> {
    if (isPostgresUrl(path)) {
      throw new StoreError(
        "bootstrap makes SQLite files; a PostgreSQL database gets its tables from " +
        "tommemory's migrations (DATABASE_URL=... python manage.py migrate)",
      );
    }
    const engine = SqliteEngine.open(path, CONTRACT_DIR);
    engine.exec(readFileSync(join(CONTRACT_DIR, "v1_schema.sql"), "utf8"));
    engine.exec(readFileSync(join(CONTRACT_DIR, "tommemory_schema.sql"), "utf8"));
    await engine.close();
    return RuntimeMemoryStore.open(path, options);
  }

  /** The engine this store writes: "sqlite" or "postgresql". */
  get engine(): "sqlite" | "postgresql" {
    return this.db.name;
  }

  private now(): string {
    return this.clock().toISOString();
  }

  /** A given time in the canonical form, or the store's clock's now when none is given. */
  private when(value: unknown, what: string): string {
    if (value === undefined || value === null) return this.now();
    const text = normalizeIso(value);
    if (text === null) throw new InvalidInput(`${what} must be an ISO-8601 timestamp; got ${JSON.stringify(value)}`);
    return text;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async checkSchema(): Promise<void> {
    for (const [table, columns] of Object.entries(V1_TABLES)) {
      const found = new Set(await this.db.columns(table));
      const missing = columns.filter((column) => !found.has(column));
      if (found.size === 0 || missing.length) {
        throw new StoreError(
          `not a runtime memory v1 database: table ${table} ${found.size ? `lacks ${missing.join(", ")}` : "is missing"}` +
          " (RuntimeMemoryStore.bootstrap(path) creates the v1 tables in a new file)",
        );
      }
    }
  }

  /** The row, or NotFound; ``lock``: the parent row a write serializes on (PostgreSQL). */
  private async get(tx: Tx, table: string, id: unknown, lock = false): Promise<Row> {
    if (typeof id !== "string" || !id) {
      throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
    }
    const row = await tx.get(`SELECT * FROM "${table}" WHERE id = ?${lock ? tx.forUpdate : ""}`, id);
    if (!row) throw new NotFound(`no ${table} row with id '${id}'`);
    return row;
  }

  /** Refuse an id that names no row, reading only whether it exists; lock it (PostgreSQL). */
  private async lock(tx: Tx, table: string, id: unknown): Promise<void> {
    if (typeof id !== "string" || !id) {
      throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
    }
    if (!(await tx.get(`SELECT 1 FROM "${table}" WHERE id = ?${tx.forUpdate}`, id))) {
      throw new NotFound(`no ${table} row with id '${id}'`);
    }
  }

  /** Insert a row and return it as stored: every column is given, so no read-back. */
  private async insert(tx: Tx, table: string, row: Row): Promise<Row> {
    const columns = V1_TABLES[table] ?? Object.keys(row);
    await tx.run(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
      ...(columns.map((c) => row[c] ?? null) as (string | number | null)[]),
    );
    return Object.fromEntries(columns.map((c) => [c, row[c] ?? null]));
  }

  // --- conversations ---------------------------------------------------------------------

  async startSession(actor: string, options: StartSessionOptions = {}): Promise<Row> {
    const row = {
      id: options.sessionId === undefined ? uuid7() : text(options.sessionId, "id"),
      actor: text(actor, "actor"),
      channel: text(options.channel, "channel", false),
      started_at: this.when(options.startedAt, "started_at"),
      status: "active",
      metadata_json: jsonObject(options.metadata, "metadata"),
    };
    return this.db.write((tx) => this.insert(tx, "sessions", row));
  }

  async endSession(sessionId: string, options: EndSessionOptions = {}): Promise<Row> {
    const status = choice(options.status ?? "ended", SESSION_STATUSES, "session status");
    if (status === "active") throw new InvalidInput("an ended session cannot have status 'active'");
    const endedAt = this.when(options.endedAt, "ended_at");
    return this.db.write(async (tx) => {
      await this.get(tx, "sessions", sessionId, true);
      await tx.run("UPDATE sessions SET status = ?, ended_at = ? WHERE id = ?", status, endedAt, sessionId);
      return this.get(tx, "sessions", sessionId);
    });
  }

  /** Append a turn at the next turn_index of its session (gap-free, unique). */
  async appendTurn(sessionId: string, role: string, content: string, options: AppendTurnOptions = {}): Promise<Row> {
    const chosenRole = choice(role, ROLES, "role");
    if (typeof content !== "string") throw new InvalidInput(`content must be text; got ${typeof content}`);
    const tokens = options.tokenCount;
    if (tokens !== undefined && tokens !== null && (!Number.isInteger(tokens) || tokens < 0)) {
      throw new InvalidInput(`token_count must be a non-negative integer; got ${JSON.stringify(tokens)}`);
    }
    const values = {
      id: options.turnId === undefined ? uuid7() : text(options.turnId, "id"),
      role: chosenRole,
      content,
      token_count: tokens ?? null,
      created_at: this.when(options.createdAt, "created_at"),
      metadata_json: jsonObject(options.metadata, "metadata"),
    };
    // No other writer can append between reading the last index and inserting the next
    // one: SQLite's transaction begins IMMEDIATE, PostgreSQL locks the session's row.
    return this.db.write(async (tx) => {
      await this.lock(tx, "sessions", sessionId);
      const last = await tx.get("SELECT MAX(turn_index) AS last FROM conversation_turns WHERE session_id = ?", sessionId);
      const index = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
      return this.insert(tx, "conversation_turns", { ...values, session_id: sessionId, turn_index: index });
    });
  }

  /** The session and its turns by turn_index. */
  async sessionReplay(sessionId: string): Promise<SessionReplay> {
    return this.db.read(async (tx) => {
      const session = await this.get(tx, "sessions", sessionId);
      const turns = await tx.all("SELECT * FROM conversation_turns WHERE session_id = ? ORDER BY turn_index", sessionId);
      return { session, turns };
    });
  }

  // --- workflows -------------------------------------------------------------------------

  async startWorkflowRun(workflowName: string, options: StartWorkflowRunOptions): Promise<Row> {
    const status = choice(options.status ?? "running", RUN_STATUSES, "workflow status");
    if (status !== "queued" && status !== "running") {
      throw new InvalidInput(`a run starts queued or running; got '${status}'`);
    }
    const row = {
      id: options.runId === undefined ? uuid7() : text(options.runId, "id"),
      workflow_name: text(workflowName, "workflow_name"),
      trigger_source: choice(options.triggerSource, TRIGGER_SOURCES, "trigger_source"),
      initiated_by: text(options.initiatedBy, "initiated_by"),
      status,
      started_at: this.when(options.startedAt, "started_at"),
      context_json: jsonObject(options.context, "context"),
    };
    return this.db.write((tx) => this.insert(tx, "workflow_runs", row));
  }

  async finishWorkflowRun(runId: string, options: FinishOptions): Promise<Row> {
    const status = choice(options.status, RUN_STATUSES, "workflow status");
    if (status === "queued" || status === "running") {
      throw new InvalidInput(`a run finishes failed, succeeded or aborted; got '${status}'`);
    }
    return this.finish("workflow_runs", runId, status, this.when(options.finishedAt, "finished_at"));
  }

  /** Add the run's next step (step_index assigned like turn_index). */
  async addStep(runId: string, stepName: string, options: AddStepOptions = {}): Promise<Row> {
    const values = {
      id: options.stepId === undefined ? uuid7() : text(options.stepId, "id"),
      step_name: text(stepName, "step_name"),
      status: choice(options.status ?? "running", STEP_STATUSES, "step status"),
      started_at: this.when(options.startedAt, "started_at"),
      details_json: jsonObject(options.details, "details"),
    };
    return this.db.write(async (tx) => {
      await this.lock(tx, "workflow_runs", runId);
      const last = await tx.get("SELECT MAX(step_index) AS last FROM workflow_steps WHERE workflow_run_id = ?", runId);
      const index = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
      return this.insert(tx, "workflow_steps", { ...values, workflow_run_id: runId, step_index: index });
    });
  }

  async finishStep(stepId: string, options: FinishOptions): Promise<Row> {
    const status = choice(options.status, STEP_STATUSES, "step status");
    return this.finish("workflow_steps", stepId, status, this.when(options.finishedAt, "finished_at"));
  }

  /** Record a task event for a run, one of its steps, or neither (system-wide). */
  async addEvent(eventType: string, eventLevel: string, message: string, options: AddEventOptions = {}): Promise<Row> {
    const values = {
      id: options.eventId === undefined ? uuid7() : text(options.eventId, "id"),
      event_type: choice(eventType, EVENT_TYPES, "event_type"),
      event_level: choice(eventLevel, LEVELS, "event_level"),
      message: text(message, "message"),
      payload_json: jsonObject(options.payload, "payload"),
      created_at: this.when(options.createdAt, "created_at"),
    };
    return this.db.write(async (tx) => {
      let runId = options.runId ?? null;
      if (runId !== null) await this.get(tx, "workflow_runs", runId);
      const stepId = options.stepId ?? null;
      if (stepId !== null) {
        const step = await this.get(tx, "workflow_steps", stepId);
        if (runId !== null && step.workflow_run_id !== runId) {
          throw new InvalidInput(`step '${stepId}' belongs to run '${String(step.workflow_run_id)}'`);
        }
        runId = String(step.workflow_run_id);
      }
      return this.insert(tx, "task_events", { ...values, workflow_run_id: runId, step_id: stepId });
    });
  }

  /** Set a row's final status and the time it reached it. */
  private finish(table: string, id: string, status: string, finishedAt: string): Promise<Row> {
    return this.db.write(async (tx) => {
      await this.get(tx, table, id, true);
      await tx.run(`UPDATE "${table}" SET status = ?, finished_at = ? WHERE id = ?`, status, finishedAt, id);
      return this.get(tx, table, id);
    });
  }

  /** The run, its steps by step_index with their events, and run-level events. */
  async workflowReplay(runId: string): Promise<WorkflowReplay> {
    return this.db.read(async (tx) => {
      const run = await this.get(tx, "workflow_runs", runId);
      const steps = await tx.all("SELECT * FROM workflow_steps WHERE workflow_run_id = ? ORDER BY step_index", runId);
      // Another writer may link an event to a step only; such events belong here too.
      const events = await tx.all(
        "SELECT * FROM task_events WHERE workflow_run_id = ? OR step_id IN " +
        "(SELECT id FROM workflow_steps WHERE workflow_run_id = ?) ORDER BY created_at, id",
        runId, runId,
      );
      const byStep = new Map<unknown, Row[]>();
      for (const event of events) {
        const key = event.step_id ?? null;
        byStep.set(key, [...(byStep.get(key) ?? []), event]);
      }
      return {
        run,
        steps: steps.map((step) => ({ step, events: byStep.get(step.id) ?? [] })),
        runEvents: byStep.get(null) ?? [],
      };
    });
  }

  // --- profiles --------------------------------------------------------------------------

  async publishBehaviorProfile(profileName: string, behavior: unknown, options: PublishOptions): Promise<Row> {
    return this.publish("behavior_profiles", "behavior_json", profileName, behavior, options);
  }

  async publishPersonalityProfile(profileName: string, personality: unknown, options: PublishOptions): Promise<Row> {
    return this.publish("personality_profiles", "personality_json", profileName, personality, options);
  }

  /** The highest behavior version in effect at ``at`` (default now), or null. */
  async latestActiveBehaviorProfile(profileName: string, at?: string | Date): Promise<Row | null> {
    return this.activeAt("behavior_profiles", profileName, at);
  }

  /** The highest personality version in effect at ``at`` (default now), or null. */
  async latestActivePersonalityProfile(profileName: string, at?: string | Date): Promise<Row | null> {
    return this.activeAt("personality_profiles", profileName, at);
  }

  private versionsOf(tx: Tx, table: string, name: string): Promise<Row[]> {
    return tx.all(`SELECT * FROM "${table}" WHERE profile_name = ? ORDER BY version DESC`, name);
  }

  private async activeAt(table: string, name: string, at?: string | Date): Promise<Row | null> {
    const moment = at === undefined ? this.now() : this.when(at, "at");
    const versions = await this.db.read((tx) => this.versionsOf(tx, table, name));
    return versions.find((v) => isActiveAt(v, moment)) ?? null;
  }

  /** Add version N+1 and close the open window at its start, atomically; never the past. */
  private async publish(table: string, column: string, name: unknown, document: unknown, options: PublishOptions): Promise<Row> {
    const profileName = text(name, "profile_name") as string;
    const values = {
      profile_name: profileName,
      [column]: jsonObject(document, column),
      rationale: text(options.rationale, "rationale", false),
      source_ref: text(options.sourceRef, "source_ref", false),
      created_by: text(options.createdBy, "created_by"),
      effective_from: this.start(options.effectiveFrom),
    };
    return this.db.write(async (tx) => {
      // A new profile has no row to lock: publishers of one name take turns (PostgreSQL).
      await tx.serializeOn(`${table}:${profileName}`);
      const versions = await this.versionsOf(tx, table, profileName);
      const start = values.effective_from;
      const toClose: unknown[] = [];
      for (const v of versions) {
        const begins = instantKey(v.effective_from);
        if (begins >= start) {
          throw new InvalidInput(`${profileName} v${String(v.version)} starts at ${String(v.effective_from)}; a new version must start after it`);
        }
        if (v.effective_to === null || v.effective_to === "") {
          toClose.push(v.id);
        } else if (instantKey(v.effective_to) > start) {
          throw new InvalidInput(`${profileName} v${String(v.version)} is in effect until ${String(v.effective_to)}; a new version cannot start before that`);
        }
      }
      for (const id of toClose) {
        await tx.run(`UPDATE "${table}" SET effective_to = ? WHERE id = ?`, start, id as string);
      }
      const numbers = versions.map((v) => v.version).filter((n): n is number => Number.isInteger(n));
      const version = Math.max(0, ...numbers) + 1;
      if (BigInt(version) > MAX_INTEGER) throw new InvalidInput("the version numbers of this profile are used up");
      const published = await this.insert(tx, table, {
        id: uuid7(), ...values, version, effective_to: null, created_at: this.now(),
      });
      await this.takeIn(tx);
      return published;
    });
  }

  /** A new version's start: now or later, never in the past. */
  private start(value: unknown): string {
    const now = this.now();
    const start = value === undefined || value === null ? now : this.when(value, "effective_from");
    if (start < now) {
      if (start < new Date(Date.parse(now) - START_GRACE_MS).toISOString()) {
        throw new InvalidInput(
          `effective_from ${start} is in the past: a new version starts now or later, ` +
          "so which version was active before now never changes",
        );
      }
      return now;
    }
    return start;
  }

  // --- skills and the promotion flow ------------------------------------------------------

  async learnSkill(skillKey: string, description: string, options: LearnSkillOptions): Promise<Row> {
    const confidence = number(options.confidence, "confidence");
    if (confidence < 0 || confidence > 1) {
      throw new InvalidInput(`confidence must be between 0 and 1; got ${confidence}`);
    }
    const key = text(skillKey, "skill_key");
    const learned = this.when(options.learnedAt, "learned_at");
    const row = {
      id: options.skillId === undefined ? uuid7() : text(options.skillId, "id"),
      skill_key: key,
      description: text(description, "description"),
      source_type: choice(options.sourceType, SOURCE_TYPES, "source_type"),
      source_ref: text(options.sourceRef, "source_ref", false),
      confidence,
      learned_at: learned,
      state: choice(options.state ?? "active", SKILL_STATES, "skill state"),
      metadata_json: jsonObject(options.metadata, "metadata"),
    };
    return this.db.write(async (tx) => {
      if (await tx.get("SELECT 1 FROM skills_learned WHERE skill_key = ? AND learned_at = ?", key, learned)) {
        throw new InvalidInput(`skill '${key}' was already learned at ${learned}`);
      }
      return this.insert(tx, "skills_learned", row);
    });
  }

  async draftProposal(skillId: string, options: DraftProposalOptions): Promise<Row> {
    const score = options.determinismScore ?? null;
    if (score !== null && (number(score, "determinism_score") < 0 || score > 1)) {
      throw new InvalidInput(`determinism_score must be between 0 and 1; got ${score}`);
    }
    if (options.proposal === undefined || options.proposal === null) {
      throw new InvalidInput("proposal must be a JSON object; got None");
    }
    const created = this.when(options.createdAt, "created_at");
    const row = {
      id: options.proposalId === undefined ? uuid7() : text(options.proposalId, "id"),
      proposed_by: choice(options.proposedBy, PROPOSED_BY, "proposed_by"),
      proposal_type: choice(options.proposalType, PROPOSAL_TYPES, "proposal_type"),
      proposal_json: jsonObject(options.proposal, "proposal"),
      determinism_score: score,
      risk_level: choice(options.riskLevel, LEVELS, "risk_level"),
      status: "drafted",
      created_at: created,
      updated_at: created,
    };
    return this.db.write(async (tx) => {
      await this.get(tx, "skills_learned", skillId);
      return this.insert(tx, "skill_to_logic_proposals", { ...row, skill_id: skillId });
    });
  }

  /** Append a validation result; the proposal's status follows the governance rule. */
  async recordValidation(proposalId: string, options: ValidationOptions): Promise<Row> {
    const row = {
      id: uuid7(),
      validator: choice(options.validator, VALIDATORS, "validator"),
      build_pass: flag(options.buildPass, "build_pass"),
      lint_pass: flag(options.lintPass, "lint_pass"),
      test_pass: flag(options.testPass, "test_pass"),
      policy_pass: flag(options.policyPass, "policy_pass"),
      details_json: jsonObject(options.details, "details"),
      validated_at: this.when(options.validatedAt, "validated_at"),
    };
    return this.db.write(async (tx) => {
      const proposal = await this.get(tx, "skill_to_logic_proposals", proposalId, true);
      const result = await this.insert(tx, "validation_results", { ...row, proposal_id: proposalId });
      await this.syncStatus(tx, proposal, row.validated_at);
      await this.takeIn(tx);
      return result;
    });
  }

  /** Append one decision under the governance rule; changing one's mind is a new row. */
  async recordApproval(proposalId: string, options: ApprovalOptions): Promise<RecordedDecision> {
    const values = {
      approver: person(options.approver, "approver"),
      approval_type: choice(options.approvalType, APPROVAL_TYPES, "approval_type"),
      decision: choice(options.decision, DECISIONS, "decision"),
      notes: text(options.notes, "notes", false),
      decided_at: this.when(options.decidedAt, "decided_at"),
    };
    if (values.decision === "rejected" && !people.hasVisible(options.notes)) {
      throw new InvalidInput(`a rejection needs notes saying why; ${SAYS_NOTHING}`);
    }
    const token = text(options.idempotencyToken, "idempotency_token", false);
    return this.db.write(async (tx) => {
      const proposal = await this.get(tx, "skill_to_logic_proposals", proposalId, true);
      if (token) {
        const earlier = await tx.get("SELECT * FROM tommemory_approval_evidence WHERE idempotency_token = ?", token);
        if (earlier) {
          if (earlier.proposal_id !== proposalId) {
            throw new InvalidInput("this form token belongs to another proposal");
          }
          const approval = await this.get(tx, "approvals", String(earlier.approval_id));
          return { approval, status: (await this.verdict(tx, proposal)).status, duplicate: true };
        }
      }
      const verdict = await this.verdict(tx, proposal);
      const refusal = values.decision === "approved"
        ? verdict.approvalRefusal || ownProposalRefusal(proposal, String(values.approver))
        : verdict.refusal;
      if (refusal) throw new InvalidInput(refusal);
      const approval = await this.insert(tx, "approvals", { id: uuid7(), proposal_id: proposalId, ...values });
      const last = await tx.get(
        "SELECT * FROM tommemory_approval_evidence WHERE proposal_id = ? ORDER BY seq DESC LIMIT 1",
        proposalId,
      );
      const evidence: Row = {
        approval_id: approval.id,
        proposal_id: proposalId,
        seq: last ? Number(last.seq) + 1 : 1,
        validation_id: verdict.latestValidation ? verdict.latestValidation.id : null,
        proposal_sha256: digest(proposal.proposal_json),
        risk_level: textOf(proposal.risk_level),
        idempotency_token: token,
        prev_hash: last ? String(last.row_hash) : GENESIS,
      };
      evidence.row_hash = chainHash(approval, evidence);
      const columns = Object.keys(evidence);
      await tx.run(
        `INSERT INTO tommemory_approval_evidence (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        ...(Object.values(evidence) as (string | number | null)[]),
      );
      const status = await this.syncStatus(tx, proposal, String(approval.decided_at));
      await this.takeIn(tx);
      return { approval, status, duplicate: false };
    });
  }

  /** Append a deploy outcome; a successful deploy of an approved proposal promotes it. */
  async recordDeployOutcome(proposalId: string, options: DeployOptions): Promise<Row> {
    const row = {
      id: uuid7(),
      deployment_target: text(options.deploymentTarget, "deployment_target"),
      deployment_id: text(options.deploymentId, "deployment_id", false),
      status: choice(options.status, DEPLOY_STATUSES, "deploy status"),
      summary: text(options.summary, "summary", false),
      metrics_json: jsonObject(options.metrics, "metrics"),
      deployed_at: this.when(options.deployedAt, "deployed_at"),
    };
    return this.db.write(async (tx) => {
      const proposal = await this.get(tx, "skill_to_logic_proposals", proposalId, true);
      const outcome = await this.insert(tx, "deploy_outcomes", { ...row, proposal_id: proposalId });
      await this.syncStatus(tx, proposal, row.deployed_at);
      await this.takeIn(tx);
      return outcome;
    });
  }

  /** skill -> proposal -> validations -> approvals -> deploy outcomes, in time order. */
  async proposalLineage(proposalId: string): Promise<ProposalLineage> {
    return this.db.read(async (tx) => {
      const proposal = await this.get(tx, "skill_to_logic_proposals", proposalId);
      const rows = await this.lineageRows(tx, proposalId);
      const skill = await tx.get("SELECT * FROM skills_learned WHERE id = ?", String(proposal.skill_id));
      return {
        skill: skill ?? null,
        proposal,
        validations: rows.validations,
        approvals: rows.approvals,
        deployOutcomes: rows.deploys,
      };
    });
  }

  /** The proposal's status as the rule derives it from its rows now (the store's clock),
   * whatever status another writer stored. */
  async proposalStatus(proposalId: string): Promise<{ status: string }> {
    return this.db.read(async (tx) => {
      const proposal = await this.get(tx, "skill_to_logic_proposals", proposalId);
      return { status: (await this.verdict(tx, proposal)).status };
    });
  }

  /** A proposal's governed rows, each at its counted time and in that order (countedTime.ts). */
  private async lineageRows(tx: Tx, proposalId: string) {
    const read = async (kind: string) => {
      const spec = DECISION_LOG.kinds[kind]!;
      const rows = await tx.all(`SELECT * FROM "${spec.table}" WHERE proposal_id = ?`, proposalId);
      return { kind, column: spec.time, rows };
    };
    const evidence = new Map<unknown, Row>(
      (await tx.all("SELECT * FROM tommemory_approval_evidence WHERE proposal_id = ?", proposalId))
        .map((r) => [r.approval_id, r]),
    );
    const groups = [await read("validation"), await read("approval"), await read("deploy"), await read("override")];
    await attachCountedTimes(tx, groups, this.now());
    const [validations, approvals, deploys, overrides] = groups.map((g) => inCountedOrder(g.rows, g.column));
    return {
      validations: validations as Row[], approvals: approvals as Row[], deploys: deploys as Row[],
      overrides: overrides as Row[], evidence,
    };
  }

  private async verdict(tx: Tx, proposal: Row): Promise<Verdict> {
    const rows = await this.lineageRows(tx, String(proposal.id));
    return evaluate(proposal, rows.validations, rows.approvals, rows.deploys, rows.evidence, rows.overrides, contractRule(), this.clock());
  }

  /** Append every governed row the decision log has not seen yet, oldest first, in the
   * caller's transaction (memory_app/auditlog.py take_in does the same). */
  private async takeIn(tx: Tx): Promise<number> {
    // Writers append one at a time, so indexes run 0, 1, 2, ... without gaps.
    await tx.serializeOn("tommemory_audit_log");
    const fresh: { key: string; id: string; order: number; kind: string; row: Row }[] = [];
    for (const [order, [kind, spec]] of Object.entries(DECISION_LOG.kinds).entries()) {
      const rows = await tx.all(
        `SELECT ${spec.columns.map((c) => `"${c}"`).join(", ")} FROM "${spec.table}" t WHERE t.id IS NOT NULL `
        + "AND NOT EXISTS (SELECT 1 FROM tommemory_audit_log l WHERE l.kind = ? AND l.row_id = t.id)",
        kind,
      );
      for (const row of rows) {
        if (typeof row.id === "string") fresh.push({ key: instantKey(row[spec.time]), id: row.id, order, kind, row });
      }
    }
    if (!fresh.length) return 0;
    fresh.sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1)
      : a.id !== b.id ? (a.id < b.id ? -1 : 1) : a.order - b.order));
    const spec = DECISION_LOG.evidence;
    const decisions = fresh.filter((e) => e.kind === spec.kind).map((e) => e.id);
    const evidence = new Map<unknown, Row>();
    if (decisions.length) {
      const found = await tx.all(
        `SELECT ${spec.columns.map((c) => `"${c}"`).join(", ")} FROM "${spec.table}" `
        + `WHERE "${spec.key}" IN (${decisions.map(() => "?").join(", ")})`,
        ...decisions,
      );
      for (const row of found) evidence.set(row[spec.key], row);
    }
    const last = await tx.get('SELECT MAX("index") AS last FROM tommemory_audit_log');
    const start = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
    const loggedAt = this.now();
    for (const [n, entry] of fresh.entries()) {
      const ev = entry.kind === spec.kind ? evidence.get(entry.id) ?? null : null;
      await tx.run(
        'INSERT INTO tommemory_audit_log ("index", kind, row_id, leaf_hash, logged_at) VALUES (?, ?, ?, ?, ?)',
        start + n, entry.kind, entry.id, leafHash(entry.kind, entry.row, ev), loggedAt,
      );
    }
    return fresh.length;
  }

  /** Store the status the governance rule derives from the proposal's rows. */
  private async syncStatus(tx: Tx, proposal: Row, at: string): Promise<string> {
    const verdict = await this.verdict(tx, proposal);
    if (verdict.status !== proposal.status) {
      await tx.run(
        "UPDATE skill_to_logic_proposals SET status = ?, updated_at = ? WHERE id = ?",
        verdict.status, at, String(proposal.id),
      );
    }
    return verdict.status;
  }
}
