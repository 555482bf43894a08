// From an event as the store recorded it to the domain's own type: the one place that checks the
// schema version, lifts older versions (upcasters) and narrows the type. Old event versions stay
// readable forever: register an upcaster here whenever an event's schema changes.

import type { DirectoryEvent } from './tenant/events.js';
import type { PersonalAccountEvent } from './personal-account/types.js';
import type { ClaimEvent } from './claim/types.js';
import type { DomainEvent } from './shared/decider.js';

/** What the domain reads of a recorded event (the event store's RecordedEvent has these and more). */
export interface StoredEvent {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Readonly<Record<string, unknown>>;
}

export const CURRENT_SCHEMA_VERSION = 1;

type Upcaster = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/** Keyed by `${type}@${schemaVersion}`; each step lifts one version. */
const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map();

/** An event this version can't read: written by a newer one, or of a version with no upcaster. */
export class UnreadableEventError extends Error {
  constructor(type: string, schemaVersion: number, why: string) {
    super(`${type} schema version ${schemaVersion}: ${why}`);
    this.name = 'UnreadableEventError';
  }
}

/** The event's type and data at the current schema version. */
export function upcast(stored: StoredEvent): DomainEvent<string, Readonly<Record<string, unknown>>> {
  if (stored.schemaVersion > CURRENT_SCHEMA_VERSION) {
    throw new UnreadableEventError(
      stored.type,
      stored.schemaVersion,
      `written by a newer version (this one reads up to ${CURRENT_SCHEMA_VERSION})`,
    );
  }
  let data = stored.data;
  for (let version = stored.schemaVersion; version < CURRENT_SCHEMA_VERSION; version++) {
    const step = UPCASTERS.get(`${stored.type}@${version}`);
    if (!step) throw new UnreadableEventError(stored.type, version, 'no upcaster lifts it');
    data = step(data);
  }
  return { type: stored.type, data };
}

// The stream an event was recorded in says which union it belongs to (../streams.ts); these are
// the only places that trust it.
export const toDirectoryEvent = (stored: StoredEvent): DirectoryEvent =>
  upcast(stored) as unknown as DirectoryEvent;
export const toPersonalAccountEvent = (stored: StoredEvent): PersonalAccountEvent =>
  upcast(stored) as unknown as PersonalAccountEvent;
export const toClaimEvent = (stored: StoredEvent): ClaimEvent => upcast(stored) as unknown as ClaimEvent;
