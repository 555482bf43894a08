// Stored first responses per (app, Idempotency-Key). Synchronous on purpose: the record is written
// before the response leaves, with no await in between.
import type Database from 'better-sqlite3';

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
  find(appId: string, key: string): StoredResponse | undefined;
  save(response: StoredResponse): void;
  /** Forgets records created before the given time. */
  purgeBefore(time: Date): void;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly records = new Map<string, StoredResponse>();

  find(appId: string, key: string): StoredResponse | undefined {
    return this.records.get(`${appId}\u0000${key}`);
  }

  save(response: StoredResponse): void {
    this.records.set(`${response.appId}\u0000${response.key}`, response);
  }

  purgeBefore(time: Date): void {
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

  find(appId: string, key: string): StoredResponse | undefined {
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

  save(r: StoredResponse): void {
    this.db
      .prepare(
        `INSERT OR IGNORE INTO idempotency_records (app_id, idempotency_key, fingerprint, status, headers, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.appId, r.key, r.fingerprint, r.status, JSON.stringify(r.headers), r.body, r.createdAt);
  }

  purgeBefore(time: Date): void {
    this.db.prepare('DELETE FROM idempotency_records WHERE created_at < ?').run(time.toISOString());
  }
}
