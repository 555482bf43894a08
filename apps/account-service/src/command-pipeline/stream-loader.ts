// Reads a stream's folded state at the least cost: from the cache as it is, or from the latest
// snapshot plus the events after it, or from the events alone; and keeps both up to date. A stream
// that grows without bound (a seat ledger, a domain's account count, a tenant over years) is read
// from its snapshot and the few events after it, so a restart does not fold its history again.
import { Logger } from '@nestjs/common';
import type { EventStore, RecordedEvent, SnapshotStore } from '#event-store';
import type { CachedStream, StateCache } from './state-cache.js';

/** How a stream's events fold into a state. */
export interface StreamFold<S, E> {
  /** Names the state's shape; a cached or snapshotted state of another schema is not used. */
  readonly schema: string;
  readonly initial: S;
  /** The recorded event as this fold's event type (schema check and upcasting: #domain recorded.ts). */
  read(recorded: RecordedEvent): E;
  evolve(state: S, event: E): S;
  /** Streams that may grow long have one: their state is snapshotted every so many events. */
  readonly codec?: { encode(state: S): string; decode(text: string): S };
}

export interface LoadedStream<S> extends CachedStream<S> {
  /** Read from the store now (true), or taken from the cache unverified (false). */
  readonly verified: boolean;
}

export interface StreamLoaderOptions {
  /** Events folded beyond the latest snapshot before a new one is written. */
  readonly snapshotEvery: number;
}

export class StreamLoader {
  private readonly logger = new Logger('StreamLoader');

  constructor(
    private readonly store: EventStore,
    private readonly snapshots: SnapshotStore,
    readonly cache: StateCache,
    private readonly options: StreamLoaderOptions,
  ) {}

  /**
   * The stream's state. `fresh`: it reflects every event stored when the call began (a cached state
   * is caught up with the events after it); otherwise a cached state is returned as it is, for a
   * decision whose append will check its version.
   */
  async load<S, E>(streamId: string, fold: StreamFold<S, E>, fresh: boolean): Promise<LoadedStream<S>> {
    const cached = this.cache.get<S>(streamId, fold.schema);
    if (cached !== undefined)
      return fresh ? this.catchUp(streamId, fold, cached) : { ...cached, verified: false };
    let base: CachedStream<S> = {
      schema: fold.schema,
      version: -1,
      state: fold.initial,
      position: 0,
      snapshotVersion: -1,
    };
    if (fold.codec !== undefined) {
      const snapshot = await this.snapshots.load(streamId);
      if (snapshot !== undefined && snapshot.schema === fold.schema) {
        const state = fold.codec.decode(snapshot.state);
        base = { ...base, version: snapshot.version, state, snapshotVersion: snapshot.version };
      }
    }
    return this.catchUp(streamId, fold, base);
  }

  /** Catches `from` up with the events stored after it, and remembers the result. */
  async catchUp<S, E>(
    streamId: string,
    fold: StreamFold<S, E>,
    from: CachedStream<S>,
  ): Promise<LoadedStream<S>> {
    const result = await this.store.readStream(streamId, { fromVersion: from.version + 1 });
    let { state, tenantId, position } = from;
    for (const recorded of result.events) {
      state = fold.evolve(state, fold.read(recorded));
      tenantId = recorded.tenantId ?? tenantId;
      position = recorded.globalPosition;
    }
    const version = result.events.at(-1)?.streamVersion ?? from.version;
    const loaded = this.remember(
      streamId,
      { ...from, version, state, position, ...(tenantId === undefined ? {} : { tenantId }) },
      fold,
    );
    return { ...loaded, verified: true };
  }

  /**
   * Keeps a state this process knows to be current (just read, or just appended), and snapshots it
   * when enough events were folded since the last snapshot. Returns what it kept.
   */
  remember<S, E>(streamId: string, entry: CachedStream<S>, fold: StreamFold<S, E>): CachedStream<S> {
    const codec = fold.codec;
    if (codec === undefined || entry.version - entry.snapshotVersion < this.options.snapshotEvery) {
      this.cache.set(streamId, entry);
      return entry;
    }
    const kept = { ...entry, snapshotVersion: entry.version };
    this.cache.set(streamId, kept);
    // A snapshot only saves work: writing it is off the command's path, and a failure costs a
    // longer read next time, nothing else.
    this.snapshots
      .save({ streamId, version: entry.version, schema: fold.schema, state: codec.encode(entry.state) })
      .catch((error: unknown) => this.logger.warn(`snapshot of ${streamId} not saved: ${String(error)}`));
    return kept;
  }

  forget(streamId: string): void {
    this.cache.delete(streamId);
  }
}
