// The PostgreSQL adapter (node-postgres). Safe for any number of instances and processes on one
// schema.
//
// Global order. The port wants positions that are gap-free (1, 2, 3, ...) and that a reader never
// sees out of order: once it has read position N, no event below N may commit later. A sequence
// gives neither: a rolled-back nextval() leaves a gap, and two transactions that drew N and N+1 can
// commit in the opposite order, so a reader could see N+1, move its checkpoint past it, and never
// see N. The xid8 / pg_snapshot_xmin scheme fixes the visibility half (readers stop below the
// oldest running writer) but still needs a gap-free position on top, which is a serialisation
// point anyway. So this adapter serialises appends outright, which gives both at once:
//
// - every append transaction first takes pg_advisory_xact_lock(APPEND_LOCK_CLASS, <schema key>),
//   held until COMMIT or ROLLBACK (so a crashed or failed writer cannot leave it taken);
// - only then does it read (READ COMMITTED: each statement takes a fresh snapshot, which includes
//   the previous lock holder's commit, because PostgreSQL makes a commit visible before it
//   releases the committing transaction's locks), check expected versions, and write positions
//   MAX + 1, MAX + 2, ...;
// - hence appends commit one at a time in position order: any snapshot that contains position N
//   contains every position below it, and a rolled-back append consumed nothing.
//
// The cost is one append in flight per schema: three round trips under the lock (about 2 ms per
// append on loopback with 8 contending writers), which an account lifecycle service is far from
// saturating; the lock is keyed by schema, so stores in different schemas do not wait on each
// other. With every append serialised, version checks need no row locks and no unique-violation
// race remains between two adapters; a unique violation can only come from a writer that bypasses
// the lock (old code, manual SQL), and is answered by re-planning the append, which then reports
// the conflict as the WrongExpectedVersionError or DuplicateEventIdError it is.
//
// Subscriptions: appends through this instance wake them at once; appends through other instances
// or processes reach them through LISTEN/NOTIFY (pg_notify inside the append transaction, which
// PostgreSQL delivers only on commit) on one dedicated connection per store, plus a slow head probe
// in case that connection is down or a notification was missed.
//
// `data` and `actor` are jsonb: values round-trip, but jsonb keeps object keys in an order of its
// own (and rejects \u0000 in strings), so a reader gets equal objects, not the JSON text written:
// anything that hashes events must canonicalise first.
import { Client, DatabaseError, escapeIdentifier, Pool, type PoolClient } from 'pg';
import { assertReadAllArgs, planAppend, type AppendState, type StoredEventRef } from '../core/append-plan.js';
import { fromVersionOf } from '../core/read-stream-options.js';
import { freezeRecordedEvent } from '../core/recorded-event.js';
import { ChangeSignal, PollingSubscription } from '../core/subscription.js';
import type {
  Actor,
  AppendResult,
  EventStore,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
  Subscription,
} from '../port.js';
import { migrate } from './schema.js';

/** Where the store's database is: a pool the caller owns and ends, or a URL for a pool the store owns. */
export type PostgresConnection =
  | { readonly connectionString: string; readonly pool?: undefined }
  | { readonly pool: Pool; readonly connectionString?: undefined };

export type PostgresEventStoreOptions = PostgresConnection & {
  /** Schema holding the store's tables, created and migrated on connect. Default 'event_store'. */
  readonly schema?: string;
  /**
   * How often idle subscriptions check the head in case a notification from another instance
   * was missed (the LISTEN connection was down). Appends reach them at once otherwise. Default 1000 ms.
   */
  readonly pollIntervalMs?: number;
  /** Events per read while a subscription catches up. Default 500. */
  readonly pageSize?: number;
};

interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  occurred_at: string;
  tenant_id: string | null;
  correlation_id: string;
  causation_id: string | null;
  actor: Actor;
}

/** A stream's current version, with one of its events, or with nulls when none is at or after fromVersion. */
type StreamRow = { current_version: number } & (EventRow | { [K in keyof EventRow]: null });

function hasEvent(row: StreamRow): row is { current_version: number } & EventRow {
  return row.event_id !== null;
}

interface AppendStateRow {
  head: string;
  streams: [string, number][];
  events: { eventId: string; streamId: string; type: string; globalPosition: number }[];
}

const EVENT_COLUMNS = `global_position, event_id, stream_id, stream_version, type, schema_version, data,
  occurred_at, tenant_id, correlation_id, causation_id, actor`;

/** Advisory lock class (first key) under which the appends to one schema are serialised. */
const APPEND_LOCK_CLASS = 0x45530001;
/**
 * A writer that stalls inside an append (a frozen process, a half-open connection) would hold up
 * every other writer: the server ends its session after this long idle in the transaction.
 */
const APPEND_IDLE_TIMEOUT_MS = 30_000;
/** Attempts of one append when a unique violation shows a writer that bypassed the lock. */
const APPEND_ATTEMPTS = 3;

export class PostgresEventStore implements EventStore {
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingSubscription>();
  private readonly events: string;
  private readonly streams: string;
  private readonly lockKey: number;
  /**
   * The LISTEN/NOTIFY channel on which every append to this schema announces its last position
   * (on commit), for tools outside the store that want to follow the log too.
   */
  readonly notificationChannel: string;
  private poller: NodeJS.Timeout | undefined;
  private probing = false;
  private lastHead = -1;
  /** Ends the LISTEN connection, while it is up. */
  private stopListener: (() => Promise<void>) | undefined;
  private listenerTask: Promise<void> | undefined;
  /** LISTEN connections being ended, which close() waits for. */
  private readonly listenerEndings = new Set<Promise<void>>();
  private closed = false;

  private constructor(
    /** The pool the store runs its queries on (owned by the store only if it made it). */
    readonly pool: Pool,
    private readonly ownsPool: boolean,
    /** The schema holding the store's tables. */
    readonly schema: string,
    private readonly pollIntervalMs: number,
    private readonly pageSize: number,
  ) {
    const s = escapeIdentifier(schema);
    this.events = `${s}.events`;
    this.streams = `${s}.streams`;
    this.lockKey = schemaKey(schema);
    // Channel names are identifiers (at most 63 bytes); a schema key collision only costs wake-ups.
    this.notificationChannel = `event_store_${(this.lockKey >>> 0).toString(16)}`;
  }

  /** Connects, creates or migrates the schema, and returns the ready store. */
  static async connect(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const schema = options.schema ?? 'event_store';
    if (typeof schema !== 'string' || schema.length === 0 || Buffer.byteLength(schema) > 63) {
      throw new TypeError('schema must be a non-empty name of at most 63 bytes');
    }
    let pool: Pool;
    let ownsPool: boolean;
    if (options.pool !== undefined) {
      pool = options.pool;
      ownsPool = false;
    } else if (typeof options.connectionString === 'string') {
      pool = new Pool({ connectionString: options.connectionString });
      // An idle pooled connection that the server drops emits 'error' on the pool, which would
      // crash the process without a listener; the next query on a fresh connection reports it.
      pool.on('error', () => undefined);
      ownsPool = true;
    } else {
      throw new TypeError('PostgresEventStore.connect needs a connectionString or a pool');
    }

    const store = new PostgresEventStore(
      pool,
      ownsPool,
      schema,
      options.pollIntervalMs ?? 1000,
      options.pageSize ?? 500,
    );
    try {
      await inTransaction(pool, 'BEGIN', (client) => migrate(client, schema, store.lockKey));
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  async append(entries: readonly StreamAppend[]): Promise<AppendResult> {
    this.assertOpen();
    for (let attempt = 1; ; attempt += 1) {
      try {
        // The lock comes before any read (see the file header); one round trip for the three
        // statements. READ COMMITTED whatever the server default: each later statement must take
        // a snapshot that includes the previous lock holder's commit.
        const result = await inTransaction(
          this.pool,
          `BEGIN ISOLATION LEVEL READ COMMITTED;
           SET LOCAL idle_in_transaction_session_timeout = ${APPEND_IDLE_TIMEOUT_MS};
           SELECT pg_advisory_xact_lock(${APPEND_LOCK_CLASS}, ${this.lockKey})`,
          (client) => this.appendLocked(client, entries),
        );
        this.changes.notify();
        return result;
      } catch (error) {
        if (!(error instanceof DatabaseError && error.code === '23505') || attempt >= APPEND_ATTEMPTS) {
          throw error;
        }
      }
    }
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    this.assertOpen();
    const fromVersion = fromVersionOf(options);
    // One statement, so that the version and the events come from one snapshot. The events are an
    // index range scan on UNIQUE (stream_id, stream_version): only the rows returned are read.
    // bigint: a fromVersion beyond the integer column's range is past the end, not an error.
    const { rows } = await this.pool.query<StreamRow>(
      `SELECT s.version AS current_version, e.*
       FROM ${this.streams} s
       LEFT JOIN LATERAL (
         SELECT ${EVENT_COLUMNS} FROM ${this.events}
         WHERE stream_id = s.stream_id AND stream_version >= $2::bigint
       ) e ON true
       WHERE s.stream_id = $1
       ORDER BY e.stream_version`,
      [streamId, fromVersion],
    );
    return { version: rows[0]?.current_version ?? -1, events: rows.filter(hasEvent).map(toRecordedEvent) };
  }

  async readAll(after: number, limit: number): Promise<readonly RecordedEvent[]> {
    this.assertOpen();
    assertReadAllArgs(after, limit);
    if (limit === 0) return [];
    // One statement, one snapshot: thanks to the append lock, always a prefix of the log.
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.events}
       WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
      [Math.floor(after), limit],
    );
    return rows.map(toRecordedEvent);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.queryHead();
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    const source = { readAll: this.readAll.bind(this), changes: this.changes };
    const subscription = new PollingSubscription(source, options, this.pageSize, (ended) => {
      this.subscriptions.delete(ended);
      if (this.subscriptions.size === 0) void this.stopWatching();
    });
    this.subscriptions.add(subscription);
    this.startWatching();
    return subscription;
  }

  /**
   * Stops every subscription (waiting for running handlers) and the LISTEN connection, then ends
   * the pool if the store made it. A pool passed in stays open: its owner ends it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.stopWatching();
    await Promise.all(this.listenerEndings);
    if (this.ownsPool) await this.pool.end();
  }

  /** The append itself, inside the transaction and under the append lock. */
  private async appendLocked(client: PoolClient, entries: readonly StreamAppend[]): Promise<AppendResult> {
    const plan = planAppend(entries, await this.loadAppendState(client, entries));
    if (plan.kind === 'write' && plan.events.length > 0) {
      const rows = plan.events.map((event) => ({
        global_position: event.globalPosition,
        event_id: event.eventId,
        stream_id: event.streamId,
        stream_version: event.streamVersion,
        type: event.type,
        schema_version: event.schemaVersion,
        data: event.data,
        occurred_at: event.occurredAt,
        tenant_id: event.tenantId ?? null,
        correlation_id: event.correlationId,
        causation_id: event.causationId ?? null,
        actor: event.actor,
      }));
      // One statement for the whole batch: data-modifying CTEs always run to completion.
      await client.query(
        `WITH inserted AS (
             INSERT INTO ${this.events} (${EVENT_COLUMNS})
             SELECT ${EVENT_COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS r(
               global_position bigint, event_id text, stream_id text, stream_version integer, type text,
               schema_version integer, data jsonb, occurred_at text, tenant_id text, correlation_id text,
               causation_id text, actor jsonb)
           ), versions AS (
             INSERT INTO ${this.streams} (stream_id, version)
             SELECT * FROM unnest($2::text[], $3::integer[])
             ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version
           )
           SELECT pg_notify($4, $5)`,
        [
          JSON.stringify(rows),
          [...plan.streamVersions.keys()],
          [...plan.streamVersions.values()],
          this.notificationChannel,
          String(plan.result.lastGlobalPosition),
        ],
      );
    }
    return plan.result;
  }

  /**
   * Everything planAppend may ask about this batch, read in one statement (one snapshot, taken
   * under the append lock) so that the planner can stay synchronous.
   */
  private async loadAppendState(client: PoolClient, entries: readonly StreamAppend[]): Promise<AppendState> {
    // Only well-formed ids go to the query; the planner rejects the rest with a TypeError.
    const streamIds = new Set<string>();
    const eventIds = new Set<string>();
    for (const entry of entries) {
      if (typeof entry?.streamId === 'string') streamIds.add(entry.streamId);
      if (!Array.isArray(entry?.events)) continue;
      for (const event of entry.events) {
        if (typeof event?.eventId === 'string') eventIds.add(event.eventId);
      }
    }
    const { rows } = await client.query<AppendStateRow>(
      `SELECT
         (SELECT COALESCE(MAX(global_position), 0) FROM ${this.events}) AS head,
         (SELECT COALESCE(json_agg(json_build_array(stream_id, version)), '[]')
          FROM ${this.streams} WHERE stream_id = ANY($1::text[])) AS streams,
         (SELECT COALESCE(json_agg(json_build_object('eventId', event_id, 'streamId', stream_id,
                   'type', type, 'globalPosition', global_position)), '[]')
          FROM ${this.events} WHERE event_id = ANY($2::text[])) AS events`,
      [[...streamIds], [...eventIds]],
    );
    const row = rows[0];
    if (row === undefined) throw new Error('append state query returned no row');
    const versions = new Map(row.streams);
    const found = new Map<string, StoredEventRef>(
      row.events.map((event) => [
        event.eventId,
        { streamId: event.streamId, type: event.type, globalPosition: event.globalPosition },
      ]),
    );
    const head = Number(row.head);
    return {
      streamVersion: (streamId) => versions.get(streamId) ?? -1,
      findEvent: (eventId) => found.get(eventId),
      headPosition: () => head,
    };
  }

  private async queryHead(): Promise<number> {
    const { rows } = await this.pool.query<{ head: string }>(
      `SELECT COALESCE(MAX(global_position), 0) AS head FROM ${this.events}`,
    );
    return Number(rows[0]?.head ?? 0);
  }

  // One LISTEN connection and one probe per store, not per subscription, and only while there are
  // subscriptions.
  private startWatching(): void {
    if (this.poller !== undefined) return;
    this.lastHead = -1;
    this.listen();
    this.poller = setInterval(() => {
      this.listen();
      void this.probe();
    }, this.pollIntervalMs);
  }

  private async stopWatching(): Promise<void> {
    clearInterval(this.poller);
    this.poller = undefined;
    // An opening connection sees that the poller is gone and ends itself.
    await this.listenerTask;
    // A subscription that came meanwhile keeps the connection.
    if (this.poller === undefined) await this.stopListener?.();
  }

  /**
   * (Re)opens the LISTEN connection unless it is up or being opened. A connection of its own rather
   * than one held out of the pool: it lives as long as there are subscriptions, and must not
   * starve appends of a small pool.
   */
  private listen(): void {
    if (this.stopListener !== undefined || this.listenerTask !== undefined) return;
    const client = new Client(this.pool.options);
    let ended = false;
    let ending: Promise<void> | undefined;
    const end = (): Promise<void> => {
      ended = true;
      if (this.stopListener === end) this.stopListener = undefined;
      if (ending === undefined) {
        const promise = client.end().catch(() => undefined);
        this.listenerEndings.add(promise);
        ending = promise.finally(() => this.listenerEndings.delete(promise));
      }
      return ending;
    };
    const lost = (): void => {
      if (ended) return;
      void end();
      // What was notified while the connection was down is found by reading again; the next
      // probe tick reopens the connection.
      this.changes.notify();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.changes.notify());
    this.listenerTask = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${escapeIdentifier(this.notificationChannel)}`);
      } catch {
        lost();
        return;
      }
      if (ended) return;
      if (this.poller === undefined) {
        // The last subscription ended while the connection was being opened.
        await end();
        return;
      }
      this.stopListener = end;
      // An append that committed before LISTEN took effect notified nobody: read again.
      this.changes.notify();
    })().finally(() => {
      this.listenerTask = undefined;
    });
  }

  /** Wakes the subscriptions if the head moved since the last probe (or if the probe fails). */
  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const head = await this.queryHead();
      if (head === this.lastHead) return;
      this.lastHead = head;
    } catch {
      // Let the subscriptions' own next read fail and reach their onError, instead of throwing
      // from a timer.
    } finally {
      this.probing = false;
    }
    this.changes.notify();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('event store is closed');
  }
}

/**
 * Runs `work` in a transaction on a client of its own: `begin` (which opens it), then COMMIT, or
 * ROLLBACK on any failure (including a `begin` that failed halfway). A client whose ROLLBACK
 * failed is in an unknown state and is destroyed rather than returned to the pool.
 */
async function inTransaction<T>(
  pool: Pool,
  begin: string,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** FNV-1a of the schema name as a signed 32-bit advisory lock key: the same in every process. */
function schemaKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(schema, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return freezeRecordedEvent({
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    occurredAt: row.occurred_at,
    tenantId: row.tenant_id,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    actor: row.actor,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    globalPosition: Number(row.global_position),
  });
}
