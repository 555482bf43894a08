// What the KurrentDB adapter promises beyond the shared contract: several instances on one
// namespace, the position mapping on a cold cache, batches the server reorders, live delivery
// across instances and resubscription after a drop. Run against the in-memory model
// (eventstoredb-event-store.spec.ts) and against a server (eventstoredb-event-store.int-spec.ts).
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ForeignEventError } from '../mapping.js';
import { WrongExpectedVersionError, type RecordedEvent, type StreamAppend } from '../../port.js';
import { newEvent } from '../../testing/events.js';
import type { EventStoreDbEventStore, EventStoreDbEventStoreOptions } from '../eventstoredb-event-store.js';

export type StoreTuning = Pick<
  EventStoreDbEventStoreOptions,
  'pollIntervalMs' | 'pageSize' | 'reconnectTimeoutMs'
>;

export interface AdapterHarness {
  /** A new store instance on `namespace` (the suite closes it). */
  open(namespace: string, tuning?: StoreTuning): Promise<EventStoreDbEventStore>;
  /** A namespace no other test or run uses. */
  freshNamespace(): string;
  /** Makes the next `count` reads of $all fail as a dropped connection does (where the harness can). */
  failReads?(count: number): void;
  /** Drops every live subscription as a lost connection does (default: restartLiveSubscription). */
  dropLiveSubscriptions?(stores: readonly EventStoreDbEventStore[]): void;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, index) => from + index);
}

function positions(events: readonly RecordedEvent[]): number[] {
  return events.map((event) => event.globalPosition);
}

export function eventStoreDbAdapterSuite(name: string, harness: AdapterHarness): void {
  describe(`EventStoreDbEventStore: ${name}`, () => {
    const opened: EventStoreDbEventStore[] = [];

    async function open(namespace: string, tuning?: StoreTuning): Promise<EventStoreDbEventStore> {
      const store = await harness.open(namespace, tuning);
      opened.push(store);
      return store;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    it('keeps positions gap-free and in order while two instances race (4 writers, a racing reader)', async () => {
      const namespace = harness.freshNamespace();
      const stores = [await open(namespace), await open(namespace)];
      const writers = 4;
      const batches = 25;
      const appended = new Set<string>();
      let writing = true;
      const writes = Promise.all(
        Array.from({ length: writers }, async (_, writer) => {
          const store = stores[writer % 2]!;
          for (let batch = 0; batch < batches; batch += 1) {
            const entries: StreamAppend[] = [
              {
                streamId: `w${writer}-${batch % 3}`,
                expectedVersion: 'any',
                events: Array.from({ length: 1 + (batch % 3) }, () => newEvent('Written', { writer, batch })),
              },
            ];
            if (batch % 4 === 0) {
              entries.push({ streamId: 'shared', expectedVersion: 'any', events: [newEvent('AlsoWritten')] });
            }
            for (const entry of entries) for (const event of entry.events) appended.add(event.eventId);
            await store.append(entries);
          }
        }),
      ).finally(() => {
        writing = false;
      });

      const reader = stores[1]!;
      let lastSeen = 0;
      const jumps: string[] = [];
      const seen = new Set<string>();
      for (;;) {
        const stillWriting = writing;
        const page = await reader.readAll(lastSeen, 7);
        for (const event of page) {
          if (event.globalPosition !== lastSeen + 1) jumps.push(`${lastSeen} -> ${event.globalPosition}`);
          lastSeen = event.globalPosition;
          seen.add(event.eventId);
        }
        if (!stillWriting && page.length === 0) break;
      }
      await writes;
      expect(jumps).toEqual([]);
      expect(seen).toEqual(appended);
      expect(lastSeen).toBe(appended.size);
      expect(await stores[0]!.headPosition()).toBe(appended.size);
    }, 120_000);

    it("lets exactly one of 20 concurrent 'no_stream' appends win across two instances", async () => {
      const namespace = harness.freshNamespace();
      const a = await open(namespace);
      const b = await open(namespace);
      const attempts = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? a : b).append([
            {
              streamId: 'claim-x',
              expectedVersion: 'no_stream',
              events: [newEvent('UniquenessClaimed', { index })],
            },
            { streamId: `owner-${index}`, expectedVersion: 'no_stream', events: [newEvent('Registered')] },
          ]),
        ),
      );
      const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const attempt of attempts) {
        if (attempt.status === 'rejected') {
          expect(attempt.reason).toBeInstanceOf(WrongExpectedVersionError);
          expect(attempt.reason).toMatchObject({ streamId: 'claim-x', expected: 'no_stream', actual: 0 });
        }
      }
      expect(await b.headPosition()).toBe(2);
      expect(positions(await a.readAll(0, 10))).toEqual([1, 2]);
    }, 60_000);

    it('reads a stream named in two non-adjacent entries back in position order', async () => {
      const store = await open(harness.freshNamespace());
      const [a1, b1, a2, a3] = [newEvent('A1'), newEvent('B1'), newEvent('A2'), newEvent('A3')];
      const result = await store.append([
        { streamId: 'a', expectedVersion: 'no_stream', events: [a1] },
        { streamId: 'b', expectedVersion: 'no_stream', events: [b1] },
        { streamId: 'a', expectedVersion: 0, events: [a2, a3] },
      ]);
      expect(result).toEqual({
        lastGlobalPosition: 4,
        streams: [
          { streamId: 'a', nextExpectedVersion: 0 },
          { streamId: 'b', nextExpectedVersion: 0 },
          { streamId: 'a', nextExpectedVersion: 2 },
        ],
      });
      const all = await store.readAll(0, 10);
      expect(
        all.map((event) => [event.globalPosition, event.streamId, event.streamVersion, event.type]),
      ).toEqual([
        [1, 'a', 0, 'A1'],
        [2, 'b', 0, 'B1'],
        [3, 'a', 1, 'A2'],
        [4, 'a', 2, 'A3'],
      ]);
      // A page that ends inside the batch must not hand out 3 or 4 before 2.
      expect(positions(await store.readAll(0, 1))).toEqual([1]);
      expect(positions(await store.readAll(1, 1))).toEqual([2]);
      expect(positions(await store.readAll(2, 5))).toEqual([3, 4]);
      expect((await store.readStream('a')).events.map((event) => event.globalPosition)).toEqual([1, 3, 4]);
      const delivered: number[] = [];
      const sub = store.subscribe({
        after: 0,
        handler: (event) => void delivered.push(event.globalPosition),
      });
      await waitUntil(() => delivered.length === 4, 'caught up to 4');
      await sub.close();
      expect(delivered).toEqual([1, 2, 3, 4]);
    });

    it('reads from every checkpoint on an instance that has cached nothing', async () => {
      const namespace = harness.freshNamespace();
      const writer = await open(namespace);
      for (let batch = 0; batch < 17; batch += 1) {
        await writer.append([
          {
            streamId: `s-${batch % 4}`,
            expectedVersion: 'any',
            events: Array.from({ length: 1 + ((batch * 7) % 4) }, () => newEvent('E')),
          },
        ]);
      }
      const head = await writer.headPosition();
      for (const limit of [1, 3, 1000]) {
        // A fresh instance per limit: the lookups start from an empty ledger cache.
        const reader = await open(namespace);
        // Backwards, so that each lookup is not a step forward from the previous one.
        for (let after = head; after >= 0; after -= 1) {
          expect(positions(await reader.readAll(after, limit))).toEqual(
            range(after + 1, Math.min(after + limit, head)),
          );
        }
      }
      expect(positions(await writer.readAll(-5, 2))).toEqual([1, 2]);
      expect(positions(await writer.readAll(2.5, 2))).toEqual([3, 4]);
    }, 60_000);

    it('delivers to a subscriber on one instance what another instance appends', async () => {
      const namespace = harness.freshNamespace();
      // A probe this slow cannot be what delivers within the test: only the live subscription can.
      const a = await open(namespace, { pollIntervalMs: 60_000 });
      const b = await open(namespace, { pollIntervalMs: 60_000 });
      await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('Before')] }]);
      const received: number[] = [];
      const errors: unknown[] = [];
      const sub = a.subscribe({
        after: 0,
        handler: (event) => void received.push(event.globalPosition),
        onError: (error) => errors.push(error),
      });
      await waitUntil(() => received.length === 1, 'caught up to 1');
      for (let round = 2; round <= 4; round += 1) {
        await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('FromB')] }]);
        await waitUntil(() => received.length === round, `caught up to ${round}`);
      }
      await sub.close();
      expect(received).toEqual([1, 2, 3, 4]);
      expect(errors).toEqual([]);
    });

    it('resubscribes after the live subscription drops, and misses nothing', async () => {
      const namespace = harness.freshNamespace();
      const a = await open(namespace, { pollIntervalMs: 60_000 });
      const b = await open(namespace, { pollIntervalMs: 60_000 });
      const received: number[] = [];
      const errors: unknown[] = [];
      const sub = a.subscribe({
        after: 0,
        handler: (event) => void received.push(event.globalPosition),
        onError: (error) => errors.push(error),
      });
      await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('First')] }]);
      await waitUntil(() => received.length === 1, 'caught up to 1');
      const openedBefore = a.liveSubscriptionsOpened;
      for (let round = 2; round <= 4; round += 1) {
        if (harness.dropLiveSubscriptions) harness.dropLiveSubscriptions([a]);
        else a.restartLiveSubscription();
        // Appended while the subscription is down or coming back: found from where it was.
        await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('AfterDrop')] }]);
        await waitUntil(() => received.length === round, `caught up to ${round} after drop ${round - 1}`);
      }
      await waitUntil(() => a.liveSubscriptionsOpened >= openedBefore + 3, 'three resubscriptions');
      await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('Live')] }]);
      await waitUntil(() => received.length === 5, 'caught up to 5 on the last subscription');
      await sub.close();
      expect(received).toEqual([1, 2, 3, 4, 5]);
      expect(errors).toEqual([]);
    });

    if (harness.failReads) {
      const failReads = harness.failReads.bind(harness);

      it('rides out failed reads and resumes after the last delivered event', async () => {
        const store = await open(harness.freshNamespace(), { pollIntervalMs: 20 });
        await store.append([
          { streamId: 's', expectedVersion: 'any', events: [newEvent('A'), newEvent('B')] },
        ]);
        const received: number[] = [];
        const errors: unknown[] = [];
        const sub = store.subscribe({
          after: 0,
          handler: (event) => void received.push(event.globalPosition),
          onError: (error) => errors.push(error),
        });
        await waitUntil(() => received.length === 2, 'caught up to 2');
        failReads(3);
        await store.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('C')] }]);
        await waitUntil(() => received.length === 3, 'caught up to 3');
        await sub.close();
        expect(received).toEqual([1, 2, 3]);
        expect(errors).toEqual([]);
      });

      it('reports a failure that outlasts reconnectTimeoutMs, and stops', async () => {
        const store = await open(harness.freshNamespace(), { pollIntervalMs: 20, reconnectTimeoutMs: 100 });
        await store.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('A')] }]);
        const errors: unknown[] = [];
        failReads(1_000_000);
        const sub = store.subscribe({
          after: 0,
          handler: () => undefined,
          onError: (error) => errors.push(error),
        });
        await waitUntil(() => errors.length === 1, 'the failure is reported', 5000);
        failReads(0);
        await sub.close();
        expect(errors).toMatchObject([{ type: 'unavailable' }]);
      });
    }

    it('refuses an event in its namespace that it did not write', async () => {
      const store = await open(harness.freshNamespace());
      await store.append([{ streamId: 'mine', expectedVersion: 'no_stream', events: [newEvent('Mine')] }]);
      await store.client.appendToStream(store.names.data('mine'), {
        id: randomUUID(),
        contentType: 'application/json',
        type: 'Sneaked',
        data: { by: 'someone else' },
        metadata: undefined,
      });
      await expect(store.readStream('mine')).rejects.toBeInstanceOf(ForeignEventError);
      await expect(store.readAll(0, 10)).rejects.toBeInstanceOf(ForeignEventError);
      // The version check still sees it: nothing is appended on top of a stream the plan misread.
      await expect(
        store.append([{ streamId: 'mine', expectedVersion: 0, events: [newEvent('Next')] }]),
      ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    });

    it('refuses stream ids that differ only in case in one batch, storing nothing', async () => {
      const store = await open(harness.freshNamespace());
      await expect(
        store.append([
          { streamId: 'Case', expectedVersion: 'any', events: [newEvent('A')] },
          { streamId: 'case', expectedVersion: 'any', events: [newEvent('B')] },
        ]),
      ).rejects.toThrow(/ignoring case/);
      expect(await store.headPosition()).toBe(0);
      // Apart, they are two streams.
      await store.append([{ streamId: 'Case', expectedVersion: 'no_stream', events: [newEvent('A')] }]);
      await store.append([{ streamId: 'case', expectedVersion: 'no_stream', events: [newEvent('B')] }]);
      expect((await store.readStream('case')).events.map((event) => event.type)).toEqual(['B']);
    });

    it('keeps namespaces apart, and continues a namespace after a restart', async () => {
      const first = harness.freshNamespace();
      const second = harness.freshNamespace();
      const a = await open(first);
      const b = await open(second);
      const event = newEvent('TenantCreated', { name: 'Contoso' }, { tenantId: 't-1', causationId: 'c-1' });
      await a.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]);
      expect(await b.headPosition()).toBe(0);
      await b.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [newEvent('Other')] }]);
      expect((await a.readAll(0, 10)).map((read) => read.type)).toEqual(['TenantCreated']);

      const reopened = await open(first);
      expect(await reopened.readStream('tenant-1')).toEqual({
        version: 0,
        events: [{ ...event, streamId: 'tenant-1', streamVersion: 0, globalPosition: 1 }],
      });
      expect(
        await reopened.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]),
      ).toEqual({ lastGlobalPosition: 1, streams: [{ streamId: 'tenant-1', nextExpectedVersion: 0 }] });
      const next = await reopened.append([
        { streamId: 'tenant-1', expectedVersion: 0, events: [newEvent('DomainAdded')] },
      ]);
      expect(next.lastGlobalPosition).toBe(2);
    });
  });
}
