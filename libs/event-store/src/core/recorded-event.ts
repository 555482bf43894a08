// Turns a NewEvent into the immutable RecordedEvent every adapter hands out, so that all adapters
// agree byte for byte on what a stored event looks like (optional fields absent, data as JSON).
import type { Actor, NewEvent, RecordedEvent } from '../port.js';

/** Freezes an object graph so that a reader cannot change what another reader (or the store) sees. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * A JSON copy of `data`. Every durable adapter stores data as JSON, so the in-memory one does too:
 * a value that would not survive JSON (a Date, undefined, a Map) behaves the same on every adapter
 * instead of passing unit tests and breaking in production.
 */
export function jsonCopy(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: unknown = JSON.parse(JSON.stringify(data));
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
    throw new TypeError('event data must be a JSON object');
  }
  return copy as Record<string, unknown>;
}

/** Only the declared actor fields, so that no adapter stores (and later leaks) stray properties. */
export function copyActor(actor: Actor): Actor {
  return actor.userId === undefined ? { appId: actor.appId } : { appId: actor.appId, userId: actor.userId };
}

/** The shape of a recorded event that adapters rebuild from storage (data and actor already parsed). */
export interface RecordedEventFields {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Record<string, unknown>;
  readonly occurredAt: string;
  readonly tenantId?: string | null;
  readonly correlationId: string;
  readonly causationId?: string | null;
  readonly actor: Actor;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly globalPosition: number;
}

/**
 * Builds the frozen envelope. Optional fields are left out rather than set to undefined/null, so
 * that an event read back from any adapter deep-equals the one another adapter returned.
 */
export function freezeRecordedEvent(fields: RecordedEventFields): RecordedEvent {
  const event: { -readonly [K in keyof RecordedEvent]: RecordedEvent[K] } = {
    eventId: fields.eventId,
    type: fields.type,
    schemaVersion: fields.schemaVersion,
    streamId: fields.streamId,
    streamVersion: fields.streamVersion,
    globalPosition: fields.globalPosition,
    occurredAt: fields.occurredAt,
    correlationId: fields.correlationId,
    actor: fields.actor,
    data: fields.data,
  };
  if (fields.tenantId != null) event.tenantId = fields.tenantId;
  if (fields.causationId != null) event.causationId = fields.causationId;
  return deepFreeze(event);
}

function requireText(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`${field} must be a non-empty string`);
}

function optionalText(value: unknown, field: string): void {
  if (value !== undefined) requireText(value, field);
}

/**
 * Rejects malformed input before anything is stored: events are immutable, so garbage that got in
 * would stay in the log forever. Types already say all this; this guards untyped callers (JSON).
 */
export function assertValidNewEvent(event: NewEvent): void {
  requireText(event.eventId, 'eventId');
  requireText(event.type, 'type');
  if (!Number.isInteger(event.schemaVersion) || event.schemaVersion < 1) {
    throw new TypeError(`schemaVersion of event ${event.eventId} must be a positive integer`);
  }
  requireText(event.occurredAt, 'occurredAt');
  requireText(event.correlationId, 'correlationId');
  optionalText(event.tenantId, 'tenantId');
  optionalText(event.causationId, 'causationId');
  if (typeof event.actor !== 'object' || event.actor === null) throw new TypeError('actor must be an object');
  requireText(event.actor.appId, 'actor.appId');
  optionalText(event.actor.userId, 'actor.userId');
  if (typeof event.data !== 'object' || event.data === null || Array.isArray(event.data)) {
    throw new TypeError(`data of event ${event.eventId} must be an object`);
  }
}
