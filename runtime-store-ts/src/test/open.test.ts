/**
 * Opening a SQLite file: open() creates nothing and changes nothing it refuses, bootstrap
 * makes a new file, one warning Node 22 prints for node:sqlite is not printed, and a Node
 * without node:sqlite is told which Node the store needs. (The packed package in an empty
 * project, and pg as an optional peer dependency: tests/test_store_ts_package.py.)
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { RuntimeMemoryStore, StoreError } from "../index.js";

const INDEX = join(dirname(fileURLToPath(import.meta.url)), "..", "index.js");
const CLOCK = { now: () => new Date("2026-12-01T09:00:00.000Z") };

function inTmp(work: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "tom-open-"));
    try {
      await work(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

/** Run an ES module on this Node, with no database named in the environment (the
 * PostgreSQL half names one); returns its exit code, stdout and stderr. */
function node(source: string, cwd: string, ...flags: string[]) {
  const { DATABASE_URL: _url, TOM_RUNTIME_DB: _file, ...env } = process.env;
  const ran = spawnSync(process.execPath, [...flags, "--input-type=module", "-e", source], { cwd, env, encoding: "utf8" });
  return { code: ran.status, stdout: ran.stdout, stderr: ran.stderr };
}

test("open() of a missing file refuses, names bootstrap, and creates nothing", inTmp(async (dir) => {
  for (const file of [join(dir, "tom.sqlite"), join(dir, "no-such-folder", "tom.sqlite")]) {
    await assert.rejects(RuntimeMemoryStore.open(file, CLOCK), (error: Error) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /^no database file at .*tom\.sqlite: open\(\) never creates one; RuntimeMemoryStore\.bootstrap\(".*tom\.sqlite"\) makes a new file/);
      return true;
    });
  }
  assert.deepEqual(readdirSync(dir), []);
}));

test("open() without a path refuses a missing default file and creates no folder", inTmp(async (dir) => {
  // The dashboard's default, memory/tom_runtime.sqlite, from a folder without memory/.
  const ran = node(
    `import { RuntimeMemoryStore } from ${JSON.stringify(INDEX)};
     try { await RuntimeMemoryStore.open(); } catch (error) { console.log(error.message); }`,
    dir,
  );
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /^no database file at memory\/tom_runtime\.sqlite: .*bootstrap\("memory\/tom_runtime\.sqlite"\)/);
  assert.deepEqual(readdirSync(dir), []);
}));

test("a refused file is left exactly as it was, with nothing beside it", inTmp(async (dir) => {
  const { DatabaseSync } = await import("node:sqlite");
  const other = join(dir, "other.sqlite");
  const db = new DatabaseSync(other);
  db.exec("CREATE TABLE notes (id TEXT PRIMARY KEY)");
  db.close();
  const text = join(dir, "notes.txt");
  writeFileSync(text, "not a database, but long enough to be read as one: ".repeat(20));
  const before = { other: readFileSync(other), text: readFileSync(text) };
  await assert.rejects(RuntimeMemoryStore.open(other, CLOCK), /not a runtime memory v1 database: table sessions is missing/);
  await assert.rejects(RuntimeMemoryStore.open(text, CLOCK), /notes\.txt is not a SQLite database/);
  assert.deepEqual(readdirSync(dir).sort(), ["notes.txt", "other.sqlite"]);
  // Not even switched to WAL (the contract's journal mode): a refused file is not touched.
  assert.deepEqual({ other: readFileSync(other), text: readFileSync(text) }, before);
}));

test("bootstrap makes a new file, and its folder, that open() then accepts", inTmp(async (dir) => {
  const file = join(dir, "memory", "tom.sqlite");
  const made = await RuntimeMemoryStore.bootstrap(file, CLOCK);
  const session = await made.startSession("tom");
  await made.close();
  const again = await RuntimeMemoryStore.bootstrap(file, CLOCK);  // changes nothing
  await again.close();
  const store = await RuntimeMemoryStore.open(file, CLOCK);
  assert.equal((await store.sessionReplay(session.id)).session.actor, "tom");
  await store.close();
}));

test("opening a file prints no ExperimentalWarning for node:sqlite, and other warnings still show", inTmp(async (dir) => {
  const ran = node(
    `import { RuntimeMemoryStore } from ${JSON.stringify(INDEX)};
     const store = await RuntimeMemoryStore.bootstrap("tom.sqlite", { now: () => new Date(0) });
     await store.close();
     process.emitWarning("another experiment", "ExperimentalWarning");`,
    dir,
  );
  assert.equal(ran.code, 0, ran.stderr);
  assert.doesNotMatch(ran.stderr, /SQLite is an experimental feature/);
  assert.match(ran.stderr, /ExperimentalWarning: another experiment/);
}));

test("a Node without node:sqlite is told which Node the store needs", inTmp(async (dir) => {
  // As Node 20 or 22.12 answers (tests/test_store_ts_package.py runs a real old Node when
  // there is one): no such built-in module.
  const without = `const get = process.getBuiltinModule;
    process.getBuiltinModule = (id) => (id === "node:sqlite" || id === "sqlite" ? undefined : get(id));`;
  const ran = node(
    `import { RuntimeMemoryStore, StoreError } from ${JSON.stringify(INDEX)};
     try { await RuntimeMemoryStore.bootstrap("tom.sqlite"); }
     catch (error) { console.log(error instanceof StoreError, error.message); }`,
    dir, "--import", `data:text/javascript,${encodeURIComponent(without)}`,
  );
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /^true SQLite files need node:sqlite, which Node \d+\.\d+\.\d+ does not have: run Node 22\.13 or newer/);
  assert.deepEqual(readdirSync(dir), []);
}));
