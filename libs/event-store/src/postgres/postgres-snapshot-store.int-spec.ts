// Integration tier: the PostgreSQL snapshot store against a real server (see
// ./testing/test-database.ts), each store in a fresh schema of its own, dropped afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotStoreContract } from '../testing/snapshot-contract.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { PostgresSnapshotStore } from './postgres-snapshot-store.js';
import { admin, endAdmin, freshSchema } from './testing/test-database.js';

afterAll(endAdmin);

snapshotStoreContract('postgres', async () => {
  const pool = await admin();
  const { schema, drop } = await freshSchema();
  return { store: await PostgresSnapshotStore.create(pool, schema), cleanup: drop };
});

describe('PostgresSnapshotStore', () => {
  it('creates its schema and table once when several instances start together', async () => {
    const pool = await admin();
    const { schema, drop } = await freshSchema();
    try {
      // allSettled: a failed create must not let the drop below run while the others still create.
      const created = await Promise.allSettled(
        Array.from({ length: 6 }, () => PostgresSnapshotStore.create(pool, schema)),
      );
      const stores = created.map((result) => {
        if (result.status === 'rejected') throw result.reason;
        return result.value;
      });
      await stores[0]!.save({ streamId: 's', version: 1, schema: 'v1', state: '{}' });
      expect(await stores[5]!.load('s')).toEqual({ streamId: 's', version: 1, schema: 'v1', state: '{}' });
    } finally {
      await drop();
    }
  });

  it("lives in the event store's schema beside the events", async () => {
    const pool = await admin();
    const { schema, drop } = await freshSchema();
    try {
      const events = await PostgresEventStore.connect({ pool, schema });
      const snapshots = await PostgresSnapshotStore.create(pool, schema);
      await snapshots.save({ streamId: 's', version: 0, schema: 'v1', state: '[]' });
      const { rows } = await pool.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      expect(rows.map((row) => row.table_name)).toEqual([
        'event_store_schema_migrations',
        'events',
        'stream_snapshots',
        'streams',
      ]);
      await events.close();
    } finally {
      await drop();
    }
  });
});
