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
//
// Where the tables live: SQLite (the embedded default) or PostgreSQL shared by several instances,
// through one asynchronous SQL surface. Nothing here keeps state derived from the tables in
// memory: with PostgreSQL, another instance may be the one applying events.
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
import { CURRENT_SCHEMA_VERSION, upcast } from '#domain';
import type { RecordedEvent } from '#event-store';
import {
  ProjectionEventError,
  readModelPrefix,
  type ReadModelProjection,
  type ReadModelRunner,
} from '../read-models.js';
import type { SqlDdl, SqlSession, SqlValue } from '../sql.js';

/** The projection's name: its checkpoint key and table stem. */
export const AUDIT = 'audit';

/** The schema version this projection maps; an older event is lifted by `upcast` first. */
export const AUDIT_SCHEMA_VERSION = CURRENT_SCHEMA_VERSION;

/**
 * The live tables' prefix for a generation: the runner's naming (`rm_<name>_g<generation>_`), for
 * readers that open the database without a runner (the CLI).
 */
export const auditTablePrefix = (generation: number): string => readModelPrefix(AUDIT, generation);

export type Upcast = (event: RecordedEvent) => RecordedEvent;

/**
 * By default the domain's own upcasters (#domain recorded.ts): the current schema version passes,
 * an older one is lifted, and one no upcaster lifts (or a newer one) stops the projection.
 */
const domainUpcast: Upcast = (event) => {
  if (event.schemaVersion === AUDIT_SCHEMA_VERSION) return event;
  return { ...event, data: upcast(event).data, schemaVersion: AUDIT_SCHEMA_VERSION };
};

const isAudited = (type: string): boolean =>
  !INTERNAL_EVENT_TYPES.has(type) && Object.hasOwn(ACTIVITIES, type);

/** Columns of a records row, and rows per INSERT (well under both databases' parameter limits). */
const RECORD_COLUMNS = 10;
const ROWS_PER_INSERT = 100;

/** The statements a batch runs, per table prefix (multi-row ones per row count, built once). */
interface Statements {
  readonly head: string;
  insert(rows: number): string;
  saveHeads(rows: number): string;
}

const values = (rows: number, columns: number): string =>
  Array.from({ length: rows }, () => `(${Array.from({ length: columns }, () => '?').join(', ')})`).join(', ');

function statementsFor(p: string): Statements {
  const inserts = new Map<number, string>();
  const saves = new Map<number, string>();
  const cached = (map: Map<number, string>, rows: number, build: () => string): string => {
    let sql = map.get(rows);
    if (sql === undefined) {
      sql = build();
      map.set(rows, sql);
    }
    return sql;
  };
  return {
    head: `SELECT sequence, hash FROM ${p}chain_heads WHERE chain = ?`,
    insert: (rows) =>
      cached(
        inserts,
        rows,
        () =>
          `INSERT INTO ${p}records (chain, sequence, position, id, record_type, category, activity_at, json, hash, previous_hash)
           VALUES ${values(rows, RECORD_COLUMNS)}`,
      ),
    saveHeads: (rows) =>
      cached(
        saves,
        rows,
        () =>
          `INSERT INTO ${p}chain_heads (chain, sequence, hash) VALUES ${values(rows, 3)}
           ON CONFLICT (chain) DO UPDATE SET sequence = excluded.sequence, hash = excluded.hash`,
      ),
  };
}

export class AuditProjection implements ReadModelProjection {
  readonly name = AUDIT;
  // Unchanged by the move to the asynchronous surface: the rows are the same bytes, and on SQLite the
  // tables are defined exactly as before (same columns, types and options).
  readonly version = 1;
  readonly tables = ['records', 'chain_heads'] as const;

  /** SQL text per prefix (the live generation and a rebuild's next one): built once, not per event. */
  private readonly statements = new Map<string, Statements>();
  private readonly listeners = new Set<(position: number) => void>();
  private readonly upcast: Upcast;

  constructor(options: { readonly upcast?: Upcast } = {}) {
    this.upcast = options.upcast ?? domainUpcast;
  }

  async setup(tx: SqlSession, p: string, ddl: SqlDdl): Promise<void> {
    const { int, text, tableOptions } = ddl;
    // SQLite keeps the records clustered by (chain, sequence), as verification walks them; PostgreSQL
    // has no such option (its primary key is an index beside the heap).
    const clustered = tx.dialect === 'sqlite' ? ', WITHOUT ROWID' : '';
    // Index names are per schema on PostgreSQL: the prefix keeps generations apart.
    await tx.exec(`
      CREATE TABLE ${p}records (
        chain ${text} NOT NULL,
        sequence ${int} NOT NULL,
        position ${int} NOT NULL,
        id ${text} NOT NULL,
        record_type ${text} NOT NULL,
        category ${text} NOT NULL,
        activity_at ${text} NOT NULL,
        json ${text} NOT NULL,
        hash ${text} NOT NULL,
        previous_hash ${text} NOT NULL,
        PRIMARY KEY (chain, sequence),
        UNIQUE (position, id)
      )${tableOptions}${clustered};
      CREATE INDEX ${p}records_by_chain_position ON ${p}records (chain, position);
      CREATE TABLE ${p}chain_heads (
        chain ${text} PRIMARY KEY,
        sequence ${int} NOT NULL,
        hash ${text} NOT NULL
      )${tableOptions};
    `);
  }

  async apply(recorded: RecordedEvent, tx: SqlSession, prefix: string): Promise<void> {
    await this.applyBatch([recorded], tx, prefix);
  }

  /**
   * A batch in three kinds of statement rather than three statements per event: each chain's head
   * read once, the records inserted many rows at a time, the heads saved together at the end. The
   * rows are exactly those event-by-event application gives.
   */
  async applyBatch(events: readonly RecordedEvent[], tx: SqlSession, prefix: string): Promise<void> {
    const s = this.statementsFor(prefix);
    const heads = new Map<string, ChainState>();
    const rows: SqlValue[] = [];
    for (const recorded of events) {
      try {
        // Bookkeeping and unknown types are skipped before the schema check: a newer writer's
        // internal event must not stop the audit feed.
        if (!isAudited(recorded.type)) continue;
        const draft = toAuditRecordDraft(this.upcast(recorded));
        if (draft === undefined) continue;
        let state = heads.get(draft.tenantId);
        if (state === undefined) {
          // Read in the batch's transaction: the head the previous batch saved.
          const head = await tx.get<{ sequence: number; hash: string }>(s.head, [draft.tenantId]);
          state = head ? { sequence: head.sequence, lastHash: head.hash } : EMPTY_CHAIN;
        }
        const record = appendToChain(draft, state);
        const { hash, ...hashed } = record;
        heads.set(record.tenantId, { sequence: record.sequence, lastHash: hash });
        rows.push(
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
      } catch (error) {
        throw new ProjectionEventError(recorded, error);
      }
    }
    for (let at = 0; at < rows.length; at += RECORD_COLUMNS * ROWS_PER_INSERT) {
      const chunk = rows.slice(at, at + RECORD_COLUMNS * ROWS_PER_INSERT);
      await tx.run(s.insert(chunk.length / RECORD_COLUMNS), chunk);
    }
    const saved = [...heads].flatMap(([chain, head]) => [chain, head.sequence, head.lastHash]);
    for (let at = 0; at < saved.length; at += 3 * ROWS_PER_INSERT) {
      const chunk = saved.slice(at, at + 3 * ROWS_PER_INSERT);
      await tx.run(s.saveHeads(chunk.length / 3), chunk);
    }
  }

  /** The runner's word that the live position moved (a commit here or another instance's). */
  changed(position: number): void {
    for (const listener of [...this.listeners]) listener(position);
  }

  /** Called whenever the runner reports a change; returns the unsubscribe function. */
  onChange(listener: (position: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private statementsFor(prefix: string): Statements {
    let s = this.statements.get(prefix);
    if (s === undefined) {
      s = statementsFor(prefix);
      // Old generations' SQL is forgotten (their tables are gone).
      if (this.statements.size >= 3) this.statements.delete(this.statements.keys().next().value as string);
      this.statements.set(prefix, s);
    }
    return s;
  }
}

// ---------------------------------------------------------------- reading

/** Where the audit tables are: a database and the live prefix, asked for at each query. */
export interface AuditTables {
  readonly db: Pick<SqlSession, 'get' | 'all'>;
  /** The live generation's prefix (the runner's is asynchronous: it may read the state row). */
  prefix(): string | Promise<string>;
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
 * How often waiters look at the head without being told: with several instances on PostgreSQL the
 * commit that adds a record may be another process's, which no local hook hears of.
 */
export const AUDIT_HEAD_POLL_MS = 250;

interface Waiter {
  readonly cursor: number;
  readonly done: () => void;
}

/**
 * Queries over the live audit tables: the feed in global order, chain heads, and chain
 * verification. Implements the app's AuditFeed. Reads ask for the live prefix at each call, so a
 * rebuild's switch is followed.
 */
export class AuditRecords {
  /** Open `waitForMore` calls: one head query per wake-up serves them all. */
  private readonly waiters = new Set<Waiter>();
  private watching: { readonly timer: NodeJS.Timeout; readonly unsubscribe: () => void } | undefined;
  private checking = false;
  private checkAgain = false;

  constructor(
    private readonly tables: AuditTables,
    /** Wakes `waitForMore` at once on a local commit; the head is polled as well regardless. */
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
    if (query.tenantIds !== undefined && query.tenantIds.length === 0) return [];
    const where = ['position > ?'];
    const params: SqlValue[] = [query.after];
    if (query.until !== undefined) {
      where.push('position <= ?');
      params.push(query.until);
    }
    if (query.tenantIds !== undefined) {
      if (query.tenantIds.length === 1) {
        where.push('chain = ?');
        params.push(query.tenantIds[0] ?? '');
      } else {
        // One placeholder per chain: the SQL both databases read alike (no json_each on PostgreSQL).
        where.push(`chain IN (${query.tenantIds.map(() => '?').join(', ')})`);
        params.push(...query.tenantIds);
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
    const sql = `SELECT chain, sequence, position, json, hash, previous_hash FROM ${await this.prefix()}records
      WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`;
    const rows = await this.tables.db.all<RecordRow>(sql, params);
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
    // max() of no rows is NULL on both databases; (position, id) is indexed, so this is one probe.
    const row = await this.tables.db.get<{ head: number | null }>(
      `SELECT max(position) AS head FROM ${await this.prefix()}records`,
    );
    return row?.head ?? 0;
  }

  /**
   * Resolves when a record with a cursor greater than `cursor` exists, after `timeoutMs`, or when
   * `signal` aborts; never rejects. Woken by the projection's change hook (a commit here) and by a
   * poll of the head (a commit by another instance).
   */
  waitForMore(cursor: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let finished = false;
      const waiter: Waiter = {
        cursor,
        done: () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.done);
          this.waiters.delete(waiter);
          if (this.waiters.size === 0) this.unwatch();
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      signal?.addEventListener('abort', waiter.done, { once: true });
      this.waiters.add(waiter);
      this.watch();
      // The first look at once: the record may be there already.
      void this.check();
    });
  }

  /** Every chain key with records or a head ('' = the service chain), sorted. */
  async chains(): Promise<string[]> {
    const p = await this.prefix();
    const rows = await this.tables.db.all<{ chain: string }>(
      `SELECT chain FROM ${p}chain_heads UNION SELECT DISTINCT chain FROM ${p}records ORDER BY chain`,
    );
    return rows.map((row) => row.chain);
  }

  /**
   * Walks one chain's stored records in sequence order, page by page (constant memory, yielding to
   * the event loop between pages), and names the first broken link. Records appended while it runs
   * are left for the next verification: the walk ends at the chain head read when it starts, and
   * the last record verified must be that head.
   */
  async verify(tenantId: string, options: { readonly pageSize?: number } = {}): Promise<ChainVerification> {
    for (let attempt = 0; ; attempt++) {
      const prefix = await this.prefix();
      try {
        return await this.verifyIn(prefix, tenantId, options.pageSize ?? 1000);
      } catch (error) {
        // A rebuild switched generations and dropped the tables we were reading: start again on
        // the new ones.
        const now = await this.prefix().catch(() => prefix);
        if (attempt < 3 && now !== prefix) continue;
        throw error;
      }
    }
  }

  /** The live prefix; a synchronous throw of `tables.prefix` becomes a rejection. */
  private async prefix(): Promise<string> {
    return this.tables.prefix();
  }

  private watch(): void {
    if (this.watching !== undefined) return;
    const timer = setInterval(() => void this.check(), AUDIT_HEAD_POLL_MS);
    // The waiters' own timeouts keep the process alive as long as it matters.
    timer.unref();
    const unsubscribe = this.changes?.onChange(() => void this.check()) ?? (() => undefined);
    this.watching = { timer, unsubscribe };
  }

  private unwatch(): void {
    if (this.watching === undefined) return;
    clearInterval(this.watching.timer);
    this.watching.unsubscribe();
    this.watching = undefined;
  }

  /** Reads the head once and releases every waiter below it; calls during a read ask for another. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.checkAgain = false;
        if (this.waiters.size === 0) return;
        let head: number;
        try {
          head = await this.head();
        } catch {
          // Tables switching under us (a rebuild): the next poll or change looks again.
          return;
        }
        for (const waiter of [...this.waiters]) if (head > waiter.cursor) waiter.done();
      } while (this.checkAgain);
    } finally {
      this.checking = false;
    }
  }

  private async verifyIn(prefix: string, tenantId: string, pageSize: number): Promise<ChainVerification> {
    const { db } = this.tables;
    const headRow = await db.get<{ sequence: number; hash: string }>(
      `SELECT sequence, hash FROM ${prefix}chain_heads WHERE chain = ?`,
      [tenantId],
    );
    // Keyset paging on the primary key: each page is one index range, whatever the chain's length.
    const page = `SELECT chain, sequence, position, json, hash, previous_hash FROM ${prefix}records
       WHERE chain = ? AND sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?`;
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
      const rows = await db.all<RecordRow>(page, [tenantId, state.sequence, end, pageSize]);
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
      // SQLite answers without a turn of the event loop: let requests in between pages.
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
