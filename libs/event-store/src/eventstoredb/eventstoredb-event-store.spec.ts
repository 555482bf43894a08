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
