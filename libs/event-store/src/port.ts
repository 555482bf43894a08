// The event store port: what every adapter (memory, SQLite, PostgreSQL, KurrentDB) must guarantee.
// The contract suite in ./testing/contract.ts states each guarantee as a test.

/** Who caused an event: the upstream app, and the user it acted for (if any). */
export interface Actor {
  readonly appId: string;
  readonly userId?: string;
}

/** An event as the command pipeline hands it to the store. */
export interface NewEvent {
  /** UUID v7. Appending an event whose id is already stored is a no-op (idempotent append). */
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Readonly<Record<string, unknown>>;
  /** RFC 3339 UTC. */
  readonly occurredAt: string;
  readonly tenantId?: string;
  readonly correlationId: string;
  readonly causationId?: string;
  readonly actor: Actor;
}

/** An event as the store recorded it: the envelope of DESIGN.md §3. */
export interface RecordedEvent extends NewEvent {
  readonly streamId: string;
  /** 0-based position of the event inside its stream. */
  readonly streamVersion: number;
  /** 1-based, gap-free position in the global log. */
  readonly globalPosition: number;
}

/**
 * Optimistic concurrency for one stream:
 * - a number: the stream's current version (version of its last event) must equal it;
 * - 'no_stream': the stream must not exist yet;
 * - 'stream_exists': the stream must exist;
 * - 'any': no check.
 */
export type ExpectedVersion = number | 'no_stream' | 'stream_exists' | 'any';

export interface StreamAppend {
  readonly streamId: string;
  readonly expectedVersion: ExpectedVersion;
  /** May be empty: then the entry is a pure version guard on that stream. */
  readonly events: readonly NewEvent[];
}

export interface AppendResult {
  /** Global position of the last event of the batch (or of the already stored duplicate). */
  readonly lastGlobalPosition: number;
  /** Per stream, in request order: the stream's version after the append (-1 if it still has none). */
  readonly streams: ReadonlyArray<{ readonly streamId: string; readonly nextExpectedVersion: number }>;
}

export interface ReadStreamOptions {
  /** Only events with streamVersion >= fromVersion (0-based). Default 0. */
  readonly fromVersion?: number;
}

export interface ReadStreamResult {
  /** The stream's current version (of its last event, whatever fromVersion); -1 when it does not exist. */
  readonly version: number;
  /** The events from fromVersion on, in stream order (none when fromVersion is past the version). */
  readonly events: readonly RecordedEvent[];
}

export interface Subscription {
  /** Stops delivery; resolves when no handler call is running any more. */
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Deliver events with globalPosition > after (0 = from the beginning). */
  readonly after: number;
  /** Called once per event, strictly in global order; the next call waits for the returned promise. */
  readonly handler: (event: RecordedEvent) => void | Promise<void>;
  /** Called if the handler throws or the store fails; delivery stops. */
  readonly onError?: (error: unknown) => void;
}

export interface EventStore {
  /**
   * Appends to one or more streams atomically: either every entry's expected version holds and
   * every event is stored, in request order, with consecutive global positions, or nothing is stored
   * and WrongExpectedVersionError is thrown. An event id already stored makes the whole call a no-op
   * that returns the stored positions (a retried append must not duplicate).
   */
  append(entries: readonly StreamAppend[]): Promise<AppendResult>;
  /**
   * The stream's events from `options.fromVersion` on, at a cost in the events returned, not in the
   * stream's length: a cache of folded state catches up by reading only what follows its version.
   * A fromVersion that is not a non-negative integer is a RangeError.
   */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<ReadStreamResult>;
  /** Events with globalPosition > after, in global order, at most `limit` of them. */
  readAll(after: number, limit: number): Promise<readonly RecordedEvent[]>;
  /** Global position of the last stored event (0 if none). */
  headPosition(): Promise<number>;
  /** Catch-up from `after`, then live; no gap and no duplicate at the seam. */
  subscribe(options: SubscribeOptions): Subscription;
  close(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${actual}`);
    this.name = 'WrongExpectedVersionError';
  }
}

/** An event id that is already stored under a different stream or payload. */
export class DuplicateEventIdError extends Error {
  constructor(readonly eventId: string) {
    super(`event id ${eventId} is already stored with different content`);
    this.name = 'DuplicateEventIdError';
  }
}
