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
   * Insert rows at their parent's next indexes, in order, in one transaction: the parent
   * locked (as ``get`` locks it; NotFound when it does not exist), its children's highest
   * index read once, each row inserted after (a batch writer's; ``append`` is one row's).
   */
  async appendAll<T extends "conversation_turns" | "workflow_steps">(
    table: T, parentTable: "sessions" | "workflow_runs", parentId: unknown, rows: Row[],
  ): Promise<TableRows[T][]> {
    const [parentColumn, indexColumn] = table === "conversation_turns"
      ? ["session_id", "turn_index"] : ["workflow_run_id", "step_index"];
    return this.db.write(async (tx) => {
      await this.get(tx, parentTable, parentId, true);
      const last = await tx.get(`SELECT MAX("${indexColumn}") AS last FROM "${table}" WHERE "${parentColumn}" = ?`, parentId as string);
      const first = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
      const stored: TableRows[T][] = [];
      for (const [n, row] of rows.entries()) {
        stored.push(await this.insert(tx, table, { ...row, [parentColumn]: parentId, [indexColumn]: first + n }));
      }
      return stored;
    });
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
