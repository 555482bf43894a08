// The KurrentDB adapter's own logic (ledger, event id markers, position mapping, reordering,
// resubscription) on an in-memory MODEL of the client (./testing/kurrentdb-model.ts), in every
// test run. This is not KurrentDB: the server itself is exercised by
// eventstoredb-event-store.int-spec.ts, which runs only when EVENTSTORE_CONNECTION_STRING is set.
import { describe, expect, it, vi } from 'vitest';
import { eventStoreContract } from '../testing/contract.js';
import { newEvent } from '../testing/events.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { eventStoreDbAdapterSuite } from './testing/adapter-suite.js';
import { KurrentDbModel } from './testing/kurrentdb-model.js';

eventStoreContract('eventstoredb adapter on an in-memory model of the client (not a server)', async () => {
  const model = new KurrentDbModel();
  const store = await EventStoreDbEventStore.connect({ client: model.client() });
  return { store };
});

// One model per test file run: namespaces keep the tests apart, as on a shared server.
const model = new KurrentDbModel();
let namespaces = 0;

eventStoreDbAdapterSuite('in-memory model of the client (not a server)', {
  open: (namespace, tuning) =>
    EventStoreDbEventStore.connect({ client: model.client(), namespace, ...tuning }),
  freshNamespace: () => `model-${(namespaces += 1)}`,
  failReads: (count) => {
    model.failReads = count;
  },
  dropLiveSubscriptions: () => model.dropSubscriptions(),
});

describe('EventStoreDbEventStore on a server that gives no log positions on stream reads', () => {
  it('still reads every checkpoint, scanning $all from the start, and says so once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const model = new KurrentDbModel();
      model.streamReadPositions = false;
      const store = await EventStoreDbEventStore.connect({ client: model.client(), namespace: 'old-server' });
      for (let batch = 0; batch < 6; batch += 1) {
        await store.append([
          { streamId: `s-${batch % 2}`, expectedVersion: 'any', events: [newEvent('E'), newEvent('F')] },
        ]);
      }
      for (let after = 0; after <= 12; after += 1) {
        const expected = Array.from({ length: Math.min(3, 12 - after) }, (_, index) => after + 1 + index);
        expect((await store.readAll(after, 3)).map((event) => event.globalPosition)).toEqual(expected);
      }
      await store.close();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/no log position/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('EventStoreDbEventStore reading a stream from a version', () => {
  const events = (count: number) => Array.from({ length: count }, () => newEvent('E'));

  it('asks the server for the tail only', async () => {
    const model = new KurrentDbModel();
    const store = await EventStoreDbEventStore.connect({ client: model.client() });
    for (let batch = 0; batch < 3; batch += 1) {
      await store.append([{ streamId: 'long', expectedVersion: 'any', events: events(100) }]);
    }
    let before = model.streamEventsRead;
    const tail = await store.readStream('long', { fromVersion: 297 });
    expect(tail.events.map((event) => event.streamVersion)).toEqual([297, 298, 299]);
    expect(model.streamEventsRead - before).toBe(3);
    before = model.streamEventsRead;
    // Past the end: the empty read, then the last event for the version.
    expect(await store.readStream('long', { fromVersion: 300 })).toEqual({ version: 299, events: [] });
    expect(model.streamEventsRead - before).toBe(1);
    await store.close();
  });

  it('answers consistently when an append lands between the empty read and the version read', async () => {
    const model = new KurrentDbModel();
    const writer = await EventStoreDbEventStore.connect({ client: model.client() });
    await writer.append([{ streamId: 's', expectedVersion: 'no_stream', events: events(2) }]);
    const client = model.client();
    let raced = false;
    // The reader's client appends through the writer just before the reader's version read.
    const racing = {
      ...client,
      readStream: (name: string, options?: Parameters<typeof client.readStream>[1]) => {
        if (raced || name !== writer.names.data('s') || options?.direction !== 'backwards') {
          return client.readStream(name, options);
        }
        raced = true;
        return (async function* () {
          await writer.append([{ streamId: 's', expectedVersion: 1, events: events(2) }]);
          yield* client.readStream(name, options);
        })();
      },
    } as unknown as typeof client;
    const reader = await EventStoreDbEventStore.connect({ client: racing });
    const result = await reader.readStream('s', { fromVersion: 2 });
    expect(raced).toBe(true);
    expect(result.version).toBe(3);
    expect(result.events.map((event) => event.streamVersion)).toEqual([2, 3]);
    await Promise.all([reader.close(), writer.close()]);
  });
});
