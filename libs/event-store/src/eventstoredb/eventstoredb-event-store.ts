// The KurrentDB (formerly EventStoreDB) adapter, on the official client @kurrent/kurrentdb-client
// 1.x. Needs KurrentDB 25.1 or later (multi-stream append). Safe for any number of instances and
// processes on one server and namespace.
//
// Loading. The client pulls in a native bridge (@kurrent/bridge-<platform>) when it is loaded, so
// this module imports it only as types and loads it in connect(): importing '#event-store' costs
// nothing to a service that runs on SQLite, even where the bridge is missing.
//
// Streams. A store lives in a namespace (default 'accounts', no "." and no "$" in it):
//   <ns>.<streamId>     the port's streams, one KurrentDB stream each, revision = stream version;
//   <ns>$ledger         one entry per stored batch: { firstPosition, lastPosition };
//   <ns>$id-<eventId>   one marker per stored event: where that event id is stored.
// Events are JSON with the domain data as data; the rest of the envelope (event id, global
// position, schema version, occurredAt, correlation/causation, tenant, actor) is metadata, as
// strings (multi-stream append takes nothing else). A test gives each store its own namespace, so
// one long-lived server serves any number of runs.
//
// Global order. The port promises positions 1, 2, 3, ... with no gap, and that a reader who has
// seen N never later sees an event below N. KurrentDB's $all positions are log byte offsets
// (commit/prepare), not gap-free, and it has no cross-stream counter, so the adapter keeps one:
// the ledger stream. Every append is one multi-stream append that also writes the batch's ledger
// entry at the ledger's exact current revision (expected state = the head it read). Hence:
// - two appends that read the same ledger head cannot both commit: appends are serialised, the
//   loser re-reads and re-plans (appends through one instance also queue in-process, so only
//   appends from different instances ever race);
// - the positions are planned from the head entry (next = lastPosition + 1) and committed in the
//   same atomic write as the ledger entry, so they are gap-free and a failed append uses none;
// - batches commit in position order, and a batch's events share one commit: the log holds the
//   store's events in batch order. Within a batch the server groups events by stream (a stream
//   named in two entries gets one request with all its events), so readers collect a little more
//   than they need and hand out only the contiguous run after what they had (contiguousRun). A
//   reader therefore never sees N and later a lower position.
// The position of an event is stored in its metadata. readAll(after) asks the ledger which batch
// holds after+1 (binary search over ledger revisions, cached: entries never change; O(1) for a
// reader moving forward), then reads $all, filtered on the stream prefix "<ns>." server-side,
// from the log position of the previous batch's ledger entry (which every event of a later batch
// follows; a server that gives no log position on stream reads, before 22.6, is read from the
// start instead, correct but slow). headPosition() is the head entry's lastPosition: one
// backwards read of one event.
//
// Cost. Per append: three round trips (the ledger head; the versions of the streams and the event
// id markers, in parallel; the append), one extra ledger event per batch and one marker stream
// and event per event (so the server stores about twice the events). One append commits at a
// time per namespace: a hot namespace is bounded by append latency, about what the PostgreSQL
// adapter's advisory lock allows, which an account lifecycle service is far from saturating.
//
// Where KurrentDB cannot say it the same way (the contract holds all the same):
// - Expected versions are checked by the shared planner on the state read after the ledger head;
//   the append then sends exact expected revisions for every stream that gets events ('any' and
//   'stream_exists' become the revision they matched) and the ledger revision, so nothing that
//   moved in between can commit. A pure guard (an entry with no events) cannot be sent in a 25.1
//   multi-stream append, so it is checked by the planner only: sound against every writer that
//   goes through the store (any append bumps the ledger), blind to a writer that bypasses it. A
//   batch of guards only is answered once the ledger is re-read unchanged.
// - Idempotency: KurrentDB's own idempotent writes only recognise the same event ids at the same
//   stream and expected revision. The port wants more (a retry after the streams moved on; a
//   reused id anywhere is a DuplicateEventIdError), so every event id gets a marker stream,
//   written with expected state no_stream in the same atomic append, and the planner reads the
//   markers of a batch's ids before it decides.
// - Stream ids (or event ids, which name the marker streams) that differ only in case cannot be
//   appended in one batch (the server compares the stream names of a multi-stream append
//   ignoring case): TypeError, nothing stored. In separate batches they are distinct as usual.
// - Streams in the namespace must only be written through the store: an event without the
//   envelope fails reads with ForeignEventError rather than being skipped or mis-numbered.
//
// Subscriptions: the shared catch-up-then-live loop (PollingSubscription: "read the next page
// after the last delivered position", so there is no seam at which an event is skipped or
// repeated), reading the filtered $all as above. A live subscription to $all, filtered on the
// ledger stream (one event per committed batch, from any instance), wakes idle subscriptions; it
// is resubscribed from the last log position it delivered after a drop, and a slow head probe
// covers the time it is down. A subscription whose read fails on a transient error (connection
// lost, leader change, timeout) retries from its last delivered position for up to
// reconnectTimeoutMs before it reports the failure to onError and stops.
import type {
  AppendStreamRequest,
  KurrentDBClient,
  MultiAppendResult,
  Position,
  ResolvedEvent,
} from '@kurrent/kurrentdb-client';
import { assertReadAllArgs, planAppend, type AppendState, type StoredEventRef } from '../core/append-plan.js';
import { fromVersionOf } from '../core/read-stream-options.js';
import { ChangeSignal, PollingSubscription } from '../core/subscription.js';
import type {
  AppendResult,
  EventStore,
  ReadStreamOptions,
  ReadStreamResult,
  RecordedEvent,
  StreamAppend,
  SubscribeOptions,
  Subscription,
} from '../port.js';
import { LedgerIndex } from './ledger-index.js';
import { LiveWatcher, type LiveFeed } from './live-watcher.js';
import {
  buildBatchRequests,
  contiguousRun,
  fromStoredRecord,
  isRevisionConflict,
  isStreamNotFound,
  isTransient,
  isUnsupported,
  parseEventIdRef,
  parseLedgerEntry,
  StreamNames,
  unexpectedRevisions,
  versionOf,
  type LedgerEntry,
  type StoredRecord,
} from './mapping.js';

type KurrentModule = typeof import('@kurrent/kurrentdb-client');

/** Where the server is: a connection string for a client the store owns, or a client the caller owns. */
export type EventStoreDbConnection =
  | { readonly connectionString: string; readonly client?: undefined }
  | { readonly client: KurrentDBClient; readonly connectionString?: undefined };

export type EventStoreDbEventStoreOptions = EventStoreDbConnection & {
  /** Prefix of every stream of this store: letters, digits, "_" and "-". Default 'accounts'. */
  readonly namespace?: string;
  /**
   * How often idle subscriptions check the head in case the live subscription is down. Appends
   * reach them at once otherwise. Default 1000 ms.
   */
  readonly pollIntervalMs?: number;
  /** Events per read while a subscription catches up. Default 500. */
  readonly pageSize?: number;
  /** How long a subscription retries after a transient read failure before it reports it. Default 60 s. */
  readonly reconnectTimeoutMs?: number;
};

/** Attempts of one append while appends from other instances keep moving the ledger. */
const APPEND_ATTEMPTS = 50;
/** Most events asked of the server in one $all read. */
const MAX_READ = 1000;
/** Most reads in flight while an append loads the state of a large batch. */
const READ_CONCURRENCY = 32;

function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  if (abort?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await map(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class EventStoreDbEventStore implements EventStore {
  /** The store's stream names (namespace, ledger, data prefix). */
  readonly names: StreamNames;
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<Subscription>();
  private readonly ledger: LedgerIndex;
  private readonly live: LiveWatcher<Position>;
  private appendTail: Promise<unknown> = Promise.resolve();
  private poller: NodeJS.Timeout | undefined;
  private probing = false;
  private lastHead = -1;
  private warnedNoLogPositions = false;
  private closed = false;

  private constructor(
    private readonly kurrent: KurrentModule,
    /** The client the store runs on (owned by the store only if it made it). */
    readonly client: KurrentDBClient,
    private readonly ownsClient: boolean,
    namespace: string,
    private readonly pollIntervalMs: number,
    private readonly pageSize: number,
    private readonly reconnectTimeoutMs: number,
  ) {
    this.names = new StreamNames(namespace);
    this.ledger = new LedgerIndex({ entryAt: (revision) => this.readLedgerEntry(revision) });
    this.live = new LiveWatcher<Position>(
      (from, onConfirmed) => this.openLiveFeed(from, onConfirmed),
      () => this.changes.notify(),
    );
  }

  /**
   * Loads the client, connects, and checks that the server answers (reading the ledger head).
   * Fails with a message naming the cause when the client or its native bridge cannot be loaded.
   */
  static async connect(options: EventStoreDbEventStoreOptions): Promise<EventStoreDbEventStore> {
    const names = new StreamNames(options.namespace ?? 'accounts');
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    const pageSize = options.pageSize ?? 500;
    const reconnectTimeoutMs = options.reconnectTimeoutMs ?? 60_000;
    if (!Number.isInteger(pageSize) || pageSize < 2) throw new RangeError('pageSize must be an integer >= 2');
    if (!(pollIntervalMs > 0)) throw new RangeError('pollIntervalMs must be positive');

    let kurrent: KurrentModule;
    try {
      kurrent = await import('@kurrent/kurrentdb-client');
    } catch (error) {
      throw new Error(
        'EventStoreDbEventStore needs @kurrent/kurrentdb-client and its native bridge for this platform ' +
          `(${process.platform}-${process.arch}): ${String(error)}`,
        { cause: error },
      );
    }
    let client: KurrentDBClient;
    let ownsClient: boolean;
    if (options.client !== undefined) {
      client = options.client;
      ownsClient = false;
    } else if (typeof options.connectionString === 'string' && options.connectionString.length > 0) {
      client = kurrent.KurrentDBClient.connectionString(options.connectionString);
      ownsClient = true;
    } else {
      throw new TypeError('EventStoreDbEventStore.connect needs a connectionString or a client');
    }

    const store = new EventStoreDbEventStore(
      kurrent,
      client,
      ownsClient,
      names.namespace,
      pollIntervalMs,
      pageSize,
      reconnectTimeoutMs,
    );
    try {
      await store.readLedgerHead();
    } catch (error) {
      if (ownsClient) await client.dispose().catch(() => undefined);
      throw new Error(`KurrentDB did not answer (${String(error)})`, { cause: error });
    }
    return store;
  }

  async append(entries: readonly StreamAppend[]): Promise<AppendResult> {
    this.assertOpen();
    // One append in flight per instance: instances race only with each other, not with themselves.
    const result = this.appendTail.then(() => this.appendSerialised(entries));
    this.appendTail = result.catch(() => undefined);
    return result;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult> {
    this.assertOpen();
    const fromVersion = fromVersionOf(options);
    const streamName = this.names.data(streamId);
    for (;;) {
      // From the revision on (revision = stream version): the server reads only what it returns.
      const records = await this.readRecords(streamName, { fromRevision: BigInt(fromVersion) });
      const events = records.map((record) => fromStoredRecord(this.names, record));
      // Derived from the events just read whenever there are some, so that both come from one read.
      const last = events.at(-1);
      if (last !== undefined) return { version: last.streamVersion, events };
      // Nothing from 0 on: no stream.
      if (fromVersion === 0) return { version: -1, events };
      // Nothing at or after fromVersion: the version takes a second read. Had an append reached
      // fromVersion in between, the answer would contradict itself, so read its events instead
      // (events are never removed, so the next read finds them).
      const version = await this.readStreamVersion(streamName);
      if (version < fromVersion) return { version, events };
    }
  }

  async readAll(after: number, limit: number): Promise<readonly RecordedEvent[]> {
    this.assertOpen();
    assertReadAllArgs(after, limit);
    if (limit === 0) return [];
    const from = Math.max(0, Math.floor(after));
    const head = await this.readLedgerHead();
    if (head === undefined || head.lastPosition <= from) return [];
    const until = from + limit;
    const target = Math.min(until, head.lastPosition);

    const batch = await this.ledger.batchContaining(from + 1, head);
    let start: Position | 'start' = 'start';
    // Events of the store between the start and position from + 1 that the read passes over.
    let skipped = from + 1 - batch.firstPosition;
    if (batch.revision > 0) {
      const previous = await this.ledger.entryAt(batch.revision - 1);
      if (previous.logPosition !== undefined) {
        start = previous.logPosition;
        skipped += previous.lastPosition - previous.firstPosition + 1;
      } else {
        this.warnNoLogPositions();
        skipped = from;
      }
    }

    const collected = new Map<number, RecordedEvent>();
    const filter = this.kurrent.streamNameFilter({ prefixes: [this.names.dataPrefix] });
    let fromPosition: Position | 'start' = start;
    let maxCount = Math.min(skipped + (target - from) + 1, MAX_READ);
    for (;;) {
      let moved = false;
      for await (const resolved of this.client.readAll({ fromPosition, maxCount, filter })) {
        const record = resolved.event;
        if (record === undefined) continue;
        if (fromPosition !== 'start' && samePosition(record.position, fromPosition)) continue;
        moved = true;
        fromPosition = record.position;
        const event = fromStoredRecord(this.names, record);
        if (event.globalPosition > from && event.globalPosition <= until) {
          collected.set(event.globalPosition, event);
        }
      }
      if (contiguousRun(from, limit, collected).length >= target - from) break;
      // The end of the log (as this node has it) came before the head the ledger gave: a
      // lagging follower. Hand out the contiguous part; the rest comes with the next read.
      if (!moved) break;
      maxCount = MAX_READ;
    }
    return contiguousRun(from, limit, collected);
  }

  async headPosition(): Promise<number> {
    this.assertOpen();
    return (await this.readLedgerHead())?.lastPosition ?? 0;
  }

  subscribe(options: SubscribeOptions): Subscription {
    this.assertOpen();
    const stop = new AbortController();
    const source = {
      readAll: (after: number, limit: number) => this.readAllRetrying(after, limit, stop.signal),
      changes: this.changes,
    };
    const wrapper: Subscription = {
      close: async () => {
        stop.abort();
        await polling.close();
      },
    };
    const polling = new PollingSubscription(source, options, this.pageSize, () => {
      this.subscriptions.delete(wrapper);
      if (this.subscriptions.size === 0) void this.stopWatching();
    });
    this.subscriptions.add(wrapper);
    this.startWatching();
    return wrapper;
  }

  /**
   * Drops the live $all subscription, which resubscribes from the last log position it delivered.
   * For operators (a credentials rotation) and for tests of the resubscription.
   */
  restartLiveSubscription(): void {
    this.live.restart();
  }

  /** How many live $all subscriptions were opened so far (the first, then one per resubscription). */
  get liveSubscriptionsOpened(): number {
    return this.live.opened;
  }

  /**
   * Stops every subscription (waiting for running handlers), lets the appends in flight finish,
   * then disposes of the client if the store made it. A client passed in stays open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.stopWatching();
    await this.appendTail;
    if (this.ownsClient) await this.client.dispose();
  }

  // -------------------------------------------------------------------------------------------
  // Appending

  private async appendSerialised(entries: readonly StreamAppend[]): Promise<AppendResult> {
    for (let attempt = 1; ; attempt += 1) {
      const state = await this.loadAppendState(entries);
      const plan = planAppend(entries, state);
      if (plan.kind === 'retry') return plan.result;
      if (plan.events.length === 0) {
        // Guards only: they held on the state read after the ledger head; if the ledger has not
        // moved since, no append came in between, and that state is still the current one.
        if ((await this.readLedgerHead())?.revision === state.ledgerHead?.revision) return plan.result;
      } else {
        const requests = buildBatchRequests(this.names, plan.events, state.ledgerHead);
        let result: MultiAppendResult | undefined;
        try {
          result = await this.client.multiStreamAppend(requests as AppendStreamRequest[]);
        } catch (error) {
          if (isUnsupported(error)) {
            throw new Error('EventStoreDbEventStore needs KurrentDB 25.1 or later (multi-stream append)', {
              cause: error,
            });
          }
          // Another instance appended since the state was read: read again and re-plan, which
          // answers with the real conflict (or the retry) if there is one.
          if (!isRevisionConflict(error)) throw error;
        }
        if (result !== undefined) {
          this.changes.notify();
          const problems = unexpectedRevisions(requests, result.responses);
          if (problems.length > 0) {
            throw new Error(
              `KurrentDB reported stream revisions the append did not plan (${problems.join('; ')}); ` +
                'the store may be inconsistent, stop writing and investigate',
            );
          }
          return plan.result;
        }
      }
      if (attempt >= APPEND_ATTEMPTS) {
        throw new Error(`append gave up after ${attempt} attempts: other instances kept appending first`);
      }
      await sleep(Math.random() * Math.min(2 ** attempt, 50));
    }
  }

  /**
   * What the planner needs, read in an order that makes it one consistent state: the ledger head
   * first, everything else after it. Any append that commits after the head was read moves the
   * ledger, so an append planned on this state commits only if nothing changed meanwhile.
   */
  private async loadAppendState(
    entries: readonly StreamAppend[],
  ): Promise<AppendState & { readonly ledgerHead: LedgerEntry | undefined }> {
    const ledgerHead = await this.readLedgerHead(true);
    // Only well-formed ids are read; the planner rejects the rest with a TypeError.
    const streamIds = new Set<string>();
    const eventIds = new Set<string>();
    for (const entry of entries) {
      if (typeof entry?.streamId === 'string' && entry.streamId.length > 0) streamIds.add(entry.streamId);
      if (!Array.isArray(entry?.events)) continue;
      for (const event of entry.events) {
        if (typeof event?.eventId === 'string' && event.eventId.length > 0) eventIds.add(event.eventId);
      }
    }
    const reads: (() => Promise<void>)[] = [];
    const versions = new Map<string, number>();
    const found = new Map<string, StoredEventRef>();
    for (const streamId of streamIds) {
      reads.push(async () => {
        versions.set(streamId, await this.readStreamVersion(this.names.data(streamId), true));
      });
    }
    for (const eventId of eventIds) {
      reads.push(async () => {
        const [marker] = await this.readRecords(this.names.eventId(eventId), {
          maxCount: 1,
          requiresLeader: true,
        });
        if (marker !== undefined) found.set(eventId, parseEventIdRef(marker));
      });
    }
    await mapLimit(reads, READ_CONCURRENCY, (read) => read());
    const head = ledgerHead?.lastPosition ?? 0;
    return {
      ledgerHead,
      streamVersion: (streamId) => versions.get(streamId) ?? -1,
      findEvent: (eventId) => found.get(eventId),
      headPosition: () => head,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** The events of one stream (none when it does not exist). */
  private async readRecords(
    streamName: string,
    options: Parameters<KurrentDBClient['readStream']>[1],
  ): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    try {
      for await (const resolved of this.client.readStream(streamName, options)) {
        const record = (resolved as ResolvedEvent).event;
        if (record !== undefined) records.push(record);
      }
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
    return records;
  }

  /** The revision of the stream's last event (its version); -1 when it has none. */
  private async readStreamVersion(streamName: string, requiresLeader = false): Promise<number> {
    const [last] = await this.readRecords(streamName, {
      direction: 'backwards',
      fromRevision: 'end',
      maxCount: 1,
      requiresLeader,
    });
    return last === undefined ? -1 : versionOf(last.revision);
  }

  private async readLedgerHead(requiresLeader = false): Promise<LedgerEntry | undefined> {
    const [record] = await this.readRecords(this.names.ledger, {
      direction: 'backwards',
      fromRevision: 'end',
      maxCount: 1,
      requiresLeader,
    });
    if (record === undefined) return undefined;
    const entry = parseLedgerEntry(record);
    this.ledger.remember(entry);
    return entry;
  }

  private async readLedgerEntry(revision: number): Promise<LedgerEntry> {
    const [record] = await this.readRecords(this.names.ledger, {
      fromRevision: BigInt(revision),
      maxCount: 1,
    });
    if (record === undefined)
      throw new Error(`ledger entry ${revision} of ${this.names.namespace} is missing`);
    return parseLedgerEntry(record);
  }

  /**
   * readAll for subscriptions: a transient failure (the connection dropped, the leader moved) is
   * retried from the same position until reconnectTimeoutMs has passed, so that a subscription
   * resumes after its last delivered event instead of stopping. Nothing (not an error) once the
   * subscription is being closed.
   */
  private async readAllRetrying(
    after: number,
    limit: number,
    stop: AbortSignal,
  ): Promise<readonly RecordedEvent[]> {
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      if (stop.aborted) return [];
      try {
        return await this.readAll(after, limit);
      } catch (error) {
        if (stop.aborted) return [];
        if (!isTransient(error) || Date.now() - started >= this.reconnectTimeoutMs) throw error;
      }
      await sleep(Math.min(100 * 2 ** (attempt - 1), 5000), stop);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Watching for appends of other instances

  private openLiveFeed(from: Position | undefined, onConfirmed: () => void): LiveFeed<Position> {
    const subscription = this.client.subscribeToAll({
      fromPosition: from ?? 'end',
      filter: this.kurrent.streamNameFilter({ prefixes: [this.names.ledger] }),
    });
    subscription.on('confirmation', onConfirmed);
    return {
      events: (async function* () {
        for await (const resolved of subscription) yield resolved.event?.position;
      })(),
      stop: async () => {
        await subscription.unsubscribe().catch(() => undefined);
        // Ends the iteration even if the cancelled call never ends the stream.
        subscription.destroy();
      },
    };
  }

  // One live subscription and one probe per store, not per subscription, and only while there
  // are subscriptions.
  private startWatching(): void {
    if (this.poller !== undefined) return;
    this.lastHead = -1;
    this.live.start();
    this.poller = setInterval(() => void this.probe(), this.pollIntervalMs);
  }

  private async stopWatching(): Promise<void> {
    clearInterval(this.poller);
    this.poller = undefined;
    await this.live.stop();
  }

  /** Wakes the subscriptions if the head moved since the last probe (or if the probe fails). */
  private async probe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    try {
      const head = (await this.readLedgerHead())?.lastPosition ?? 0;
      if (head === this.lastHead) return;
      this.lastHead = head;
    } catch {
      // Let the subscriptions' own next read meet the failure (and retry or report it).
    } finally {
      this.probing = false;
    }
    this.changes.notify();
  }

  private warnNoLogPositions(): void {
    if (this.warnedNoLogPositions) return;
    this.warnedNoLogPositions = true;
    console.warn(
      `event store ${this.names.namespace}: KurrentDB gave no log position on a stream read (servers from ` +
        '22.6 do); readAll scans $all from the start, which is correct but slow on a large log',
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('event store is closed');
  }
}

function samePosition(a: Position | undefined, b: Position): boolean {
  return a !== undefined && a.commit === b.commit && a.prepare === b.prepare;
}
