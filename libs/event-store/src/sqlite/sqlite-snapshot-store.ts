// Snapshots of folded stream state in SQLite: in the event store's own file (its `db`) or another
// one. The version rule is in the upsert itself, so writers on other connections cannot undo it.
import type Database from 'better-sqlite3';
import { assertValidSnapshot } from '../snapshots/check-snapshot.js';
import type { Snapshot, SnapshotStore } from '../snapshots/port.js';

interface SnapshotRow {
  version: number;
  schema: string;
  state: string;
}

export class SqliteSnapshotStore implements SnapshotStore {
  private readonly loadStatement: Database.Statement<[string], SnapshotRow>;
  private readonly saveStatement: Database.Statement<[string, number, string, string]>;

  /** Creates the table `stream_snapshots` in `db` if missing. The connection stays the caller's. */
  constructor(db: Database.Database) {
    // A rowid table, not WITHOUT ROWID: states are large rows, which WITHOUT ROWID handles badly.
    db.exec(`CREATE TABLE IF NOT EXISTS stream_snapshots (
      stream_id TEXT    PRIMARY KEY,
      version   INTEGER NOT NULL CHECK (version >= 0),
      schema    TEXT    NOT NULL,
      state     TEXT    NOT NULL
    ) STRICT`);
    this.loadStatement = db.prepare(
      `SELECT version, schema, state FROM stream_snapshots WHERE stream_id = ?`,
    );
    this.saveStatement = db.prepare(
      `INSERT INTO stream_snapshots (stream_id, version, schema, state) VALUES (?, ?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE
         SET version = excluded.version, schema = excluded.schema, state = excluded.state
         WHERE excluded.version > stream_snapshots.version OR excluded.schema <> stream_snapshots.schema`,
    );
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    const row = this.loadStatement.get(streamId);
    return row && { streamId, version: row.version, schema: row.schema, state: row.state };
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    this.saveStatement.run(snapshot.streamId, snapshot.version, snapshot.schema, snapshot.state);
  }
}
