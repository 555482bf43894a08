// The streams one attempt at a command read, as the attempt sees them: what its decision rests on.
// Each is appended to or guarded with the version read, so the append fails if any of them moved;
// the states a decision evolved are remembered once the append succeeds.
import type { DomainEvent } from '#domain';
import type { NewEvent, StreamAppend } from '#event-store';
import type { LoadedStream, StreamFold, StreamLoader } from './stream-loader.js';

interface Entry {
  loaded: LoadedStream<unknown>;
  readonly fold: StreamFold<unknown, unknown>;
  /** The state with this attempt's events applied. */
  state: unknown;
  readonly events: NewEvent[];
}

const expectedVersionOf = (version: number): StreamAppend['expectedVersion'] =>
  version === -1 ? 'no_stream' : version;

export class StreamReads {
  private readonly entries = new Map<string, Entry>();
  /** Loads under way, so that two reads of one stream in one attempt share one load. */
  private readonly loading = new Map<string, Promise<Entry>>();

  constructor(private readonly loader: StreamLoader) {}

  /** The stream's state for this attempt: loaded once, then as this attempt changed it. */
  async get<S, E>(streamId: string, fold: StreamFold<S, E>): Promise<S> {
    return (await this.entry(streamId, fold)).state as S;
  }

  /** The tenant the stream's events name (this attempt's included), if it was read and names one. */
  tenantOf(streamId: string): string | undefined {
    const entry = this.entries.get(streamId);
    return entry?.events.at(-1)?.tenantId ?? entry?.loaded.tenantId;
  }

  /** The state of a stream already read, or undefined. */
  peek<S>(streamId: string): S | undefined {
    return this.entries.get(streamId)?.state as S | undefined;
  }

  /** The stream's version with this attempt's events (-1: it does not exist). */
  versionOf(streamId: string): number {
    const entry = this.entries.get(streamId);
    return entry === undefined ? -1 : entry.loaded.version + entry.events.length;
  }

  has(streamId: string): boolean {
    return this.entries.has(streamId);
  }

  /** A stream this attempt writes without having to read it first: a new one (a fresh id). */
  create<S, E>(streamId: string, fold: StreamFold<S, E>): void {
    if (this.entries.has(streamId)) return;
    const loaded: LoadedStream<unknown> = {
      schema: fold.schema,
      version: -1,
      state: fold.initial,
      position: 0,
      snapshotVersion: -1,
      verified: false,
    };
    this.entries.set(streamId, {
      loaded,
      fold: fold as StreamFold<unknown, unknown>,
      state: fold.initial,
      events: [],
    });
  }

  /** Applies a decided event to its stream's state and queues it for the append. */
  apply<E extends DomainEvent>(streamId: string, event: E, recorded: NewEvent): void {
    const entry = this.entries.get(streamId);
    if (entry === undefined) throw new Error(`an event for ${streamId}, a stream this attempt did not read`);
    entry.state = entry.fold.evolve(entry.state, event);
    entry.events.push(recorded);
  }

  /**
   * Re-reads every stream that was taken from the cache unverified; true when any had moved (its
   * state is then the current one, and the decision must be made again).
   */
  async refresh(): Promise<boolean> {
    let moved = false;
    for (const [streamId, entry] of this.entries) {
      if (entry.loaded.verified) continue;
      const fresh = await this.loader.catchUp(streamId, entry.fold, entry.loaded);
      if (fresh.version !== entry.loaded.version) moved = true;
      // A stream this attempt wrote to keeps its state: if it moved, the attempt is dropped anyway.
      if (entry.events.length > 0) continue;
      entry.loaded = fresh;
      entry.state = fresh.state;
    }
    return moved;
  }

  /** Every stream read or written, with its expected version: events for some, a guard for the rest. */
  appends(): StreamAppend[] {
    return [...this.entries].map(([streamId, entry]) => ({
      streamId,
      expectedVersion: expectedVersionOf(entry.loaded.version),
      events: entry.events,
    }));
  }

  /** The highest global position among the streams read (what an unchanged answer reflects). */
  position(): number {
    return Math.max(0, ...[...this.entries.values()].map((entry) => entry.loaded.position));
  }

  /** After a successful append: the written streams' new states are current; cache them. */
  commit(position: number, tenantId: string | undefined): void {
    for (const [streamId, entry] of this.entries) {
      if (entry.events.length === 0) continue;
      const owner = entry.loaded.tenantId ?? tenantId;
      this.loader.remember(
        streamId,
        {
          schema: entry.fold.schema,
          version: entry.loaded.version + entry.events.length,
          state: entry.state,
          position,
          snapshotVersion: entry.loaded.snapshotVersion,
          ...(owner === undefined ? {} : { tenantId: owner }),
        },
        entry.fold,
      );
    }
  }

  /** After a failed append: what was read may be stale; read it from the store next time. */
  forget(): void {
    for (const streamId of this.entries.keys()) this.loader.forget(streamId);
  }

  private entry<S, E>(streamId: string, fold: StreamFold<S, E>): Promise<Entry> {
    const known = this.entries.get(streamId);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.loading.get(streamId);
    if (pending === undefined) {
      pending = this.loader.load(streamId, fold, false).then((loaded) => {
        const entry: Entry = {
          loaded,
          fold: fold as StreamFold<unknown, unknown>,
          state: loaded.state,
          events: [],
        };
        this.entries.set(streamId, entry);
        this.loading.delete(streamId);
        return entry;
      });
      this.loading.set(streamId, pending);
    }
    return pending;
  }
}
