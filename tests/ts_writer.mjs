// Writes a governed promotion flow and a turn through the TypeScript RuntimeMemoryStore
// (runtime-store-ts/dist), for tests/test_contract.py to read back with the Python side.
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const store = await RuntimeMemoryStore.open(process.argv[2]);
const skill = await store.learnSkill("ts-skill", "from TypeScript", { sourceType: "doc", confidence: 0.7 });
const proposal = await store.draftProposal(skill.id, {
  proposedBy: "oxide", proposalType: "code_patch", proposal: { diff: "é ü \n «x»" }, riskLevel: "high",
});
await store.recordValidation(proposal.id, { validator: "ci", buildPass: 1, lintPass: 1, testPass: 1, policyPass: 1 });
for (const [who, type] of [["ann", "human"], ["bob", "policy"], ["cy", "security"]]) {
  await store.recordApproval(proposal.id, {
    approver: who, approvalType: type, decision: "approved", notes: "ok «ünï» \u2028 \t", idempotencyToken: `tok-${who}`,
  });
}
await store.recordDeployOutcome(proposal.id, { deploymentTarget: "tom-runtime", status: "failed", metrics: { "größe": 1 } });
await store.publishBehaviorProfile("tom", { tone: "ruhig «x»" }, { createdBy: "ts-admin", rationale: "from TypeScript" });
const session = await store.startSession("tom");
await store.appendTurn(session.id, "user", "hello from TypeScript");
await store.close();
process.stdout.write(JSON.stringify({ proposal: proposal.id, session: session.id }));
