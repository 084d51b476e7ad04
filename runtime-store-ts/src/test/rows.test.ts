/**
 * The row types (rows.ts) against the contract's DDL: every table of contract/v1_schema.sql
 * and contract/tommemory_schema.sql has a column list, with the DDL's columns in its order,
 * each holding text or a number and NULL only where the DDL allows it. The compiler holds
 * each list to its row type (`satisfies Columns<...>`); this test holds the lists to the
 * DDL, so a column added to either alone fails.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import {
  type ColumnKind, type Columns, CONTRACT_DIR, OUR_TABLES, type Session, SESSION_COLUMNS, V1_TABLES,
} from "../index.js";

type Tables = Record<string, Record<string, ColumnKind>>;

/** Each CREATE TABLE's columns, in order, with the kind a row holds there. */
function tablesOf(ddl: string): Tables {
  const tables: Tables = {};
  const withoutComments = ddl.replace(/--[^\n]*/g, "");
  const create = /CREATE TABLE IF NOT EXISTS\s+"?(\w+)"?\s*\(/gi;
  for (let m = create.exec(withoutComments); m; m = create.exec(withoutComments)) {
    // The column list runs to the parenthesis that closes the one after the name.
    let depth = 1;
    let end = create.lastIndex;
    while (depth) {
      const c = withoutComments[end++];
      if (c === undefined) throw new Error(`unclosed CREATE TABLE ${m[1]}`);
      if (c === "(") depth++;
      else if (c === ")") depth--;
    }
    const body = withoutComments.slice(create.lastIndex, end - 1);
    const parts: string[] = [];
    let part = "";
    depth = 0;
    for (const c of body) {
      if (c === "(") depth++;
      if (c === ")") depth--;
      if (c === "," && depth === 0) { parts.push(part); part = ""; } else part += c;
    }
    parts.push(part);
    const columns: Record<string, ColumnKind> = {};
    for (const definition of parts.map((p) => p.trim())) {
      if (/^(FOREIGN|UNIQUE|CONSTRAINT|PRIMARY|CHECK)\b/i.test(definition)) continue;
      const column = /^"?(\w+)"?\s+(\w+)(.*)$/s.exec(definition);
      if (!column) throw new Error(`unread column in ${m[1]}: ${definition}`);
      const [, name = "", type = "", rest = ""] = column;
      const kind = /^(TEXT)$/i.test(type) ? "text" : /^(INTEGER|BIGINT|REAL)$/i.test(type) ? "number" : null;
      if (kind === null) throw new Error(`${m[1]}.${name}: type ${type} is neither text nor a number`);
      const required = /\bNOT\s+NULL\b|\bPRIMARY\s+KEY\b/i.test(rest);
      columns[name] = required ? kind : `${kind}?`;
    }
    tables[m[1] as string] = columns;
  }
  return tables;
}

/** How the exported lists differ from the DDL's: [] when they agree. */
function differences(ddl: Tables, exported: Tables): string[] {
  const found: string[] = [];
  for (const table of new Set([...Object.keys(ddl), ...Object.keys(exported)])) {
    const want = ddl[table];
    const have = exported[table];
    if (!want || !have) {
      found.push(`${table}: ${want ? "no column list" : "not in the DDL"}`);
      continue;
    }
    const wanted = Object.entries(want).map(([c, k]) => `${c} ${k}`);
    const had = Object.entries(have).map(([c, k]) => `${c} ${k}`);
    if (JSON.stringify(wanted) !== JSON.stringify(had)) {
      found.push(`${table}: the DDL has (${wanted.join(", ")}); the list has (${had.join(", ")})`);
    }
  }
  return found;
}

const v1 = readFileSync(join(CONTRACT_DIR, "v1_schema.sql"), "utf8");
const ours = readFileSync(join(CONTRACT_DIR, "tommemory_schema.sql"), "utf8");

test("every v1 table has a row type whose columns are the DDL's", () => {
  const tables = tablesOf(v1);
  assert.equal(Object.keys(tables).length, 12);
  assert.deepEqual(differences(tables, V1_TABLES), []);
});

test("our tables beside v1 have row types whose columns are the DDL's", () => {
  const tables = tablesOf(ours);
  assert.deepEqual(Object.keys(tables).sort(), [
    "tommemory_annotation_scores", "tommemory_annotations", "tommemory_approval_evidence", "tommemory_audit_log",
    "tommemory_audit_log_previous", "tommemory_finding_evidence", "tommemory_log_tiles", "tommemory_overrides",
    "tommemory_profile_withdrawals", "tommemory_score_configs",
  ]);
  assert.deepEqual(differences(tables, OUR_TABLES), []);
});

test("a column the DDL gains, loses or changes is found", () => {
  // The comparison itself, on DDL edited the ways that must fail.
  const added = v1.replace("channel TEXT,", "channel TEXT,\n  locale TEXT,");
  assert.deepEqual(differences(tablesOf(added), V1_TABLES), [
    "sessions: the DDL has (id text, actor text, channel text?, locale text?, started_at text, ended_at text?, status text, metadata_json text); "
    + "the list has (id text, actor text, channel text?, started_at text, ended_at text?, status text, metadata_json text)",
  ]);
  const required = v1.replace("channel TEXT,", "channel TEXT NOT NULL,");
  assert.match(differences(tablesOf(required), V1_TABLES).join(), /^sessions: the DDL has \(id text, actor text, channel text,/);
  const retyped = v1.replace("token_count INTEGER,", "token_count TEXT,");
  assert.match(differences(tablesOf(retyped), V1_TABLES).join(), /^conversation_turns: .*token_count text\?/);
  const table = `${v1}\nCREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY);`;
  assert.deepEqual(differences(tablesOf(table), V1_TABLES), ["notes: no column list"]);
});

test("a column list and its row type cannot differ (compile-time)", () => {
  // Each line below fails to compile unless the type checker refuses it (@ts-expect-error
  // is an error when nothing follows it that is one): tsc runs before these tests.
  // @ts-expect-error: a column of the row type is missing from the list
  const missing = { id: "text" } as const satisfies Columns<Session>;
  // @ts-expect-error: a column the row type lacks
  const extra = { ...SESSION_COLUMNS, locale: "text?" } as const satisfies Columns<Session>;
  // @ts-expect-error: NULL where the row type does not allow it
  const nullable = { ...SESSION_COLUMNS, actor: "text?" } as const satisfies Columns<Session>;
  assert.ok(missing && extra && nullable);
});
