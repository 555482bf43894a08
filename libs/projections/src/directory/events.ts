// What the directory projections read from the global log: the events of a tenant's directory
// (its own stream, its user objects', its seat ledgers') and of personal accounts, recognised by
// their stream (#domain streams.ts) and read as the domain's types (#domain recorded.ts: an event
// of a newer schema stops the projection rather than being misread).
import {
  directoryStreamKind,
  isPersonalAccountStream,
  tenantIdOfStream,
  toDirectoryEvent,
  toPersonalAccountEvent,
  type DirectoryEvent,
  type DirectoryStreamKind,
  type PersonalAccountEvent,
} from '#domain';
import type { RecordedEvent } from '#event-store';

export interface DirectoryStreamEvent {
  readonly tenantId: string;
  readonly event: DirectoryEvent;
  readonly recorded: RecordedEvent;
  /** Which kind of directory stream it is in: only the tenant's own moves the tenant's ETag. */
  readonly stream: DirectoryStreamKind;
}

/** The event as a directory event when it belongs to a directory stream of a tenant. */
export function directoryEventOf(recorded: RecordedEvent): DirectoryStreamEvent | undefined {
  const stream = directoryStreamKind(recorded.streamId);
  if (stream === undefined) return undefined;
  // The tenant stream names its tenant; the other streams' events carry it in their envelope.
  const tenantId = tenantIdOfStream(recorded.streamId) ?? recorded.tenantId;
  if (tenantId === undefined) return undefined;
  return { tenantId, event: toDirectoryEvent(recorded), recorded, stream };
}

/** The event as a personal-account event when it belongs to an account's stream. */
export function personalAccountEventOf(recorded: RecordedEvent): PersonalAccountEvent | undefined {
  return isPersonalAccountStream(recorded.streamId) ? toPersonalAccountEvent(recorded) : undefined;
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
