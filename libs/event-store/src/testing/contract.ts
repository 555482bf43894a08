// The event store contract: every guarantee of ../port.ts as a test, run against each adapter
// from that adapter's spec (`eventStoreContract('sqlite', async () => ({ store, cleanup }))`).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DuplicateEventIdError,
  WrongExpectedVersionError,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
  type Subscription,
} from '../port.js';
import { newEvent } from './events.js';

/**
 * Creates a fresh, empty store for one test. The contract closes the store after the test and
 * then calls `cleanup` (to delete files, drop schemas...).
 */
export type EventStoreFactory = () => Promise<{ store: EventStore; cleanup?: () => Promise<void> }>;

/** Lets other tasks run (appends, handlers) without waiting for wall-clock time. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits for a condition ("caught up to position N"), never for a fixed time. */
async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function positions(events: readonly RecordedEvent[]): number[] {
  return events.map((event) => event.globalPosition);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/** Attempts a mutation that a frozen object rejects; a copy-returning adapter may simply accept it. */
function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

async function expectWrongVersion(
  attempt: Promise<unknown>,
  streamId: string,
  expected: ExpectedVersion,
  actual: number,
): Promise<void> {
  const error: unknown = await attempt.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(WrongExpectedVersionError);
  expect(error).toMatchObject({ streamId, expected, actual });
}

async function expectDuplicate(attempt: Promise<unknown>, eventId: string): Promise<void> {
  const error: unknown = await attempt.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(DuplicateEventIdError);
  expect(error).toMatchObject({ eventId });
}

/** A subscription that records what it receives. */
function record(
  store: EventStore,
  after: number,
): { events: RecordedEvent[]; errors: unknown[]; sub: Subscription } {
  const events: RecordedEvent[] = [];
  const errors: unknown[] = [];
  const sub = store.subscribe({
    after,
    handler: (event) => {
      events.push(event);
    },
    onError: (error) => errors.push(error),
  });
  return { events, errors, sub };
}

export function eventStoreContract(name: string, create: EventStoreFactory): void {
  describe(`event store contract: ${name}`, () => {
    let store: EventStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await create());
    });

    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    /** Appends `count` events to `streamId` with expected version 'any'; returns them. */
    async function seed(streamId: string, count: number, type = 'Seeded'): Promise<NewEvent[]> {
      const events = Array.from({ length: count }, (_, index) => newEvent(type, { index }));
      await store.append([{ streamId, expectedVersion: 'any', events }]);
      return events;
    }

    async function snapshot(): Promise<{ head: number; all: readonly RecordedEvent[] }> {
      return { head: await store.headPosition(), all: await store.readAll(0, 100_000) };
    }

    describe('expected version', () => {
      it("'no_stream' creates a stream with versions from 0", async () => {
        const result = await store.append([
          { streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A'), newEvent('B')] },
        ]);
        expect(result).toEqual({
          lastGlobalPosition: 2,
          streams: [{ streamId: 's', nextExpectedVersion: 1 }],
        });
        const stream = await store.readStream('s');
        expect(stream.version).toBe(1);
        expect(stream.events.map((event) => [event.type, event.streamVersion])).toEqual([
          ['A', 0],
          ['B', 1],
        ]);
      });

      it("'no_stream' fails on an existing stream", async () => {
        await seed('s', 2);
        await expectWrongVersion(
          store.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A')] }]),
          's',
          'no_stream',
          1,
        );
        expect((await store.readStream('s')).version).toBe(1);
      });

      it('a number succeeds when it is the current version', async () => {
        await seed('s', 3);
        const result = await store.append([{ streamId: 's', expectedVersion: 2, events: [newEvent('A')] }]);
        expect(result.streams).toEqual([{ streamId: 's', nextExpectedVersion: 3 }]);
        expect(result.lastGlobalPosition).toBe(4);
      });

      it('a stale number fails and reports the actual version', async () => {
        await seed('s', 3);
        await expectWrongVersion(
          store.append([{ streamId: 's', expectedVersion: 1, events: [newEvent('A')] }]),
          's',
          1,
          2,
        );
        await expectWrongVersion(
          store.append([{ streamId: 's', expectedVersion: 5, events: [newEvent('A')] }]),
          's',
          5,
          2,
        );
        expect(await store.headPosition()).toBe(3);
      });

      it('a number fails on a missing stream, which has version -1', async () => {
        await expectWrongVersion(
          store.append([{ streamId: 's', expectedVersion: 0, events: [newEvent('A')] }]),
          's',
          0,
          -1,
        );
        expect(await store.headPosition()).toBe(0);
      });

      it('-1 means the stream must not exist yet', async () => {
        await store.append([{ streamId: 's', expectedVersion: -1, events: [newEvent('A')] }]);
        await expectWrongVersion(
          store.append([{ streamId: 's', expectedVersion: -1, events: [newEvent('B')] }]),
          's',
          -1,
          0,
        );
      });

      it("'stream_exists' succeeds on an existing stream and fails on a missing one", async () => {
        await seed('s', 1);
        const result = await store.append([
          { streamId: 's', expectedVersion: 'stream_exists', events: [newEvent('A')] },
        ]);
        expect(result.streams).toEqual([{ streamId: 's', nextExpectedVersion: 1 }]);
        await expectWrongVersion(
          store.append([{ streamId: 'missing', expectedVersion: 'stream_exists', events: [newEvent('A')] }]),
          'missing',
          'stream_exists',
          -1,
        );
        expect((await store.readStream('missing')).version).toBe(-1);
      });

      it("'any' appends to a missing and to an existing stream", async () => {
        await store.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('A')] }]);
        const result = await store.append([
          { streamId: 's', expectedVersion: 'any', events: [newEvent('B')] },
        ]);
        expect(result).toEqual({
          lastGlobalPosition: 2,
          streams: [{ streamId: 's', nextExpectedVersion: 1 }],
        });
      });

      it('a stream named twice in one batch is checked entry by entry, in request order', async () => {
        const result = await store.append([
          { streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A')] },
          { streamId: 's', expectedVersion: 0, events: [newEvent('B')] },
        ]);
        expect(result.streams).toEqual([
          { streamId: 's', nextExpectedVersion: 0 },
          { streamId: 's', nextExpectedVersion: 1 },
        ]);
        await expectWrongVersion(
          store.append([
            { streamId: 's', expectedVersion: 1, events: [newEvent('C')] },
            { streamId: 's', expectedVersion: 1, events: [newEvent('D')] },
          ]),
          's',
          1,
          2,
        );
        expect((await store.readStream('s')).version).toBe(1);
      });
    });

    describe('guard entries (no events)', () => {
      it('a holding guard lets the batch through and leaves its stream untouched', async () => {
        await seed('guarded', 2);
        const result = await store.append([
          { streamId: 'guarded', expectedVersion: 1, events: [] },
          { streamId: 'missing', expectedVersion: 'no_stream', events: [] },
          { streamId: 'target', expectedVersion: 'no_stream', events: [newEvent('A')] },
        ]);
        expect(result).toEqual({
          lastGlobalPosition: 3,
          streams: [
            { streamId: 'guarded', nextExpectedVersion: 1 },
            { streamId: 'missing', nextExpectedVersion: -1 },
            { streamId: 'target', nextExpectedVersion: 0 },
          ],
        });
        expect((await store.readStream('guarded')).version).toBe(1);
        expect(await store.readStream('missing')).toEqual({ version: -1, events: [] });
      });

      it('a failing guard stores nothing', async () => {
        await seed('guarded', 2);
        const before = await snapshot();
        await expectWrongVersion(
          store.append([
            { streamId: 'target', expectedVersion: 'no_stream', events: [newEvent('A')] },
            { streamId: 'guarded', expectedVersion: 0, events: [] },
          ]),
          'guarded',
          0,
          1,
        );
        expect(await snapshot()).toEqual(before);
        expect((await store.readStream('target')).version).toBe(-1);
      });

      it('a batch of guards only stores nothing and answers the current head', async () => {
        await seed('guarded', 2);
        const result = await store.append([
          { streamId: 'guarded', expectedVersion: 'stream_exists', events: [] },
        ]);
        expect(result).toEqual({
          lastGlobalPosition: 2,
          streams: [{ streamId: 'guarded', nextExpectedVersion: 1 }],
        });
        expect(await store.headPosition()).toBe(2);
      });
    });

    describe('atomic batches and positions', () => {
      it('gives a multi-stream batch consecutive positions in request order', async () => {
        await seed('b', 1);
        const a1 = newEvent('A1');
        const b1 = newEvent('B1');
        const b2 = newEvent('B2');
        const a2 = newEvent('A2');
        const result = await store.append([
          { streamId: 'a', expectedVersion: 'no_stream', events: [a1] },
          { streamId: 'b', expectedVersion: 0, events: [b1, b2] },
          { streamId: 'c', expectedVersion: 'any', events: [] },
        ]);
        expect(result).toEqual({
          lastGlobalPosition: 4,
          streams: [
            { streamId: 'a', nextExpectedVersion: 0 },
            { streamId: 'b', nextExpectedVersion: 2 },
            { streamId: 'c', nextExpectedVersion: -1 },
          ],
        });
        await store.append([{ streamId: 'a', expectedVersion: 0, events: [a2] }]);
        const all = await store.readAll(0, 100);
        expect(
          all.map((event) => [event.globalPosition, event.streamId, event.streamVersion, event.eventId]),
        ).toEqual([
          [1, 'b', 0, all[0]?.eventId],
          [2, 'a', 0, a1.eventId],
          [3, 'b', 1, b1.eventId],
          [4, 'b', 2, b2.eventId],
          [5, 'a', 1, a2.eventId],
        ]);
      });

      it('stores nothing from the first stream when the second stream fails', async () => {
        await seed('second', 1);
        const before = await snapshot();
        await expectWrongVersion(
          store.append([
            { streamId: 'first', expectedVersion: 'no_stream', events: [newEvent('A'), newEvent('B')] },
            { streamId: 'second', expectedVersion: 'no_stream', events: [newEvent('C')] },
          ]),
          'second',
          'no_stream',
          0,
        );
        expect(await snapshot()).toEqual(before);
        expect(await store.readStream('first')).toEqual({ version: -1, events: [] });
      });

      it('keeps positions gap-free across failed appends', async () => {
        await seed('s', 2);
        await expect(
          store.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('X')] }]),
        ).rejects.toBeInstanceOf(WrongExpectedVersionError);
        await seed('t', 1);
        await seed('s', 2);
        expect(positions(await store.readAll(0, 100))).toEqual([1, 2, 3, 4, 5]);
        expect(await store.headPosition()).toBe(5);
      });
    });

    describe('idempotent append by event id', () => {
      it('returns the stored positions for a retried batch and stores nothing new', async () => {
        await seed('other', 1);
        const batch = [
          { streamId: 'a', expectedVersion: 'no_stream' as const, events: [newEvent('A1'), newEvent('A2')] },
          { streamId: 'b', expectedVersion: 'no_stream' as const, events: [newEvent('B1')] },
        ];
        const first = await store.append(batch);
        await seed('other', 1);
        const before = await snapshot();
        // The expected versions no longer hold: a retry must still get the first answer's positions.
        const retry = await store.append(batch);
        expect(retry).toEqual(first);
        expect(await snapshot()).toEqual(before);
      });

      it("reports the streams' current versions on retry", async () => {
        const batch = [{ streamId: 'a', expectedVersion: 'no_stream' as const, events: [newEvent('A1')] }];
        await store.append(batch);
        await store.append([{ streamId: 'a', expectedVersion: 0, events: [newEvent('A2')] }]);
        expect(await store.append(batch)).toEqual({
          lastGlobalPosition: 1,
          streams: [{ streamId: 'a', nextExpectedVersion: 1 }],
        });
      });

      it('finds the retry anchor in the first entry that has events', async () => {
        await seed('guarded', 1);
        const batch = [
          { streamId: 'guarded', expectedVersion: 0, events: [] },
          { streamId: 'a', expectedVersion: 'no_stream' as const, events: [newEvent('A1')] },
        ];
        const first = await store.append(batch);
        await seed('guarded', 1);
        expect(await store.append(batch)).toEqual({
          lastGlobalPosition: first.lastGlobalPosition,
          streams: [
            { streamId: 'guarded', nextExpectedVersion: 1 },
            { streamId: 'a', nextExpectedVersion: 0 },
          ],
        });
        expect(await store.headPosition()).toBe(3);
      });

      it('rejects a batch that only partly matches the stored one', async () => {
        const stored = newEvent('A1');
        await store.append([{ streamId: 'a', expectedVersion: 'no_stream', events: [stored] }]);
        const extra = newEvent('A2');
        const before = await snapshot();
        await expectDuplicate(
          store.append([{ streamId: 'a', expectedVersion: 'any', events: [stored, extra] }]),
          extra.eventId,
        );
        expect(await snapshot()).toEqual(before);
      });

      it('rejects a stored event id under another stream or type', async () => {
        const stored = newEvent('A1');
        await store.append([{ streamId: 'a', expectedVersion: 'no_stream', events: [stored] }]);
        await expectDuplicate(
          store.append([{ streamId: 'b', expectedVersion: 'any', events: [stored] }]),
          stored.eventId,
        );
        await expectDuplicate(
          store.append([{ streamId: 'a', expectedVersion: 'any', events: [{ ...stored, type: 'Other' }] }]),
          stored.eventId,
        );
        expect(await store.headPosition()).toBe(1);
      });

      it('rejects a new batch whose later event id is already stored, storing nothing', async () => {
        const stored = newEvent('A1');
        await store.append([{ streamId: 'a', expectedVersion: 'no_stream', events: [stored] }]);
        const before = await snapshot();
        await expectDuplicate(
          store.append([
            { streamId: 'b', expectedVersion: 'no_stream', events: [newEvent('B1')] },
            { streamId: 'a', expectedVersion: 'any', events: [stored] },
          ]),
          stored.eventId,
        );
        expect(await snapshot()).toEqual(before);
        expect((await store.readStream('b')).version).toBe(-1);
      });

      it('rejects the same event id twice in one batch, storing nothing', async () => {
        const event = newEvent('A1');
        await expectDuplicate(
          store.append([
            { streamId: 'a', expectedVersion: 'any', events: [event] },
            { streamId: 'b', expectedVersion: 'any', events: [event] },
          ]),
          event.eventId,
        );
        expect(await store.headPosition()).toBe(0);
      });
    });

    describe('reading', () => {
      it('reads an empty store', async () => {
        expect(await store.headPosition()).toBe(0);
        expect(await store.readAll(0, 10)).toEqual([]);
        expect(await store.readStream('nothing')).toEqual({ version: -1, events: [] });
      });

      it('records the whole envelope, leaving absent optional fields absent', async () => {
        const full = newEvent(
          'MemberCreated',
          { name: 'Ada', nested: { list: [1, 'two', null, true], empty: {} } },
          {
            schemaVersion: 3,
            tenantId: 'tenant-1',
            causationId: 'cause-1',
            actor: { appId: 'admin-portal', userId: 'user-1' },
            occurredAt: '2025-01-02T03:04:05.678Z',
          },
        );
        const bare = newEvent('PersonalAccountRegistered');
        await store.append([{ streamId: 'user-1', expectedVersion: 'no_stream', events: [full, bare] }]);
        const [first, second] = await store.readAll(0, 10);
        expect(first).toEqual({ ...full, streamId: 'user-1', streamVersion: 0, globalPosition: 1 });
        expect(second).toEqual({ ...bare, streamId: 'user-1', streamVersion: 1, globalPosition: 2 });
        expect(second && Object.keys(second).sort()).toEqual(
          [
            'actor',
            'correlationId',
            'data',
            'eventId',
            'globalPosition',
            'occurredAt',
            'schemaVersion',
            'streamId',
            'streamVersion',
            'type',
          ].sort(),
        );
        expect((await store.readStream('user-1')).events).toEqual([first, second]);
      });

      it('reads one stream in order, and all events after a position with a limit', async () => {
        await seed('a', 2);
        await seed('b', 3);
        await seed('a', 1);
        const stream = await store.readStream('a');
        expect(stream.version).toBe(2);
        expect(stream.events.map((event) => [event.streamVersion, event.globalPosition])).toEqual([
          [0, 1],
          [1, 2],
          [2, 6],
        ]);
        expect(positions(await store.readAll(0, 100))).toEqual([1, 2, 3, 4, 5, 6]);
        expect(positions(await store.readAll(2, 3))).toEqual([3, 4, 5]);
        expect(positions(await store.readAll(5, 3))).toEqual([6]);
        expect(await store.readAll(6, 3)).toEqual([]);
        expect(await store.readAll(0, 0)).toEqual([]);
        expect(await store.headPosition()).toBe(6);
      });

      it('cannot be changed through a returned event, nor through the appended input', async () => {
        const data = { name: 'Ada', nested: { count: 1 } };
        await store.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A', data)] }]);
        data.nested.count = 2;
        data.name = 'Bob';

        const [read] = await store.readAll(0, 1);
        if (!read) throw new Error('event missing');
        tryMutate(() => {
          (read.data as Record<string, unknown>).name = 'Eve';
        });
        tryMutate(() => {
          (read.data.nested as Record<string, unknown>).count = 3;
        });
        tryMutate(() => {
          (read.actor as { appId: string }).appId = 'mallory';
        });
        tryMutate(() => {
          (read as { type: string }).type = 'Forged';
        });
        const stream = await store.readStream('s');
        tryMutate(() => {
          (stream.events as RecordedEvent[]).length = 0;
        });

        const [again] = (await store.readStream('s')).events;
        expect(again?.type).toBe('A');
        expect(again?.data).toEqual({ name: 'Ada', nested: { count: 1 } });
        expect(again?.actor.appId).toBe('event-store-tests');
      });
    });

    describe('reading a stream from a version', () => {
      /** Stream 's' at version 4, its events interleaved with another stream's. */
      async function seedInterleaved(): Promise<void> {
        await seed('s', 2);
        await seed('other', 3);
        await seed('s', 3);
      }

      it('from 0 reads what a read without options reads', async () => {
        await seedInterleaved();
        const full = await store.readStream('s');
        expect(full.version).toBe(4);
        expect(await store.readStream('s', { fromVersion: 0 })).toEqual(full);
        expect(await store.readStream('s', {})).toEqual(full);
      });

      it("from the middle gives the full read's tail and the current version", async () => {
        await seedInterleaved();
        const full = await store.readStream('s');
        const tail = await store.readStream('s', { fromVersion: 2 });
        expect(tail).toEqual({ version: 4, events: full.events.slice(2) });
        expect(tail.events.map((event) => [event.streamVersion, event.globalPosition])).toEqual([
          [2, 6],
          [3, 7],
          [4, 8],
        ]);
      });

      it('from exactly the last version gives the last event', async () => {
        await seedInterleaved();
        const full = await store.readStream('s');
        expect(await store.readStream('s', { fromVersion: 4 })).toEqual({
          version: 4,
          events: full.events.slice(4),
        });
      });

      it('past the end gives no events and still the current version', async () => {
        await seedInterleaved();
        expect(await store.readStream('s', { fromVersion: 5 })).toEqual({ version: 4, events: [] });
        expect(await store.readStream('s', { fromVersion: 1000 })).toEqual({ version: 4, events: [] });
        expect(await store.readStream('s', { fromVersion: Number.MAX_SAFE_INTEGER })).toEqual({
          version: 4,
          events: [],
        });
      });

      it('on a missing stream gives version -1 and no events', async () => {
        await seed('other', 2);
        for (const fromVersion of [0, 1, 7]) {
          expect(await store.readStream('missing', { fromVersion })).toEqual({ version: -1, events: [] });
        }
      });

      it('on a stream of several hundred events gives only the tail', async () => {
        for (let batch = 0; batch < 4; batch += 1) {
          await seed('long', 100);
          await seed('other', 1);
        }
        const full = await store.readStream('long');
        expect(full.version).toBe(399);
        const tail = await store.readStream('long', { fromVersion: 397 });
        expect(tail.version).toBe(399);
        expect(tail.events.map((event) => event.streamVersion)).toEqual([397, 398, 399]);
        expect(tail.events).toEqual(full.events.slice(397));
      });

      it('lets a cache catch up on exactly the events after the version it holds', async () => {
        await seed('s', 3);
        const held = await store.readStream('s');
        await seed('other', 1);
        const added = await seed('s', 2);
        const caughtUp = await store.readStream('s', { fromVersion: held.version + 1 });
        expect(caughtUp.version).toBe(4);
        expect(caughtUp.events.map((event) => event.eventId)).toEqual(added.map((event) => event.eventId));
        expect([...held.events, ...caughtUp.events]).toEqual((await store.readStream('s')).events);
      });

      it('rejects a fromVersion that is not a non-negative integer with a RangeError', async () => {
        await seed('s', 2);
        for (const fromVersion of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
          await expect(store.readStream('s', { fromVersion })).rejects.toBeInstanceOf(RangeError);
          await expect(store.readStream('missing', { fromVersion })).rejects.toBeInstanceOf(RangeError);
        }
        const notANumber = { fromVersion: '1' } as unknown as { fromVersion: number };
        await expect(store.readStream('s', notANumber)).rejects.toBeInstanceOf(RangeError);
      });
    });

    describe('subscriptions', () => {
      it('delivers every event from the beginning, then live ones', async () => {
        await seed('a', 3);
        const { events, errors, sub } = record(store, 0);
        await waitUntil(() => events.length === 3, 'caught up to 3');
        await seed('b', 2);
        await waitUntil(() => events.length === 5, 'caught up to 5');
        await sub.close();
        expect(positions(events)).toEqual([1, 2, 3, 4, 5]);
        expect(errors).toEqual([]);
        expect(events[3]?.streamId).toBe('b');
      });

      it('starts after the given position', async () => {
        await seed('a', 5);
        const { events, sub } = record(store, 3);
        await waitUntil(() => events.length === 2, 'caught up to 5');
        await seed('a', 1);
        await waitUntil(() => events.length === 3, 'caught up to 6');
        await sub.close();
        expect(positions(events)).toEqual([4, 5, 6]);
      });

      it('waits live when subscribed at the head or beyond an empty log', async () => {
        const { events, sub } = record(store, 0);
        await turn();
        expect(events).toEqual([]);
        await seed('a', 1);
        await waitUntil(() => events.length === 1, 'caught up to 1');
        await seed('a', 2);
        await waitUntil(() => events.length === 3, 'caught up to 3');
        await sub.close();
        expect(positions(events)).toEqual([1, 2, 3]);
      });

      it('misses nothing and repeats nothing while appends race the catch-up', async () => {
        // More than one catch-up page, so that the seam between pages and live is crossed under load.
        for (let batch = 0; batch < 12; batch += 1) await seed(`pre-${batch % 3}`, 100);
        const delivered: number[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: async (event) => {
            delivered.push(event.globalPosition);
            if (event.globalPosition % 7 === 0) await turn();
          },
        });
        for (let batch = 0; batch < 60; batch += 1) {
          await store.append([
            {
              streamId: `live-${batch % 4}`,
              expectedVersion: 'any',
              events: [newEvent('L1'), newEvent('L2')],
            },
            { streamId: `live-${(batch + 1) % 4}`, expectedVersion: 'any', events: [newEvent('L3')] },
          ]);
          await turn();
        }
        const total = 1200 + 60 * 3;
        expect(await store.headPosition()).toBe(total);
        await waitUntil(() => delivered.length >= total, `caught up to ${total}`);
        // A sentinel proves the subscription is past everything: a duplicate would show before it.
        await seed('sentinel', 1);
        await waitUntil(() => delivered.includes(total + 1), 'sentinel delivered');
        await sub.close();
        expect(delivered).toEqual(range(1, total + 1));
      });

      it('never runs two handler calls at once', async () => {
        await seed('a', 20);
        let running = 0;
        let maxRunning = 0;
        let count = 0;
        const sub = store.subscribe({
          after: 0,
          handler: async () => {
            running += 1;
            maxRunning = Math.max(maxRunning, running);
            await turn();
            await turn();
            running -= 1;
            count += 1;
          },
        });
        await seed('a', 20);
        await waitUntil(() => count === 40, 'caught up to 40');
        await sub.close();
        expect(maxRunning).toBe(1);
      });

      it('stops at a failing handler and reports the error', async () => {
        await seed('a', 4);
        const failure = new Error('projection broke');
        const handled: number[] = [];
        const errors: unknown[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: (event) => {
            handled.push(event.globalPosition);
            if (event.globalPosition === 2) throw failure;
          },
          onError: (error) => errors.push(error),
        });
        await waitUntil(() => errors.length === 1, 'the error is reported');
        expect(errors).toEqual([failure]);
        await seed('a', 2);
        // Another subscriber reaching the head shows the new events were there to deliver.
        const witness = record(store, 0);
        await waitUntil(() => witness.events.length === 6, 'witness caught up to 6');
        await witness.sub.close();
        await sub.close();
        expect(handled).toEqual([1, 2]);
      });

      it('reports an asynchronous handler failure the same way', async () => {
        await seed('a', 2);
        const errors: unknown[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: async () => {
            await turn();
            throw new Error('async failure');
          },
          onError: (error) => errors.push(error),
        });
        await waitUntil(() => errors.length === 1, 'the error is reported');
        await sub.close();
        expect(errors).toMatchObject([{ message: 'async failure' }]);
      });

      it('close() waits for the running handler call and stops delivery', async () => {
        await seed('a', 3);
        const gate = deferred();
        const started: number[] = [];
        const finished: number[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: async (event) => {
            started.push(event.globalPosition);
            await gate.promise;
            finished.push(event.globalPosition);
          },
        });
        await waitUntil(() => started.length === 1, 'the first handler call started');
        let closed = false;
        const closing = sub.close().then(() => {
          closed = true;
        });
        for (let i = 0; i < 5; i += 1) await turn();
        expect(closed).toBe(false);
        gate.resolve();
        await closing;
        expect(finished).toEqual([1]);
        await seed('a', 1);
        const witness = record(store, 0);
        await waitUntil(() => witness.events.length === 4, 'witness caught up to 4');
        await witness.sub.close();
        expect(started).toEqual([1]);
      });

      it('lets a handler close its own subscription without waiting for itself', async () => {
        await seed('a', 5);
        const handled: number[] = [];
        let closedFromHandler: Promise<void> | undefined;
        const sub: Subscription = store.subscribe({
          after: 0,
          handler: async (event) => {
            handled.push(event.globalPosition);
            if (event.globalPosition === 2) {
              closedFromHandler = sub.close();
              await closedFromHandler;
            }
          },
        });
        await waitUntil(() => closedFromHandler !== undefined, 'the handler closed the subscription');
        await closedFromHandler;
        await sub.close();
        expect(handled).toEqual([1, 2]);
      });

      it('delivers events that a handler appends (a process manager)', async () => {
        await seed('orders', 3);
        const delivered: string[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: async (event) => {
            delivered.push(event.streamId);
            if (event.streamId === 'orders') {
              await store.append([
                { streamId: 'reactions', expectedVersion: 'any', events: [newEvent('Reacted')] },
              ]);
            }
          },
        });
        await waitUntil(() => delivered.length === 6, 'caught up to 6');
        await sub.close();
        expect(delivered.slice(0, 3)).toEqual(['orders', 'orders', 'orders']);
        expect(delivered.slice(3)).toEqual(['reactions', 'reactions', 'reactions']);
      });

      it('stops its subscriptions when the store closes', async () => {
        await seed('a', 2);
        const { events, sub } = record(store, 0);
        await waitUntil(() => events.length === 2, 'caught up to 2');
        await store.close();
        await sub.close();
        expect(positions(events)).toEqual([1, 2]);
      });
    });

    describe('concurrency', () => {
      it("lets exactly one of 20 concurrent 'no_stream' appends win", async () => {
        const attempts = await Promise.allSettled(
          Array.from({ length: 20 }, (_, index) =>
            store.append([
              { streamId: 'claim', expectedVersion: 'no_stream', events: [newEvent('Claimed', { index })] },
            ]),
          ),
        );
        const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
        const lost = attempts.filter((attempt) => attempt.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(19);
        for (const attempt of lost) expect(attempt.reason).toBeInstanceOf(WrongExpectedVersionError);
        const stream = await store.readStream('claim');
        expect(stream.version).toBe(0);
        expect(await store.headPosition()).toBe(1);
      });

      it('lets exactly one of 10 concurrent appends at the same version win', async () => {
        await seed('counter', 1);
        const attempts = await Promise.allSettled(
          Array.from({ length: 10 }, () =>
            store.append([{ streamId: 'counter', expectedVersion: 0, events: [newEvent('Incremented')] }]),
          ),
        );
        expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
        expect((await store.readStream('counter')).version).toBe(1);
      });

      it("gives 50 concurrent 'any' appends to different streams the positions 1..50", async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            store.append([
              { streamId: `stream-${index}`, expectedVersion: 'any', events: [newEvent('Touched')] },
            ]),
          ),
        );
        expect(results.map((result) => result.lastGlobalPosition).sort((a, b) => a - b)).toEqual(
          range(1, 50),
        );
        const all = await store.readAll(0, 100);
        expect(positions(all)).toEqual(range(1, 50));
        expect(new Set(all.map((event) => event.streamId)).size).toBe(50);
      });
    });
  });
}
