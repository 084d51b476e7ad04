// A runtime that starts in TypeScript, for tests/test_adoption.py:
//   node tests/ts_bootstrap_writer.mjs DB bootstrap  -> RuntimeMemoryStore.bootstrap(DB), then write
//   node tests/ts_bootstrap_writer.mjs DB open       -> write into a file another store bootstrapped
// It writes a conversation, a workflow run, a governed promotion flow (validation, three
// decisions with their evidence and log leaves, a deploy) and a profile version, on a fixed
// clock, and prints the ids.
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const [file, how] = process.argv.slice(2);
const now = () => new Date("2026-06-01T09:00:00.000Z");
const store = how === "bootstrap"
  ? await RuntimeMemoryStore.bootstrap(file, { now })
  : await RuntimeMemoryStore.open(file, { now });

const session = await store.startSession("tom", { channel: "cli" });
await store.appendTurn(session.id, "user", "Which release did TypeScript adopt?");
await store.appendTurn(session.id, "assistant", "The one from TypeScript, kept by adoption.");
const run = await store.startWorkflowRun("ts-nightly", { triggerSource: "cron", initiatedBy: "tom" });
const step = await store.addStep(run.id, "ts-collect");
await store.addEvent("info", "low", "ts step event", { runId: run.id, stepId: step.id });
const skill = await store.learnSkill("ts-adopted", "learned in TypeScript", { sourceType: "doc", confidence: 0.7 });
const proposal = await store.draftProposal(skill.id, {
  proposedBy: "oxide", proposalType: "code_patch", proposal: { diff: "ts" }, riskLevel: "high",
});
await store.recordValidation(proposal.id, { validator: "ci", buildPass: 1, lintPass: 1, testPass: 1, policyPass: 1 });
for (const [who, type] of [["ts-ann", "human"], ["ts-bob", "policy"], ["ts-cy", "security"]]) {
  await store.recordApproval(proposal.id, { approver: who, approvalType: type, decision: "approved", idempotencyToken: `ts-${who}` });
}
await store.recordDeployOutcome(proposal.id, { deploymentTarget: "tom-runtime", status: "succeeded" });
await store.publishBehaviorProfile("ts-tom", { tone: "calm" }, { createdBy: "ts-admin" });
await store.close();
process.stdout.write(JSON.stringify({ session: session.id, run: run.id, proposal: proposal.id }));
