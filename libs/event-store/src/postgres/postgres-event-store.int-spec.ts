// Integration tier: the PostgreSQL adapter against a real server (DATABASE_URL, else the machine's
// own on 127.0.0.1:5432). Every store lives in a fresh schema of its own, dropped afterwards, so
// that parallel test files and repeated runs never see each other's events.
import type { Pool } from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WrongExpectedVersionError, type RecordedEvent, type StreamAppend } from '../port.js';
import { eventStoreContract } from '../testing/contract.js';
import { newEvent } from '../testing/events.js';
import { PostgresEventStore } from './postgres-event-store.js';
import { admin, DATABASE_URL, endAdmin, freshSchema, newPool } from './testing/test-database.js';

afterAll(endAdmin);

eventStoreContract('postgres', async () => {
  const pool = await admin();
  const { schema, drop } = await freshSchema();
  const store = await PostgresEventStore.connect({ pool, schema });
  return { store, cleanup: drop };
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 5));
  }
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('PostgresEventStore', () => {
  let schema: string;
  let drop: (() => Promise<void>) | undefined;
  const opened: PostgresEventStore[] = [];
  const pools: Pool[] = [];

  async function open(
    options: { pollIntervalMs?: number; poolSize?: number; schema?: string } = {},
  ): Promise<PostgresEventStore> {
    const pool = newPool(options.poolSize ?? 10);
    pools.push(pool);
    const store = await PostgresEventStore.connect({
      pool,
      schema: options.schema ?? schema,
      pollIntervalMs: options.pollIntervalMs,
    });
    opened.push(store);
    return store;
  }

  beforeEach(async () => {
    ({ schema, drop } = await freshSchema());
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
    // Undefined when the server was unreachable: the test already failed saying so.
    await drop?.();
    drop = undefined;
  });

  it('never lets a reader see a position before a lower one commits (8 concurrent writers)', async () => {
    const writers = 8;
    const batches = 150;
    const store = await open({ poolSize: writers + 4 });

    const appended = new Set<string>();
    let writing = true;
    const writes = Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let batch = 0; batch < batches; batch += 1) {
          // Single- and multi-event batches, some spanning two streams.
          const entries: StreamAppend[] = [
            {
              streamId: `w${writer}-${batch % 5}`,
              expectedVersion: 'any',
              events: Array.from({ length: 1 + (batch % 3) }, () => newEvent('Written', { writer, batch })),
            },
          ];
          if (batch % 4 === 0) {
            entries.push({
              streamId: `w${writer}-shared`,
              expectedVersion: 'any',
              events: [newEvent('AlsoWritten', { writer, batch })],
            });
          }
          for (const entry of entries) for (const event of entry.events) appended.add(event.eventId);
          await store.append(entries);
        }
      }),
    ).finally(() => {
      writing = false;
    });

    // Live subscriber too: it reads the same way, and must end up with exactly the same log.
    const delivered: number[] = [];
    const sub = store.subscribe({ after: 0, handler: (event) => void delivered.push(event.globalPosition) });

    let lastSeen = 0;
    const seen = new Set<string>();
    const jumps: string[] = [];
    let pagesWhileWriting = 0;
    for (;;) {
      const stillWriting = writing;
      const page = await store.readAll(lastSeen, 100);
      if (page.length > 0 && stillWriting) pagesWhileWriting += 1;
      for (const event of page) {
        if (event.globalPosition !== lastSeen + 1) jumps.push(`${lastSeen} -> ${event.globalPosition}`);
        lastSeen = event.globalPosition;
        seen.add(event.eventId);
      }
      // The last read after the writers finished found nothing more: done.
      if (!stillWriting && page.length === 0) break;
    }
    await writes;

    const total = appended.size;
    // Per writer: 1 to 3 events per batch (300), plus one in every fourth batch (38).
    expect(total).toBe(writers * 338);
    expect(jumps).toEqual([]);
    expect(lastSeen).toBe(total);
    expect(seen).toEqual(appended);
    expect(await store.headPosition()).toBe(total);
    // The reader really raced the writers, instead of reading the finished log once.
    expect(pagesWhileWriting).toBeGreaterThan(10);

    await waitUntil(() => delivered.length >= total, `subscriber caught up to ${total}`);
    await sub.close();
    expect(delivered).toEqual(range(1, total));
  }, 120_000);

  it("lets exactly one of 20 concurrent 'no_stream' appends win across two instances", async () => {
    const a = await open({ poolSize: 10 });
    const b = await open({ poolSize: 10 });
    // Each instance's pool has a connection per attempt: 20 concurrent transactions on the server.
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) =>
        (index % 2 === 0 ? a : b).append([
          { streamId: 'claim', expectedVersion: 'no_stream', events: [newEvent('Claimed', { index })] },
        ]),
      ),
    );
    const won = attempts.filter((attempt) => attempt.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const attempt of attempts) {
      if (attempt.status === 'rejected') {
        expect(attempt.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(attempt.reason).toMatchObject({ streamId: 'claim', expected: 'no_stream', actual: 0 });
      }
    }
    expect(await a.readStream('claim')).toMatchObject({ version: 0 });
    expect(await b.headPosition()).toBe(1);

    // And a read-modify-write counter under contention stays consistent and gap-free.
    await Promise.all(
      Array.from({ length: 10 }, async (_, worker) => {
        const store = worker % 2 === 0 ? a : b;
        for (let round = 0; round < 5; round += 1) {
          for (;;) {
            const { version } = await store.readStream('counter');
            try {
              await store.append([
                { streamId: 'counter', expectedVersion: version, events: [newEvent('Incremented')] },
              ]);
              break;
            } catch (error) {
              if (!(error instanceof WrongExpectedVersionError)) throw error;
            }
          }
        }
      }),
    );
    const counter = await a.readStream('counter');
    expect(counter.events.map((event) => event.streamVersion)).toEqual(range(0, 49));
    expect((await b.readAll(0, 1000)).map((event) => event.globalPosition)).toEqual(range(1, 51));
  });

  it('delivers to a subscriber on one instance what another instance appends (LISTEN/NOTIFY)', async () => {
    // A poll this slow cannot be what delivers within the test: only the notification can.
    const a = await open({ pollIntervalMs: 60_000 });
    const b = await open({ pollIntervalMs: 60_000 });
    await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('Before')] }]);
    const received: RecordedEvent[] = [];
    const errors: unknown[] = [];
    const sub = a.subscribe({
      after: 0,
      handler: (event) => void received.push(event),
      onError: (error) => errors.push(error),
    });
    await waitUntil(() => received.length === 1, 'caught up to 1');
    await listenerPid(a); // LISTEN is in effect
    for (const [store, type] of [
      [b, 'FromB'],
      [a, 'FromA'],
      [b, 'FromB2'],
    ] as const) {
      const { lastGlobalPosition } = await store.append([
        { streamId: 's', expectedVersion: 'any', events: [newEvent(type)] },
      ]);
      await waitUntil(() => received.length === lastGlobalPosition, `caught up to ${lastGlobalPosition}`);
    }
    await sub.close();
    expect(errors).toEqual([]);
    expect(received.map((event) => [event.globalPosition, event.type])).toEqual([
      [1, 'Before'],
      [2, 'FromB'],
      [3, 'FromA'],
      [4, 'FromB2'],
    ]);
    // The LISTEN connection goes with the last subscription.
    await waitFor(
      async () => ((await listenerPids(a)).length === 0 ? true : undefined),
      'the LISTEN connection is closed',
    );
  });

  it('keeps delivering when the LISTEN connection dies, and listens again', async () => {
    const a = await open({ pollIntervalMs: 100 });
    const b = await open({ pollIntervalMs: 100 });
    const received: number[] = [];
    const errors: unknown[] = [];
    const sub = a.subscribe({
      after: 0,
      handler: (event) => void received.push(event.globalPosition),
      onError: (error) => errors.push(error),
    });
    const firstPid = await listenerPid(a);
    const pool = await admin();
    await pool.query('SELECT pg_terminate_backend($1)', [firstPid]);
    await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('WhileDown')] }]);
    await waitUntil(() => received.length === 1, 'the append made while LISTEN was down arrived');
    const secondPid = await waitFor(async () => {
      const pids = await listenerPids(a);
      return pids.length === 1 && pids[0] !== firstPid ? pids[0] : undefined;
    }, 'a new LISTEN connection');
    expect(secondPid).not.toBe(firstPid);
    await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('AfterReconnect')] }]);
    await waitUntil(() => received.length === 2, 'caught up to 2');
    await sub.close();
    expect(received).toEqual([1, 2]);
    expect(errors).toEqual([]);
  });

  it('migrates once, reopens idempotently, keeps the data and continues the positions', async () => {
    // Five instances starting together on a fresh schema: the advisory lock lets one migrate.
    const starters = await Promise.all(Array.from({ length: 5 }, () => open()));
    const pool = await admin();
    const migrations = async (): Promise<unknown[]> =>
      (await pool.query(`SELECT version, name FROM ${schema}.event_store_schema_migrations`)).rows;
    expect(await migrations()).toEqual([{ version: 1, name: 'events and streams' }]);

    const first = starters[0];
    if (!first) throw new Error('no store');
    const event = newEvent(
      'TenantCreated',
      { name: 'Contoso', nested: { list: [1, 'two', null] } },
      { tenantId: 't-1', occurredAt: '2025-01-02T03:04:05.6789+02:00' },
    );
    await first.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]);
    await Promise.all(opened.splice(0).map((store) => store.close()));

    // Reopened through a connection string: the store owns (and ends) its pool this time.
    const reopened = await PostgresEventStore.connect({ connectionString: DATABASE_URL, schema });
    opened.push(reopened);
    expect(await migrations()).toEqual([{ version: 1, name: 'events and streams' }]);
    expect(await reopened.readStream('tenant-1')).toEqual({
      version: 0,
      events: [{ ...event, streamId: 'tenant-1', streamVersion: 0, globalPosition: 1 }],
    });
    // occurredAt comes back exactly as given, offset and precision included.
    expect((await reopened.readAll(0, 1))[0]?.occurredAt).toBe('2025-01-02T03:04:05.6789+02:00');
    // The retry of an append acknowledged before the restart is still recognised.
    expect(
      await reopened.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]),
    ).toEqual({ lastGlobalPosition: 1, streams: [{ streamId: 'tenant-1', nextExpectedVersion: 0 }] });
    const next = await reopened.append([
      { streamId: 'tenant-1', expectedVersion: 0, events: [newEvent('DomainAdded')] },
    ]);
    expect(next.lastGlobalPosition).toBe(2);
  });

  it('refuses a schema that is newer than the code', async () => {
    await open();
    const pool = await admin();
    await pool.query(
      `INSERT INTO ${schema}.event_store_schema_migrations (version, name) VALUES (99, 'future')`,
    );
    await expect(PostgresEventStore.connect({ pool, schema })).rejects.toThrow(/newer/);
  });

  it('leaves a pool it was given open, and ends one it made', async () => {
    const given = newPool(2);
    pools.push(given);
    const onGiven = await PostgresEventStore.connect({ pool: given, schema });
    await onGiven.close();
    expect((await given.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);

    const owning = await PostgresEventStore.connect({ connectionString: DATABASE_URL, schema });
    await owning.close();
    expect(owning.pool.ended).toBe(true);
    await expect(owning.headPosition()).rejects.toThrow(/closed/);
  });

  it('reads a stream from a version touching only the rows it returns', async () => {
    const pool = newPool();
    pools.push(pool);
    const store = await PostgresEventStore.connect({ pool, schema });
    opened.push(store);
    const events = (count: number) => Array.from({ length: count }, () => newEvent('E'));
    for (let batch = 0; batch < 10; batch += 1) {
      await store.append([
        { streamId: 'long', expectedVersion: 'any', events: events(300) },
        { streamId: `other-${batch}`, expectedVersion: 'any', events: events(300) },
      ]);
    }
    await pool.query(`ANALYZE ${schema}.events, ${schema}.streams`);

    // The statement the store really sends, explained with its own parameters.
    const query = vi.spyOn(pool, 'query');
    const tail = await store.readStream('long', { fromVersion: 2997 });
    const [text, values] = query.mock.calls.at(-1) as unknown as [string, unknown[]];
    query.mockRestore();
    expect(tail.version).toBe(2999);
    expect(tail.events.map((event) => event.streamVersion)).toEqual([2997, 2998, 2999]);

    interface PlanNode {
      'Node Type': string;
      'Relation Name'?: string;
      'Actual Rows': number;
      'Actual Loops': number;
      Plans?: PlanNode[];
    }
    const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
      values,
    );
    const onEvents: PlanNode[] = [];
    const walk = (node: PlanNode): void => {
      if (node['Relation Name'] === 'events') onEvents.push(node);
      node.Plans?.forEach(walk);
    };
    walk(rows[0]!['QUERY PLAN'][0].Plan);
    // An index range scan (plain or bitmap, as the planner likes) that yields the three rows only.
    expect(onEvents).toHaveLength(1);
    expect(['Index Scan', 'Bitmap Heap Scan']).toContain(onEvents[0]!['Node Type']);
    expect(onEvents[0]!['Actual Rows'] * onEvents[0]!['Actual Loops']).toBe(3);
  });

  it('keeps event stores in different schemas apart', async () => {
    const other = await freshSchema();
    try {
      const a = await open();
      const b = await open({ schema: other.schema });
      await a.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('InA')] }]);
      expect(await b.headPosition()).toBe(0);
      await b.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('InB')] }]);
      expect((await a.readAll(0, 10)).map((event) => event.type)).toEqual(['InA']);
      expect((await b.readAll(0, 10)).map((event) => event.type)).toEqual(['InB']);
    } finally {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      await other.drop();
    }
  });
});

/** Backend ids of the connections LISTENing for the store's appends (found by their last query). */
async function listenerPids(store: PostgresEventStore): Promise<number[]> {
  const pool = await admin();
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1`,
    [`LISTEN "${store.notificationChannel}"`],
  );
  return rows.map((row) => row.pid);
}

async function listenerPid(store: PostgresEventStore): Promise<number> {
  return waitFor(async () => {
    const pids = await listenerPids(store);
    return pids.length === 1 ? pids[0] : undefined;
  }, 'the LISTEN connection is up');
}
