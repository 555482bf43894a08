// The append rules every adapter shares (expected versions, idempotent retry, duplicate ids,
// position assignment), as a pure function over a read-only view of the store. An adapter runs it
// inside its write transaction and then persists the planned events; it never decides on its own.
import {
  DuplicateEventIdError,
  WrongExpectedVersionError,
  type AppendResult,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
} from '../port.js';
import { assertValidNewEvent, copyActor, freezeRecordedEvent, jsonCopy } from './recorded-event.js';

/** What the planner needs to know about one stored event to recognise a retried append. */
export interface StoredEventRef {
  readonly streamId: string;
  readonly type: string;
  readonly globalPosition: number;
}

/**
 * The store's state as the write transaction sees it. Synchronous on purpose: the planner runs
 * while the adapter holds its write lock, and nothing may interleave between check and write.
 */
export interface AppendState {
  /** Version of the stream's last event; -1 when the stream has none. */
  streamVersion(streamId: string): number;
  findEvent(eventId: string): StoredEventRef | undefined;
  /** Global position of the last stored event; 0 when there is none. */
  headPosition(): number;
}

export type AppendPlan =
  /** The batch is already stored: return the stored positions and write nothing. */
  | { readonly kind: 'retry'; readonly result: AppendResult }
  | {
      readonly kind: 'write';
      /** In request order, with consecutive global positions after the current head. */
      readonly events: readonly RecordedEvent[];
      /** Each touched stream's version after the append (only streams that got events). */
      readonly streamVersions: ReadonlyMap<string, number>;
      readonly result: AppendResult;
    };

export function expectedVersionHolds(expected: ExpectedVersion, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === -1;
    case 'stream_exists':
      return actual >= 0;
    default:
      return expected === actual;
  }
}

/**
 * Decides what an append does. Throws WrongExpectedVersionError or DuplicateEventIdError (nothing
 * is to be stored then), or TypeError for malformed input.
 *
 * A stream named twice in one batch is checked entry by entry: the second entry's expected version
 * is compared with the version the first entry left, as if the entries were appended in order.
 */
export function planAppend(entries: readonly StreamAppend[], state: AppendState): AppendPlan {
  for (const entry of entries) {
    if (typeof entry.streamId !== 'string' || entry.streamId.length === 0) {
      throw new TypeError('streamId must be a non-empty string');
    }
    if (!Array.isArray(entry.events))
      throw new TypeError(`events of stream ${entry.streamId} must be an array`);
    for (const event of entry.events) assertValidNewEvent(event);
  }

  // A retry is recognised by its first event alone: a client that lost the answer to an append
  // sends the same batch again, and must get the same answer even though the expected versions it
  // carries no longer hold (the first attempt moved the streams on).
  const firstEvent = entries.find((entry) => entry.events.length > 0)?.events[0];
  if (firstEvent !== undefined && state.findEvent(firstEvent.eventId) !== undefined) {
    return { kind: 'retry', result: retryResult(entries, state) };
  }

  const seen = new Set<string>();
  for (const entry of entries) {
    for (const event of entry.events) {
      if (seen.has(event.eventId) || state.findEvent(event.eventId) !== undefined) {
        throw new DuplicateEventIdError(event.eventId);
      }
      seen.add(event.eventId);
    }
  }

  let position = state.headPosition();
  const versions = new Map<string, number>();
  const events: RecordedEvent[] = [];
  const streams: { streamId: string; nextExpectedVersion: number }[] = [];
  for (const entry of entries) {
    let version = versions.get(entry.streamId) ?? state.streamVersion(entry.streamId);
    if (!expectedVersionHolds(entry.expectedVersion, version)) {
      throw new WrongExpectedVersionError(entry.streamId, entry.expectedVersion, version);
    }
    for (const event of entry.events) {
      version += 1;
      position += 1;
      events.push(record(event, entry.streamId, version, position));
    }
    versions.set(entry.streamId, version);
    streams.push({ streamId: entry.streamId, nextExpectedVersion: version });
  }

  const streamVersions = new Map<string, number>();
  for (const event of events) streamVersions.set(event.streamId, event.streamVersion);
  // With no event in the batch (pure guards) the head is the position the caller is consistent with.
  return { kind: 'write', events, streamVersions, result: { lastGlobalPosition: position, streams } };
}

function retryResult(entries: readonly StreamAppend[], state: AppendState): AppendResult {
  let lastGlobalPosition = 0;
  for (const entry of entries) {
    for (const event of entry.events) {
      const stored = state.findEvent(event.eventId);
      // Only the whole batch, each event where the first attempt put it, is a retry; anything
      // else reuses an id for a different fact, which must not be silently swallowed.
      if (stored === undefined || stored.streamId !== entry.streamId || stored.type !== event.type) {
        throw new DuplicateEventIdError(event.eventId);
      }
      lastGlobalPosition = stored.globalPosition;
    }
  }
  return {
    lastGlobalPosition,
    streams: entries.map((entry) => ({
      streamId: entry.streamId,
      nextExpectedVersion: state.streamVersion(entry.streamId),
    })),
  };
}

function record(
  event: NewEvent,
  streamId: string,
  streamVersion: number,
  globalPosition: number,
): RecordedEvent {
  return freezeRecordedEvent({
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: jsonCopy(event.data),
    occurredAt: event.occurredAt,
    tenantId: event.tenantId,
    correlationId: event.correlationId,
    causationId: event.causationId,
    actor: copyActor(event.actor),
    streamId,
    streamVersion,
    globalPosition,
  });
}

/** Shared argument check for readAll: a negative or fractional limit is a caller bug, not "no limit". */
export function assertReadAllArgs(after: number, limit: number): void {
  if (!Number.isFinite(after)) throw new RangeError('after must be a finite number');
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError('limit must be a non-negative integer');
}
