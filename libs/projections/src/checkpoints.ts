// Where each subscriber of the global log remembers how far it got.
import type Database from 'better-sqlite3';
import pg from 'pg';

export interface CheckpointStore {
  /** Last handled global position (0 when never run). */
  get(name: string): Promise<number>;
  set(name: string, position: number): Promise<void>;
}

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly positions = new Map<string, number>();

  async get(name: string): Promise<number> {
    return this.positions.get(name) ?? 0;
  }

  async set(name: string, position: number): Promise<void> {
    this.positions.set(name, position);
  }
}

/** Checkpoints in the SQLite file of the event store, so they share its durability. */
export class SqliteCheckpointStore implements CheckpointStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (
      name TEXT PRIMARY KEY,
      position INTEGER NOT NULL,
      updated_at TEXT NOT NULL
    ) STRICT`);
  }

  async get(name: string): Promise<number> {
    const row = this.db.prepare('SELECT position FROM checkpoints WHERE name = ?').get(name) as
      { position: number } | undefined;
    return row?.position ?? 0;
  }

  async set(name: string, position: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
      )
      .run(name, position, new Date().toISOString());
  }
}

/** Checkpoints in PostgreSQL, beside the events of the PostgreSQL store. */
export class PostgresCheckpointStore implements CheckpointStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async create(pool: pg.Pool, schema: string): Promise<PostgresCheckpointStore> {
    const quoted = pg.escapeIdentifier(schema);
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${quoted}.checkpoints (
      name text PRIMARY KEY,
      position bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    return new PostgresCheckpointStore(pool, `${quoted}.checkpoints`);
  }

  async get(name: string): Promise<number> {
    const { rows } = await this.pool.query<{ position: string }>(
      `SELECT position FROM ${this.table} WHERE name = $1`,
      [name],
    );
    return rows[0] ? Number(rows[0].position) : 0;
  }

  async set(name: string, position: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (name, position) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()`,
      [name, position],
    );
  }
}
