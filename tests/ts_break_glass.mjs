// The TypeScript store around a break-glass decision the dashboard records:
//   node tests/ts_break_glass.mjs DB draft     -> a high-risk proposal waiting for policy, security
//   node tests/ts_break_glass.mjs DB deploy ID -> deploy it; print the status the store derives
import { RuntimeMemoryStore } from "../runtime-store-ts/dist/index.js";

const [file, step, proposalId] = process.argv.slice(2);
const store = await RuntimeMemoryStore.open(file);
if (step === "draft") {
  const skill = await store.learnSkill("glass", "d", { sourceType: "doc", confidence: 0.5 });
  const proposal = await store.draftProposal(skill.id, {
    proposedBy: "oxide", proposalType: "code_patch", proposal: { fix: true }, riskLevel: "high",
  });
  await store.recordValidation(proposal.id, { validator: "ci", buildPass: 1, lintPass: 1, testPass: 1, policyPass: 1 });
  await store.recordApproval(proposal.id, { approver: "ann", approvalType: "human", decision: "approved" });
  process.stdout.write(proposal.id);
} else {
  await store.recordDeployOutcome(proposalId, { deploymentTarget: "tom-runtime", status: "succeeded" });
  process.stdout.write(String((await store.proposalLineage(proposalId)).proposal.status));
}
await store.close();
