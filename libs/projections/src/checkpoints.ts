// Where each subscriber of the global log remembers how far it got.
import type Database from 'better-sqlite3';

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
