// The snapshot shape every adapter accepts, checked once for all of them: a malformed snapshot
// fails the same way everywhere instead of as each database's own error (or not at all in memory).
import type { Snapshot } from './port.js';

export function assertValidSnapshot(snapshot: Snapshot): void {
  if (typeof snapshot?.streamId !== 'string' || snapshot.streamId.length === 0) {
    throw new TypeError('snapshot streamId must be a non-empty string');
  }
  if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
    throw new RangeError(`snapshot version must be a non-negative integer, not ${String(snapshot.version)}`);
  }
  if (typeof snapshot.schema !== 'string' || snapshot.schema.length === 0) {
    throw new TypeError('snapshot schema must be a non-empty string');
  }
  if (typeof snapshot.state !== 'string') throw new TypeError('snapshot state must be a string (JSON text)');
}
