// A session, a workflow run and a decided proposal, written only by the TypeScript store.
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const store = RuntimeMemoryStore.open(process.argv[2]);
const session = store.startSession("tom", { channel: "sdk", metadata: { writer: "typescript" } });
store.appendTurn(session.id, "user", "Frage aus TypeScript: wie spät ist es?");
store.appendTurn(session.id, "assistant", "Antwort aus TypeScript: sehr spät.");
const run = store.startWorkflowRun("ts-digest", { triggerSource: "agent", initiatedBy: "ts-runtime" });
const step = store.addStep(run.id, "collect-from-typescript");
store.addEvent("warn", "high", "slow step seen by TypeScript", { stepId: step.id });
store.finishStep(step.id, { status: "succeeded" });
store.finishWorkflowRun(run.id, { status: "succeeded" });
const skill = store.learnSkill("ts-skill", "Learned in TypeScript", { sourceType: "conversation", confidence: 0.8 });
const proposal = store.draftProposal(skill.id, {
  proposedBy: "oxide", proposalType: "config_change", proposal: { retries: 3 }, riskLevel: "low",
});
store.recordValidation(proposal.id, { validator: "ci", buildPass: 1, lintPass: 1, testPass: 1, policyPass: 1 });
store.recordApproval(proposal.id, { approver: "ts-human", approvalType: "human", decision: "approved" });
store.close();
process.stdout.write(JSON.stringify({ session: session.id, run: run.id, proposal: proposal.id }));
