/**
 * What every writer shares: the engine, the store's clock, and reading, locking and
 * inserting rows by table. The wings (conversations, workflows, profiles, promotion) write
 * through one Core; RuntimeMemoryStore is the front door over them.
 */
import type { Engine, Param, Row, Tx } from "./engines.js";
import { InvalidInput, NotFound } from "./errors.js";
import { columnsOf, type Table, type TableRows } from "./rows.js";
import { givenTime } from "./times.js";

export class Core {
  constructor(
    readonly db: Engine,
    readonly clock: () => Date,
  ) {}

  /** The store's clock's now, as stored. */
  readonly now = (): string => this.clock().toISOString();

  /** A given time in the canonical form, or the store's clock's now when none is given. */
  when(value: unknown, what: string): string {
    return givenTime(value, what, this.now);
  }

  /** The row, or NotFound; ``lock``: the parent row a write serializes on (PostgreSQL). */
  async get<T extends Table>(tx: Tx, table: T, id: unknown, lock = false): Promise<TableRows[T]> {
    if (typeof id !== "string" || !id) {
      throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
    }
    const row = await tx.get(`SELECT * FROM "${table}" WHERE id = ?${lock ? tx.forUpdate : ""}`, id);
    if (!row) throw new NotFound(`no ${table} row with id '${id}'`);
    return row as TableRows[T];
  }

  /**
   * Insert a row at its parent's next index (turn_index, step_index; engines.ts says how
   * each engine keeps them gap-free) and return it as stored; NotFound when the parent
   * row does not exist.
   */
  async append<T extends "conversation_turns" | "workflow_steps">(
    table: T, parentTable: "sessions" | "workflow_runs", parentId: unknown, row: Row,
  ): Promise<TableRows[T]> {
    if (typeof parentId !== "string" || !parentId) {
      throw new InvalidInput(`${parentTable} id must be a non-empty text, got ${JSON.stringify(parentId)}`);
    }
    const [parentColumn, indexColumn] = table === "conversation_turns"
      ? ["session_id", "turn_index"] : ["workflow_run_id", "step_index"];
    const columns = (columnsOf(table) as string[]).filter((c) => c !== parentColumn && c !== indexColumn);
    const index = await this.db.append({
      table, parentTable, parentId, parentColumn, indexColumn, columns,
      values: columns.map((c) => (row[c] ?? null) as Param),
    });
    if (index === undefined) throw new NotFound(`no ${parentTable} row with id '${parentId}'`);
    const stored: Row = { ...row, [parentColumn]: parentId, [indexColumn]: index };
    return Object.fromEntries((columnsOf(table) as string[]).map((c) => [c, stored[c] ?? null])) as TableRows[T];
  }

  /**
   * Insert rows at their parents' next indexes, in order, in one transaction (a batch
   * writer's; ``append`` is one row's): each row with its parent's id, the parents locked
   * (``locked``) and their children's highest indexes read once. ``parent``: the one parent
   * of a batch for one parent, which must exist even with no rows (NotFound as ``get``
   * says it); otherwise a missing parent is named by its first row's place in ``what``.
   */
  async appendRows<T extends "conversation_turns" | "workflow_steps">(
    table: T, parentTable: "sessions" | "workflow_runs", rows: [unknown, Row][],
    { parent, what }: { parent?: unknown; what?: string } = {},
  ): Promise<TableRows[T][]> {
    const [parentColumn, indexColumn] = table === "conversation_turns"
      ? ["session_id", "turn_index"] : ["workflow_run_id", "step_index"];
    const parents = [...(parent === undefined ? [] : [parent]), ...rows.map(([id]) => id)];
    for (const id of parents) {
      if (typeof id !== "string" || !id) {
        throw new InvalidInput(`${parentTable} id must be a non-empty text, got ${JSON.stringify(id)}`);
      }
    }
    const ids = [...new Set(parents as string[])].sort();
    return this.db.write(async (tx) => {
      const found = await this.locked(tx, parentTable, ids);
      if (parent !== undefined && !found.has(parent as string)) {
        throw new NotFound(`no ${parentTable} row with id '${String(parent)}'`);
      }
      const place = rows.findIndex(([id]) => !found.has(id as string));
      if (place >= 0) {
        throw new NotFound(`${what}[${place}]: no ${parentTable} row with id '${String(rows[place]?.[0])}'`);
      }
      const next = new Map<string, number>();
      for (let start = 0; start < ids.length; start += 500) {
        const chunk = ids.slice(start, start + 500);
        const highest = await tx.all(
          `SELECT "${parentColumn}" AS parent, MAX("${indexColumn}") AS last FROM "${table}" ` +
          `WHERE "${parentColumn}" IN (${chunk.map(() => "?").join(", ")}) GROUP BY "${parentColumn}"`,
          ...chunk,
        );
        for (const { parent: id, last } of highest) {
          if (last !== null && last !== undefined) next.set(String(id), Number(last) + 1);
        }
      }
      const stored: TableRows[T][] = [];
      for (const [id, row] of rows) {
        const index = next.get(id as string) ?? 0;
        next.set(id as string, index + 1);
        stored.push(await this.insert(tx, table, { ...row, [parentColumn]: id, [indexColumn]: index }));
      }
      return stored;
    });
  }

  /**
   * Lock the rows of these ids (as ``get`` locks a parent) and return those that exist;
   * locked in the order of their ids, so two writers of the same rows never each hold one
   * the other waits for (the Python store's writing.locked).
   */
  async locked(tx: Tx, table: Table, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const sorted = [...new Set(ids)].sort();
    for (let start = 0; start < sorted.length; start += 500) {
      const chunk = sorted.slice(start, start + 500);
      const rows = await tx.all(
        `SELECT id FROM "${table}" WHERE id IN (${chunk.map(() => "?").join(", ")}) ORDER BY id${tx.forUpdate}`,
        ...chunk,
      );
      for (const row of rows) found.add(String(row.id));
    }
    return found;
  }

  /** Insert a row and return it as stored: every column is given, so no read-back. */
  async insert<T extends Table>(tx: Tx, table: T, row: Row): Promise<TableRows[T]> {
    const columns = columnsOf(table) as string[];
    await tx.run(
      `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
      ...(columns.map((c) => row[c] ?? null) as Param[]),
    );
    return Object.fromEntries(columns.map((c) => [c, row[c] ?? null])) as TableRows[T];
  }
}
