// The one reading of ReadStreamOptions that every adapter shares, so that a bad fromVersion fails
// the same way on each (a RangeError, not an SQL, gRPC or Array.slice quirk).
import type { ReadStreamOptions } from '../port.js';

/** The first stream version to read: options.fromVersion, default 0, a non-negative integer. */
export function fromVersionOf(options: ReadStreamOptions | undefined): number {
  const fromVersion = options?.fromVersion ?? 0;
  if (!Number.isSafeInteger(fromVersion) || fromVersion < 0) {
    throw new RangeError(`fromVersion must be a non-negative integer, not ${String(fromVersion)}`);
  }
  return fromVersion;
}
