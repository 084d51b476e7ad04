/**
 * The evidence of each decision and the hash chain through a proposal's decisions, exactly
 * as memory_app/promotion/evidence_chain.py makes them (tommemory_approval_evidence).
 */
import { createHash } from "node:crypto";

import type { Row } from "./engines.js";
import { textOf } from "./values.js";

/** The previous hash of a proposal's first decision. */
export const GENESIS = "0".repeat(64);

/** The digest of a proposal's document, which evidence holds to show what was decided on. */
export function digest(proposalJson: unknown): string {
  return createHash("sha256").update(textOf(proposalJson), "utf8").digest("hex");
}

/** The hash of one decision, exactly as memory_app/promotion/evidence_chain.py computes it. */
export function chainHash(approval: Row, evidence: Row): string {
  const content: unknown[] = [
    evidence.prev_hash, approval.id, approval.proposal_id, approval.approver,
    approval.approval_type, approval.decision, approval.notes, approval.decided_at,
    evidence.seq, evidence.validation_id, evidence.proposal_sha256, evidence.idempotency_token,
  ];
  if (evidence.risk_level !== null && evidence.risk_level !== undefined) content.push(evidence.risk_level);
  return createHash("sha256").update(JSON.stringify(content), "utf8").digest("hex");
}
