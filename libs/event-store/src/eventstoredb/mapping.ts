// Pure mapping between the port's model and KurrentDB's: stream names, the envelope carried in
// event metadata, expected states, the requests of one atomic batch, reordering of what $all
// returns, and classification of client errors. No I/O and no runtime import of the client, so
// that it is unit-tested without a server (mapping.spec.ts).
import { createHash, randomUUID } from 'node:crypto';
import { copyActor, freezeRecordedEvent } from '../core/recorded-event.js';
import type { Actor, RecordedEvent } from '../port.js';

/** A namespace keeps one store's streams apart from everything else on the server. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function assertNamespace(namespace: unknown): asserts namespace is string {
  if (typeof namespace !== 'string' || !NAMESPACE_PATTERN.test(namespace)) {
    throw new TypeError('namespace must be 1 to 64 letters, digits, "_" or "-" (no "." and no "$")');
  }
}

/**
 * The KurrentDB stream names of one store. A namespace has no "." and no "$", so the data prefix
 * `<ns>.` is never a prefix of another namespace's names, nor of this store's bookkeeping streams
 * (`<ns>$ledger`, `<ns>$id-<eventId>`): a server-side prefix filter on `<ns>.` returns exactly the
 * store's events, and no stream name starts with "$" (KurrentDB's system streams).
 */
export class StreamNames {
  readonly dataPrefix: string;
  readonly ledger: string;
  private readonly eventIdPrefix: string;

  constructor(readonly namespace: string) {
    assertNamespace(namespace);
    this.dataPrefix = `${namespace}.`;
    this.ledger = `${namespace}$ledger`;
    this.eventIdPrefix = `${namespace}$id-`;
  }

  data(streamId: string): string {
    return `${this.dataPrefix}${streamId}`;
  }

  eventId(eventId: string): string {
    return `${this.eventIdPrefix}${eventId}`;
  }

  /** The port's stream id of a data stream name, or undefined for any other stream. */
  streamIdOf(streamName: string): string | undefined {
    return streamName.startsWith(this.dataPrefix) ? streamName.slice(this.dataPrefix.length) : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Expected versions

/** What the client takes as an expected stream state (a subset of its AppendStreamState). */
export type ExpectedState = 'no_stream' | bigint;

/**
 * The exact state a stream must be in: -1 (no event yet) is 'no_stream', n is revision n. The
 * adapter always sends exact states, computed by the planner from the versions it read (so 'any'
 * and 'stream_exists' become the exact revision they matched): under the ledger check they mean
 * the same, and a writer that bypasses the adapter is then caught too.
 */
export function expectedState(version: number): ExpectedState {
  if (!Number.isSafeInteger(version) || version < -1)
    throw new RangeError(`invalid stream version ${version}`);
  return version === -1 ? 'no_stream' : BigInt(version);
}

/** The port's version of a stream from its last revision (a 64-bit revision fits a double exactly below 2^53). */
export function versionOf(revision: bigint): number {
  if (revision < 0n || revision > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`stream revision ${revision} is outside the port's range`);
  }
  return Number(revision);
}

// ---------------------------------------------------------------------------------------------
// The envelope

/** Bumped if the metadata layout ever changes; readers refuse what they do not know. */
export const ENVELOPE_VERSION = '1';

/**
 * The envelope fields that are not KurrentDB's own, as event metadata. Multi-stream append takes
 * metadata as a flat object of strings only (and reserves keys starting with "$"), so numbers and
 * the actor are strings here.
 */
export interface EnvelopeMetadata {
  readonly envelope: string;
  readonly eventId: string;
  readonly globalPosition: string;
  readonly schemaVersion: string;
  readonly occurredAt: string;
  readonly correlationId: string;
  readonly actor: string;
  readonly causationId?: string;
  readonly tenantId?: string;
}

export interface JsonEventData {
  readonly id: string;
  readonly contentType: 'application/json';
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly metadata?: Record<string, string>;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * KurrentDB's record id for an event: the event id itself when it is a UUID (as the port asks,
 * v7), else a name-based UUID derived from it (KurrentDB only takes UUIDs). The port's event id is
 * carried in the metadata either way, since the server gives ids back in its own spelling.
 */
export function recordIdFor(eventId: string): string {
  if (UUID_PATTERN.test(eventId)) return eventId.toLowerCase();
  const hash = createHash('sha1').update(`event-store:${eventId}`).digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50; // version 5
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function toEventData(event: RecordedEvent): JsonEventData {
  const metadata: Record<string, string> = {
    envelope: ENVELOPE_VERSION,
    eventId: event.eventId,
    globalPosition: String(event.globalPosition),
    schemaVersion: String(event.schemaVersion),
    occurredAt: event.occurredAt,
    correlationId: event.correlationId,
    actor: JSON.stringify(event.actor),
  };
  if (event.causationId !== undefined) metadata.causationId = event.causationId;
  if (event.tenantId !== undefined) metadata.tenantId = event.tenantId;
  return {
    id: recordIdFor(event.eventId),
    contentType: 'application/json',
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata,
  };
}

/** A log position, as the client gives it. */
export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** The part of the client's recorded event that the adapter reads. */
export interface StoredRecord {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly isJson: boolean;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: LogPosition;
}

/** An event in a store's namespace that this adapter did not write, or cannot read. */
export class ForeignEventError extends Error {
  constructor(record: Pick<StoredRecord, 'streamId' | 'revision' | 'id'>, reason: string) {
    super(
      `event ${record.id} at revision ${record.revision} of stream ${record.streamId} is not an event ` +
        `store envelope (${reason}); streams in the store's namespace must only be written through the store`,
    );
    this.name = 'ForeignEventError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function positiveInteger(text: unknown): number | undefined {
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,15}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function optionalText(metadata: Record<string, unknown>, key: string): string | undefined {
  const value = metadata[key];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Rebuilds the port's event from a stored record of a data stream. */
export function fromStoredRecord(names: StreamNames, record: StoredRecord): RecordedEvent {
  const fail = (reason: string): never => {
    throw new ForeignEventError(record, reason);
  };
  const streamId = names.streamIdOf(record.streamId) ?? fail(`not a data stream of ${names.namespace}`);
  const metadata = isPlainObject(record.metadata) ? record.metadata : fail('no JSON metadata');
  if (metadata.envelope !== ENVELOPE_VERSION) fail(`envelope version ${String(metadata.envelope)}`);
  if (!record.isJson || !isPlainObject(record.data)) fail('data is not a JSON object');
  const globalPosition = positiveInteger(metadata.globalPosition) ?? fail('no global position');
  const schemaVersion = positiveInteger(metadata.schemaVersion) ?? fail('no schema version');
  const eventId = optionalText(metadata, 'eventId') ?? fail('no event id');
  const occurredAt = optionalText(metadata, 'occurredAt') ?? fail('no occurredAt');
  const correlationId = optionalText(metadata, 'correlationId') ?? fail('no correlation id');
  let actor: unknown;
  try {
    actor = JSON.parse(typeof metadata.actor === 'string' ? metadata.actor : 'null');
  } catch {
    actor = null;
  }
  if (!isPlainObject(actor) || typeof actor.appId !== 'string') fail('no actor');
  return freezeRecordedEvent({
    eventId,
    type: record.type,
    schemaVersion,
    data: record.data as Record<string, unknown>,
    occurredAt,
    tenantId: optionalText(metadata, 'tenantId'),
    correlationId,
    causationId: optionalText(metadata, 'causationId'),
    actor: copyActor(actor as unknown as Actor),
    streamId,
    streamVersion: versionOf(record.revision),
    globalPosition,
  });
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping events

/** One event per stored batch in the ledger stream: the batch's global positions. */
export const LEDGER_EVENT_TYPE = 'EventStoreBatchRecorded';
/** The single event of an event id's marker stream: where that id is stored. */
export const EVENT_ID_EVENT_TYPE = 'EventStoreEventIdRecorded';

export interface LedgerEntry {
  /** Revision of the entry in the ledger stream: the batch's 0-based number. */
  readonly revision: number;
  readonly firstPosition: number;
  readonly lastPosition: number;
  /**
   * Where the entry is in the log; every event of a later batch comes after it. Servers from 22.6
   * give it on stream reads; without it readers scan $all from the start (correct, slower).
   */
  readonly logPosition: LogPosition | undefined;
}

export function ledgerEventData(firstPosition: number, lastPosition: number): Record<string, unknown> {
  return { firstPosition, lastPosition };
}

export function parseLedgerEntry(record: StoredRecord): LedgerEntry {
  const data = record.data;
  const first = isPlainObject(data) ? data.firstPosition : undefined;
  const last = isPlainObject(data) ? data.lastPosition : undefined;
  if (
    record.type !== LEDGER_EVENT_TYPE ||
    !Number.isSafeInteger(first) ||
    !Number.isSafeInteger(last) ||
    (first as number) < 1 ||
    (last as number) < (first as number)
  ) {
    throw new ForeignEventError(record, 'not a ledger entry');
  }
  return {
    revision: versionOf(record.revision),
    firstPosition: first as number,
    lastPosition: last as number,
    logPosition: record.position,
  };
}

/** What an event id's marker says: enough for the planner to recognise a retry or a reused id. */
export interface EventIdRef {
  readonly streamId: string;
  readonly type: string;
  readonly globalPosition: number;
}

export function eventIdEventData(event: RecordedEvent): Record<string, unknown> {
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    type: event.type,
    globalPosition: event.globalPosition,
  };
}

export function parseEventIdRef(record: StoredRecord): EventIdRef {
  const data = record.data;
  if (
    record.type !== EVENT_ID_EVENT_TYPE ||
    !isPlainObject(data) ||
    typeof data.streamId !== 'string' ||
    typeof data.type !== 'string' ||
    !Number.isSafeInteger(data.globalPosition)
  ) {
    throw new ForeignEventError(record, 'not an event id marker');
  }
  return { streamId: data.streamId, type: data.type, globalPosition: data.globalPosition as number };
}

// ---------------------------------------------------------------------------------------------
// One atomic batch

export interface StreamRequest {
  readonly streamName: string;
  readonly expectedState: ExpectedState;
  readonly events: JsonEventData[];
}

/**
 * The multi-stream append of one planned batch:
 * - the ledger entry first, at the ledger's exact revision: the serialisation point (two appends
 *   that read the same ledger head cannot both commit) and the record of the batch's positions;
 * - each data stream once, in order of first appearance, at the exact version the planner found
 *   before the batch. The server takes a stream only once per append (it compares names ignoring
 *   case), so a stream named in several entries gets all its events in one request: they keep
 *   their versions and global positions, but the log may hold them in another order than the
 *   positions, which readers undo (see contiguousRun);
 * - one marker stream per event id, which must not exist yet: the global uniqueness of event ids.
 *
 * Ledger entries and markers get fresh record ids, never derived ones: KurrentDB answers an append
 * whose events have the ids of those already after the expected revision as an idempotent
 * success without writing, and a ledger entry must never be taken for another writer's.
 */
export function buildBatchRequests(
  names: StreamNames,
  events: readonly RecordedEvent[],
  ledgerHead: Pick<LedgerEntry, 'revision'> | undefined,
  newId: () => string = randomUUID,
): StreamRequest[] {
  const first = events[0];
  const last = events.at(-1);
  if (first === undefined || last === undefined) throw new RangeError('a batch to write has events');
  const ledger: StreamRequest = {
    streamName: names.ledger,
    expectedState: ledgerHead === undefined ? 'no_stream' : BigInt(ledgerHead.revision),
    events: [
      {
        id: newId(),
        contentType: 'application/json',
        type: LEDGER_EVENT_TYPE,
        data: ledgerEventData(first.globalPosition, last.globalPosition),
      },
    ],
  };
  const streams = new Map<string, StreamRequest>();
  for (const event of events) {
    const streamName = names.data(event.streamId);
    let request = streams.get(streamName);
    if (request === undefined) {
      request = { streamName, expectedState: expectedState(event.streamVersion - 1), events: [] };
      streams.set(streamName, request);
    }
    request.events.push(toEventData(event));
  }
  const markers = events.map((event): StreamRequest => ({
    streamName: names.eventId(event.eventId),
    expectedState: 'no_stream',
    events: [
      {
        id: newId(),
        contentType: 'application/json',
        type: EVENT_ID_EVENT_TYPE,
        data: eventIdEventData(event),
      },
    ],
  }));
  const requests = [ledger, ...streams.values(), ...markers];
  const seen = new Map<string, string>();
  for (const { streamName } of requests) {
    const folded = streamName.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw new TypeError(
        `KurrentDB cannot append to "${other}" and "${streamName}" in one batch: it compares stream ` +
          'names ignoring case within a multi-stream append',
      );
    }
    seen.set(folded, streamName);
  }
  return requests;
}

/**
 * The streams whose revision after the append is not the one the plan wrote them to, as
 * "<stream>: expected r, got s". Empty when the server did exactly what was asked; anything else
 * means it did not write what the plan assigned positions to (it took part of the batch as an
 * idempotent repeat, say), which must be loud rather than silently break the global order.
 */
export function unexpectedRevisions(
  requests: readonly StreamRequest[],
  responses: readonly { readonly streamName: string; readonly revision: bigint }[],
): string[] {
  const actual = new Map(responses.map((response) => [response.streamName, response.revision]));
  const problems: string[] = [];
  for (const request of requests) {
    const before = request.expectedState === 'no_stream' ? -1n : request.expectedState;
    const expected = before + BigInt(request.events.length);
    const got = actual.get(request.streamName);
    if (got !== expected) problems.push(`${request.streamName}: expected ${expected}, got ${String(got)}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Reading the log back

/**
 * The events with positions after+1, after+2, ... with no gap, at most `limit`: the only thing a
 * reader may hand out. Whatever else was collected (a later event whose predecessor is not visible
 * yet, an event the log holds out of position order) waits for the next read.
 */
export function contiguousRun(
  after: number,
  limit: number,
  collected: ReadonlyMap<number, RecordedEvent>,
): RecordedEvent[] {
  const run: RecordedEvent[] = [];
  for (let position = after + 1; run.length < limit; position += 1) {
    const event = collected.get(position);
    if (event === undefined) break;
    run.push(event);
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// Client errors (by the `type` every client CommandError carries, so that a second copy of the
// client module, or a test double, is recognised too)

export function errorType(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

export const isStreamNotFound = (error: unknown): boolean => errorType(error) === 'stream-not-found';

/** An expected state did not hold: someone else appended first (v1 and v2 append errors alike). */
export const isRevisionConflict = (error: unknown): boolean => errorType(error) === 'wrong-expected-version';

export const isUnsupported = (error: unknown): boolean => errorType(error) === 'unsupported';

const TRANSIENT_ERRORS = new Set(['unavailable', 'deadline-exceeded', 'timeout', 'cancelled', 'not-leader']);

/** gRPC status codes of a raw (unconverted) error that a later attempt may not meet. */
const TRANSIENT_GRPC_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

/**
 * A failure that a later attempt may not meet: connection loss, leader change, timeout. The
 * client converts most errors to typed ones, but some connection failures (of multi-stream
 * append, for one) come through as the raw gRPC error, with only a status code.
 */
export function isTransient(error: unknown): boolean {
  if (TRANSIENT_ERRORS.has(errorType(error) ?? '')) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return errorType(error) === undefined && typeof code === 'number' && TRANSIENT_GRPC_CODES.has(code);
}
