// The read-model runner on the in-memory event store and each read-model database (SQLite,
// PostgreSQL), with a tiny projection that records every event it sees (and counts its applies).
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type RecordedEvent } from '#event-store';
import { newEvent } from '../../event-store/src/testing/events.js';
import { PostgresCoordination } from './coordination.js';
import { ProjectionLaggingError, ReadModelRunner, type ReadModelProjection } from './read-models.js';
import type { ReadModelDatabase, SqlDdl, SqlSession } from './sql.js';
import {
  type OpenedReadModelDatabase,
  postgresReadModels,
  READ_MODEL_DATABASE_URL,
  readModelDatabases,
  tableNames,
} from './testing/databases.js';

class LogProjection implements ReadModelProjection {
  readonly name = 'log';
  readonly tables = ['entries', 'streams'] as const;
  applies = 0;
  changes: number[] = [];

  constructor(
    readonly version = 1,
    /** Throws on events of this type. */
    private readonly failOn?: string,
  ) {}

  async setup(tx: SqlSession, prefix: string, { int, text, tableOptions }: SqlDdl): Promise<void> {
    await tx.exec(`CREATE TABLE ${prefix}entries (position ${int} PRIMARY KEY, type ${text} NOT NULL)${tableOptions};
      CREATE TABLE ${prefix}streams (stream_id ${text} PRIMARY KEY, events ${int} NOT NULL)${tableOptions};`);
  }

  async apply(event: RecordedEvent, tx: SqlSession, prefix: string): Promise<void> {
    this.applies += 1;
    // Written before the throw, so a rollback has something to undo.
    await tx.run(`INSERT INTO ${prefix}entries (position, type) VALUES (?, ?)`, [
      event.globalPosition,
      event.type,
    ]);
    await tx.run(
      `INSERT INTO ${prefix}streams (stream_id, events) VALUES (?, 1)
       ON CONFLICT (stream_id) DO UPDATE SET events = ${prefix}streams.events + 1`,
      [event.streamId],
    );
    if (event.type === this.failOn) throw new Error(`cannot fold ${event.type}`);
  }

  changed(position: number): void {
    this.changes.push(position);
  }
}

const append = async (store: InMemoryEventStore, count: number, type = 'Happened', stream = 's-1') => {
  for (let i = 0; i < count; i++)
    await store.append([{ streamId: stream, expectedVersion: 'any', events: [newEvent(type)] }]);
  return store.headPosition();
};

const rows = async (db: ReadModelDatabase, prefix: string): Promise<number> =>
  (await db.get<{ c: number }>(`SELECT count(*) AS c FROM ${prefix}entries`))?.c ?? -1;

const eventsCounted = async (db: ReadModelDatabase, prefix: string): Promise<number> =>
  (await db.get<{ s: number }>(`SELECT sum(events) AS s FROM ${prefix}streams`))?.s ?? -1;

const checkpoint = (db: ReadModelDatabase, name = 'log') =>
  db.get<{ generation: number; position: number; version: number }>(
    'SELECT generation, position, version FROM read_model_state WHERE name = ?',
    [name],
  );

const tablesOf = async (db: ReadModelDatabase, prefix: string) =>
  (await tableNames(db)).filter((t) => t.startsWith(prefix));

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe.each(readModelDatabases)('ReadModelRunner on $name', (factory) => {
  const runners: ReadModelRunner[] = [];
  const opened: OpenedReadModelDatabase[] = [];
  let db: ReadModelDatabase;
  const open = async (): Promise<OpenedReadModelDatabase> => {
    const database = await factory.open();
    opened.push(database);
    db = database.db;
    return database;
  };
  const make = (store: InMemoryEventStore, on: ReadModelDatabase, batchSize?: number) => {
    const runner = new ReadModelRunner(store, on, batchSize === undefined ? {} : { batchSize });
    runners.push(runner);
    return runner;
  };
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    for (const database of opened.splice(0)) await database.dispose();
  });

  it('catches up with what is stored, then follows the log live', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 5);
    const projection = new LogProjection();
    const runner = make(store, db, 2);
    await runner.register(projection);
    runner.start();
    await runner.waitFor('log', 5, 2000);
    expect(await rows(db, await runner.prefix('log'))).toBe(5);
    await until(() => runner.status()[0]?.state === 'live');

    const head = await append(store, 3);
    await runner.waitFor('log', head, 2000);
    expect(await rows(db, await runner.prefix('log'))).toBe(8);
    expect(projection.applies).toBe(8);
    expect(projection.changes.at(-1)).toBe(8);
    expect(await checkpoint(db)).toMatchObject({ generation: 1, position: 8 });
    expect(runner.status()[0]).toMatchObject({
      name: 'log',
      state: 'live',
      position: 8,
      generation: 1,
      runsHere: true,
    });
  });

  it('refuses to register one projection twice', async () => {
    await open();
    const runner = make(new InMemoryEventStore(), db);
    await runner.register(new LogProjection());
    expect(await runner.prefix('log')).toBe('rm_log_g1_');
    await expect(runner.register(new LogProjection())).rejects.toThrow(/registered twice/);
  });

  it('commits a batch and its checkpoint together: a throwing handler moves neither, and stops the projection', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 2);
    await append(store, 1, 'Poison');
    await append(store, 2);
    const runner = make(store, db, 10);
    const projection = new LogProjection(1, 'Poison');
    await runner.register(projection);
    const waiting = runner.waitFor('log', 1, 2000);
    runner.start();

    await expect(waiting).rejects.toBeInstanceOf(ProjectionLaggingError);
    const [status] = runner.status();
    expect(status).toMatchObject({ state: 'failed', position: 0 });
    expect(status?.error).toMatch(/event 3 \(Poison in s-1\).*cannot fold Poison/);
    // The two events before the poison were applied in the same transaction: rolled back with it.
    expect(projection.applies).toBe(3);
    expect(await rows(db, await runner.prefix('log'))).toBe(0);
    expect(await checkpoint(db)).toMatchObject({ position: 0 });
    expect(projection.changes).toEqual([]);
    await expect(runner.waitFor('log', 1, 2000)).rejects.toThrow(/has stopped.*cannot fold Poison/);

    // Stopped means stopped: new events are not skipped past the poison.
    await append(store, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(projection.applies).toBe(3);
    expect(runner.status()[0]?.state).toBe('failed');
  });

  it('a projection that fails in a later batch keeps what earlier batches committed', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 4);
    await append(store, 1, 'Poison');
    const runner = make(store, db, 2);
    await runner.register(new LogProjection(1, 'Poison'));
    runner.start();
    await until(() => runner.status()[0]?.state === 'failed');
    expect(runner.status()[0]?.position).toBe(4);
    expect(await rows(db, await runner.prefix('log'))).toBe(4);
    expect((await checkpoint(db))?.position).toBe(4);
    // What it has reached can still be read; beyond it, no waiting for what will never come.
    await expect(runner.waitFor('log', 4, 10)).resolves.toBeUndefined();
    await expect(runner.waitFor('log', 5, 2000)).rejects.toBeInstanceOf(ProjectionLaggingError);
  });

  it('retries after a transient failure (the database away) instead of stopping', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 3);
    const projection = new LogProjection();
    let cuts = 2;
    const flaky: ReadModelProjection = {
      name: projection.name,
      version: projection.version,
      tables: projection.tables,
      setup: (tx, prefix, ddl) => projection.setup(tx, prefix, ddl),
      apply: async (event, tx, prefix) => {
        await projection.apply(event, tx, prefix);
        if (event.globalPosition === 2 && cuts-- > 0)
          throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      },
    };
    const retries: string[] = [];
    const runner = new ReadModelRunner(store, db, { onRetry: (name) => retries.push(name) });
    runners.push(runner);
    await runner.register(flaky);
    runner.start();
    await runner.waitFor('log', 3, 5000);
    expect(retries).toEqual(['log', 'log']);
    // Each cut batch rolled back whole: every event is in the tables once.
    expect(await rows(db, await runner.prefix('log'))).toBe(3);
    expect(await eventsCounted(db, await runner.prefix('log'))).toBe(3);
    expect(runner.status()[0]).toMatchObject({ position: 3 });
    expect(runner.status()[0]?.state).not.toBe('failed');
    expect(runner.status()[0]?.error).toBeUndefined();
  });

  it('answers ProjectionLaggingError after the bound when the position is not reached', async () => {
    await open();
    const runner = make(new InMemoryEventStore(), db);
    await runner.register(new LogProjection());
    runner.start();
    const started = Date.now();
    await expect(runner.waitFor('log', 1, 50)).rejects.toThrow(/at 0, not yet at 1/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('resumes after its checkpoint when the runner is created again on the same database', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 3);
    const first = make(store, db);
    await first.register(new LogProjection());
    first.start();
    await first.waitFor('log', 3, 2000);
    await first.stop();

    await append(store, 2);
    const second = make(store, db);
    const projection = new LogProjection();
    await second.register(projection);
    expect(second.status()[0]).toMatchObject({ position: 3, generation: 1 });
    second.start();
    await second.waitFor('log', 5, 2000);
    expect(projection.applies).toBe(2);
    expect(await rows(db, await second.prefix('log'))).toBe(5);
  });

  it('rebuilds beside the live generation while appends continue, then switches', async () => {
    await open();
    const store = new InMemoryEventStore();
    for (let i = 0; i < 10; i++) await append(store, 3, 'Happened', `s-${i % 4}`);
    const runner = make(store, db, 4);
    const projection = new LogProjection();
    await runner.register(projection);
    runner.start();
    await runner.waitFor('log', 30, 2000);
    const livePrefix = await runner.prefix('log');

    const seenDuringRebuild: Array<{ prefix: Promise<string>; state: string | undefined }> = [];
    let appended = 0;
    await runner.rebuild('log', (progress) => {
      // The live generation keeps answering, and is still the one reads go to.
      seenDuringRebuild.push({ prefix: runner.prefix('log'), state: runner.status()[0]?.state });
      expect(progress.position).toBeLessThanOrEqual(Math.max(progress.head, progress.position));
      // Commands keep being handled: the log grows while the rebuild runs.
      if (appended < 5) {
        appended += 1;
        void append(store, 2, 'Happened', `s-${appended}`);
      }
    });

    expect(seenDuringRebuild.length).toBeGreaterThan(3);
    expect(seenDuringRebuild.every((s) => s.state === 'rebuilding')).toBe(true);
    for (const seen of seenDuringRebuild) expect(await seen.prefix).toBe(livePrefix);
    expect(await runner.prefix('log')).not.toBe(livePrefix);
    expect(runner.status()[0]?.generation).toBe(2);
    // The replaced generation stays until the next switch (a read may still be on it), with every
    // row it had; the one before it goes then.
    expect(await tablesOf(db, livePrefix)).toEqual([`${livePrefix}entries`, `${livePrefix}streams`]);
    expect(await rows(db, livePrefix)).toBeGreaterThanOrEqual(30);

    const head = await store.headPosition();
    expect(head).toBe(40);
    await runner.waitFor('log', head, 2000);
    // No duplicates, none missing: one row per event.
    expect(await rows(db, await runner.prefix('log'))).toBe(head);
    expect(await eventsCounted(db, await runner.prefix('log'))).toBe(head);

    // The same digest as a build from scratch.
    const other = await factory.open();
    opened.push(other);
    const fresh = make(store, other.db);
    await fresh.register(new LogProjection());
    fresh.start();
    await fresh.waitFor('log', head, 2000);
    expect(await runner.digest('log')).toBe(await fresh.digest('log'));
    expect(await runner.digestAt('log')).toMatchObject({ position: head, generation: 2 });
    expect(await checkpoint(db)).toMatchObject({ generation: 2, position: head });

    await runner.rebuild('log');
    expect(await tablesOf(db, livePrefix)).toEqual([]);
    expect(await tablesOf(db, 'rm_log_g2_')).toEqual(['rm_log_g2_entries', 'rm_log_g2_streams']);
    expect(await rows(db, await runner.prefix('log'))).toBe(head);
  });

  it('reads that took the live prefix just before a switch still find their tables', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 40);
    const runner = make(store, db, 10);
    await runner.register(new LogProjection());
    runner.start();
    await runner.waitFor('log', 40, 2000);
    let rebuilding = true;
    const failures: string[] = [];
    let reads = 0;
    const readers = Array.from({ length: 4 }, async () => {
      while (rebuilding) {
        const prefix = await runner.prefix('log');
        // A reader a moment slower than the switch: the window the old drop-at-switch lost.
        await new Promise((resolve) => setTimeout(resolve, 1));
        try {
          expect(await rows(db, prefix)).toBe(40);
          reads += 1;
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
    });
    for (let i = 0; i < 3; i++) {
      await runner.rebuild('log');
      // Rebuilds come minutes apart, not back to back: a read spans one switch, never two.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    rebuilding = false;
    await Promise.all(readers);
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(10);
    expect(runner.status()[0]?.generation).toBe(4);
  });

  it('refuses a second rebuild while one runs, without harming it', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 20);
    const runner = make(store, db, 2);
    await runner.register(new LogProjection());
    runner.start();
    await runner.waitFor('log', 20, 2000);
    const first = runner.rebuild('log');
    await expect(runner.rebuild('log')).rejects.toThrow(/already being rebuilt/);
    await first;
    await runner.waitFor('log', 20, 2000);
    expect(await rows(db, await runner.prefix('log'))).toBe(20);
  });

  it('a rebuild brings a failed projection back once its handler is fixed', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 1, 'Poison');
    const flaky = new LogProjection(1, 'Poison');
    const runner = make(store, db);
    await runner.register(flaky);
    runner.start();
    await until(() => runner.status()[0]?.state === 'failed');
    // The fix ships (here: the same object stops throwing); a rebuild replays from zero.
    (flaky as unknown as { failOn?: string }).failOn = undefined;
    await runner.rebuild('log');
    await append(store, 1);
    await runner.waitFor('log', 2, 2000);
    await until(() => runner.status()[0]?.state === 'live');
    expect(runner.status()[0]).toMatchObject({ state: 'live', position: 2, generation: 2 });
    expect(runner.status()[0]?.error).toBeUndefined();
  });

  it('a failing rebuild leaves the live generation serving and no half-built tables', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 3);
    const projection = new LogProjection();
    const runner = make(store, db);
    await runner.register(projection);
    runner.start();
    await runner.waitFor('log', 3, 2000);
    const live = await runner.prefix('log');
    (projection as unknown as { failOn?: string }).failOn = 'Happened';
    await expect(runner.rebuild('log')).rejects.toThrow(/cannot fold Happened/);
    expect(await runner.prefix('log')).toBe(live);
    expect(await rows(db, live)).toBe(3);
    expect(await tablesOf(db, 'rm_log_g2_')).toEqual([]);
  });

  it('rebuilds from zero at register when the version changes', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 4);
    const first = make(store, db);
    await first.register(new LogProjection(1));
    first.start();
    await first.waitFor('log', 4, 2000);
    await first.stop();

    const second = make(store, db);
    const bumped = new LogProjection(2);
    await second.register(bumped);
    expect(second.status()[0]).toMatchObject({ position: 0, generation: 2 });
    expect(await checkpoint(db)).toMatchObject({ version: 2, generation: 2, position: 0 });
    // The old build's tables stay until the next switch: its instances may still be reading them.
    expect(await rows(db, 'rm_log_g1_')).toBe(4);
    second.start();
    await second.waitFor('log', 4, 2000);
    expect(bumped.applies).toBe(4);
    expect(await rows(db, await second.prefix('log'))).toBe(4);
    await second.rebuild('log');
    expect(await tablesOf(db, 'rm_log_g1_')).toEqual([]);
  });

  it('an older build leaves a newer build’s tables alone, and says so', async () => {
    await open();
    const store = new InMemoryEventStore();
    await append(store, 4);
    const newer = make(store, db);
    await newer.register(new LogProjection(2));
    newer.start();
    await newer.waitFor('log', 4, 2000);
    const digest = await newer.digest('log');
    await newer.stop();

    const older = make(store, db);
    await older.register(new LogProjection(1));
    older.start();
    expect(older.status()[0]).toMatchObject({ state: 'failed', generation: 1, position: 4 });
    expect(older.status()[0]?.error).toMatch(/holds version 2, newer than this build's 1; run rebuild log/);
    await append(store, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await checkpoint(db)).toMatchObject({ version: 2, generation: 1, position: 4 });
    expect(await older.digest('log')).toBe(digest);
  });

  it('stop rejects pending waiters with ProjectionLaggingError', async () => {
    await open();
    const runner = new ReadModelRunner(new InMemoryEventStore(), db);
    await runner.register(new LogProjection());
    runner.start();
    const waiting = runner.waitFor('log', 10, 5000);
    await runner.stop();
    await expect(waiting).rejects.toBeInstanceOf(ProjectionLaggingError);
    expect(runner.status()[0]?.state).toBe('stopped');
  });

  describe('two connections on one database (the service and the CLI, or two instances)', () => {
    it('a rebuild switched by another connection is followed by the running one, which keeps serving', async () => {
      const database = await open();
      const store = new InMemoryEventStore();
      await append(store, 12);
      const service = make(store, db, 5);
      const live = new LogProjection();
      await service.register(live);
      service.start();
      await service.waitFor('log', 12, 2000);

      const cli = make(store, await database.another(), 5);
      await cli.register(new LogProjection());
      await cli.rebuild('log');
      expect(cli.status()[0]?.generation).toBe(2);

      // The service reads from the new generation at once.
      expect(await service.prefix('log')).toBe(await cli.prefix('log'));
      expect(await rows(service.db, await service.prefix('log'))).toBe(12);
      const head = await append(store, 4);
      await service.waitFor('log', head, 2000);
      expect(await rows(service.db, await service.prefix('log'))).toBe(16);
      await until(() => service.status()[0]?.state === 'live');
      expect(service.status()[0]).toMatchObject({ state: 'live', generation: 2, position: 16 });
    });

    it('a runner stopped on an event comes back when another process rebuilds with fixed code', async () => {
      const database = await open();
      const store = new InMemoryEventStore();
      await append(store, 2);
      await append(store, 1, 'Poison');
      const service = make(store, db);
      await service.register(new LogProjection(1, 'Poison'));
      service.start();
      await until(() => service.status()[0]?.state === 'failed');

      // The CLI, on its own connection, with the fixed projection.
      const cli = make(store, await database.another());
      await cli.register(new LogProjection());
      await cli.rebuild('log');
      // Nobody reads from the service meanwhile: its loop alone notices the switch.
      await until(() => service.status()[0]?.state === 'live', 5000);
      expect(service.status()[0]).toMatchObject({ generation: 2, position: 3 });
    });

    it('two runners that both believe they run a projection still apply each event once', async () => {
      const database = await open();
      const store = new InMemoryEventStore();
      const a = make(store, db, 3);
      const b = make(store, await database.another(), 3);
      await a.register(new LogProjection());
      await b.register(new LogProjection());
      a.start();
      b.start();
      const head = await append(store, 30);
      await a.waitFor('log', head, 2000);
      await b.waitFor('log', head, 2000);
      expect(await rows(a.db, await a.prefix('log'))).toBe(30);
      expect(await eventsCounted(a.db, await a.prefix('log'))).toBe(30);
      expect(a.status()[0]?.state).not.toBe('failed');
      expect(b.status()[0]?.state).not.toBe('failed');
    });
  });
});

describe('ReadModelRunner: two instances coordinated on PostgreSQL', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const instance = async (
    database: OpenedReadModelDatabase,
    store: InMemoryEventStore,
    db: ReadModelDatabase,
    instanceName?: string,
  ) => {
    const logged: string[] = [];
    const coordination = new PostgresCoordination(
      READ_MODEL_DATABASE_URL,
      database.schema ?? '',
      (level, message) => logged.push(`${level}: ${message}`),
      instanceName,
    );
    const projection = new LogProjection();
    const runner = new ReadModelRunner(store, db, { batchSize: 4, coordination, leaseRetryMs: 100 });
    await runner.register(projection);
    runner.start();
    cleanup.push(async () => {
      await runner.stop();
      await coordination.close();
    });
    return { runner, coordination, projection, logged };
  };

  /** Two instances on one fresh schema; `a` started first and holds the lease. */
  const pair = async (aName?: string) => {
    const database = await postgresReadModels.open();
    cleanup.push(() => database.dispose());
    const store = new InMemoryEventStore();
    const a = await instance(database, store, database.db, aName);
    await until(() => a.runner.status()[0]?.runsHere === true, 5000);
    const b = await instance(database, store, await database.another());
    return { database, store, a, b };
  };

  it('one instance runs the projection, the other serves it and takes over when the first dies', async () => {
    const { store, a, b } = await pair();

    let head = await append(store, 10);
    // Read-your-writes on the follower: it waits for the holder's checkpoint.
    await b.runner.waitFor('log', head, 5000);
    expect(await rows(b.runner.db, await b.runner.prefix('log'))).toBe(10);
    expect(a.projection.applies).toBe(10);
    expect(b.projection.applies).toBe(0);
    await until(() => b.runner.status()[0]?.state === 'standby');
    expect(b.runner.status()[0]).toMatchObject({ runsHere: false, state: 'standby', position: 10 });

    // The holder's lease connection dies (as with a killed process): the follower takes over.
    await a.coordination.close();
    head = await append(store, 7);
    await until(() => b.runner.status()[0]?.runsHere === true, 5000);
    await b.runner.waitFor('log', head, 5000);
    expect(await rows(b.runner.db, await b.runner.prefix('log'))).toBe(17);
    expect(await eventsCounted(b.runner.db, await b.runner.prefix('log'))).toBe(17);
    // Whatever the old holder still did before it noticed, every event is in the tables once.
    expect(a.projection.applies + b.projection.applies).toBeGreaterThanOrEqual(17);
  });

  it('an instance whose lease connection is cut stops running the projection; another takes it over', async () => {
    const name = `cut-${Date.now()}`;
    const { database, store, a, b } = await pair(name);
    await append(store, 5);
    await b.runner.waitFor('log', 5, 5000);

    // The server ends a's lease session (a network cut, an operator), while a itself lives on.
    const admin = await database.another();
    await admin.get('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ?', [
      `account-service leases ${name}`,
    ]);
    await until(() => a.logged.some((line) => line.startsWith('warn: lost the coordination connection')));
    expect(a.logged.at(-1)).toMatch(/no longer running read-model\/log/);
    // Whoever takes it next (a reconnects and competes too), exactly one runs it.
    await until(() => a.runner.status()[0]?.runsHere !== b.runner.status()[0]?.runsHere, 5000);
    const head = await append(store, 6);
    await b.runner.waitFor('log', head, 5000);
    await a.runner.waitFor('log', head, 5000);
    expect(await rows(b.runner.db, await b.runner.prefix('log'))).toBe(11);
    expect(await eventsCounted(b.runner.db, await b.runner.prefix('log'))).toBe(11);
  });

  it('a projection stopped in the instance that runs it is reported stopped by the others, until a rebuild', async () => {
    const { store, a, b } = await pair();
    await append(store, 3);
    await b.runner.waitFor('log', 3, 5000);

    (a.projection as unknown as { failOn?: string }).failOn = 'Poison';
    await append(store, 1, 'Poison');
    await until(() => b.runner.status()[0]?.state === 'failed', 5000);
    expect(b.runner.status()[0]?.error).toMatch(/cannot fold Poison.*stopped in the instance that runs it/);
    await expect(b.runner.waitFor('log', 4, 5000)).rejects.toThrow(/has stopped/);
    expect(a.runner.status()[0]).toMatchObject({ state: 'failed', runsHere: true });

    // The fix ships (here: the same object stops throwing) and the operator rebuilds.
    (a.projection as unknown as { failOn?: string }).failOn = undefined;
    await a.runner.rebuild('log');
    await b.runner.waitFor('log', 4, 5000);
    await until(() => b.runner.status()[0]?.state === 'standby', 5000);
    expect(b.runner.status()[0]?.error).toBeUndefined();
    expect(await rows(b.runner.db, await b.runner.prefix('log'))).toBe(4);
  });

  it('a rolling upgrade: the old build lets go of a projection the new build registered', async () => {
    const { database, store, a } = await pair();
    await append(store, 4);
    await a.runner.waitFor('log', 4, 5000);
    // The new build (the projection's version bumped) starts beside the old one.
    const coordination = new PostgresCoordination(READ_MODEL_DATABASE_URL, database.schema ?? '');
    const upgraded = new ReadModelRunner(store, await database.another(), {
      batchSize: 4,
      coordination,
      leaseRetryMs: 100,
    });
    cleanup.push(async () => {
      await upgraded.stop();
      await coordination.close();
    });
    await upgraded.register(new LogProjection(2));
    upgraded.start();
    await append(store, 2);
    await until(() => upgraded.status()[0]?.runsHere === true, 5000);
    await upgraded.waitFor('log', 6, 5000);
    expect(upgraded.status()[0]).toMatchObject({ generation: 2, position: 6 });
    expect(a.runner.status()[0]).toMatchObject({ state: 'failed', runsHere: false });
    expect(await rows(upgraded.db, await upgraded.prefix('log'))).toBe(6);
  });
});
