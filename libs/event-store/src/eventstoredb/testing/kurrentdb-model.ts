// An in-memory MODEL of the part of KurrentDBClient that the adapter uses — not KurrentDB. It
// stands for exactly the server behaviour the adapter relies on (and nothing it could lean on by
// accident), so that the adapter's own logic (ledger, markers, position mapping, reordering,
// resubscription) runs in every test run. Whether the real server behaves so is what the
// int-spec checks against a server (EVENTSTORE_CONNECTION_STRING).
//
// Modelled, after the server's and the client's sources:
// - multiStreamAppend: one request per stream (a name twice, compared ignoring case, is refused),
//   every expected state checked before anything is written, all or nothing; events written in
//   request order, so a batch's events are grouped by stream in the log; one commit position per
//   append; metadata must be a flat object of strings (the client refuses anything else);
// - readStream: forwards or backwards, from a revision or an end, maxCount; a missing stream
//   throws 'stream-not-found' while iterating; events carry their log position;
// - readAll: forwards from a log position, inclusive, with a stream-name prefix filter, maxCount
//   counting matching events only; log positions are sparse (byte offsets, not 1, 2, 3);
// - subscribeToAll: from a position (exclusive) or the end, with a prefix filter, 'confirmation'
//   once established, live after that; unsubscribe() ends it;
// - data and metadata come back as fresh parsed JSON on every read.
// - every call answers after a macrotask, as over a network (a reader polling in a loop must not
//   starve the writers).
// Faults for tests: failing $all reads ('unavailable'), dropped subscriptions.
import { PassThrough } from 'node:stream';
import type { KurrentDBClient } from '@kurrent/kurrentdb-client';

interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

interface StoredEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: string;
  readonly metadata: string | undefined;
  readonly position: Position;
}

interface EventDataLike {
  readonly id: string;
  readonly contentType: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: unknown;
}

interface AppendRequestLike {
  readonly streamName: string;
  readonly expectedState: 'any' | 'no_stream' | 'stream_exists' | bigint;
  readonly events: readonly EventDataLike[];
}

interface FilterLike {
  readonly prefixes?: readonly string[];
  readonly regex?: string;
}

/** Errors as the client's CommandErrors carry them: a `type`. */
export class ModelCommandError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = `Model(${type})`;
  }
}

function roundTrip(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function compare(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

function matches(filter: FilterLike | undefined, streamId: string): boolean {
  if (filter === undefined) return true;
  if (filter.prefixes !== undefined) return filter.prefixes.some((prefix) => streamId.startsWith(prefix));
  if (filter.regex !== undefined) return new RegExp(filter.regex).test(streamId);
  return true;
}

function resolved(
  event: StoredEvent,
  withPosition = true,
): { event: Record<string, unknown>; commitPosition: bigint | undefined } {
  return {
    event: {
      streamId: event.streamId,
      id: event.id,
      revision: event.revision,
      type: event.type,
      isJson: event.isJson,
      created: new Date(0),
      data: event.isJson ? JSON.parse(event.data) : Buffer.from(event.data),
      metadata: event.metadata === undefined ? undefined : JSON.parse(event.metadata),
      position: withPosition ? event.position : undefined,
    },
    commitPosition: withPosition ? event.position.commit : undefined,
  };
}

type ModelSubscription = PassThrough & {
  unsubscribe(): Promise<void>;
  readonly filter: FilterLike | undefined;
};

export class KurrentDbModel {
  private readonly log: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly subscriptions = new Set<ModelSubscription>();
  private nextOffset = 4096n;
  /** The next this-many $all reads fail as if the connection dropped. */
  failReads = 0;
  /** Appends that reached the model (successful or not). */
  appendCalls = 0;
  /** Live subscriptions opened so far. */
  subscriptionsOpened = 0;
  /** Events handed out by stream reads so far (what a read from a revision must keep small). */
  streamEventsRead = 0;
  /** Whether stream reads carry log positions (servers before 22.6 give none). */
  streamReadPositions = true;

  /** A client of the model, typed as the real one for the adapter. */
  client(): KurrentDBClient {
    const client = {
      readStream: (name: string, options?: Record<string, unknown>) => this.readStream(name, options ?? {}),
      readAll: (options?: Record<string, unknown>) => this.readAll(options ?? {}),
      multiStreamAppend: (requests: readonly AppendRequestLike[]) => this.multiStreamAppend(requests),
      // Single-stream append with default options, as a tool outside the store would use it.
      appendToStream: async (streamName: string, events: EventDataLike | EventDataLike[]) => {
        await roundTrip();
        const list = Array.isArray(events) ? events : [events];
        const { position, responses } = this.write([{ streamName, expectedState: 'any', events: list }]);
        const [response] = responses as { revision: bigint }[];
        return {
          success: true,
          nextExpectedRevision: response?.revision,
          position: { commit: position, prepare: position },
        };
      },
      subscribeToAll: (options?: Record<string, unknown>) => this.subscribeToAll(options ?? {}),
      dispose: async () => undefined,
    };
    return client as unknown as KurrentDBClient;
  }

  /** Ends every live subscription with an error, as a lost connection would. */
  dropSubscriptions(): void {
    for (const subscription of [...this.subscriptions]) {
      this.subscriptions.delete(subscription);
      subscription.destroy(new ModelCommandError('unavailable', 'connection lost (model)'));
    }
  }

  private failIfAsked(): void {
    if (this.failReads > 0) {
      this.failReads -= 1;
      throw new ModelCommandError('unavailable', 'connection lost (model)');
    }
  }

  private async *readStream(name: string, options: Record<string, unknown>): AsyncGenerator<unknown> {
    await roundTrip();
    const events = this.streams.get(name);
    if (events === undefined) throw new ModelCommandError('stream-not-found', `${name} not found`);
    const backwards = options.direction === 'backwards';
    const maxCount = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    let selected: StoredEvent[];
    if (backwards) {
      const upTo = from === 'end' ? events.length - 1 : Number(from);
      selected = events.slice(0, upTo + 1).reverse();
    } else {
      selected = events.slice(from === 'start' ? 0 : Number(from));
    }
    for (const event of selected.slice(0, maxCount)) {
      this.streamEventsRead += 1;
      yield resolved(event, this.streamReadPositions);
    }
  }

  private async *readAll(options: Record<string, unknown>): AsyncGenerator<unknown> {
    await roundTrip();
    this.failIfAsked();
    if (options.direction !== undefined && options.direction !== 'forwards')
      throw new Error('model reads $all forwards only');
    const from = options.fromPosition ?? 'start';
    const maxCount = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const filter = options.filter as FilterLike | undefined;
    let count = 0;
    // A snapshot, as one server read: appends during the iteration are not in it.
    for (const event of [...this.log]) {
      if (count >= maxCount) break;
      if (from === 'end') break;
      if (from !== 'start' && compare(event.position, from as Position) < 0) continue;
      if (!matches(filter, event.streamId)) continue;
      count += 1;
      yield resolved(event);
    }
  }

  private async multiStreamAppend(requests: readonly AppendRequestLike[]): Promise<unknown> {
    this.appendCalls += 1;
    await roundTrip();
    for (const request of requests) {
      for (const event of request.events) {
        const metadata = event.metadata;
        if (
          metadata !== undefined &&
          (typeof metadata !== 'object' ||
            metadata === null ||
            Array.isArray(metadata) ||
            Object.values(metadata).some((value) => typeof value !== 'string'))
        ) {
          throw new Error('multiStreamAppend requires metadata to be a plain object with string values.');
        }
      }
    }
    const result = this.write(requests);
    await roundTrip();
    return result;
  }

  private write(requests: readonly AppendRequestLike[]): { position: bigint; responses: unknown[] } {
    if (requests.length === 0) throw new ModelCommandError('unknown', 'no requests');
    const names = new Set<string>();
    for (const request of requests) {
      const folded = request.streamName.toLowerCase();
      if (names.has(folded))
        throw new ModelCommandError('unknown', `stream ${request.streamName} already in append session`);
      names.add(folded);
      if (request.events.length === 0)
        throw new ModelCommandError('invalid-argument', 'a request without records');
    }
    for (const request of requests) {
      const current = BigInt((this.streams.get(request.streamName)?.length ?? 0) - 1);
      const expected = request.expectedState;
      const holds =
        expected === 'any' ||
        (expected === 'no_stream' && current === -1n) ||
        (expected === 'stream_exists' && current >= 0n) ||
        (typeof expected === 'bigint' && expected === current);
      if (!holds) {
        throw new ModelCommandError(
          'wrong-expected-version',
          `${request.streamName}: expected ${String(expected)}, actual ${current}`,
          {
            streamName: request.streamName,
            expectedState: expected,
            actualState: current === -1n ? 'no_stream' : current,
          },
        );
      }
    }
    const commit = this.nextOffset;
    let prepare = commit;
    const written: StoredEvent[] = [];
    const responses: { streamName: string; revision: bigint }[] = [];
    for (const request of requests) {
      const stream = this.streams.get(request.streamName) ?? [];
      this.streams.set(request.streamName, stream);
      for (const event of request.events) {
        const stored: StoredEvent = {
          streamId: request.streamName,
          id: event.id.toLowerCase(),
          revision: BigInt(stream.length),
          type: event.type,
          isJson: event.contentType === 'application/json',
          data: JSON.stringify(event.data),
          metadata: event.metadata === undefined ? undefined : JSON.stringify(event.metadata),
          position: { commit, prepare },
        };
        prepare += 97n;
        stream.push(stored);
        this.log.push(stored);
        written.push(stored);
      }
      responses.push({ streamName: request.streamName, revision: BigInt(stream.length - 1) });
    }
    this.nextOffset = prepare + 1013n;
    for (const subscription of this.subscriptions) {
      for (const event of written)
        if (matches(subscription.filter, event.streamId)) subscription.write(resolved(event));
    }
    return { position: commit, responses };
  }

  private subscribeToAll(options: Record<string, unknown>): ModelSubscription {
    this.subscriptionsOpened += 1;
    const filter = options.filter as FilterLike | undefined;
    const from = options.fromPosition ?? 'start';
    const subscription = Object.assign(new PassThrough({ objectMode: true }), {
      filter,
      unsubscribe: async () => {
        this.subscriptions.delete(subscription);
        subscription.end();
      },
    });
    setImmediate(() => {
      if (subscription.destroyed || subscription.writableEnded) return;
      // Catch-up part, then live: appends are written to it from now on.
      for (const event of this.log) {
        if (from === 'end') break;
        if (from !== 'start' && compare(event.position, from as Position) <= 0) continue;
        if (matches(filter, event.streamId)) subscription.write(resolved(event));
      }
      this.subscriptions.add(subscription);
      subscription.emit('confirmation');
    });
    return subscription;
  }
}
