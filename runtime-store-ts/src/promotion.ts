/**
 * Skills and the promotion flow: a proposal, its validations, decisions and deploys, each
 * under the governance rule (rule.ts), each governed row taken into the decision log
 * (decisionLog.ts) in the transaction that writes it (memory_app's promotion wing).
 */
import { people } from "./contract.js";
import type { Core } from "./core.js";
import { attachCountedTimes, inCountedOrder } from "./countedTime.js";
import { DECISION_LOG, takeIn } from "./decisionLog.js";
import type { Row, Tx } from "./engines.js";
import { InvalidInput } from "./errors.js";
import { chainHash, digest, GENESIS } from "./evidenceChain.js";
import { SAYS_NOTHING } from "./people.js";
import type { Approval, DeployOutcome, Proposal, Skill, Validation } from "./rows.js";
import { contractRule, evaluate, ownProposalRefusal, type ProposalRows, type Verdict } from "./rule.js";
import {
  APPROVAL_TYPES, choice, DECISIONS, DEPLOY_STATUSES, flag, jsonObject, LEVELS, number, person,
  PROPOSAL_TYPES, PROPOSED_BY, SKILL_STATES, SOURCE_TYPES, text, textOf, uuid7, VALIDATORS,
} from "./values.js";

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
export interface RecordedDecision { approval: Approval; status: string; duplicate: boolean }
export interface ProposalLineage {
  skill: Skill | null; proposal: Proposal; validations: Validation[]; approvals: Approval[];
  deployOutcomes: DeployOutcome[];
}

export async function learnSkill(core: Core, skillKey: string, description: string, options: LearnSkillOptions): Promise<Skill> {
  const confidence = number(options.confidence, "confidence");
  if (confidence < 0 || confidence > 1) {
    throw new InvalidInput(`confidence must be between 0 and 1; got ${confidence}`);
  }
  const key = text(skillKey, "skill_key");
  const learned = core.when(options.learnedAt, "learned_at");
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
  return core.db.write(async (tx) => {
    if (await tx.get("SELECT 1 FROM skills_learned WHERE skill_key = ? AND learned_at = ?", key, learned)) {
      throw new InvalidInput(`skill '${key}' was already learned at ${learned}`);
    }
    return core.insert(tx, "skills_learned", row);
  });
}

export async function draftProposal(core: Core, skillId: string, options: DraftProposalOptions): Promise<Proposal> {
  const score = options.determinismScore ?? null;
  if (score !== null && (number(score, "determinism_score") < 0 || score > 1)) {
    throw new InvalidInput(`determinism_score must be between 0 and 1; got ${score}`);
  }
  if (options.proposal === undefined || options.proposal === null) {
    throw new InvalidInput("proposal must be a JSON object; got None");
  }
  const created = core.when(options.createdAt, "created_at");
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
  return core.db.write(async (tx) => {
    await core.get(tx, "skills_learned", skillId);
    return core.insert(tx, "skill_to_logic_proposals", { ...row, skill_id: skillId });
  });
}

/** Append a validation result; the proposal's status follows the governance rule. */
export async function recordValidation(core: Core, proposalId: string, options: ValidationOptions): Promise<Validation> {
  const row = {
    id: uuid7(),
    validator: choice(options.validator, VALIDATORS, "validator"),
    build_pass: flag(options.buildPass, "build_pass"),
    lint_pass: flag(options.lintPass, "lint_pass"),
    test_pass: flag(options.testPass, "test_pass"),
    policy_pass: flag(options.policyPass, "policy_pass"),
    details_json: jsonObject(options.details, "details"),
    validated_at: core.when(options.validatedAt, "validated_at"),
  };
  return core.db.write(async (tx) => {
    const proposal = await core.get(tx, "skill_to_logic_proposals", proposalId, true);
    const result = await core.insert(tx, "validation_results", { ...row, proposal_id: proposalId });
    await syncStatus(core, tx, proposal, row.validated_at);
    await takeIn(tx, core.now);
    return result;
  });
}

/** Append one decision under the governance rule; changing one's mind is a new row. */
export async function recordApproval(core: Core, proposalId: string, options: ApprovalOptions): Promise<RecordedDecision> {
  const values = {
    approver: person(options.approver, "approver"),
    approval_type: choice(options.approvalType, APPROVAL_TYPES, "approval_type"),
    decision: choice(options.decision, DECISIONS, "decision"),
    notes: text(options.notes, "notes", false),
    decided_at: core.when(options.decidedAt, "decided_at"),
  };
  if (values.decision === "rejected" && !people.hasVisible(options.notes)) {
    throw new InvalidInput(`a rejection needs notes saying why; ${SAYS_NOTHING}`);
  }
  const token = text(options.idempotencyToken, "idempotency_token", false);
  return core.db.write(async (tx) => {
    const proposal = await core.get(tx, "skill_to_logic_proposals", proposalId, true);
    if (token) {
      const earlier = await tx.get("SELECT * FROM tommemory_approval_evidence WHERE idempotency_token = ?", token);
      if (earlier) {
        if (earlier.proposal_id !== proposalId) {
          throw new InvalidInput("this form token belongs to another proposal");
        }
        const approval = await core.get(tx, "approvals", String(earlier.approval_id));
        return { approval, status: (await verdict(core, tx, proposal)).status, duplicate: true };
      }
    }
    const found = await verdict(core, tx, proposal);
    const refusal = values.decision === "approved"
      ? found.approvalRefusal || ownProposalRefusal(found.proposers, String(values.approver))
      : found.refusal;
    if (refusal) throw new InvalidInput(refusal);
    const approval = await core.insert(tx, "approvals", { id: uuid7(), proposal_id: proposalId, ...values });
    const last = await tx.get(
      "SELECT * FROM tommemory_approval_evidence WHERE proposal_id = ? ORDER BY seq DESC LIMIT 1",
      proposalId,
    );
    const evidence: Row = {
      approval_id: approval.id,
      proposal_id: proposalId,
      seq: last ? Number(last.seq) + 1 : 1,
      validation_id: found.latestValidation ? found.latestValidation.id : null,
      proposal_sha256: digest(proposal.proposal_json),
      risk_level: textOf(proposal.risk_level),
      idempotency_token: token,
      prev_hash: last ? String(last.row_hash) : GENESIS,
    };
    evidence.row_hash = chainHash(approval, evidence);
    await core.insert(tx, "tommemory_approval_evidence", evidence);
    const status = await syncStatus(core, tx, proposal, String(approval.decided_at));
    await takeIn(tx, core.now);
    return { approval, status, duplicate: false };
  });
}

/** Append a deploy outcome; a successful deploy of an approved proposal promotes it. */
export async function recordDeployOutcome(core: Core, proposalId: string, options: DeployOptions): Promise<DeployOutcome> {
  const row = {
    id: uuid7(),
    deployment_target: text(options.deploymentTarget, "deployment_target"),
    deployment_id: text(options.deploymentId, "deployment_id", false),
    status: choice(options.status, DEPLOY_STATUSES, "deploy status"),
    summary: text(options.summary, "summary", false),
    metrics_json: jsonObject(options.metrics, "metrics"),
    deployed_at: core.when(options.deployedAt, "deployed_at"),
  };
  return core.db.write(async (tx) => {
    const proposal = await core.get(tx, "skill_to_logic_proposals", proposalId, true);
    const outcome = await core.insert(tx, "deploy_outcomes", { ...row, proposal_id: proposalId });
    await syncStatus(core, tx, proposal, row.deployed_at);
    await takeIn(tx, core.now);
    return outcome;
  });
}

/** skill -> proposal -> validations -> approvals -> deploy outcomes, in time order. */
export async function proposalLineage(core: Core, proposalId: string): Promise<ProposalLineage> {
  return core.db.read(async (tx) => {
    const proposal = await core.get(tx, "skill_to_logic_proposals", proposalId);
    const rows = await lineageRows(core, tx, proposal);
    return {
      skill: rows.skill as Skill | null,
      proposal,
      validations: rows.validations as Validation[],
      approvals: rows.approvals as Approval[],
      deployOutcomes: rows.deploys as DeployOutcome[],
    };
  });
}

/** The proposal's status as the rule derives it from its rows now (the store's clock),
 * whatever status another writer stored. */
export async function proposalStatus(core: Core, proposalId: string): Promise<{ status: string }> {
  return core.db.read(async (tx) => {
    const proposal = await core.get(tx, "skill_to_logic_proposals", proposalId);
    return { status: (await verdict(core, tx, proposal)).status };
  });
}

/** A proposal's governed rows, each at its counted time and in that order (countedTime.ts). */
async function lineageRows(core: Core, tx: Tx, proposal: Row): Promise<ProposalRows> {
  const proposalId = textOf(proposal.id);
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
  const skill = (await tx.get("SELECT * FROM skills_learned WHERE id = ?", textOf(proposal.skill_id))) ?? null;
  await attachCountedTimes(tx, groups, core.now());
  const [validations, approvals, deploys, overrides] = groups.map((g) => inCountedOrder(g.rows, g.column));
  return {
    validations: validations as Row[], approvals: approvals as Row[], deploys: deploys as Row[],
    overrides: overrides as Row[], evidence, skill,
  };
}

async function verdict(core: Core, tx: Tx, proposal: Proposal): Promise<Verdict> {
  return evaluate(proposal, await lineageRows(core, tx, proposal), contractRule(), core.clock());
}

/** Store the status the governance rule derives from the proposal's rows. */
async function syncStatus(core: Core, tx: Tx, proposal: Proposal, at: string): Promise<string> {
  const found = await verdict(core, tx, proposal);
  if (found.status !== proposal.status) {
    await tx.run(
      "UPDATE skill_to_logic_proposals SET status = ?, updated_at = ? WHERE id = ?",
      found.status, at, String(proposal.id),
    );
  }
  return found.status;
}
