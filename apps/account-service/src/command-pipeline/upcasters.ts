// Old event versions stay readable forever: an upcaster turns a stored (type, schemaVersion)
// into the shape the current code folds. Register one here whenever an event's schema changes.
import type { RecordedEvent } from '#event-store';

type Upcaster = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/** Keyed by `${type}@${schemaVersion}`; each step lifts one version. */
const UPCASTERS: ReadonlyMap<string, Upcaster> = new Map();

export const CURRENT_SCHEMA_VERSION = 1;

export function upcast(event: RecordedEvent): { type: string; data: Readonly<Record<string, unknown>> } {
  let data = event.data;
  for (let version = event.schemaVersion; version < CURRENT_SCHEMA_VERSION; version++) {
    const step = UPCASTERS.get(`${event.type}@${version}`);
    if (!step) throw new Error(`no upcaster for ${event.type} schema version ${version}`);
    data = step(data);
  }
  return { type: event.type, data };
}
