/**
 * The two engines the store writes: a SQLite file through node:sqlite, or PostgreSQL
 * through node-postgres (pg). The store speaks SQL with `?` parameters to a `Tx`, and
 * every write runs in one transaction that `Engine.write` opens:
 *
 * - SQLite: `BEGIN IMMEDIATE`, which excludes every other writer of the file for the
 *   transaction (the dashboard's transactions begin the same way). One connection serves
 *   one call at a time, so calls made at once queue here.
 * - PostgreSQL: `BEGIN` on a pooled connection; a write serializes on its parent row
 *   (`SELECT ... FOR UPDATE`, `Tx.forUpdate`) or on an advisory lock (`Tx.serializeOn`),
 *   exactly as the Python store does.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { pathToFileURL } from "node:url";

import type { Connection } from "./contract.js";
import { StoreError } from "./errors.js";
import { nodeSqlite } from "./nodeSqlite.js";

export type Row = Record<string, unknown>;
export type Param = string | number | null;

export interface Tx {
  get(sql: string, ...params: Param[]): Promise<Row | undefined>;
  all(sql: string, ...params: Param[]): Promise<Row[]>;
  run(sql: string, ...params: Param[]): Promise<void>;
  /** Appended to a SELECT of the parent row a write serializes on. */
  readonly forUpdate: string;
  /** Make writers of the same key (a profile name) take turns until the transaction ends. */
  serializeOn(key: string): Promise<void>;
}

/**
 * A row appended at its parent's next index (a turn's turn_index in its session, a step's
 * step_index in its run): one more than the parent's highest, 0 for the first, each index
 * given once however many writers append at the same time.
 */
export interface Append {
  table: string; parentTable: string; parentId: string;
  /** The child's column naming its parent, and the one holding its index. */
  parentColumn: string; indexColumn: string;
  /** The row's other columns, in order, and their values. */
  columns: string[]; values: Param[];
}

export interface Engine {
  readonly name: "sqlite" | "postgresql";
  /** Insert ``append``'s row at its parent's next index and return that index; undefined
   * (and nothing written) when the parent row does not exist. */
  append(append: Append): Promise<number | undefined>;
  /** Run ``work`` in one write transaction: all of it is written, or nothing. */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Run ``work``'s reads. */
  read<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** The columns of a table, or none when it does not exist. */
  columns(table: string): Promise<string[]>;
  /** Set the connection up as the contract says, once the database is known to be v1. */
  setUp(): void;
  close(): Promise<void>;
}

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//.test(target);
}

// --- SQLite ------------------------------------------------------------------------------

export class SqliteEngine implements Engine, Tx {
  readonly name = "sqlite";
  readonly forUpdate = "";
  // Prepared once per SQL text: preparing is most of the cost of a small write.
  private readonly statements = new Map<string, StatementSync>();
  private queue: Promise<unknown> = Promise.resolve();
  // Calls queued or running on the connection.
  private pending = 0;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly file: string,
    private readonly pragmas: Connection["pragmas"],
  ) {}

  /**
   * Open a SQLite file that exists, creating nothing; with ``create``, make the file (and
   * its folder) when missing. The contract's pragmas wait for setUp(): journal_mode=wal
   * rewrites the file's header, which a file refused as not v1 must keep.
   */
  static open(file: string, { pragmas, busy_timeout_ms }: Connection, create = false): SqliteEngine {
    const { DatabaseSync } = nodeSqlite();
    if (create) {
      mkdirSync(dirname(file), { recursive: true });
    } else if (file === ":memory:" || !existsSync(file)) {
      throw new StoreError(
        `no database file at ${file}: open() never creates one; ` +
        `RuntimeMemoryStore.bootstrap(${JSON.stringify(file)}) makes a new file with the v1 tables`,
      );
    }
    // timeout set explicitly: node:sqlite waits 0 ms for a lock by default.
    const options = { timeout: busy_timeout_ms };
    let db: DatabaseSync;
    try {
      // mode=rw: should the file go between the check above and here, SQLite refuses
      // rather than making an empty one (a Node whose node:sqlite takes no URL opens the path).
      db = create ? new DatabaseSync(file, options) : openExisting(DatabaseSync, file, options);
    } catch (error) {
      throw new StoreError(`cannot open ${file}: ${(error as Error).message}`);
    }
    return new SqliteEngine(db, file, pragmas);
  }

  setUp(): void {
    for (const [name, value] of Object.entries(this.pragmas)) this.db.exec(`PRAGMA ${name} = ${value}`);
  }

  /** Run SQL scripts (the contract DDL). */
  exec(script: string): void {
    this.db.exec(script);
  }

  private sql(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** One call at a time on the one connection, in the order they were made. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.queue.then(work);
    const done = () => { this.pending -= 1; };
    this.queue = result.then(done, done);
    return result;
  }

  /**
   * A turn's row in one statement that reads the next index and inserts at it: SQLite
   * starts a statement that writes by taking the write lock, as BEGIN IMMEDIATE does,
   * and commits it on its own, so no other writer comes between the read and the insert
   * (three statements fewer than BEGIN IMMEDIATE, read, insert, COMMIT). Run at once when
   * no call is queued on the connection: a call inside a transaction would join it.
   */
  append(a: Append): Promise<number | undefined> {
    const columns = [...a.columns, a.parentColumn, a.indexColumn].map((c) => `"${c}"`).join(", ");
    const sql = `INSERT INTO "${a.table}" (${columns}) SELECT ${a.columns.map(() => "?").join(", ")}, p.id, `
      + `COALESCE((SELECT MAX(c."${a.indexColumn}") FROM "${a.table}" c WHERE c."${a.parentColumn}" = p.id) + 1, 0) `
      + `FROM "${a.parentTable}" p WHERE p.id = ? RETURNING "${a.indexColumn}" AS n`;
    const write = () => {
      const row = this.sql(sql).get(...a.values, a.parentId);
      return row === undefined ? undefined : Number(row.n);
    };
    if (this.pending) return this.exclusive(async () => write());
    try {
      return Promise.resolve(write());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async get(sql: string, ...params: Param[]): Promise<Row | undefined> {
    const row = this.sql(sql).get(...params);
    return row ? { ...row } : undefined;
  }

  async all(sql: string, ...params: Param[]): Promise<Row[]> {
    return this.sql(sql).all(...params).map((row) => ({ ...row }));
  }

  async run(sql: string, ...params: Param[]): Promise<void> {
    this.sql(sql).run(...params);
  }

  async serializeOn(_key: string): Promise<void> {
    // The IMMEDIATE transaction already excludes every other writer.
  }

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      this.sql("BEGIN IMMEDIATE").run();
      try {
        const result = await work(this);
        this.sql("COMMIT").run();
        return result;
      } catch (error) {
        this.sql("ROLLBACK").run();
        throw error;
      }
    });
  }

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.exclusive(() => work(this));
  }

  async columns(table: string): Promise<string[]> {
    try {
      return this.db.prepare(`PRAGMA table_info("${table}")`).all().map((row) => String(row.name));
    } catch (error) {
      // SQLITE_NOTADB: some other file.
      if ((error as { errcode?: number }).errcode === 26) throw new StoreError(`${this.file} is not a SQLite database`);
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}

function openExisting(
  Database: typeof DatabaseSync, file: string, options: { timeout: number },
): DatabaseSync {
  const url = new URL(`${pathToFileURL(file).href}?mode=rw`);
  try {
    return new Database(url as unknown as string, options);
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_INVALID_ARG_TYPE") throw error;
    return new Database(file, options);
  }
}

// --- PostgreSQL --------------------------------------------------------------------------

// The parts of node-postgres this engine uses (loaded only when a URL is opened).
interface PgClient {
  query(sql: string, params?: Param[]): Promise<{ rows: Row[] }>;
  release(): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
  end(): Promise<void>;
}

const INT8 = 20;

class PgTx implements Tx {
  readonly forUpdate = " FOR UPDATE";

  constructor(private readonly client: PgClient) {}

  /** `?` parameters as PostgreSQL's `$1, $2, ...` (the store's SQL has no other `?`). */
  private static numbered(sql: string): string {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  }

  async all(sql: string, ...params: Param[]): Promise<Row[]> {
    return (await this.client.query(PgTx.numbered(sql), params)).rows;
  }

  async get(sql: string, ...params: Param[]): Promise<Row | undefined> {
    return (await this.all(sql, ...params))[0];
  }

  async run(sql: string, ...params: Param[]): Promise<void> {
    await this.client.query(PgTx.numbered(sql), params);
  }

  async serializeOn(key: string): Promise<void> {
    await this.run("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", key);
  }
}

export class PostgresEngine implements Engine {
  readonly name = "postgresql";

  private constructor(private readonly pool: PgPool) {}

  static async open(url: string): Promise<PostgresEngine> {
    let pg: (typeof import("pg"))["default"];
    try {
      pg = (await import("pg")).default;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
      // pg is an optional peer dependency: SQLite-only runtimes do without it.
      throw new StoreError("a PostgreSQL URL needs node-postgres, which is not installed: npm install pg");
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      // bigint columns (v1's INTEGER) as numbers, as node:sqlite gives them.
      types: {
        getTypeParser: ((oid: number, format?: "text" | "binary") =>
          oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)
        ) as typeof pg.types.getTypeParser,
      },
    });
    return new PostgresEngine(pool as unknown as PgPool);
  }

  private async transaction<T>(begin: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(begin);
      try {
        const result = await work(new PgTx(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    } finally {
      client.release();
    }
  }

  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction("BEGIN", work);
  }

  /** Lock the parent row, then read its last index and insert the next: writers of one
   * parent take turns on its row, and each statement after the lock sees every writer
   * before it (READ COMMITTED takes a snapshot per statement). */
  append(a: Append): Promise<number | undefined> {
    return this.write(async (tx) => {
      if (!(await tx.get(`SELECT 1 FROM "${a.parentTable}" WHERE id = ? FOR UPDATE`, a.parentId))) return undefined;
      const last = await tx.get(
        `SELECT MAX("${a.indexColumn}") AS last FROM "${a.table}" WHERE "${a.parentColumn}" = ?`, a.parentId,
      );
      const index = last?.last === null || last?.last === undefined ? 0 : Number(last.last) + 1;
      const columns = [...a.columns, a.parentColumn, a.indexColumn];
      await tx.run(
        `INSERT INTO "${a.table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        ...a.values, a.parentId, index,
      );
      return index;
    });
  }

  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.transaction("BEGIN READ ONLY", work);
  }

  async columns(table: string): Promise<string[]> {
    return this.read(async (tx) =>
      (await tx.all(
        "SELECT column_name AS name FROM information_schema.columns " +
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        table,
      )).map((row) => String(row.name)),
    );
  }

  setUp(): void {
    // Every connection is set up by the pool's options.
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
