// Snapshots of folded stream state in PostgreSQL, in `<schema>.stream_snapshots` (the event
// store's schema or another). The version rule is in the upsert itself: ON CONFLICT re-checks it
// on the latest row, so concurrent writers in any process never move a snapshot backwards.
import { DatabaseError, escapeIdentifier, type Pool } from 'pg';
import { assertValidSnapshot } from '../snapshots/check-snapshot.js';
import type { Snapshot, SnapshotStore } from '../snapshots/port.js';

interface SnapshotRow {
  version: string;
  schema: string;
  state: string;
}

/** unique_violation, duplicate_table, duplicate_schema: another process created it first. */
const CREATED_CONCURRENTLY = new Set(['23505', '42P07', '42P06']);

export class PostgresSnapshotStore implements SnapshotStore {
  private constructor(
    private readonly pool: Pool,
    private readonly table: string,
  ) {}

  /** Creates the schema and its table `stream_snapshots` if missing. The pool stays the caller's. */
  static async create(pool: Pool, schema: string): Promise<PostgresSnapshotStore> {
    const quoted = escapeIdentifier(schema);
    const table = `${quoted}.stream_snapshots`;
    // Checked first because CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
    // even when the schema exists, which a production role may rightly lack.
    const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await createConcurrently(pool, `CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    // text, not jsonb: the state comes back as the exact text saved, without parsing megabytes.
    await createConcurrently(
      pool,
      `CREATE TABLE IF NOT EXISTS ${table} (
        stream_id text   PRIMARY KEY,
        version   bigint NOT NULL CHECK (version >= 0),
        schema    text   NOT NULL,
        state     text   NOT NULL
      )`,
    );
    return new PostgresSnapshotStore(pool, table);
  }

  async load(streamId: string): Promise<Snapshot | undefined> {
    const { rows } = await this.pool.query<SnapshotRow>(
      `SELECT version, schema, state FROM ${this.table} WHERE stream_id = $1`,
      [streamId],
    );
    const row = rows[0];
    return row && { streamId, version: Number(row.version), schema: row.schema, state: row.state };
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    await this.pool.query(
      `INSERT INTO ${this.table} AS stored (stream_id, version, schema, state) VALUES ($1, $2, $3, $4)
       ON CONFLICT (stream_id) DO UPDATE
         SET version = excluded.version, schema = excluded.schema, state = excluded.state
         WHERE excluded.version > stored.version OR excluded.schema <> stored.schema`,
      [snapshot.streamId, snapshot.version, snapshot.schema, snapshot.state],
    );
  }
}

/**
 * Runs a CREATE ... IF NOT EXISTS. Two processes starting together can both pass the IF NOT EXISTS
 * and the second then fails on the catalog's unique index: the object is there, which is the point.
 */
async function createConcurrently(pool: Pool, sql: string): Promise<void> {
  try {
    await pool.query(sql);
  } catch (error) {
    if (!(error instanceof DatabaseError && CREATED_CONCURRENTLY.has(error.code ?? ''))) throw error;
  }
}
