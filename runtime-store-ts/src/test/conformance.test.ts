/**
 * The contract's conformance scenarios (../contract/scenarios), run against this store.
 * The same files run against the Python store (tests/test_contract.py).
 *
 * On SQLite (a bootstrapped file per scenario) by default. With TOM_TEST_PG_ADMIN_URL (a
 * PostgreSQL URL allowed to create databases) and TOM_TEST_PG_TEMPLATE (a database the
 * dashboard migrated), on PostgreSQL instead: a database per scenario, copied from the
 * template (tests/test_contract.py runs this in the PostgreSQL half of make test).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";

import pg from "pg";

import {
  CONTRACT_DIR, contractConnection, type OpenOptions, type Row, RuntimeMemoryStore, StoreError,
} from "../index.js";

type Json = unknown;
interface Step {
  call: string; args?: Record<string, Json>; as?: string; result?: Json;
  error?: { type: string; matches: string };
  /** Time passes: the store's clock reads this instant from this step on. */
  clock?: string;
  /** Another writer's row, written straight into this table behind the store. */
  insert?: string; row?: Record<string, Json>;
}
interface Scenario { name: string; now?: string; steps: Step[]; rows?: Record<string, Json[]> }

// Each call's positional arguments; the rest go in its options object.
const POSITIONAL: Record<string, string[]> = {
  startSession: ["actor"],
  endSession: ["sessionId"],
  appendTurn: ["sessionId", "role", "content"],
  appendTurns: ["sessionId", "turns"],
  appendTurnsAcross: ["turns"],
  startSessions: ["sessions"],
  startWorkflowRuns: ["runs"],
  finishWorkflowRuns: ["runs"],
  sessionReplay: ["sessionId"],
  startWorkflowRun: ["workflowName"],
  finishWorkflowRun: ["runId"],
  addStep: ["runId", "stepName"],
  addSteps: ["runId", "steps"],
  addStepsAcross: ["steps"],
  finishStep: ["stepId"],
  addEvent: ["eventType", "eventLevel", "message"],
  addEvents: ["events"],
  workflowReplay: ["runId"],
  publishBehaviorProfile: ["profileName", "behavior"],
  publishPersonalityProfile: ["profileName", "personality"],
  withdrawBehaviorProfile: ["profileName", "version"],
  withdrawPersonalityProfile: ["profileName", "version"],
  latestActiveBehaviorProfile: ["profileName", "at"],
  latestActivePersonalityProfile: ["profileName", "at"],
  learnSkill: ["skillKey", "description"],
  draftProposal: ["skillId"],
  recordValidation: ["proposalId"],
  recordApproval: ["proposalId"],
  recordDeployOutcome: ["proposalId"],
  proposalLineage: ["proposalId"],
  proposalStatus: ["proposalId"],
  createScoreConfig: ["name", "dataType"],
  annotate: ["targetKind", "targetId"],
  annotationsForSession: ["sessionId"],
  annotationsSince: [],
};
// Calls whose arguments are all positional (no options object).
const NO_OPTIONS = new Set([
  "latestActiveBehaviorProfile", "latestActivePersonalityProfile", "sessionReplay", "workflowReplay", "proposalLineage",
  "proposalStatus", "annotationsForSession", "appendTurns", "addSteps", "addEvents", "appendTurnsAcross",
  "addStepsAcross", "startSessions", "startWorkflowRuns", "finishWorkflowRuns",
]);

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

interface World {
  store: RuntimeMemoryStore;
  rows(table: string): Promise<Row[]>;
  insert(table: string, row: Record<string, Json>): Promise<void>;
  dispose(): Promise<void>;
}

// The test's own reads get bigint (v1's INTEGER) as numbers, as the store does.
pg.types.setTypeParser(20, Number);
const ADMIN_URL = process.env.TOM_TEST_PG_ADMIN_URL;
const TEMPLATE = process.env.TOM_TEST_PG_TEMPLATE;
const ENGINE = ADMIN_URL && TEMPLATE ? "postgresql" : "sqlite";
let databases = 0;

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** A new PostgreSQL database (from the migrated template, or empty); its URL. */
async function newDatabase(fromTemplate: boolean): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tom_ts_${process.pid}_${++databases}`;
  await withAdmin((admin) =>
    admin.query(`CREATE DATABASE "${name}"${fromTemplate ? ` TEMPLATE "${TEMPLATE}"` : ""}`));
  const url = new URL(ADMIN_URL as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** A clock for tests that need no particular moment: none reads the day it runs on. */
const FIXED_CLOCK: OpenOptions = { now: () => new Date("2026-06-01T00:00:00.000Z") };

async function world(clock: OpenOptions): Promise<World> {
  if (ENGINE === "postgresql") {
    const { url, drop } = await newDatabase(true);
    const store = await RuntimeMemoryStore.open(url, clock);
    return {
      store,
      // In the order rows were added: the UUIDv7 ids (first column) the store makes.
      rows: async (table) => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return (await client.query(`SELECT * FROM "${table}" ORDER BY 1`)).rows;
        } finally {
          await client.end();
        }
      },
      insert: async (table, row) => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const columns = Object.keys(row);
          await client.query(
            `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map((_, n) => `$${n + 1}`).join(", ")})`,
            Object.values(row),
          );
        } finally {
          await client.end();
        }
      },
      dispose: async () => {
        await store.close();
        await drop();
      },
    };
  }
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  const file = join(tmp, "tom_runtime.sqlite");
  const store = await RuntimeMemoryStore.bootstrap(file, clock);
  return {
    store,
    rows: async (table) => {
      const db = new DatabaseSync(file);
      try {
        return db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all().map((r) => ({ ...r }));
      } finally {
        db.close();
      }
    },
    insert: async (table, row) => {
      const db = new DatabaseSync(file);
      try {
        const columns = Object.keys(row);
        db.prepare(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
          .run(...(Object.values(row) as (string | number | null)[]));
      } finally {
        db.close();
      }
    },
    dispose: async () => {
      await store.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

async function run(scenario: Scenario): Promise<void> {
  // Every scenario states its moment, so none depends on the day it runs.
  assert.ok(scenario.now, `${scenario.name}: a scenario gives its "now"`);
  let current = scenario.now;
  const clock = { now: () => new Date(current as string) };
  const { store, rows, insert, dispose } = await world(clock);
  const saved: Record<string, Json> = {};
  try {
    for (const [n, step] of scenario.steps.entries()) {
      if (step.clock) {
        current = step.clock;
        continue;
      }
      if (step.insert) {
        const row = resolve(step.row ?? {}, saved) as Record<string, Json>;
        await insert(step.insert, row);
        saved[step.as ?? ""] = row;
        continue;
      }
      const where = `step ${n} (${step.call})`;
      const args = resolve(step.args ?? {}, saved) as Record<string, Json>;
      const names = POSITIONAL[step.call];
      assert.ok(names, `${where}: this store has no ${step.call} yet`);
      const options = Object.fromEntries(Object.entries(args).filter(([k]) => !names.includes(k)));
      const method = (store as unknown as Record<string, (...a: Json[]) => Promise<Json>>)[step.call]!;
      const positional = names.map((k) => args[k]);
      const call = () => method.call(store, ...positional, ...(NO_OPTIONS.has(step.call) ? [] : [options]));
      if (step.error) {
        await assert.rejects(call, (error: Error) => {
          assert.ok(error instanceof StoreError, `${where}: ${error}`);
          assert.equal(error.constructor.name, step.error!.type, where);
          assert.match(error.message, new RegExp(step.error!.matches), where);
          return true;
        });
        continue;
      }
      const result = plain(await call());
      if (step.as) saved[step.as] = result;
      if ("result" in step) matches(step.result, result, saved, where);
    }
    for (const [table, expected] of Object.entries(scenario.rows ?? {})) {
      matches(expected, await rows(table), saved, `table ${table}`);
    }
  } finally {
    await dispose();
  }
}

const dir = join(CONTRACT_DIR, "scenarios");
for (const name of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const stem = name.replace(/\.json$/, "");
  const scenario = JSON.parse(readFileSync(join(dir, name), "utf8")) as Scenario;
  test(`contract scenario ${stem} on ${ENGINE}: ${scenario.name}`, () => run(scenario));
}

test(`a database without the v1 tables is refused with a clear error (${ENGINE})`, async () => {
  const refusal = /not a runtime memory v1 database: table sessions is missing/;
  if (ENGINE === "postgresql") {
    const { url, drop } = await newDatabase(false);
    try {
      await assert.rejects(RuntimeMemoryStore.open(url), refusal);
    } finally {
      await drop();
    }
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  try {
    const file = join(tmp, "other.sqlite");
    new DatabaseSync(file).close();
    await assert.rejects(RuntimeMemoryStore.open(file), refusal);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("every SQLite connection is set up as contract/connection.json says", { skip: ENGINE !== "sqlite" }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  const store = await RuntimeMemoryStore.bootstrap(join(tmp, "tom_runtime.sqlite"), FIXED_CLOCK);
  try {
    const db = (store as unknown as { core: { db: { db: DatabaseSync } } }).core.db.db;
    const { pragmas, busy_timeout_ms } = contractConnection();
    for (const [name, value] of Object.entries(pragmas)) {
      assert.deepEqual({ ...db.prepare(`PRAGMA ${name}`).get() }, { [name]: value });
    }
    assert.deepEqual({ ...db.prepare("PRAGMA busy_timeout").get() }, { timeout: busy_timeout_ms });
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("calls made at once on one SQLite store are written one after another", { skip: ENGINE !== "sqlite" }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), "tom-contract-"));
  const store = await RuntimeMemoryStore.bootstrap(join(tmp, "tom_runtime.sqlite"), FIXED_CLOCK);
  try {
    const session = await store.startSession("tom");
    // Not awaited one by one: each call waits for the one before it on the connection.
    const turns = await Promise.all(
      Array.from({ length: 50 }, (_, n) => store.appendTurn(String(session.id), "user", `turn ${n}`)),
    );
    assert.deepEqual(turns.map((t) => t.turn_index), Array.from({ length: 50 }, (_, n) => n));
    await assert.rejects(store.appendTurn("missing", "user", "x"), /no sessions row/);
    assert.equal((await store.sessionReplay(String(session.id))).turns.length, 50);
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
