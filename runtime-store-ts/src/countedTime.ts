/**
 * The time a governed row counts at: the time it claims, held to what the decision log saw
 * (memory_app/promotion/decision_time.py is the same rule in Python; the README says why).
 *
 * - hi: no later than when the log recorded the row (its entry's logged_at), or, for a row
 *   the log has not taken in yet, than the moment it is read;
 * - lo: no earlier than the log's latest take-in before that (the latest earlier entry, by
 *   log position, whose logged_at is earlier than hi; for a row not taken in yet, the
 *   log's last take-in): a take-in reads every table, so it saw the proposal without it.
 *
 * An unreadable claimed time counts at hi. Rows nobody attached a counted time to count at
 * the time they claim.
 */
import type { Param, Row, Tx } from "./engines.js";
import { instantKey } from "./times.js";

const counted = new WeakMap<Row, string>();
// Each row's place in the decision log (absent: not taken in yet).
const positions = new WeakMap<Row, number>();

/** A claimed time clamped to [lo, hi] ("" bounds are open); hi wins should they cross. An
 * unreadable claim counts at hi, when tommemory saw the row (decision_time.py says why). */
export function clampTime(claimed: unknown, lo: string, hi: string): string {
  let key = instantKey(claimed);
  if (!key) return hi;
  if (lo && key < lo) key = lo;
  if (hi && key > hi) key = hi;
  return key;
}

/** The time the rule places a governed row at (canonical text, "" when unreadable). */
export function timeOf(row: Row, column: string): string {
  return counted.get(row) ?? instantKey(row[column]);
}

/** Rows in counted-time order; rows counted at one moment in the order the log saw them
 * (rows not taken in yet last), then by the time they claim, then id. */
export function inCountedOrder(rows: Row[], column: string): Row[] {
  const key = (r: Row): (string | number)[] => {
    const position = positions.get(r);
    return [timeOf(r, column), position === undefined ? 1 : 0, position ?? 0, instantKey(r[column]), String(r.id)];
  };
  return [...rows].sort((a, b) => {
    const ka = key(a); const kb = key(b);
    for (let n = 0; n < ka.length; n++) {
      if (ka[n] !== kb[n]) return (ka[n] as string | number) < (kb[n] as string | number) ? -1 : 1;
    }
    return 0;
  });
}

export interface GovernedRows { kind: string; column: string; rows: Row[] }

/** Give each row its counted time (one query); ``now`` bounds rows not logged yet. */
export async function attachCountedTimes(tx: Tx, groups: GovernedRows[], now: string): Promise<void> {
  const parts: string[] = [];
  const params: Param[] = [];
  for (const { kind, rows } of groups) {
    const ids = rows.map((r) => r.id).filter((id): id is string => typeof id === "string");
    if (!ids.length) continue;
    // The same statement as decision_time.py: each kind's rows through the (kind, row_id)
    // index, the previous take-in from the table triggers keep beside the log (one lookup),
    // or, for an entry it lacks, by walking the primary key back.
    parts.push(
      'SELECT l.kind, l.row_id, l."index" AS position, l.logged_at AS hi, '
      + 'CASE WHEN b."index" IS NOT NULL THEN b.previous_take_in ELSE '
      + "(SELECT p.logged_at FROM tommemory_audit_log p "
      + 'WHERE p."index" < l."index" AND p.logged_at < l.logged_at ORDER BY p."index" DESC LIMIT 1) END AS lo '
      + 'FROM tommemory_audit_log l LEFT JOIN tommemory_audit_log_previous b ON b."index" = l."index" '
      + `WHERE l.kind = ? AND l.row_id IN (${ids.map(() => "?").join(", ")})`,
    );
    params.push(kind, ...ids);
  }
  parts.push(
    "SELECT NULL AS kind, NULL AS row_id, NULL AS position, p.logged_at AS hi, NULL AS lo FROM tommemory_audit_log p "
    + 'WHERE p."index" = (SELECT MAX("index") FROM tommemory_audit_log)',
  );
  const bounds = new Map<string, [string, string, number]>();
  let lastTakeIn = "";
  for (const found of await tx.all(parts.join(" UNION ALL "), ...params)) {
    const { kind, row_id: rowId, position, hi, lo } = found;
    if (kind === null || kind === undefined) lastTakeIn = String(hi ?? "");
    else bounds.set(`${String(kind)}\u0000${String(rowId)}`, [String(lo ?? ""), String(hi), Number(position)]);
  }
  for (const { kind, column, rows } of groups) {
    for (const row of rows) {
      const found = bounds.get(`${kind}\u0000${String(row.id)}`);
      const [lo, hi] = found ?? [lastTakeIn, now];
      counted.set(row, clampTime(row[column], lo, hi));
      if (found) positions.set(row, found[2]);
    }
  }
}
