// The SQLite adapter's schema as an ordered list of migrations. Applied versions are recorded in a
// table of our own rather than in PRAGMA user_version, because the application keeps its
// idempotency records and read models in the same file and may want user_version for itself.
import type Database from 'better-sqlite3';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events and streams',
    sql: `
      -- global_position is assigned by the adapter as MAX + 1 inside the write transaction (no
      -- AUTOINCREMENT), so the global log stays gap-free: a rolled-back append consumes nothing.
      CREATE TABLE events (
        global_position INTEGER PRIMARY KEY,
        event_id        TEXT    NOT NULL UNIQUE,
        stream_id       TEXT    NOT NULL,
        stream_version  INTEGER NOT NULL,
        type            TEXT    NOT NULL,
        schema_version  INTEGER NOT NULL,
        data            TEXT    NOT NULL CHECK (json_valid(data)),
        occurred_at     TEXT    NOT NULL,
        tenant_id       TEXT,
        correlation_id  TEXT    NOT NULL,
        causation_id    TEXT,
        actor           TEXT    NOT NULL CHECK (json_valid(actor)),
        UNIQUE (stream_id, stream_version)
      ) STRICT;

      -- One row per stream that has events: the version to check expected versions against
      -- without scanning the stream.
      CREATE TABLE streams (
        stream_id TEXT    PRIMARY KEY,
        version   INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
];

export const MIGRATIONS_TABLE = 'event_store_schema_migrations';

/**
 * Brings the file up to the latest schema. Runs under BEGIN IMMEDIATE so that two processes
 * opening a fresh file at once do not both create the tables.
 */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at TEXT    NOT NULL
    ) STRICT`);
    const applied =
      db.prepare<[], number>(`SELECT COALESCE(MAX(version), 0) FROM ${MIGRATIONS_TABLE}`).pluck().get() ?? 0;
    const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
    if (applied > latest) {
      // Older code on a newer file could misread rows it does not know; refuse instead.
      throw new Error(`event store schema version ${applied} is newer than this code supports (${latest})`);
    }
    const record = db.prepare<[number, string, string]>(
      `INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`,
    );
    for (const migration of MIGRATIONS) {
      if (migration.version <= applied) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    }
  });
  apply.immediate();
}
