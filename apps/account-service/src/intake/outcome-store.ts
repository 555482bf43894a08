// Outcomes of the commands taken from Kafka, keyed by commandId, in the same database as the
// events. An outcome is stored before the command's offset is committed; a re-delivered or
// duplicated commandId finds it here and is answered with the same result, nothing executed again.
import type Database from 'better-sqlite3';
import pg from 'pg';

export interface StoredOutcome {
  readonly commandId: string;
  /** The result message's body (JSON), re-published as it is for a duplicate. */
  readonly result: string;
  readonly createdAt: string;
}

export interface CommandOutcomeStore {
  find(commandId: string): Promise<StoredOutcome | undefined>;
  /** Stores the outcome unless one exists for that commandId; returns the one stored (first wins). */
  saveIfAbsent(outcome: StoredOutcome): Promise<StoredOutcome>;
  /** Number of stored outcomes (tests, operations). */
  count(): Promise<number>;
}

export const COMMAND_OUTCOME_STORE = Symbol('COMMAND_OUTCOME_STORE');

export class MemoryCommandOutcomeStore implements CommandOutcomeStore {
  private readonly outcomes = new Map<string, StoredOutcome>();

  async find(commandId: string): Promise<StoredOutcome | undefined> {
    return this.outcomes.get(commandId);
  }

  async saveIfAbsent(outcome: StoredOutcome): Promise<StoredOutcome> {
    const existing = this.outcomes.get(outcome.commandId);
    if (existing) return existing;
    this.outcomes.set(outcome.commandId, outcome);
    return outcome;
  }

  async count(): Promise<number> {
    return this.outcomes.size;
  }
}

interface Row {
  command_id: string;
  result: string;
  created_at: string;
}

export class SqliteCommandOutcomeStore implements CommandOutcomeStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS command_outcomes (
      command_id TEXT PRIMARY KEY,
      result TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
  }

  async find(commandId: string): Promise<StoredOutcome | undefined> {
    const row = this.db.prepare('SELECT * FROM command_outcomes WHERE command_id = ?').get(commandId) as
      Row | undefined;
    return row ? { commandId: row.command_id, result: row.result, createdAt: row.created_at } : undefined;
  }

  async saveIfAbsent(o: StoredOutcome): Promise<StoredOutcome> {
    this.db
      .prepare('INSERT OR IGNORE INTO command_outcomes (command_id, result, created_at) VALUES (?, ?, ?)')
      .run(o.commandId, o.result, o.createdAt);
    return (await this.find(o.commandId)) ?? o;
  }

  async count(): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM command_outcomes').get() as { n: number }).n;
  }
}

export class PostgresCommandOutcomeStore implements CommandOutcomeStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {}

  static async create(pool: pg.Pool, schema: string): Promise<PostgresCommandOutcomeStore> {
    const quoted = pg.escapeIdentifier(schema);
    const table = `${quoted}.command_outcomes`;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
      command_id text PRIMARY KEY,
      result text NOT NULL,
      created_at timestamptz NOT NULL
    )`);
    return new PostgresCommandOutcomeStore(pool, table);
  }

  async find(commandId: string): Promise<StoredOutcome | undefined> {
    const { rows } = await this.pool.query<{ command_id: string; result: string; created_at: Date }>(
      `SELECT * FROM ${this.table} WHERE command_id = $1`,
      [commandId],
    );
    const row = rows[0];
    return row
      ? { commandId: row.command_id, result: row.result, createdAt: row.created_at.toISOString() }
      : undefined;
  }

  async saveIfAbsent(o: StoredOutcome): Promise<StoredOutcome> {
    await this.pool.query(
      `INSERT INTO ${this.table} (command_id, result, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
      [o.commandId, o.result, o.createdAt],
    );
    return (await this.find(o.commandId)) ?? o;
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${this.table}`);
    return Number(rows[0]?.n ?? 0);
  }
}
