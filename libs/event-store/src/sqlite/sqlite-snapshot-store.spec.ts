// The SQLite snapshot store on a file of its own, on ':memory:', and in the event store's file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { snapshotStoreContract } from '../testing/snapshot-contract.js';
import { SqliteEventStore } from './sqlite-event-store.js';
import { SqliteSnapshotStore } from './sqlite-snapshot-store.js';

snapshotStoreContract('sqlite file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'snapshot-contract-'));
  const db = new Database(join(dir, 'snapshots.db'));
  return {
    store: new SqliteSnapshotStore(db),
    cleanup: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

snapshotStoreContract('sqlite :memory:', async () => {
  const db = new Database(':memory:');
  return { store: new SqliteSnapshotStore(db), cleanup: async () => void db.close() };
});

describe('SqliteSnapshotStore', () => {
  it("lives in the event store's own file beside the events, and survives a reopen", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snapshot-sqlite-'));
    try {
      const file = join(dir, 'events.db');
      const events = new SqliteEventStore(file);
      await new SqliteSnapshotStore(events.db).save({ streamId: 's', version: 3, schema: 'v1', state: '{}' });
      await events.close();

      const reopened = new SqliteEventStore(file);
      // Creating the store again on a file that has the table keeps what is in it.
      expect(await new SqliteSnapshotStore(reopened.db).load('s')).toEqual({
        streamId: 's',
        version: 3,
        schema: 'v1',
        state: '{}',
      });
      expect(reopened.db.prepare('SELECT version FROM event_store_schema_migrations').pluck().all()).toEqual([
        1,
      ]);
      await reopened.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
