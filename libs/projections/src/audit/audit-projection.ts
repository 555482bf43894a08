// The audit read model: one row per audit record (every domain event, every CommandRejected, every
// sign-in), placed in its tenant's hash chain, and the head of each chain.
//
// Tables (under the generation prefix):
//   records      chain key ('' = the service chain), sequence (1-based, gap-free per chain), global
//                cursor (the event's global position), record id (the event id), record type,
//                category, activityDateTime, the record's canonical JSON WITHOUT its hash (exactly the
//                bytes the hash covers), hash, previousHash. Unique (chain, sequence) and
//                (position, id).
//   chain_heads  chain key → last sequence and last hash.
//
// Determinism: a record is a pure function of its event and of its chain's head, and events are
// applied in global order, so a rebuild writes byte-identical rows (and hashes). Nothing here reads
// the clock or makes ids.
//
// Reading back (AuditRecords below): a record is the stored JSON with the chain, sequence, cursor,
// previousHash and hash COLUMNS laid over it, so an edit of the JSON or of any column changes what
// `verifyChain` hashes and is seen at that record.
import type Database from 'better-sqlite3';
import {
  ACTIVITIES,
  canonicalJson,
  EMPTY_CHAIN,
  INTERNAL_EVENT_TYPES,
  appendToChain,
  toAuditRecordDraft,
  verifyChain,
  type AuditRecord,
  type ChainBreak,
  type ChainState,
} from '#audit';
import type { RecordedEvent } from '#event-store';
import type { ReadModelProjection, ReadModelRunner } from '../read-models.js';

/** The projection's name: its checkpoint key and table stem. */
export const AUDIT = 'audit';

/** The schema version this projection maps; an older event is lifted by `upcast` first. */
export const AUDIT_SCHEMA_VERSION = 1;

/**
 * The live tables' prefix for a generation: the runner's naming (`rm_<name>_g<generation>_`), for
 * readers that open the file without a runner (the CLI opens it read-only).
 */
export const auditTablePrefix = (generation: number): string => `rm_${AUDIT}_g${generation}_`;

export type Upcast = (event: RecordedEvent) => RecordedEvent;

/** Without an upcaster: the current schema version passes, anything else stops the projection. */
const refuseOtherVersions: Upcast = (event) => {
  if (event.schemaVersion === AUDIT_SCHEMA_VERSION) return event;
  throw new Error(
    `${event.type} has schema version ${event.schemaVersion}; the audit projection maps version ${AUDIT_SCHEMA_VERSION} (add an upcaster and bump the projection's version)`,
  );
};

const isAudited = (type: string): boolean =>
  !INTERNAL_EVENT_TYPES.has(type) && Object.hasOwn(ACTIVITIES, type);

interface Statements {
  readonly head: Database.Statement<[string], { sequence: number; hash: string }>;
  readonly insert: Database.Statement<
    [string, number, number, string, string, string, string, string, string, string]
  >;
  readonly saveHead: Database.Statement<[string, number, string]>;
}

/** Prepared statements per database and prefix (the live generation and a rebuild's next one). */
class PerPrefix<S> {
  private readonly byDb = new WeakMap<Database.Database, Map<string, S>>();

  constructor(private readonly make: (db: Database.Database, prefix: string) => S) {}

  for(db: Database.Database, prefix: string): S {
    let byPrefix = this.byDb.get(db);
    if (byPrefix === undefined) {
      byPrefix = new Map();
      this.byDb.set(db, byPrefix);
    }
    let value = byPrefix.get(prefix);
    if (value === undefined) {
      value = this.make(db, prefix);
      byPrefix.set(prefix, value);
      // Old generations' statements are forgotten (their tables are gone).
      while (byPrefix.size > 3) byPrefix.delete(byPrefix.keys().next().value as string);
    }
    return value;
  }
}

export class AuditProjection implements ReadModelProjection {
  readonly name = AUDIT;
  readonly version = 1;
  readonly tables = ['records', 'chain_heads'] as const;

  private readonly statements = new PerPrefix<Statements>((db, p) => ({
    head: db.prepare(`SELECT sequence, hash FROM ${p}chain_heads WHERE chain = ?`),
    insert: db.prepare(
      `INSERT INTO ${p}records (chain, sequence, position, id, record_type, category, activity_at, json, hash, previous_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    saveHead: db.prepare(
      `INSERT INTO ${p}chain_heads (chain, sequence, hash) VALUES (?, ?, ?)
       ON CONFLICT (chain) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash`,
    ),
  }));

  private readonly listeners = new Set<() => void>();
  private readonly upcast: Upcast;

  constructor(options: { readonly upcast?: Upcast } = {}) {
    this.upcast = options.upcast ?? refuseOtherVersions;
  }

  setup(db: Database.Database, p: string): void {
    db.exec(`
      CREATE TABLE ${p}records (
        chain TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        position INTEGER NOT NULL,
        id TEXT NOT NULL,
        record_type TEXT NOT NULL,
        category TEXT NOT NULL,
        activity_at TEXT NOT NULL,
        json TEXT NOT NULL,
        hash TEXT NOT NULL,
        previous_hash TEXT NOT NULL,
        PRIMARY KEY (chain, sequence),
        UNIQUE (position, id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX ${p}records_by_chain_position ON ${p}records (chain, position);
      CREATE TABLE ${p}chain_heads (
        chain TEXT PRIMARY KEY,
        sequence INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
    `);
  }

  apply(recorded: RecordedEvent, db: Database.Database, prefix: string): void {
    // Bookkeeping and unknown types are skipped before the schema check: a newer writer's
    // internal event must not stop the audit feed.
    if (!isAudited(recorded.type)) return;
    const draft = toAuditRecordDraft(this.upcast(recorded));
    if (draft === undefined) return;
    const s = this.statements.for(db, prefix);
    const head = s.head.get(draft.tenantId);
    const state: ChainState = head ? { sequence: head.sequence, lastHash: head.hash } : EMPTY_CHAIN;
    const record = appendToChain(draft, state);
    const { hash, ...hashed } = record;
    s.insert.run(
      record.tenantId,
      record.sequence,
      record.globalPosition,
      record.id,
      record.recordType,
      record.category,
      record.activityDateTime,
      canonicalJson(hashed),
      hash,
      record.previousHash,
    );
    s.saveHead.run(record.tenantId, record.sequence, hash);
  }

  afterCommit(): void {
    this.notify();
  }

  activated(): void {
    // A rebuild switched generations: whoever waits re-reads the (new) live tables.
    this.notify();
  }

  /** Called after every committed batch and every switch; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

// ---------------------------------------------------------------- reading

/** Where the audit tables are: a database and the live prefix, asked for at each query. */
export interface AuditTables {
  readonly db: Database.Database;
  prefix(): string;
}

export interface AuditRecordsQuery {
  /** Records with a global cursor greater than this. */
  readonly after: number;
  /** Records with a global cursor at most this (a snapshot's end); undefined: no bound. */
  readonly until?: number;
  readonly limit: number;
  /** Only these chains ('' = the service chain); undefined: every chain. */
  readonly tenantIds?: readonly string[];
  readonly category?: string;
  /** RFC 3339 bounds on activityDateTime, inclusive. */
  readonly from?: string;
  readonly to?: string;
}

export type ChainVerificationFailure = ChainBreak | 'unreadable_record' | 'head_mismatch';

export interface ChainVerification {
  /** The chain key ('' = the service chain). */
  readonly tenantId: string;
  readonly ok: boolean;
  /** Records verified before the first break (all of them when ok). */
  readonly checked: number;
  readonly firstBrokenSequence?: number;
  readonly reason?: ChainVerificationFailure;
  /** The id of the record at which the break was seen. */
  readonly recordId?: string;
}

interface RecordRow {
  chain: string;
  sequence: number;
  position: number;
  json: string;
  hash: string;
  previous_hash: string;
}

/**
 * A stored row as a record: the JSON with the columns laid over it (see the header); undefined
 * when the JSON is not an object (only an edit behind the service's back can do that).
 */
function recordOf(row: RecordRow): AuditRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.json);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  return {
    ...(parsed as AuditRecord),
    tenantId: row.chain,
    sequence: row.sequence,
    globalPosition: row.position,
    previousHash: row.previous_hash,
    hash: row.hash,
  };
}

/** Normalises an RFC 3339 bound to the stored form (UTC, milliseconds); undefined if unparsable. */
export function normaliseInstant(value: string): string | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Queries over the live audit tables: the feed in global order, chain heads, and chain
 * verification. Implements the app's AuditFeed. Reads ask for the live prefix at each call, so a
 * rebuild's switch is followed.
 */
export class AuditRecords {
  constructor(
    private readonly tables: AuditTables,
    /** Wakes `waitForMore`; without it waits poll. */
    private readonly changes?: Pick<AuditProjection, 'onChange'>,
  ) {}

  /** Over the runner's live generation of the registered audit projection. */
  static of(runner: ReadModelRunner, name = AUDIT): AuditRecords {
    return new AuditRecords(
      { db: runner.db, prefix: () => runner.prefix(name) },
      runner.projection<AuditProjection>(name),
    );
  }

  /** Records in global order. */
  async after(query: AuditRecordsQuery): Promise<AuditRecord[]> {
    return this.page(query);
  }

  /** The same, synchronously (one SQLite read). */
  page(query: AuditRecordsQuery): AuditRecord[] {
    if (query.tenantIds !== undefined && query.tenantIds.length === 0) return [];
    const where = ['position > ?'];
    const params: unknown[] = [query.after];
    if (query.until !== undefined) {
      where.push('position <= ?');
      params.push(query.until);
    }
    if (query.tenantIds !== undefined) {
      if (query.tenantIds.length === 1) {
        where.push('chain = ?');
        params.push(query.tenantIds[0]);
      } else {
        where.push('chain IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(query.tenantIds));
      }
    }
    if (query.category !== undefined) {
      where.push('category = ?');
      params.push(query.category);
    }
    for (const [bound, op] of [
      [query.from, '>='],
      [query.to, '<='],
    ] as const) {
      if (bound === undefined) continue;
      const instant = normaliseInstant(bound);
      if (instant === undefined) throw new RangeError(`${bound} is not an RFC 3339 time`);
      where.push(`activity_at ${op} ?`);
      params.push(instant);
    }
    params.push(Math.max(0, Math.floor(query.limit)));
    const sql = `SELECT chain, sequence, position, json, hash, previous_hash FROM ${this.tables.prefix()}records
      WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`;
    const rows = this.tables.db.prepare(sql).all(...params) as RecordRow[];
    return rows.map((row) => {
      const record = recordOf(row);
      // Only an edit behind the service's back makes a row unreadable: say which, skip nothing.
      if (record === undefined)
        throw new Error(`audit record ${row.sequence} of chain '${row.chain}' is not a JSON object`);
      return record;
    });
  }

  /** The global cursor of the last record (0 if none). */
  async head(): Promise<number> {
    return this.headSync();
  }

  headSync(): number {
    const value = this.tables.db
      .prepare(`SELECT max(position) FROM ${this.tables.prefix()}records`)
      .pluck()
      .get() as number | null;
    return value ?? 0;
  }

  /**
   * Resolves when a record with a cursor greater than `cursor` exists, after `timeoutMs`, or when
   * `signal` aborts; never rejects.
   */
  waitForMore(cursor: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.headSync() > cursor) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let unsubscribe: () => void = () => undefined;
      let poll: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        try {
          if (this.headSync() > cursor) done();
        } catch {
          // Tables switching under us: the next change says more.
        }
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      if (this.changes) unsubscribe = this.changes.onChange(check);
      else poll = setInterval(check, 250);
    });
  }

  /** Every chain key with records or a head ('' = the service chain), sorted. */
  chains(): string[] {
    const p = this.tables.prefix();
    return this.tables.db
      .prepare(
        `SELECT chain FROM ${p}chain_heads UNION SELECT DISTINCT chain FROM ${p}records ORDER BY chain`,
      )
      .pluck()
      .all() as string[];
  }

  /**
   * Walks one chain's stored records in sequence order, page by page (constant memory, yielding to
   * the event loop between pages), and names the first broken link. Records appended while it runs
   * are left for the next verification: the walk ends at the chain head read when it starts, and
   * the last record verified must be that head.
   */
  async verify(tenantId: string, options: { readonly pageSize?: number } = {}): Promise<ChainVerification> {
    for (let attempt = 0; ; attempt++) {
      const prefix = this.tables.prefix();
      try {
        return await this.verifyIn(prefix, tenantId, options.pageSize ?? 1000);
      } catch (error) {
        // A rebuild switched generations and dropped the tables we were reading: start again on
        // the new ones.
        if (attempt < 3 && this.tables.prefix() !== prefix) continue;
        throw error;
      }
    }
  }

  private async verifyIn(prefix: string, tenantId: string, pageSize: number): Promise<ChainVerification> {
    const { db } = this.tables;
    const headRow = db
      .prepare(`SELECT sequence, hash FROM ${prefix}chain_heads WHERE chain = ?`)
      .get(tenantId) as { sequence: number; hash: string } | undefined;
    const page = db.prepare(
      `SELECT chain, sequence, position, json, hash, previous_hash FROM ${prefix}records
       WHERE chain = ? AND sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?`,
    );
    const end = headRow?.sequence ?? Number.MAX_SAFE_INTEGER;
    let state: ChainState = EMPTY_CHAIN;
    let checked = 0;
    let lastPosition = -Infinity;
    const broken = (
      firstBrokenSequence: number,
      reason: ChainVerificationFailure,
      recordId?: string,
    ): ChainVerification => ({
      tenantId,
      ok: false,
      checked,
      firstBrokenSequence,
      reason,
      ...(recordId !== undefined ? { recordId } : {}),
    });
    for (;;) {
      const rows = page.all(tenantId, state.sequence, end, pageSize) as RecordRow[];
      if (rows.length === 0) break;
      // Rows up to the first one that is not a JSON object.
      const records: AuditRecord[] = [];
      let unreadable: number | undefined;
      for (const row of rows) {
        const record = recordOf(row);
        if (record === undefined) {
          unreadable = row.sequence;
          break;
        }
        records.push(record);
      }
      const result = verifyChain(records, { from: state, tenantId });
      // The global cursor must keep increasing across pages too (verifyChain sees one page).
      const first = records[0];
      if (
        first !== undefined &&
        first.sequence === state.sequence + 1 &&
        !(first.globalPosition > lastPosition) &&
        (result.ok || (result.firstBrokenSequence ?? 0) > first.sequence)
      ) {
        return broken(first.sequence, 'position_not_increasing', first.id);
      }
      if (!result.ok) {
        checked += result.checked;
        return broken(
          result.firstBrokenSequence ?? state.sequence + 1,
          result.reason ?? 'hash_mismatch',
          result.recordId,
        );
      }
      checked += result.checked;
      state = result.state ?? state;
      if (unreadable !== undefined) {
        return unreadable > state.sequence + 1
          ? broken(state.sequence + 1, 'sequence_gap')
          : broken(unreadable, 'unreadable_record');
      }
      lastPosition = records[records.length - 1]?.globalPosition ?? lastPosition;
      if (rows.length < pageSize) break;
      await yieldToLoop();
    }
    if (headRow !== undefined) {
      // Records cut off the end leave a chain that verifies: the head says how long it was.
      if (state.sequence < headRow.sequence) return broken(state.sequence + 1, 'sequence_gap');
      if (state.lastHash !== headRow.hash) return broken(headRow.sequence, 'head_mismatch');
    } else if (checked > 0) {
      return broken(state.sequence, 'head_mismatch');
    }
    return { tenantId, ok: true, checked };
  }
}
