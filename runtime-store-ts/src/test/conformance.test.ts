/**
 * The contract's conformance scenarios (../contract/scenarios), run against this store.
 * The same files run against the Python store (tests/test_contract.py).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";

import { CONTRACT_DIR, contractConnection, RuntimeMemoryStore, StoreError } from "../index.js";

type Json = unknown;
interface Step {
  call: string; args?: Record<string, Json>; as?: string; result?: Json;
  error?: { type: string; matches: string };
}
interface Scenario { name: string; now?: string; steps: Step[]; rows?: Record<string, Json[]> }

// Each call's positional arguments; the rest go in its options object.
const POSITIONAL: Record<string, string[]> = {
  startSession: ["actor"],
  endSession: ["sessionId"],
  appendTurn: ["sessionId", "role", "content"],
  sessionReplay: ["sessionId"],
  startWorkflowRun: ["workflowName"],
  finishWorkflowRun: ["runId"],
  addStep: ["runId", "stepName"],
  finishStep: ["stepId"],
  addEvent: ["eventType", "eventLevel", "message"],
  workflowReplay: ["runId"],
  publishBehaviorProfile: ["profileName", "behavior"],
  publishPersonalityProfile: ["profileName", "personality"],
  latestActiveBehaviorProfile: ["profileName", "at"],
  latestActivePersonalityProfile: ["profileName", "at"],
  learnSkill: ["skillKey", "description"],
  draftProposal: ["skillId"],
  recordValidation: ["proposalId"],
  recordApproval: ["proposalId"],
  recordDeployOutcome: ["proposalId"],
  proposalLineage: ["proposalId"],
};
// Calls whose arguments are all positional (no options object).
const NO_OPTIONS = new Set(["latestActiveBehaviorProfile", "latestActivePersonalityProfile", "sessionReplay", "workflowReplay", "proposalLineage"]);

const FORMS: Record<string, RegExp> = {
  "<uuid7>": /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  "<timestamp>": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/,
  "<sha256>": /^[0-9a-f]{64}$/,
};

function resolve(value: Json, saved: Record<string, Json>): Json {
  if (typeof value === "string" && value.startsWith("$")) {
    const [name = "", ...path] = value.slice(1).split(".");
    let found = saved[name];
    for (const part of path) found = (found as Record<string, Json>)[part];
    return found;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, saved));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, saved)]));
  }
  return value;
}

function matches(expected: Json, actual: Json, saved: Record<string, Json>, where: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: expected a list, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${where}: ${actual.length} items, not ${expected.length}`);
    expected.forEach((e, n) => matches(e, actual[n], saved, `${where}[${n}]`));
  } else if (expected && typeof expected === "object") {
    assert.ok(actual && typeof actual === "object", `${where}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) {
      assert.ok(key in (actual as object), `${where}: no ${key}`);
      matches(value, (actual as Record<string, Json>)[key], saved, `${where}.${key}`);
    }
  } else if (expected === "<any>") {
    return;
  } else if (typeof expected === "string" && expected in FORMS) {
    assert.match(String(actual), FORMS[expected] as RegExp, `${where}: ${JSON.stringify(actual)} is not ${expected}`);
  } else {
    assert.deepEqual(actual, resolve(expected, saved), where);
  }
}

function plain(value: Json): Json {
  return JSON.parse(JSON.stringify(value ?? null));
}

function run(scenario: Scenario, file: string): void {
  const clock = scenario.now ? { now: () => new Date(scenario.now as string) } : {};
  const store = RuntimeMemoryStore.bootstrap(file, clock);
  const saved: Record<string, Json> = {};
  try {
    scenario.steps.forEach((step, n) => {
      const where = `step ${n} (${step.call})`;
      const args = resolve(step.args ?? {}, saved) as Record<string, Json>;
      const names = POSITIONAL[step.call];
      assert.ok(names, `${where}: this store has no ${step.call} yet`);
      const options = Object.fromEntries(Object.entries(args).filter(([k]) => !names.includes(k)));
      const method = (store as unknown as Record<string, (...a: Json[]) => Json>)[step.call]!;
      const positional = names.map((k) => args[k]);
      const call = () => method.call(store, ...positional, ...(NO_OPTIONS.has(step.call) ? [] : [options]));
      if (step.error) {
        assert.throws(call, (error: Error) => {
          assert.ok(error instanceof StoreError, `${where}: ${error}`);
          assert.equal(error.constructor.name, step.error!.type, where);
          assert.match(error.message, new RegExp(step.error!.matches), where);
          return true;
        });
        return;
      }
      const result = plain(call());
      if (step.as) saved[step.as] = result;
      if ("result" in step) matches(step.result, result, saved, where);
    });
  } finally {
    store.close();
  }
  const db = new DatabaseSync(file);
  try {
    for (const [table, expected] of Object.entries(scenario.rows ?? {})) {
      const rows = db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all().map((r) => ({ ...r }));
      matches(expected, rows, saved, `table ${table}`);
    }
  } finally {
    db.close();
  }
}

const dir = join(CONTRACT_DIR, "scenarios");
for (const name of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const stem = name.replace(/\.json$/, "");
  const scenario = JSON.parse(readFileSync(join(dir, name), "utf8")) as Scenario;
  test(`contract scenario ${stem}: ${scenario.name}`, () => {
    const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
    try {
      run(scenario, join(tmp, "tom_runtime.sqlite"));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test("a file without the v1 tables is refused with a clear error", () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  try {
    const file = join(tmp, "other.sqlite");
    new DatabaseSync(file).close();
    assert.throws(() => RuntimeMemoryStore.open(file), /not a runtime memory v1 database: table sessions is missing/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("every connection is set up as contract/connection.json says", () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  const store = RuntimeMemoryStore.bootstrap(join(tmp, "tom_runtime.sqlite"));
  try {
    const db = (store as unknown as { db: DatabaseSync }).db;
    const { pragmas, busy_timeout_ms } = contractConnection();
    for (const [name, value] of Object.entries(pragmas)) {
      assert.deepEqual({ ...db.prepare(`PRAGMA ${name}`).get() }, { [name]: value });
    }
    assert.deepEqual({ ...db.prepare("PRAGMA busy_timeout").get() }, { timeout: busy_timeout_ms });
  } finally {
    store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
