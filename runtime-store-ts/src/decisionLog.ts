/**
 * The decision log: one append-only Merkle log of every governed row (tommemory_audit_log;
 * contract/decision_log.json says which rows are leaves and what a leaf covers). Every
 * governed write takes in what the log has not seen yet, in its own transaction, as
 * memory_app/promotion/decision_log.py take_in does, with the tiles of its tree (logTiles.ts).
 */
import { createHash } from "node:crypto";

import { contractText } from "./contract.js";
import type { Row, Tx } from "./engines.js";
import { extendTiles } from "./logTiles.js";
import { instantKey } from "./times.js";

/** Which rows are decision-log leaves and what a leaf covers (contract/decision_log.json). */
interface DecisionLog {
  kinds: Record<string, { table: string; time: string; columns: string[] }>;
  evidence: { kind: string; table: string; key: string; columns: string[] };
  left_out: Record<string, string[]>;
}
export const DECISION_LOG = JSON.parse(contractText("decision_log.json")) as DecisionLog;

/** JSON as Python's json.dumps(separators=(",", ":"), ensure_ascii=False) writes stored
 * values: big integers exactly, bytes as {"bytes": hex}. (An integral REAL another writer
 * stored reads as "1" here and "1.0" there: contract/README.md.) */
function storedJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `{"bytes":${JSON.stringify(Buffer.from(value).toString("hex"))}}`;
  if (Array.isArray(value)) return `[${value.map(storedJson).join(",")}]`;
  if (typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${storedJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The RFC 6962 leaf hash of a logged row, as tommemory_verify/leaves.py and merkle.py make it. */
export function leafHash(kind: string, row: Row, evidence: Row | null): string {
  const leftOut = DECISION_LOG.left_out[kind] ?? [];
  const covered = Object.fromEntries(DECISION_LOG.kinds[kind]!.columns
    .filter((c) => !leftOut.includes(c)).map((c) => [c, row[c] ?? null]));
  const text = storedJson({ kind, row: covered, evidence });
  return createHash("sha256").update(Buffer.from([0])).update(text, "utf8").digest("hex");
}

/** Append every governed row the decision log has not seen yet, oldest first, in the
 * caller's transaction, each logged at the clock's ``now``; returns how many. */
export async function takeIn(tx: Tx, now: () => string): Promise<number> {
  // Writers append one at a time, so indexes run 0, 1, 2, ... without gaps.
  await tx.serializeOn("tommemory_audit_log");
  const fresh: { key: string; id: string; order: number; kind: string; row: Row }[] = [];
  for (const [order, [kind, spec]] of Object.entries(DECISION_LOG.kinds).entries()) {
    const rows = await tx.all(
      `SELECT ${spec.columns.map((c) => `"${c}"`).join(", ")} FROM "${spec.table}" t WHERE t.id IS NOT NULL `
      + "AND NOT EXISTS (SELECT 1 FROM tommemory_audit_log l WHERE l.kind = ? AND l.row_id = t.id)",
      kind,
    );
    for (const row of rows) {
      if (typeof row.id === "string") fresh.push({ key: instantKey(row[spec.time]), id: row.id, order, kind, row });
    }
  }
  if (!fresh.length) return 0;
  fresh.sort((a, b) => (a.key !== b.key ? (a.key < b.key ? -1 : 1)
    : a.id !== b.id ? (a.id < b.id ? -1 : 1) : a.order - b.order));
  const spec = DECISION_LOG.evidence;
  const decisions = fresh.filter((e) => e.kind === spec.kind).map((e) => e.id);
  const evidence = new Map<unknown, Row>();
  if (decisions.length) {
    const found = await tx.all(
      `SELECT ${spec.columns.map((c) => `"${c}"`).join(", ")} FROM "${spec.table}" `
      + `WHERE "${spec.key}" IN (${decisions.map(() => "?").join(", ")})`,
      ...decisions,
    );
    for (const row of found) evidence.set(row[spec.key], row);
  }
  const last = await tx.get('SELECT "index", leaf_hash FROM tommemory_audit_log ORDER BY "index" DESC LIMIT 1');
  const start = last === undefined ? 0 : Number(last.index) + 1;
  const loggedAt = now();
  const hashes: string[] = [];
  for (const [n, entry] of fresh.entries()) {
    const ev = entry.kind === spec.kind ? evidence.get(entry.id) ?? null : null;
    hashes.push(leafHash(entry.kind, entry.row, ev));
    await tx.run(
      'INSERT INTO tommemory_audit_log ("index", kind, row_id, leaf_hash, logged_at) VALUES (?, ?, ?, ?, ?)',
      start + n, entry.kind, entry.id, hashes[n]!, loggedAt,
    );
  }
  // The tree's tiles, in the same transaction (they hold what the log holds).
  await extendTiles(tx, start, hashes, last === undefined ? null : String(last.leaf_hash));
  return fresh.length;
}
