// The small stores beside the events (command outcomes of the Kafka intake, idempotency records of
// the HTTP API, processor checkpoints), one contract on each adapter: memory, SQLite, and the real
// PostgreSQL (DATABASE_URL, else the machine's server), each PostgreSQL case in a schema of its own.
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CheckpointStore,
  MemoryCheckpointStore,
  PostgresCheckpointStore,
  SqliteCheckpointStore,
} from '#projections';
import {
  type IdempotencyStore,
  MemoryIdempotencyStore,
  PostgresIdempotencyStore,
  SqliteIdempotencyStore,
} from '../idempotency/idempotency-store.js';
import {
  type CommandOutcomeStore,
  MemoryCommandOutcomeStore,
  PostgresCommandOutcomeStore,
  SqliteCommandOutcomeStore,
} from './outcome-store.js';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Stores {
  readonly outcomes: CommandOutcomeStore;
  readonly idempotency: IdempotencyStore;
  readonly checkpoints: CheckpointStore;
  /** The same stores opened again on the same database (a restart, another instance). */
  reopen(): Promise<Omit<Stores, 'reopen'>>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const adapters: Array<{ name: string; open(): Promise<Stores> }> = [
  {
    name: 'memory',
    async open() {
      const stores = {
        outcomes: new MemoryCommandOutcomeStore(),
        idempotency: new MemoryIdempotencyStore(),
        checkpoints: new MemoryCheckpointStore(),
      };
      return { ...stores, reopen: async () => stores };
    },
  },
  {
    name: 'sqlite',
    async open() {
      const db = new Database(':memory:');
      cleanups.push(async () => void db.close());
      const on = () => ({
        outcomes: new SqliteCommandOutcomeStore(db),
        idempotency: new SqliteIdempotencyStore(db),
        checkpoints: new SqliteCheckpointStore(db),
      });
      return { ...on(), reopen: async () => on() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `stores_${randomBytes(6).toString('hex')}`;
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
      cleanups.push(async () => {
        await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
        await pool.end();
      });
      const on = async () => ({
        outcomes: await PostgresCommandOutcomeStore.create(pool, schema),
        idempotency: await PostgresIdempotencyStore.create(pool, schema),
        checkpoints: await PostgresCheckpointStore.create(pool, schema),
      });
      return { ...(await on()), reopen: on };
    },
  },
];

const outcome = (commandId: string, result: string) => ({
  commandId,
  result,
  createdAt: '2026-11-25T10:00:00.000Z',
});

describe.each(adapters)('stores beside the events on $name', (adapter) => {
  it('keeps the first outcome of a commandId, and finds it after a reopen', async () => {
    const stores = await adapter.open();
    expect(await stores.outcomes.find('c-1')).toBeUndefined();
    expect(await stores.outcomes.saveIfAbsent(outcome('c-1', '{"status":"accepted"}'))).toEqual(
      outcome('c-1', '{"status":"accepted"}'),
    );
    // A second outcome for the same command (a concurrent redelivery) loses to the first.
    expect(await stores.outcomes.saveIfAbsent(outcome('c-1', '{"status":"rejected"}'))).toEqual(
      outcome('c-1', '{"status":"accepted"}'),
    );
    await stores.outcomes.saveIfAbsent(outcome('c-2', '{}'));
    const again = await stores.reopen();
    expect(await again.outcomes.find('c-1')).toEqual(outcome('c-1', '{"status":"accepted"}'));
    expect(await again.outcomes.count()).toBe(2);
  });

  it('first one wins among concurrent saves of one commandId', async () => {
    const stores = await adapter.open();
    const kept = await Promise.all(
      Array.from({ length: 8 }, (_, i) => stores.outcomes.saveIfAbsent(outcome('race', `{"n":${i}}`))),
    );
    expect(new Set(kept.map((k) => k.result)).size).toBe(1);
    expect(await stores.outcomes.find('race')).toEqual(kept[0]);
  });

  it('stores idempotency records per app and key, and purges the old ones', async () => {
    const stores = await adapter.open();
    const record = {
      appId: 'app',
      key: 'k-1',
      fingerprint: 'sha256:abc',
      status: 201,
      headers: { location: '/v1/tenants/t', etag: '"3"' },
      body: '{"tenantId":"t"}',
      createdAt: '2026-11-20T00:00:00.000Z',
    };
    await stores.idempotency.save(record);
    await stores.idempotency.save({ ...record, key: 'k-2', createdAt: '2026-11-25T00:00:00.000Z' });
    expect(await stores.idempotency.find('app', 'k-1')).toEqual(record);
    expect(await stores.idempotency.find('other-app', 'k-1')).toBeUndefined();
    await stores.idempotency.purgeBefore(new Date('2026-11-24T00:00:00.000Z'));
    const again = await stores.reopen();
    expect(await again.idempotency.find('app', 'k-1')).toBeUndefined();
    expect((await again.idempotency.find('app', 'k-2'))?.status).toBe(201);
  });

  it('keeps checkpoints per name across a reopen', async () => {
    const stores = await adapter.open();
    expect(await stores.checkpoints.get('relay')).toBe(0);
    await stores.checkpoints.set('relay', 41);
    await stores.checkpoints.set('relay', 9_007_199_254_740_000);
    await stores.checkpoints.set('processor', 3);
    const again = await stores.reopen();
    expect(await again.checkpoints.get('relay')).toBe(9_007_199_254_740_000);
    expect(await again.checkpoints.get('processor')).toBe(3);
  });
});
