// The snapshot store contract: every guarantee of ../snapshots/port.ts as a test, run against each
// adapter from that adapter's spec (`snapshotStoreContract('sqlite', async () => ({ store }))`).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot, SnapshotStore } from '../snapshots/port.js';

/** Creates a fresh, empty store for one test; `cleanup` runs after it (to close files, drop schemas...). */
export type SnapshotStoreFactory = () => Promise<{ store: SnapshotStore; cleanup?: () => Promise<void> }>;

function snapshot(streamId: string, version: number, schema = 'account/v1', state?: string): Snapshot {
  return { streamId, version, schema, state: state ?? JSON.stringify({ streamId, version, schema }) };
}

export function snapshotStoreContract(name: string, create: SnapshotStoreFactory): void {
  describe(`snapshot store contract: ${name}`, () => {
    let store: SnapshotStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await create());
    });

    afterEach(async () => {
      await cleanup?.();
    });

    it('loads undefined for a stream without a snapshot', async () => {
      expect(await store.load('missing')).toBeUndefined();
      await store.save(snapshot('other', 3));
      expect(await store.load('missing')).toBeUndefined();
    });

    it('loads what was saved, the state as the exact text', async () => {
      const saved = snapshot('user-1', 7, 'user/v2', '{"name":"Zoë","b":1,"a":[1.50,"€😀"],"nested":{}}');
      await store.save(saved);
      expect(await store.load('user-1')).toEqual(saved);
    });

    it('keeps a stored snapshot of the same schema against a lower or equal version', async () => {
      const stored = snapshot('s', 5, 'account/v1', '"five"');
      await store.save(stored);
      await store.save(snapshot('s', 3, 'account/v1', '"three"'));
      expect(await store.load('s')).toEqual(stored);
      await store.save(snapshot('s', 5, 'account/v1', '"five again"'));
      expect(await store.load('s')).toEqual(stored);
      await store.save(snapshot('s', 0, 'account/v1', '"zero"'));
      expect(await store.load('s')).toEqual(stored);
    });

    it('replaces it with a higher version of the same schema', async () => {
      await store.save(snapshot('s', 5));
      const newer = snapshot('s', 6, 'account/v1', '"six"');
      await store.save(newer);
      expect(await store.load('s')).toEqual(newer);
    });

    it('replaces it with a snapshot of another schema, whatever its version', async () => {
      await store.save(snapshot('s', 50, 'account/v1'));
      const reshaped = snapshot('s', 2, 'account/v2');
      await store.save(reshaped);
      expect(await store.load('s')).toEqual(reshaped);
      // And back: the rule compares with what is stored now, not with what was ever stored.
      const back = snapshot('s', 1, 'account/v1');
      await store.save(back);
      expect(await store.load('s')).toEqual(back);
      await store.save(snapshot('s', 0, 'account/v1'));
      expect(await store.load('s')).toEqual(back);
    });

    it('keeps streams apart', async () => {
      await store.save(snapshot('a', 10));
      await store.save(snapshot('b', 1));
      await store.save(snapshot('b', 2, 'other/v1'));
      expect(await store.load('a')).toEqual(snapshot('a', 10));
      expect(await store.load('b')).toEqual(snapshot('b', 2, 'other/v1'));
      await store.save(snapshot('a', 11));
      expect(await store.load('b')).toEqual(snapshot('b', 2, 'other/v1'));
    });

    it('round-trips a large state (about 5 MB)', async () => {
      const items = Array.from({ length: 50_000 }, (_, index) => ({
        id: `member-${index}`,
        note: 'é'.repeat(40),
      }));
      const state = JSON.stringify({ items });
      expect(Buffer.byteLength(state)).toBeGreaterThan(5_000_000);
      await store.save(snapshot('big', 123_456, 'directory/v1', state));
      const loaded = await store.load('big');
      expect(loaded?.version).toBe(123_456);
      // Not toEqual on the whole: a failure would print megabytes.
      expect(loaded?.state.length).toBe(state.length);
      expect(loaded?.state === state).toBe(true);
    });

    it('ends with the highest of 50 concurrent saves for one stream, whatever order they land in', async () => {
      // Highest and lowest interleaved (50, 1, 49, 2, ...): last-write-wins would end on 25.
      const versions = Array.from({ length: 50 }, (_, index) =>
        index % 2 === 0 ? 50 - index / 2 : (index + 1) / 2,
      );
      await Promise.all(versions.map((version) => store.save(snapshot('hot', version))));
      expect(await store.load('hot')).toEqual(snapshot('hot', 50));
    });

    it('rejects a malformed snapshot and stores nothing', async () => {
      const malformed: [Record<string, unknown>, typeof TypeError][] = [
        [{ ...snapshot('s', 1), streamId: '' }, TypeError],
        [{ ...snapshot('s', 1), version: -1 }, RangeError],
        [{ ...snapshot('s', 1), version: 1.5 }, RangeError],
        [{ ...snapshot('s', 1), version: '2' }, RangeError],
        [{ ...snapshot('s', 1), schema: '' }, TypeError],
        [{ ...snapshot('s', 1), state: { not: 'text' } }, TypeError],
      ];
      for (const [bad, error] of malformed) {
        await expect(store.save(bad as unknown as Snapshot)).rejects.toBeInstanceOf(error);
      }
      expect(await store.load('s')).toBeUndefined();
    });
  });
}
