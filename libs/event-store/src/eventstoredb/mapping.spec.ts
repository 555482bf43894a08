// The pure parts of the KurrentDB adapter: names, expected states, the envelope, the requests of
// one batch, the contiguous run a reader hands out, and error classification.
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../port.js';
import {
  assertNamespace,
  buildBatchRequests,
  contiguousRun,
  ENVELOPE_VERSION,
  EVENT_ID_EVENT_TYPE,
  expectedState,
  ForeignEventError,
  fromStoredRecord,
  isRevisionConflict,
  isStreamNotFound,
  isTransient,
  isUnsupported,
  LEDGER_EVENT_TYPE,
  parseEventIdRef,
  parseLedgerEntry,
  recordIdFor,
  StreamNames,
  toEventData,
  unexpectedRevisions,
  versionOf,
  type StoredRecord,
} from './mapping.js';

const names = new StreamNames('acct');

function recorded(overrides: Partial<RecordedEvent> = {}): RecordedEvent {
  return {
    eventId: '0190a6c4-8b5e-7d3f-9a1b-2c3d4e5f6a7b',
    type: 'MemberCreated',
    schemaVersion: 2,
    data: { name: 'Ada', nested: { list: [1, 'two', null] } },
    occurredAt: '2025-01-02T03:04:05.678Z',
    correlationId: 'corr-1',
    actor: { appId: 'admin-portal', userId: 'u-1' },
    streamId: 'user-1',
    streamVersion: 0,
    globalPosition: 1,
    ...overrides,
  };
}

/** What the server gives back for what toEventData wrote (metadata and data as parsed JSON). */
function storedFrom(event: RecordedEvent, revision = BigInt(event.streamVersion)): StoredRecord {
  const data = toEventData(event);
  return {
    streamId: names.data(event.streamId),
    id: data.id,
    revision,
    type: data.type,
    isJson: true,
    data: JSON.parse(JSON.stringify(data.data)),
    metadata: JSON.parse(JSON.stringify(data.metadata)),
    position: { commit: 100n, prepare: 100n },
  };
}

describe('stream names', () => {
  it('puts data, ledger and markers under the namespace without prefix overlaps', () => {
    expect(names.data('user-1')).toBe('acct.user-1');
    expect(names.ledger).toBe('acct$ledger');
    expect(names.eventId('e-1')).toBe('acct$id-e-1');
    expect(names.streamIdOf('acct.user.with.dots')).toBe('user.with.dots');
    expect(names.streamIdOf('acct$ledger')).toBeUndefined();
    expect(names.streamIdOf('acct2.user-1')).toBeUndefined();
    expect(names.ledger.startsWith(names.dataPrefix)).toBe(false);
    expect(names.eventId('x').startsWith(names.dataPrefix)).toBe(false);
  });

  it('refuses namespaces that could overlap another namespace or a system stream', () => {
    for (const bad of ['', 'a.b', '$all', 'a$b', 'with space', 'x'.repeat(65), 7]) {
      expect(() => assertNamespace(bad)).toThrow(TypeError);
    }
    expect(() => assertNamespace('accounts_test-1')).not.toThrow();
  });
});

describe('expected states', () => {
  it('maps a version to the exact state: -1 is no_stream, n is revision n', () => {
    expect(expectedState(-1)).toBe('no_stream');
    expect(expectedState(0)).toBe(0n);
    expect(expectedState(41)).toBe(41n);
    expect(() => expectedState(-2)).toThrow(RangeError);
    expect(() => expectedState(1.5)).toThrow(RangeError);
  });

  it('maps revisions back to versions within the safe integer range', () => {
    expect(versionOf(0n)).toBe(0);
    expect(versionOf(9_007_199_254_740_991n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => versionOf(9_007_199_254_740_992n)).toThrow(RangeError);
  });
});

describe('the envelope', () => {
  it('round-trips every field, leaving absent optional fields absent', () => {
    const full = recorded({ tenantId: 't-1', causationId: 'cause-1', streamVersion: 3, globalPosition: 42 });
    expect(fromStoredRecord(names, storedFrom(full))).toEqual(full);
    const bare = recorded({ actor: { appId: 'a' } });
    const back = fromStoredRecord(names, storedFrom(bare));
    expect(back).toEqual(bare);
    expect(Object.keys(back)).not.toContain('tenantId');
    expect(Object.keys(back)).not.toContain('causationId');
    expect(Object.isFrozen(back.data)).toBe(true);
  });

  it('writes metadata as strings only, and keys without "$"', () => {
    const data = toEventData(recorded({ tenantId: 't-1' }));
    expect(data.contentType).toBe('application/json');
    expect(data.metadata).toEqual({
      envelope: ENVELOPE_VERSION,
      eventId: '0190a6c4-8b5e-7d3f-9a1b-2c3d4e5f6a7b',
      globalPosition: '1',
      schemaVersion: '2',
      occurredAt: '2025-01-02T03:04:05.678Z',
      correlationId: 'corr-1',
      actor: '{"appId":"admin-portal","userId":"u-1"}',
      tenantId: 't-1',
    });
    for (const [key, value] of Object.entries(data.metadata ?? {})) {
      expect(typeof value).toBe('string');
      expect(key.startsWith('$')).toBe(false);
    }
  });

  it('uses the event id as record id when it is a UUID, else a stable UUID derived from it', () => {
    expect(recordIdFor('0190A6C4-8B5E-7D3F-9A1B-2C3D4E5F6A7B')).toBe('0190a6c4-8b5e-7d3f-9a1b-2c3d4e5f6a7b');
    const derived = recordIdFor('not-a-uuid');
    expect(derived).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(recordIdFor('not-a-uuid')).toBe(derived);
    expect(recordIdFor('not-a-uuid-2')).not.toBe(derived);
    // The port's id comes from the metadata, whatever the record id.
    const odd = recorded({ eventId: 'not-a-uuid' });
    expect(fromStoredRecord(names, storedFrom(odd)).eventId).toBe('not-a-uuid');
  });

  it('refuses records the adapter did not write', () => {
    const good = storedFrom(recorded());
    const cases: Partial<StoredRecord>[] = [
      { metadata: undefined },
      { metadata: new Uint8Array([1, 2]) },
      { metadata: { ...(good.metadata as object), envelope: '2' } },
      { metadata: { ...(good.metadata as object), globalPosition: '0' } },
      { metadata: { ...(good.metadata as object), globalPosition: 'x' } },
      { metadata: { ...(good.metadata as object), actor: 'not json' } },
      { metadata: { ...(good.metadata as object), actor: '{"userId":"u"}' } },
      { isJson: false },
      { data: [1, 2] },
      { streamId: 'other.user-1' },
    ];
    for (const change of cases) {
      expect(() => fromStoredRecord(names, { ...good, ...change })).toThrow(ForeignEventError);
    }
  });
});

describe('bookkeeping events', () => {
  it('parses ledger entries and markers, and refuses anything else', () => {
    const base = { streamId: names.ledger, id: 'x', revision: 4n, isJson: true, metadata: undefined };
    expect(
      parseLedgerEntry({
        ...base,
        type: LEDGER_EVENT_TYPE,
        data: { firstPosition: 7, lastPosition: 9 },
        position: { commit: 10n, prepare: 11n },
      }),
    ).toEqual({ revision: 4, firstPosition: 7, lastPosition: 9, logPosition: { commit: 10n, prepare: 11n } });
    expect(() =>
      parseLedgerEntry({ ...base, type: LEDGER_EVENT_TYPE, data: { firstPosition: 9, lastPosition: 7 } }),
    ).toThrow(ForeignEventError);
    expect(() =>
      parseLedgerEntry({ ...base, type: 'Other', data: { firstPosition: 1, lastPosition: 1 } }),
    ).toThrow(ForeignEventError);
    // A server that gives no log position on stream reads: the entry is usable, readers scan from the start.
    expect(
      parseLedgerEntry({ ...base, type: LEDGER_EVENT_TYPE, data: { firstPosition: 1, lastPosition: 1 } })
        .logPosition,
    ).toBeUndefined();
    expect(
      parseEventIdRef({
        ...base,
        type: EVENT_ID_EVENT_TYPE,
        data: { eventId: 'e', streamId: 's', type: 'T', globalPosition: 3 },
      }),
    ).toEqual({ streamId: 's', type: 'T', globalPosition: 3 });
    expect(() => parseEventIdRef({ ...base, type: EVENT_ID_EVENT_TYPE, data: { streamId: 's' } })).toThrow(
      ForeignEventError,
    );
  });
});

describe('the requests of one batch', () => {
  let ids = 0;
  const newId = (): string => `id-${(ids += 1)}`;

  it('writes the ledger entry at the exact head revision, each stream once at its exact version, and a marker per event', () => {
    const events = [
      recorded({ eventId: 'a1', streamId: 'a', streamVersion: 0, globalPosition: 6 }),
      recorded({ eventId: 'b1', streamId: 'b', streamVersion: 3, globalPosition: 7 }),
      recorded({ eventId: 'a2', streamId: 'a', streamVersion: 1, globalPosition: 8 }),
    ];
    const requests = buildBatchRequests(names, events, { revision: 2 }, newId);
    expect(
      requests.map((request) => [request.streamName, request.expectedState, request.events.length]),
    ).toEqual([
      ['acct$ledger', 2n, 1],
      ['acct.a', 'no_stream', 2],
      ['acct.b', 2n, 1],
      ['acct$id-a1', 'no_stream', 1],
      ['acct$id-b1', 'no_stream', 1],
      ['acct$id-a2', 'no_stream', 1],
    ]);
    expect(requests[0]?.events[0]).toMatchObject({
      type: LEDGER_EVENT_TYPE,
      data: { firstPosition: 6, lastPosition: 8 },
    });
    expect(requests[1]?.events.map((event) => event.metadata?.globalPosition)).toEqual(['6', '8']);
    expect(requests[3]?.events[0]).toMatchObject({
      type: EVENT_ID_EVENT_TYPE,
      data: { eventId: 'a1', streamId: 'a', type: 'MemberCreated', globalPosition: 6 },
    });
    // Bookkeeping events never get derived ids (KurrentDB would take a repeat for an idempotent retry).
    const ids2 = requests.flatMap((request) => request.events.map((event) => event.id));
    expect(new Set(ids2).size).toBe(ids2.length);
  });

  it('starts a new ledger with no_stream', () => {
    const [ledger] = buildBatchRequests(names, [recorded()], undefined, newId);
    expect(ledger?.expectedState).toBe('no_stream');
  });

  it('refuses names that differ only in case, which the server would refuse', () => {
    expect(() =>
      buildBatchRequests(
        names,
        [
          recorded({ eventId: 'x1', streamId: 'User', globalPosition: 1 }),
          recorded({ eventId: 'x2', streamId: 'user', globalPosition: 2 }),
        ],
        undefined,
        newId,
      ),
    ).toThrow(/ignoring case/);
    expect(() => buildBatchRequests(names, [], undefined, newId)).toThrow(RangeError);
  });

  it('checks the revisions the server reports against the plan', () => {
    const requests = buildBatchRequests(
      names,
      [recorded({ eventId: 'a1', streamId: 'a', streamVersion: 0, globalPosition: 1 })],
      undefined,
      newId,
    );
    const exact = [
      { streamName: 'acct$ledger', revision: 0n },
      { streamName: 'acct.a', revision: 0n },
      { streamName: 'acct$id-a1', revision: 0n },
    ];
    expect(unexpectedRevisions(requests, exact)).toEqual([]);
    expect(unexpectedRevisions(requests, exact.slice(1))).toEqual(['acct$ledger: expected 0, got undefined']);
  });
});

describe('contiguousRun', () => {
  const at = (...positions: number[]): Map<number, RecordedEvent> =>
    new Map(positions.map((position) => [position, recorded({ globalPosition: position })]));

  it('hands out only the gap-free run after the position, up to the limit', () => {
    const run = (after: number, limit: number, collected: Map<number, RecordedEvent>): number[] =>
      contiguousRun(after, limit, collected).map((event) => event.globalPosition);
    expect(run(0, 10, at(1, 2, 3))).toEqual([1, 2, 3]);
    expect(run(0, 2, at(1, 2, 3))).toEqual([1, 2]);
    // 4 is collected before 3 (the server grouped a batch by stream): it waits for 3.
    expect(run(2, 10, at(4, 5))).toEqual([]);
    expect(run(2, 10, at(3, 5))).toEqual([3]);
    expect(run(5, 10, at())).toEqual([]);
  });
});

describe('client errors', () => {
  it('classifies by the type every client CommandError carries', () => {
    expect(isStreamNotFound({ type: 'stream-not-found' })).toBe(true);
    expect(isRevisionConflict({ type: 'wrong-expected-version' })).toBe(true);
    expect(isUnsupported({ type: 'unsupported' })).toBe(true);
    for (const type of ['unavailable', 'deadline-exceeded', 'timeout', 'cancelled', 'not-leader']) {
      expect(isTransient({ type })).toBe(true);
    }
    // A raw gRPC error (some connection failures are not converted by the client).
    expect(isTransient(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }))).toBe(true);
    expect(isTransient(Object.assign(new Error('9 FAILED_PRECONDITION'), { code: 9 }))).toBe(false);
    for (const error of [{ type: 'access-denied' }, new Error('plain'), undefined, 'text', { type: 3 }]) {
      expect(isTransient(error)).toBe(false);
      expect(isRevisionConflict(error)).toBe(false);
    }
  });
});
