/**
 * @tommemory/runtime-store: RuntimeMemoryStore for TypeScript runtimes, writing the same
 * rows as tommemory's Python store. This module is the package's public interface only;
 * each part lives in its own module:
 *
 * - store.ts: RuntimeMemoryStore, the front door, over the wings' writers
 *   (conversations.ts, workflows.ts, profiles.ts, promotion.ts) and core.ts;
 * - rows.ts: the row types of every v1 table and of ours, with their column lists;
 * - review.ts: reviewers' score configs and annotations, and the runtime's reads of them;
 * - rule.ts: the governance rule; countedTime.ts: the time each governed row counts at;
 * - decisionLog.ts: the decision log (leaves, take-in); evidenceChain.ts: each decision's
 *   evidence and hash chain;
 * - times.ts, values.ts, people.ts: times, ids and checked values, who is a person;
 * - engines.ts: SQLite (node:sqlite) and PostgreSQL (pg); contract.ts: the contract files.
 */
export { CONTRACT_DIR, type Connection, contractConnection, people } from "./contract.js";
export type {
  AddEventOptions, AddStepOptions, EventInput, FinishOptions, FinishRunInput, RunInput, RunStepInput, StartWorkflowRunOptions,
  StepInput, StepReplay, WorkflowReplay,
} from "./workflows.js";
export type {
  AppendTurnOptions, EndSessionOptions, SessionInput, SessionReplay, SessionTurnInput, StartSessionOptions, TurnInput,
} from "./conversations.js";
export type {
  ApprovalOptions, DeployOptions, DraftProposalOptions, LearnSkillOptions, ProposalLineage, RecordedDecision,
  ValidationOptions,
} from "./promotion.js";
export { leafHash } from "./decisionLog.js";
export type { Row } from "./engines.js";
export { InvalidInput, NotFound, StoreError } from "./errors.js";
export { chainHash } from "./evidenceChain.js";
export type { PublishOptions, WithdrawOptions } from "./profiles.js";
export {
  type AnnotateOptions, type AnnotationRead, type AnnotationsSince, SCORE_DATA_TYPES, type ScoreConfigOptions, type ScoreValue,
  type SinceOptions, TARGET_KINDS,
} from "./review.js";
export * from "./rows.js";
export { contractRule, type Rule } from "./rule.js";
export { type OpenOptions, RuntimeMemoryStore } from "./store.js";
export { instantKey, normalizeIso } from "./times.js";
export {
  APPROVAL_TYPES, DECISIONS, DEPLOY_STATUSES, EVENT_TYPES, LEVELS, PROPOSAL_TYPES, PROPOSED_BY, ROLES,
  RUN_STATUSES, SESSION_STATUSES, SKILL_STATES, SOURCE_TYPES, STEP_STATUSES, TRIGGER_SOURCES, uuid7,
  VALIDATORS,
} from "./values.js";
