/**
 * Appends on SQLite run as one statement, at once when nothing else is running on the
 * connection (engines.ts SqliteEngine.append). One made while another call's transaction
 * is open waits for it: run at once, it would join that transaction and go with its
 * rollback, though its promise said it was written.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { NotFound, RuntimeMemoryStore, type Turn } from "../index.js";

const NOW = new Date("2026-12-01T09:00:00.000Z");

test("a turn appended inside another call's transaction waits for it, and outlives its rollback", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-append-"));
  let during: Promise<Turn> | undefined;
  let trap = false;
  let store: RuntimeMemoryStore | undefined;
  // The clock is read inside publish's transaction: there, append a turn, then fail.
  const clock = () => {
    if (trap && store) {
      trap = false;
      during = store.appendTurn("s1", "user", "appended while a profile was being published");
      throw new Error("the publish fails after the append was made");
    }
    return NOW;
  };
  try {
    store = await RuntimeMemoryStore.bootstrap(join(tmp, "tom.sqlite"), { now: clock });
    await store.startSession("tom", { sessionId: "s1" });
    await store.appendTurn("s1", "user", "first");
    const publishing = store.publishBehaviorProfile("tom", { tone: "calm" }, { createdBy: "ops" });
    // Armed after publish read its start (outside the transaction): the next read is inside.
    trap = true;
    await assert.rejects(publishing, /the publish fails after the append was made/);
    assert.ok(during, "the clock was read inside the transaction");
    const turn = await during;
    assert.equal(turn.turn_index, 1);
    const { turns } = await store.sessionReplay("s1");
    assert.deepEqual(turns.map((t) => [t.turn_index, t.content]), [
      [0, "first"], [1, "appended while a profile was being published"],
    ]);
    assert.equal(await store.latestActiveBehaviorProfile("tom"), null);
    await store.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("a turn or step of a parent that does not exist is refused and writes nothing", async () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-append-"));
  const store = await RuntimeMemoryStore.bootstrap(join(tmp, "tom.sqlite"), { now: () => NOW });
  try {
    await assert.rejects(store.appendTurn("missing", "user", "x"), (e: Error) => e instanceof NotFound
      && e.message === "no sessions row with id 'missing'");
    await assert.rejects(store.addStep("missing", "build"), (e: Error) => e instanceof NotFound
      && e.message === "no workflow_runs row with id 'missing'");
    await assert.rejects(store.appendTurn("", "user", "x"), /sessions id must be a non-empty text, got ""/);
    const run = await store.startWorkflowRun("ship", { triggerSource: "manual", initiatedBy: "ops" });
    const steps = [await store.addStep(run.id, "build"), await store.addStep(run.id, "test")];
    assert.deepEqual(steps.map((s) => [s.step_index, s.workflow_run_id]), [[0, run.id], [1, run.id]]);
    const { steps: replayed } = await store.workflowReplay(run.id);
    assert.deepEqual(replayed.map((s) => s.step), steps);
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
