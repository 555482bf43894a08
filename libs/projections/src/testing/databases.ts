// Read-model databases for specs: SQLite in memory, and PostgreSQL (DATABASE_URL, else the
// machine's server on 127.0.0.1:5432) in a fresh schema of its own, dropped afterwards. Specs run
// the same cases on both.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresReadModelDatabase, type ReadModelDatabase, SqliteReadModelDatabase } from '../sql.js';

export const READ_MODEL_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface OpenedReadModelDatabase {
  readonly db: ReadModelDatabase;
  /** Another connection to the same database (another process or instance); closed by dispose. */
  another(): Promise<ReadModelDatabase>;
  /** PostgreSQL: the schema (for coordination keys). */
  readonly schema?: string;
  /** Closes every connection and removes the database (file or schema). */
  dispose(): Promise<void>;
}

export interface ReadModelDatabaseFactory {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty database. */
  open(): Promise<OpenedReadModelDatabase>;
}

function sqliteFile(file: string): ReadModelDatabase {
  const connection = new Database(file, { timeout: 5000 });
  connection.pragma('journal_mode = WAL');
  return new SqliteReadModelDatabase(connection);
}

export const sqliteReadModels: ReadModelDatabaseFactory = {
  name: 'sqlite',
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-rm-'));
    const file = path.join(dir, 'read-models.db');
    const connections = [sqliteFile(file)];
    return {
      db: connections[0] as ReadModelDatabase,
      async another() {
        const db = sqliteFile(file);
        connections.push(db);
        return db;
      },
      async dispose() {
        for (const db of connections) await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresReadModels: ReadModelDatabaseFactory = {
  name: 'postgres',
  async open() {
    const schema = `rm_spec_${randomBytes(6).toString('hex')}`;
    const connect = () =>
      PostgresReadModelDatabase.connect({ connectionString: READ_MODEL_DATABASE_URL, schema, max: 4 });
    let first: ReadModelDatabase;
    try {
      first = await connect();
    } catch (error) {
      throw new Error(
        `PostgreSQL is not reachable at ${READ_MODEL_DATABASE_URL.replace(/\/\/[^@/]*@/, '//…@')} (${String(error)}). ` +
          'The read-model specs run on SQLite and PostgreSQL: start the server, or point DATABASE_URL at one.',
        { cause: error },
      );
    }
    const connections = [first];
    return {
      db: connections[0] as ReadModelDatabase,
      schema,
      async another() {
        const db = await connect();
        connections.push(db);
        return db;
      },
      async dispose() {
        for (const db of connections) await db.close();
        const admin = new pg.Client({ connectionString: READ_MODEL_DATABASE_URL });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        } finally {
          await admin.end();
        }
      },
    };
  },
};

/** Every read-model database there is: the contract specs run on each. */
export const readModelDatabases: readonly ReadModelDatabaseFactory[] = [sqliteReadModels, postgresReadModels];

/** Names of the tables in the database (the current schema on PostgreSQL), sorted. */
export async function tableNames(db: ReadModelDatabase): Promise<string[]> {
  const rows =
    db.dialect === 'sqlite'
      ? await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      : await db.all<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
        );
  return rows.map((r) => r.name).sort();
}
