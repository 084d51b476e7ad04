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

  /** Refuse an id that names no row, reading only whether it exists; lock it (PostgreSQL). */
  async lock(tx: Tx, table: Table, id: unknown): Promise<void> {
    if (typeof id !== "string" || !id) {
      throw new InvalidInput(`${table} id must be a non-empty text, got ${JSON.stringify(id)}`);
    }
    if (!(await tx.get(`SELECT 1 FROM "${table}" WHERE id = ?${tx.forUpdate}`, id))) {
      throw new NotFound(`no ${table} row with id '${id}'`);
    }
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
