// What the directory projections read from the global log: tenant-stream and personal-account
// events, recognised by their stream, narrowed to the domain's event types.
import type { PersonalAccountEvent, TenantEvent } from '#domain';
import type { RecordedEvent } from '#event-store';

const TENANT_STREAM = 'tenant-';
const PERSONAL_ACCOUNT_STREAM = 'personal-account-';

/** The schema version these projections fold; a newer one stops them rather than being misread. */
const SCHEMA_VERSION = 1;

export interface TenantStreamEvent {
  readonly tenantId: string;
  readonly event: TenantEvent;
  readonly recorded: RecordedEvent;
}

function checkSchema(recorded: RecordedEvent): void {
  if (recorded.schemaVersion !== SCHEMA_VERSION) {
    throw new Error(
      `${recorded.type} has schema version ${recorded.schemaVersion}; this projection reads version ${SCHEMA_VERSION} (add an upcaster and bump the projection's version)`,
    );
  }
}

/** The event as a tenant event when it belongs to a tenant's stream (`tenant-<tenantId>`). */
export function tenantEventOf(recorded: RecordedEvent): TenantStreamEvent | undefined {
  if (!recorded.streamId.startsWith(TENANT_STREAM)) return undefined;
  checkSchema(recorded);
  return {
    tenantId: recorded.streamId.slice(TENANT_STREAM.length),
    event: { type: recorded.type, data: recorded.data } as unknown as TenantEvent,
    recorded,
  };
}

/** The event as a personal-account event when it belongs to an account's stream. */
export function personalAccountEventOf(recorded: RecordedEvent): PersonalAccountEvent | undefined {
  if (!recorded.streamId.startsWith(PERSONAL_ACCOUNT_STREAM)) return undefined;
  checkSchema(recorded);
  return { type: recorded.type, data: recorded.data } as unknown as PersonalAccountEvent;
}

/** Flags are 0/1 integers on both databases (SQLite has no booleans): 0 and 1 in, booleans out. */
export const bit = (value: boolean): number => (value ? 1 : 0);

/** A JSON array column as a list. */
export const jsonList = <T>(value: string): T[] => JSON.parse(value) as T[];

/** A set-like JSON array of strings with `item` added at the end or removed (the domain's Set semantics). */
export function toggledJson(value: string, item: string, present: boolean): string {
  const list = jsonList<string>(value);
  if (present) return list.includes(item) ? value : JSON.stringify([...list, item]);
  return JSON.stringify(list.filter((x) => x !== item));
}

/**
 * Statement texts per table prefix, built once per generation (the live one and a rebuild's next
 * one) rather than for every event; old generations' texts are forgotten.
 */
export function sqlPerPrefix<S>(build: (prefix: string) => S): (prefix: string) => S {
  const byPrefix = new Map<string, S>();
  return (prefix) => {
    let sql = byPrefix.get(prefix);
    if (sql === undefined) {
      sql = build(prefix);
      byPrefix.set(prefix, sql);
      if (byPrefix.size > 3) {
        const oldest = byPrefix.keys().next().value;
        if (oldest !== undefined) byPrefix.delete(oldest);
      }
    }
    return sql;
  };
}
