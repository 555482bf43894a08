// The snapshot store port: a stream's folded state kept beside its events, so that loading a long
// stream costs the events after the snapshot instead of all of them (readStream's fromVersion).
// Adapters: memory/, sqlite/, postgres/ (KurrentDB deployments keep theirs in the local SQLite
// file); ../testing/snapshot-contract.ts states each guarantee as a test.

/** A stream's state folded up to `version`, serialised by the decider's codec. */
export interface Snapshot {
  readonly streamId: string;
  /** Version (0-based streamVersion) of the last event folded into `state`. */
  readonly version: number;
  /** Names the state's shape (decider and codec version); a reader ignores a snapshot of another shape. */
  readonly schema: string;
  /** The serialised state (JSON text). */
  readonly state: string;
}

export interface SnapshotStore {
  /** The stored snapshot of the stream, or undefined. */
  load(streamId: string): Promise<Snapshot | undefined>;
  /**
   * Stores the snapshot unless one of the same schema with a higher or equal version is stored
   * already (a late writer never moves a snapshot backwards); a snapshot of another schema is
   * replaced. A malformed snapshot is a TypeError or RangeError, and stores nothing.
   */
  save(snapshot: Snapshot): Promise<void>;
}
