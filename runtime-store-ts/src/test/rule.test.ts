/**
 * The rule both stores apply: TOM_GOVERNANCE names another rule file for the TypeScript
 * store as it does for the dashboard, so the same rows give the same status in both.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { RuntimeMemoryStore } from "../index.js";

const CLOCK = { now: () => new Date("2026-12-01T09:00:00.000Z") };

async function statusAfterOneHumanApproval(dir: string): Promise<unknown> {
  const store = await RuntimeMemoryStore.bootstrap(join(dir, `tom-${Math.random()}.sqlite`), CLOCK);
  try {
    const skill = await store.learnSkill("k", "d", { sourceType: "doc", confidence: 0.5 });
    const proposal = await store.draftProposal(String(skill.id), {
      proposedBy: "oxide", proposalType: "code_patch", proposal: {}, riskLevel: "low",
    });
    await store.recordValidation(String(proposal.id), {
      validator: "ci", buildPass: true, lintPass: true, testPass: true, policyPass: true,
    });
    const decided = await store.recordApproval(String(proposal.id), {
      approver: "ann", approvalType: "human", decision: "approved",
    });
    return decided.status;
  } finally {
    await store.close();
  }
}

test("TOM_GOVERNANCE names the rule the TypeScript store applies, as the dashboard's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tom-rule-"));
  const before = process.env.TOM_GOVERNANCE;
  try {
    delete process.env.TOM_GOVERNANCE;
    assert.equal(await statusAfterOneHumanApproval(dir), "approved"); // the contract's: low needs human
    const stricter = join(dir, "governance.json");
    writeFileSync(stricter, JSON.stringify({
      required: { low: ["human", "ops"], medium: ["human"], high: ["human"], critical: ["human"] },
      distinct_people: [], expire_after_days: {},
    }));
    process.env.TOM_GOVERNANCE = stricter;
    assert.equal(await statusAfterOneHumanApproval(dir), "validated"); // still missing ops
  } finally {
    if (before === undefined) delete process.env.TOM_GOVERNANCE;
    else process.env.TOM_GOVERNANCE = before;
    rmSync(dir, { recursive: true, force: true });
  }
});
