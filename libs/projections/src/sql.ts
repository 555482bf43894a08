// Where read models live: one asynchronous SQL surface over SQLite (the embedded default and the
// memory store) and PostgreSQL (shared by every instance of the service), so each projection is
// written once.
//
// SQL is written with `?` placeholders in the subset both databases read the same way: ON CONFLICT
// upserts (never INSERT OR IGNORE), CAST(? AS TEXT) where a parameter's type would otherwise be
// unknown to PostgreSQL, booleans as 0/1 integers. Table definitions take their column types from
// `ddl` (64-bit integers, byte-order text, STRICT tables on SQLite) so sorting and paging agree.
import type Database from 'better-sqlite3';
import pg from 'pg';

export type SqlValue = string | number | null;
export type SqlDialect = 'sqlite' | 'postgres';

/** Statements inside or outside a transaction. */
export interface SqlSession {
  readonly dialect: SqlDialect;
  /** One statement; the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Several statements separated by `;`, without parameters (table definitions). */
  exec(sql: string): Promise<void>;
  /**
   * Rows as arrays in chunks, without holding the whole result in memory. Inside a transaction or
   * snapshot, run no other statement of the session until the iteration ends.
   */
  stream(sql: string, params?: readonly SqlValue[], chunk?: number): AsyncIterable<unknown[][]>;
  /** Column names of a table, in table order. */
  columns(table: string): Promise<string[]>;
}

/** Column types and table options, per dialect, for CREATE TABLE. */
export interface SqlDdl {
  /** A 64-bit integer (positions, counts, sequences, 0/1 flags). */
  readonly int: string;
  /** Text compared and sorted byte by byte (SQLite's default; COLLATE "C" on PostgreSQL). */
  readonly text: string;
  /** Appended after a table's closing parenthesis. */
  readonly tableOptions: string;
}

export interface ReadModelDatabase extends SqlSession {
  readonly dialect: SqlDialect;
  readonly ddl: SqlDdl;
  /**
   * Runs `fn` in one transaction that holds the write lock from its first statement (SQLite: BEGIN
   * IMMEDIATE; PostgreSQL: row locks the caller takes). A throw rolls everything back.
   */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
  /** Runs `fn` on one consistent, read-only snapshot of the database (writers are not held up on PostgreSQL). */
  snapshot<T>(fn: (s: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Serialises work on one SQLite connection: its statements are synchronous, its transactions are not. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

async function* sqliteRows(
  db: Database.Database,
  sql: string,
  params: readonly SqlValue[],
  chunk: number,
): AsyncIterable<unknown[][]> {
  const rows = db
    .prepare(sql)
    .raw(true)
    .iterate(...params) as IterableIterator<unknown[]>;
  let batch: unknown[][] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= chunk) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** How long a transaction waits for another connection's write lock before it gives up. */
const BUSY_WAIT_MS = 10_000;

const SQLITE_DDL: SqlDdl = { int: 'INTEGER', text: 'TEXT', tableOptions: ' STRICT' };
const POSTGRES_DDL: SqlDdl = { int: 'BIGINT', text: 'TEXT COLLATE "C"', tableOptions: '' };

/**
 * Read models in a SQLite database (a file beside the events, or `:memory:`). Every statement and
 * transaction takes the connection in turn: a reader never sees a batch half applied, and a rebuild
 * and the live loop never interleave their transactions on the one connection.
 */
export class SqliteReadModelDatabase implements ReadModelDatabase {
  readonly dialect = 'sqlite' as const;
  readonly ddl = SQLITE_DDL;
  private readonly lock = new Mutex();
  private readonly statements = new Map<string, Database.Statement>();
  private readonly direct: SqlSession;

  constructor(readonly db: Database.Database) {
    const statement = (sql: string): Database.Statement => {
      let prepared = this.statements.get(sql);
      if (prepared === undefined) {
        prepared = db.prepare(sql);
        // Bounded: table prefixes change with every rebuild.
        if (this.statements.size >= 1000) {
          const oldest = this.statements.keys().next().value;
          if (oldest !== undefined) this.statements.delete(oldest);
        }
        this.statements.set(sql, prepared);
      }
      return prepared;
    };
    this.direct = {
      dialect: 'sqlite',
      run: async (sql, params = []) => statement(sql).run(...params).changes,
      get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
        statement(sql).get(...params) as T | undefined,
      all: async <T>(sql: string, params: readonly SqlValue[] = []) => statement(sql).all(...params) as T[],
      exec: async (sql) => {
        db.exec(sql);
      },
      stream: (sql, params = [], chunk = 1000) => sqliteRows(db, sql, params, chunk),
      columns: async (table) =>
        (db.prepare(`SELECT * FROM ${table} LIMIT 0`).columns() as Array<{ name: string }>).map(
          (c) => c.name,
        ),
    };
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.lock.run(() => this.direct.run(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.lock.run(() => this.direct.get<T>(sql, params));
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.lock.run(() => this.direct.all<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.lock.run(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      await this.beginImmediate();
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  /**
   * Takes the write lock up front, so a transaction that reads before it writes can't fail with
   * SQLITE_BUSY when another connection committed in between. Waiting for it must not block the
   * thread (SQLite's busy timeout sleeps): this transaction's body awaits, and the connection that
   * holds the lock may be in this very process, waiting for its turn on the event loop.
   */
  private async beginImmediate(): Promise<void> {
    const deadline = Date.now() + BUSY_WAIT_MS;
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      this.db.pragma('busy_timeout = 0');
      try {
        this.db.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        const busy = (error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
        if (!busy || Date.now() > deadline) throw error;
      } finally {
        this.db.pragma(`busy_timeout = ${timeout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  snapshot<T>(fn: (s: SqlSession) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      // A deferred transaction: WAL gives it one snapshot from its first read, and other
      // connections (the service writing the same file) keep committing meanwhile.
      this.db.exec('BEGIN');
      try {
        return await fn(this.direct);
      } finally {
        if (this.db.inTransaction) this.db.exec('COMMIT');
      }
    });
  }

  async *stream(sql: string, params: readonly SqlValue[] = [], chunk = 1000): AsyncIterable<unknown[][]> {
    // The connection stays taken while the caller consumes: SQLite can't run another statement on a
    // connection that is iterating.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let acquired!: () => void;
    const ready = new Promise<void>((resolve) => (acquired = resolve));
    void this.lock.run(async () => {
      acquired();
      await held;
    });
    await ready;
    try {
      yield* sqliteRows(this.db, sql, params, chunk);
    } finally {
      release();
    }
  }

  columns(table: string): Promise<string[]> {
    return this.lock.run(() => this.direct.columns(table));
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      this.statements.clear();
      if (this.db.open) this.db.close();
    });
  }
}

/** `?` placeholders as PostgreSQL's `$1, $2, ...` (the projections' SQL has no `?` in literals). */
export function toPostgresPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const int8AsNumber = (value: string): number => {
  const n = Number(value);
  if (Number.isInteger(n) && !Number.isSafeInteger(n))
    throw new Error(`integer ${value} is beyond what a read model holds`);
  return n;
};

/**
 * PostgreSQL's types with 64-bit integers (and the numerics sum() of them gives) as numbers, as
 * SQLite returns them: positions, counts and sums fit well within 2^53.
 */
const readModelTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC
      ? int8AsNumber
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

let cursors = 0;

/** A cursor over `sql` on a client that is inside a transaction. */
async function* postgresRows(
  client: pg.PoolClient,
  sql: string,
  params: readonly SqlValue[],
  chunk: number,
): AsyncIterable<unknown[][]> {
  const cursor = `read_model_rows_${++cursors}`;
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${toPostgresPlaceholders(sql)}`, [...params]);
  try {
    for (;;) {
      const { rows } = await client.query<unknown[]>({
        text: `FETCH ${chunk} FROM ${cursor}`,
        rowMode: 'array',
      });
      if (rows.length === 0) break;
      yield rows;
    }
  } finally {
    await client.query(`CLOSE ${cursor}`);
  }
}

function postgresSession(client: pg.Pool | pg.PoolClient): SqlSession {
  const translated = new Map<string, string>();
  const text = (sql: string): string => {
    let out = translated.get(sql);
    if (out === undefined) {
      out = toPostgresPlaceholders(sql);
      if (translated.size >= 1000) translated.clear();
      translated.set(sql, out);
    }
    return out;
  };
  return {
    dialect: 'postgres',
    run: async (sql, params = []) => (await client.query(text(sql), [...params])).rowCount ?? 0,
    get: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(text(sql), [...params])).rows[0] as T | undefined,
    all: async <T>(sql: string, params: readonly SqlValue[] = []) =>
      (await client.query(text(sql), [...params])).rows as T[],
    exec: async (sql) => {
      await client.query(sql);
    },
    stream: (sql, params = [], chunk = 1000) => {
      if (client instanceof pg.Pool) throw new Error('stream on the pool: use ReadModelDatabase.stream');
      return postgresRows(client, sql, params, chunk);
    },
    columns: async (table) =>
      (await client.query(`SELECT * FROM ${table} LIMIT 0`)).fields.map((f) => f.name),
  };
}

/**
 * Read models in a PostgreSQL schema shared by every instance. Tables are named without a schema:
 * each connection's search_path is the read models' schema.
 */
export class PostgresReadModelDatabase implements ReadModelDatabase {
  readonly dialect = 'postgres' as const;
  readonly ddl = POSTGRES_DDL;
  private readonly direct: SqlSession;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    this.direct = postgresSession(pool);
  }

  static async connect(options: {
    readonly connectionString: string;
    readonly schema: string;
    readonly max?: number;
    /** How its connections show in pg_stat_activity. */
    readonly applicationName?: string;
    /**
     * Only reads (audit verify): creates no schema (which needs CREATE on the database even when
     * it exists) and runs every transaction read-only.
     */
    readonly readOnly?: boolean;
  }): Promise<PostgresReadModelDatabase> {
    const quoted = pg.escapeIdentifier(options.schema);
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max ?? 10,
      options: `-c search_path=${quoted}${options.readOnly ? ' -c default_transaction_read_only=on' : ''}`,
      types: readModelTypes,
      application_name: options.applicationName ?? 'account-service read models',
    });
    // An idle pooled connection the server ends (a restart, a terminated backend) must not take the
    // process down: the pool drops it, and the next query opens another.
    pool.on('error', () => undefined);
    try {
      if (!options.readOnly) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    } catch (error) {
      // Two instances starting at once may both try to create it.
      if (!(error instanceof pg.DatabaseError && error.code === '23505')) {
        await pool.end();
        throw error;
      }
    }
    return new PostgresReadModelDatabase(pool, options.schema);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.direct.get<T>(sql, params);
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.direct.all<T>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.direct.exec(sql);
  }

  async transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn(postgresSession(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  snapshot<T>(fn: (s: SqlSession) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await fn(postgresSession(client));
      } finally {
        await client.query('COMMIT').catch(() => undefined);
      }
    });
  }

  async *stream(sql: string, params: readonly SqlValue[] = [], chunk = 1000): AsyncIterable<unknown[][]> {
    const client = await this.pool.connect();
    const lost = (): void => undefined;
    client.on('error', lost);
    try {
      // A cursor in a read-only transaction: one snapshot, fetched a chunk at a time.
      await client.query('BEGIN READ ONLY');
      yield* postgresRows(client, sql, params, chunk);
      await client.query('COMMIT');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.off('error', lost);
      client.release();
    }
  }

  /**
   * A pooled client for one unit of work. While checked out it has no listener of the pool's, so
   * a connection the server ends mid-work would throw an unhandled 'error' event: the work's own
   * query fails instead, and the client is released (and discarded by the pool) all the same.
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const lost = (): void => undefined;
    client.on('error', lost);
    try {
      return await work(client);
    } finally {
      client.off('error', lost);
      client.release();
    }
  }

  columns(table: string): Promise<string[]> {
    return this.direct.columns(table);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
