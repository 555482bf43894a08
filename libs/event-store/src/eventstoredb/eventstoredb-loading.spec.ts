// Importing the event store library must not load the KurrentDB client (and its native bridge):
// a service on SQLite starts even where the bridge is missing. Simulated here by a client module
// that fails to load, as it does without a prebuilt bridge for the platform.
import { describe, expect, it, vi } from 'vitest';

vi.mock('@kurrent/kurrentdb-client', () => {
  throw new Error('Cannot find module @kurrent/bridge-linux-x64-gnu (simulated)');
});

describe('loading the KurrentDB client', () => {
  it('happens in connect(), not when the library is imported', async () => {
    const library = await import('../index.js');
    expect(typeof library.EventStoreDbEventStore.connect).toBe('function');
    // The other adapters work without it.
    const store = new library.InMemoryEventStore();
    await store.append([{ streamId: 's', expectedVersion: 'no_stream', events: [] }]);
    await store.close();
    await expect(
      library.EventStoreDbEventStore.connect({ connectionString: 'kurrentdb://127.0.0.1:1?tls=false' }),
    ).rejects.toThrow(/needs @kurrent\/kurrentdb-client and its native bridge/);
  });
});
