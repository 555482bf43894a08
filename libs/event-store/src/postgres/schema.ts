// The PostgreSQL adapter's schema as an ordered list of migrations, applied by the adapter itself
// when it connects. Applied versions are recorded in a table inside the event store's schema, so
// that several event stores (or the app's read models) can share one database.
import { escapeIdentifier, type PoolClient } from 'pg';

interface Migration {
  readonly version: number;
  readonly name: string;
  /** The SQL, given the quoted schema name. */
  readonly sql: (schema: string) => string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events and streams',
    sql: (s) => `
      -- global_position is assigned by the adapter as MAX + 1 while it holds the append lock (no
      -- sequence: a rolled-back nextval() would leave a gap), so the global log stays gap-free.
      CREATE TABLE ${s}.events (
        global_position bigint  PRIMARY KEY CHECK (global_position > 0),
        event_id        text    NOT NULL UNIQUE,
        stream_id       text    NOT NULL,
        stream_version  integer NOT NULL CHECK (stream_version >= 0),
        type            text    NOT NULL,
        schema_version  integer NOT NULL,
        data            jsonb   NOT NULL CHECK (jsonb_typeof(data) = 'object'),
        -- text, not timestamptz: the envelope hands back exactly the RFC 3339 string it was given
        -- (timestamptz would normalise offsets and precision).
        occurred_at     text    NOT NULL,
        tenant_id       text,
        correlation_id  text    NOT NULL,
        causation_id    text,
        actor           jsonb   NOT NULL CHECK (jsonb_typeof(actor) = 'object'),
        UNIQUE (stream_id, stream_version)
      );

      -- One row per stream that has events: the version to check expected versions against
      -- without scanning the stream.
      CREATE TABLE ${s}.streams (
        stream_id text    PRIMARY KEY,
        version   integer NOT NULL
      );
    `,
  },
];

export const MIGRATIONS_TABLE = 'event_store_schema_migrations';

/** Advisory lock class (first key) under which migrations of one schema are serialised. */
const MIGRATION_LOCK_CLASS = 0x45530002;

/**
 * Brings `schema` up to the latest version, creating it if needed. Runs inside a transaction the
 * caller opened, and first takes a transaction-level advisory lock keyed by the schema: two
 * instances starting together apply each migration once (the second waits, then finds nothing to
 * do), and a failing migration leaves nothing half-applied (PostgreSQL DDL is transactional).
 */
export async function migrate(client: PoolClient, schema: string, lockKey: number): Promise<void> {
  const s = escapeIdentifier(schema);
  const table = `${s}.${escapeIdentifier(MIGRATIONS_TABLE)}`;
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [MIGRATION_LOCK_CLASS, lockKey]);
  // Checked first because CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
  // even when the schema exists, which a production role may rightly lack.
  const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const result = await client.query<{ applied: number }>(
    `SELECT COALESCE(MAX(version), 0) AS applied FROM ${table}`,
  );
  const applied = result.rows[0]?.applied ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (applied > latest) {
    // Older code on a newer schema could misread rows it does not know; refuse instead.
    throw new Error(
      `event store schema ${schema} is at version ${applied}, newer than this code supports (${latest})`,
    );
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= applied) continue;
    await client.query(migration.sql(s));
    await client.query(`INSERT INTO ${table} (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
  }
}
