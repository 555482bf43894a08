import { describe, expect, it } from 'vitest';
import { eventStoreContract } from '../testing/contract.js';
import { newEvent } from '../testing/events.js';
import { InMemoryEventStore } from './memory-event-store.js';

eventStoreContract('in-memory', async () => ({ store: new InMemoryEventStore() }));

describe('InMemoryEventStore', () => {
  it('refuses to work after close', async () => {
    const store = new InMemoryEventStore();
    await store.close();
    await expect(
      store.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('A')] }]),
    ).rejects.toThrow(/closed/);
    expect(() => store.subscribe({ after: 0, handler: () => undefined })).toThrow(/closed/);
  });

  it('rejects data that would not survive JSON storage the same way on every adapter', async () => {
    const store = new InMemoryEventStore();
    await store.append([
      {
        streamId: 's',
        expectedVersion: 'any',
        events: [newEvent('A', { at: new Date(0), gone: undefined })],
      },
    ]);
    const [event] = await store.readAll(0, 1);
    expect(event?.data).toEqual({ at: '1970-01-01T00:00:00.000Z' });
    expect(event && 'gone' in event.data).toBe(false);
    await expect(
      store.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('A', { big: 1n })] }]),
    ).rejects.toBeInstanceOf(TypeError);
    expect(await store.headPosition()).toBe(1);
  });
});
