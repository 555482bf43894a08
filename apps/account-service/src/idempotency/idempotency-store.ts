// Stored first responses per (app, Idempotency-Key), in the same database as the events. The
// record is written before the response leaves.
import type Database from 'better-sqlite3';
import pg from 'pg';

export interface StoredResponse {
  readonly appId: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly createdAt: string;
}

export interface IdempotencyStore {
  find(appId: string, key: string): Promise<StoredResponse | undefined>;
  save(response: StoredResponse): Promise<void>;
  /** Forgets records created before the given time. */
  purgeBefore(time: Date): Promise<void>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, StoredResponse>();

  async find(appId: string, key: string): Promise<StoredResponse | undefined> {
    return this.records.get(`${appId}\u0000${key}`);
  }

  async save(response: StoredResponse): Promise<void> {
    this.records.set(`${response.appId}\u0000${response.key}`, response);
  }

  async purgeBefore(time: Date): Promise<void> {
    for (const [k, r] of this.records) if (r.createdAt < time.toISOString()) this.records.delete(k);
  }
}

export class SqliteIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS idempotency_records (
      app_id TEXT NOT NULL,
      idempotency_key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      status INTEGER NOT NULL,
      headers TEXT NOT NULL,
      body TEXT NOT NULL,
      created_at TEXT NOT NULL,
      PRIMARY KEY (app_id, idempotency_key)
    )`);
  }

  async find(appId: string, key: string): Promise<StoredResponse | undefined> {
    const row = this.db
      .prepare('SELECT * FROM idempotency_records WHERE app_id = ? AND idempotency_key = ?')
      .get(appId, key) as
      { fingerprint: string; status: number; headers: string; body: string; created_at: string } | undefined;
    if (!row) return undefined;
    return {
      appId,
      key,
      fingerprint: row.fingerprint,
      status: row.status,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body: row.body,
      createdAt: row.created_at,
    };
  }

  async save(r: StoredResponse): Promise<void> {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO idempotency_records (app_id, idempotency_key, fingerprint, status, headers, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.appId, r.key, r.fingerprint, r.status, JSON.stringify(r.headers), r.body, r.createdAt);
  }

  async purgeBefore(time: Date): Promise<void> {
    this.db.prepare('DELETE FROM idempotency_records WHERE created_at < ?').run(time.toISOString());
  }
}

export class PostgresIdempotencyStore implements IdempotencyStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async create(pool: pg.Pool, schema: string): Promise<PostgresIdempotencyStore> {
    const quoted = pg.escapeIdentifier(schema);
    const table = `${quoted}.idempotency_records`;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
      app_id text NOT NULL,
      idempotency_key text NOT NULL,
      fingerprint text NOT NULL,
      status integer NOT NULL,
      headers jsonb NOT NULL,
      body text NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (app_id, idempotency_key)
    )`);
    return new PostgresIdempotencyStore(pool, table);
  }

  async find(appId: string, key: string): Promise<StoredResponse | undefined> {
    const { rows } = await this.pool.query<{
      fingerprint: string;
      status: number;
      headers: Record<string, string>;
      body: string;
      created_at: Date;
    }>(`SELECT * FROM ${this.table} WHERE app_id = $1 AND idempotency_key = $2`, [appId, key]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      appId,
      key,
      fingerprint: row.fingerprint,
      status: row.status,
      headers: row.headers,
      body: row.body,
      createdAt: row.created_at.toISOString(),
    };
  }

  async save(r: StoredResponse): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table} (app_id, idempotency_key, fingerprint, status, headers, body, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [r.appId, r.key, r.fingerprint, r.status, JSON.stringify(r.headers), r.body, r.createdAt],
    );
  }

  async purgeBefore(time: Date): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table} WHERE created_at < $1`, [time]);
  }
}
