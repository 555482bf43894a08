// The embedded SQLite adapter (better-sqlite3). Safe for several instances or processes on one
// file: every append is one BEGIN IMMEDIATE transaction, which takes SQLite's single write lock
// before reading anything, so version checks and position assignment can't interleave.
import Database from 'better-sqlite3';
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

export interface SqliteEventStoreOptions {
  /** How long a writer waits for another connection's write lock before failing. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * How often idle subscriptions check whether another connection (instance or process) appended.
   * Appends through this instance wake them at once. Default 50 ms.
   */
  readonly pollIntervalMs?: number;
  /** Events per read while a subscription catches up. Default 500. */
  readonly pageSize?: number;
}

interface EventRow {
  global_position: number;
  event_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: string;
  occurred_at: string;
  tenant_id: string | null;
  correlation_id: string;
  causation_id: string | null;
  actor: string;
}

interface StoredRefRow {
  stream_id: string;
  type: string;
  global_position: number;
}

const EVENT_COLUMNS = `global_position, event_id, stream_id, stream_version, type, schema_version, data,
  occurred_at, tenant_id, correlation_id, causation_id, actor`;

export class SqliteEventStore implements EventStore {
  /** The connection, shared on purpose: the app keeps idempotency records and read models in this file. */
  readonly db: Database.Database;

  private readonly pollIntervalMs: number;
  private readonly pageSize: number;
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingSubscription>();
  private poller: NodeJS.Timeout | undefined;
  private lastDataVersion = 0;
  private closed = false;

  private readonly statements: {
    readonly findEvent: Database.Statement<[string], StoredRefRow>;
    readonly streamVersion: Database.Statement<[string], number>;
    readonly head: Database.Statement<[], number>;
    readonly insertEvent: Database.Statement<unknown[]>;
    readonly upsertStream: Database.Statement<[string, number]>;
    readonly readStream: Database.Statement<[string, number], EventRow>;
    readonly readAll: Database.Statement<[number, number], EventRow>;
    readonly dataVersion: Database.Statement<[], number>;
  };

  private readonly appendTransaction: Database.Transaction<
    (entries: readonly StreamAppend[]) => AppendResult
  >;
  private readonly readStreamTransaction: Database.Transaction<
    (streamId: string, fromVersion: number) => ReadStreamResult
  >;

  /** Opens (and creates or migrates) the event store in `filename`, or ':memory:'. */
  constructor(filename: string, options: SqliteEventStoreOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 50;
    this.pageSize = options.pageSize ?? 500;
    this.db = new Database(filename, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      // WAL: readers (subscriptions, read models) never block the writer, nor it them.
      this.db.pragma('journal_mode = WAL');
      // FULL syncs the WAL on every commit: an append that returned survives a power loss.
      // (NORMAL, the usual WAL pairing, may lose the last commits.)
      this.db.pragma('synchronous = FULL');
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }

    this.statements = {
      findEvent: this.db.prepare(`SELECT stream_id, type, global_position FROM events WHERE event_id = ?`),
      streamVersion: this.db
        .prepare<[string], number>(`SELECT version FROM streams WHERE stream_id = ?`)
        .pluck(),
      head: this.db.prepare<[], number>(`SELECT COALESCE(MAX(global_position), 0) FROM events`).pluck(),
      insertEvent: this.db.prepare(
        `INSERT INTO events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      upsertStream: this.db.prepare(
        `INSERT INTO streams (stream_id, version) VALUES (?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`,
      ),
      // Served by the UNIQUE (stream_id, stream_version) index: a seek, then only the rows returned.
      readStream: this.db.prepare(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ?
         ORDER BY stream_version`,
      ),
      readAll: this.db.prepare(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?`,
      ),
      // Changes whenever another connection commits to the file: a cheap "did anything happen" probe.
      dataVersion: this.db.prepare<[], number>(`PRAGMA data_version`).pluck(),
    };

    const state: AppendState = {
      streamVersion: (streamId) => this.statements.streamVersion.get(streamId) ?? -1,
      findEvent: (eventId): StoredEventRef | undefined => {
        const row = this.statements.findEvent.get(eventId);
        return row && { streamId: row.stream_id, type: row.type, globalPosition: row.global_position };
      },
      headPosition: () => this.statements.head.get() ?? 0,
    };
    this.appendTransaction = this.db.transaction((entries: readonly StreamAppend[]): AppendResult => {
      const plan = planAppend(entries, state);
      if (plan.kind === 'retry') return plan.result;
      for (const event of plan.events) {
        this.statements.insertEvent.run(
          event.globalPosition,
          event.eventId,
          event.streamId,
          event.streamVersion,
          event.type,
          event.schemaVersion,
          JSON.stringify(event.data),
          event.occurredAt,
          event.tenantId ?? null,
          event.correlationId,
          event.causationId ?? null,
          JSON.stringify(event.actor),
        );
      }
      for (const [streamId, version] of plan.streamVersions)
        this.statements.upsertStream.run(streamId, version);
      return plan.result;
    });
    // A (deferred) read transaction, so that the events and the version come from one snapshot of
    // the file even when another connection appends between the two statements.
    this.readStreamTransaction = this.db.transaction((streamId: string, fromVersion: number) => {
      const events = this.statements.readStream.all(streamId, fromVersion).map(toRecordedEvent);
      const version = events.at(-1)?.streamVersion ?? this.statements.streamVersion.get(streamId) ?? -1;
      return { version, events };
    });
  }

  async append(entries: readonly StreamAppend[]): Promise<AppendResult> {
    this.assertOpen();
    // IMMEDIATE, not the default DEFERRED: a deferred transaction would read versions under a
    // shared lock and could then fail to upgrade (SQLITE_BUSY) when another process got there first.
    const result = this.appendTransaction.immediate(entries);
    this.changes.notify();
    return result;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    this.assertOpen();
    return this.readStreamTransaction(streamId, fromVersionOf(options));
  }

  async readAll(after: number, limit: number): Promise<readonly RecordedEvent[]> {
    this.assertOpen();
    assertReadAllArgs(after, limit);
    if (limit === 0) return [];
    return this.statements.readAll.all(after, limit).map(toRecordedEvent);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return this.statements.head.get() ?? 0;
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    const source = { readAll: this.readAll.bind(this), changes: this.changes };
    const subscription = new PollingSubscription(source, options, this.pageSize, (ended) => {
      this.subscriptions.delete(ended);
      if (this.subscriptions.size === 0) this.stopPolling();
    });
    this.subscriptions.add(subscription);
    this.startPolling();
    return subscription;
  }

  /** Stops every subscription (waiting for running handlers), then closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    this.stopPolling();
    this.db.close();
  }

  // One probe per store, not per subscription: appends by other connections are only visible
  // through the file, and data_version tells whether the file changed without reading events.
  private startPolling(): void {
    if (this.poller !== undefined) return;
    this.lastDataVersion = this.statements.dataVersion.get() ?? 0;
    this.poller = setInterval(() => {
      try {
        const version = this.statements.dataVersion.get() ?? 0;
        if (version === this.lastDataVersion) return;
        this.lastDataVersion = version;
      } catch {
        // The probe can only fail if the connection is unusable; wake the subscriptions so that
        // their next read fails and reaches their onError, instead of throwing from a timer.
      }
      this.changes.notify();
    }, this.pollIntervalMs);
  }

  private stopPolling(): void {
    clearInterval(this.poller);
    this.poller = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('event store is closed');
  }
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return freezeRecordedEvent({
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: JSON.parse(row.data) as Record<string, unknown>,
    occurredAt: row.occurred_at,
    tenantId: row.tenant_id,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    actor: JSON.parse(row.actor) as Actor,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    globalPosition: row.global_position,
  });
}
