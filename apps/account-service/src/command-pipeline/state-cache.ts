// A bounded, in-process cache of folded stream state, so a command reads only what it decides on
// and, on a hot stream, not even that: a cached state is used as it is, and the append's
// expected-version check is what proves it current (a stale one fails the append, is dropped, and
// the command is decided again on what the store holds). Least recently used entries go first.

export interface CachedStream<S = unknown> {
  /** Names the fold (and its codec version) that made `state`. */
  readonly schema: string;
  /** Version of the stream's last event folded in (-1: the stream does not exist). */
  readonly version: number;
  readonly state: S;
  /** The tenant of the stream's events, when they name one (envelope `tenantId`). */
  readonly tenantId?: string;
  /** Global position of the stream's last event (0 when unknown or none). */
  readonly position: number;
  /** Version of the latest snapshot of the stream known to be stored (-1: none). */
  readonly snapshotVersion: number;
}

export class StateCache {
  private readonly entries = new Map<string, CachedStream>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get<S>(streamId: string, schema: string): CachedStream<S> | undefined {
    const entry = this.entries.get(streamId);
    if (entry === undefined || entry.schema !== schema) return undefined;
    // Touch: most recently used moves to the end of the insertion order.
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    return entry as CachedStream<S>;
  }

  /** Keeps `entry` unless the cache already holds a later version of the same fold. */
  set(streamId: string, entry: CachedStream): void {
    if (this.maxEntries <= 0) return;
    const current = this.entries.get(streamId);
    if (current !== undefined && current.schema === entry.schema && current.version > entry.version) return;
    this.entries.delete(streamId);
    this.entries.set(streamId, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(streamId: string): void {
    this.entries.delete(streamId);
  }
}
