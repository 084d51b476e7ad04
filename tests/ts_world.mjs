// A session, a workflow run and a decided proposal, written only by the TypeScript store.
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const store = await RuntimeMemoryStore.open(process.argv[2]);
const session = await store.startSession("tom", { channel: "sdk", metadata: { writer: "typescript" } });
await store.appendTurn(session.id, "user", "Frage aus TypeScript: wie spät ist es?");
await store.appendTurn(session.id, "assistant", "Antwort aus TypeScript: sehr spät.");
const run = await store.startWorkflowRun("ts-digest", { triggerSource: "agent", initiatedBy: "ts-runtime" });
const step = await store.addStep(run.id, "collect-from-typescript");
await store.addEvent("warn", "high", "slow step seen by TypeScript", { stepId: step.id });
await store.finishStep(step.id, { status: "succeeded" });
await store.finishWorkflowRun(run.id, { status: "succeeded" });
const skill = await store.learnSkill("ts-skill", "Learned in TypeScript", { sourceType: "conversation", confidence: 0.8 });
const proposal = await store.draftProposal(skill.id, {
  proposedBy: "oxide", proposalType: "config_change", proposal: { retries: 3 }, riskLevel: "low",
});
await store.recordValidation(proposal.id, { validator: "ci", buildPass: 1, lintPass: 1, testPass: 1, policyPass: 1 });
await store.recordApproval(proposal.id, { approver: "ts-human", approvalType: "human", decision: "approved" });
await store.close();
process.stdout.write(JSON.stringify({ session: session.id, run: run.id, proposal: proposal.id }));
