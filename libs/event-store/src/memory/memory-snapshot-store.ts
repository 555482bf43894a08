// The in-memory snapshot store: for unit tests and replays, with the durable adapters' rules.
import { assertValidSnapshot } from '../snapshots/check-snapshot.js';
import type { Snapshot, SnapshotStore } from '../snapshots/port.js';

export class InMemorySnapshotStore implements SnapshotStore {
  private readonly snapshots = new Map<string, Snapshot>();

  async load(streamId: string): Promise<Snapshot | undefined> {
    return this.snapshots.get(streamId);
  }

  async save(snapshot: Snapshot): Promise<void> {
    assertValidSnapshot(snapshot);
    if (!replaces(snapshot, this.snapshots.get(snapshot.streamId))) return;
    // A frozen copy of the four fields: what the caller passed may be a wider, mutable object.
    const { streamId, version, schema, state } = snapshot;
    this.snapshots.set(streamId, Object.freeze({ streamId, version, schema, state }));
  }
}

/** The port's version rule: a newer version of the same shape, or any version of another shape. */
function replaces(next: Snapshot, stored: Snapshot | undefined): boolean {
  return stored === undefined || next.schema !== stored.schema || next.version > stored.version;
}
