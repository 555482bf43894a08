// The read-model runner on the in-memory event store and an in-memory SQLite database, with a tiny
// projection that records every event it sees (and counts its applies).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type RecordedEvent } from '#event-store';
import { newEvent } from '../../event-store/src/testing/events.js';
import { ProjectionLaggingError, ReadModelRunner, type ReadModelProjection } from './read-models.js';

class LogProjection implements ReadModelProjection {
  readonly name = 'log';
  readonly tables = ['entries', 'streams'] as const;
  applies = 0;
  committed: number[] = [];
  activations: string[] = [];

  constructor(
    readonly version = 1,
    /** Throws on events of this type. */
    private readonly failOn?: string,
  ) {}

  setup(db: Database.Database, prefix: string): void {
    db.exec(`CREATE TABLE ${prefix}entries (position INTEGER PRIMARY KEY, type TEXT NOT NULL) STRICT;
      CREATE TABLE ${prefix}streams (stream_id TEXT PRIMARY KEY, events INTEGER NOT NULL) STRICT;`);
  }

  apply(event: RecordedEvent, db: Database.Database, prefix: string): void {
    this.applies += 1;
    // Written before the throw, so a rollback has something to undo.
    db.prepare(`INSERT INTO ${prefix}entries (position, type) VALUES (?, ?)`).run(
      event.globalPosition,
      event.type,
    );
    db.prepare(
      `INSERT INTO ${prefix}streams (stream_id, events) VALUES (?, 1)
       ON CONFLICT (stream_id) DO UPDATE SET events = events + 1`,
    ).run(event.streamId);
    if (event.type === this.failOn) throw new Error(`cannot fold ${event.type}`);
  }

  afterCommit(events: readonly RecordedEvent[]): void {
    this.committed.push(...events.map((e) => e.globalPosition));
  }

  activated(_db: Database.Database, prefix: string): void {
    this.activations.push(prefix);
  }
}

const append = async (store: InMemoryEventStore, count: number, type = 'Happened', stream = 's-1') => {
  for (let i = 0; i < count; i++)
    await store.append([{ streamId: stream, expectedVersion: 'any', events: [newEvent(type)] }]);
  return store.headPosition();
};

const rows = (db: Database.Database, prefix: string): number =>
  db.prepare(`SELECT count(*) FROM ${prefix}entries`).pluck().get() as number;

const checkpoint = (db: Database.Database, name = 'log') =>
  db.prepare('SELECT generation, position, version FROM read_model_state WHERE name = ?').get(name) as
    { generation: number; position: number; version: number } | undefined;

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ReadModelRunner', () => {
  const runners: ReadModelRunner[] = [];
  const make = (store: InMemoryEventStore, db: Database.Database, batchSize?: number) => {
    const runner = new ReadModelRunner(store, db, batchSize === undefined ? {} : { batchSize });
    runners.push(runner);
    return runner;
  };
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
  });

  it('catches up with what is stored, then follows the log live', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 5);
    const projection = new LogProjection();
    const runner = make(store, db, 2);
    runner.register(projection);
    runner.start();
    await runner.waitFor('log', 5, 2000);
    expect(rows(db, runner.prefix('log'))).toBe(5);
    await until(() => runner.status()[0]?.state === 'live');

    const head = await append(store, 3);
    await runner.waitFor('log', head, 2000);
    expect(rows(db, runner.prefix('log'))).toBe(8);
    expect(projection.applies).toBe(8);
    expect(projection.committed).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(checkpoint(db)).toMatchObject({ generation: 1, position: 8 });
    expect(runner.status()[0]).toMatchObject({ name: 'log', state: 'live', position: 8, generation: 1 });
  });

  it('activates the live generation at register, with the prefix the runner reports', () => {
    const runner = make(new InMemoryEventStore(), new Database(':memory:'));
    const projection = new LogProjection();
    runner.register(projection);
    expect(projection.activations).toEqual([runner.prefix('log')]);
    expect(() => runner.register(new LogProjection())).toThrow(/registered twice/);
  });

  it('commits a batch and its checkpoint together: a throwing handler moves neither, and stops the projection', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 2);
    await append(store, 1, 'Poison');
    await append(store, 2);
    const runner = make(store, db, 10);
    const projection = new LogProjection(1, 'Poison');
    runner.register(projection);
    const waiting = runner.waitFor('log', 1, 2000);
    runner.start();

    await expect(waiting).rejects.toBeInstanceOf(ProjectionLaggingError);
    const [status] = runner.status();
    expect(status).toMatchObject({ state: 'failed', position: 0 });
    expect(status?.error).toMatch(/event 3 \(Poison in s-1\).*cannot fold Poison/);
    // The two events before the poison were applied in the same transaction: rolled back with it.
    expect(projection.applies).toBe(3);
    expect(rows(db, runner.prefix('log'))).toBe(0);
    expect(checkpoint(db)).toMatchObject({ position: 0 });
    expect(projection.committed).toEqual([]);
    await expect(runner.waitFor('log', 1, 2000)).rejects.toThrow(/has stopped.*cannot fold Poison/);

    // Stopped means stopped: new events are not skipped past the poison.
    await append(store, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(projection.applies).toBe(3);
    expect(runner.status()[0]?.state).toBe('failed');
  });

  it('a projection that fails in a later batch keeps what earlier batches committed', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 4);
    await append(store, 1, 'Poison');
    const runner = make(store, db, 2);
    runner.register(new LogProjection(1, 'Poison'));
    runner.start();
    await until(() => runner.status()[0]?.state === 'failed');
    expect(runner.status()[0]?.position).toBe(4);
    expect(rows(db, runner.prefix('log'))).toBe(4);
    expect(checkpoint(db)?.position).toBe(4);
    // What it has reached can still be read; beyond it, no waiting for what will never come.
    await expect(runner.waitFor('log', 4, 10)).resolves.toBeUndefined();
    await expect(runner.waitFor('log', 5, 2000)).rejects.toBeInstanceOf(ProjectionLaggingError);
  });

  it('answers ProjectionLaggingError after the bound when the position is not reached', async () => {
    const runner = make(new InMemoryEventStore(), new Database(':memory:'));
    runner.register(new LogProjection());
    runner.start();
    const started = Date.now();
    await expect(runner.waitFor('log', 1, 50)).rejects.toThrow(/at 0, not yet at 1/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('resumes after its checkpoint when the runner is created again on the same database', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 3);
    const first = make(store, db);
    first.register(new LogProjection());
    first.start();
    await first.waitFor('log', 3, 2000);
    await first.stop();

    await append(store, 2);
    const second = make(store, db);
    const projection = new LogProjection();
    second.register(projection);
    expect(second.status()[0]).toMatchObject({ position: 3, generation: 1 });
    second.start();
    await second.waitFor('log', 5, 2000);
    expect(projection.applies).toBe(2);
    expect(rows(db, second.prefix('log'))).toBe(5);
  });

  it('rebuilds beside the live generation while appends continue, then switches', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    for (let i = 0; i < 10; i++) await append(store, 3, 'Happened', `s-${i % 4}`);
    const runner = make(store, db, 4);
    const projection = new LogProjection();
    runner.register(projection);
    runner.start();
    await runner.waitFor('log', 30, 2000);
    const livePrefix = runner.prefix('log');

    const seenDuringRebuild: Array<{ live: number; state: string | undefined }> = [];
    let appended = 0;
    await runner.rebuild('log', (progress) => {
      // The live generation keeps answering, and is still the one reads go to.
      expect(runner.prefix('log')).toBe(livePrefix);
      seenDuringRebuild.push({ live: rows(db, livePrefix), state: runner.status()[0]?.state });
      expect(progress.position).toBeLessThanOrEqual(Math.max(progress.head, progress.position));
      // Commands keep being handled: the log grows while the rebuild runs.
      if (appended < 5) {
        appended += 1;
        void append(store, 2, 'Happened', `s-${appended}`);
      }
    });

    expect(seenDuringRebuild.length).toBeGreaterThan(3);
    expect(seenDuringRebuild.every((s) => s.live >= 30 && s.state === 'rebuilding')).toBe(true);
    expect(runner.prefix('log')).not.toBe(livePrefix);
    expect(runner.status()[0]?.generation).toBe(2);
    expect(
      db.prepare(`SELECT count(*) FROM sqlite_master WHERE name LIKE ?`).pluck().get(`${livePrefix}%`),
    ).toBe(0);
    expect(projection.activations.at(-1)).toBe(runner.prefix('log'));

    const head = await store.headPosition();
    expect(head).toBe(40);
    await runner.waitFor('log', head, 2000);
    // No duplicates, none missing: one row per event.
    expect(rows(db, runner.prefix('log'))).toBe(head);
    expect(
      db
        .prepare(`SELECT sum(events) FROM ${runner.prefix('log')}streams`)
        .pluck()
        .get(),
    ).toBe(head);

    // The same digest as a build from scratch.
    const fresh = make(store, new Database(':memory:'));
    fresh.register(new LogProjection());
    fresh.start();
    await fresh.waitFor('log', head, 2000);
    expect(runner.digest('log')).toBe(fresh.digest('log'));
    expect(checkpoint(db)).toMatchObject({ generation: 2, position: head });
  });

  it('refuses a second rebuild while one runs, without harming it', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 20);
    const runner = make(store, db, 2);
    runner.register(new LogProjection());
    runner.start();
    await runner.waitFor('log', 20, 2000);
    const first = runner.rebuild('log');
    await expect(runner.rebuild('log')).rejects.toThrow(/already being rebuilt/);
    await first;
    await runner.waitFor('log', 20, 2000);
    expect(rows(db, runner.prefix('log'))).toBe(20);
  });

  it('a rebuild brings a failed projection back once its handler is fixed', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 1, 'Poison');
    const flaky = new LogProjection(1, 'Poison');
    const runner = make(store, db);
    runner.register(flaky);
    runner.start();
    await until(() => runner.status()[0]?.state === 'failed');
    // The fix ships (here: the same object stops throwing); a rebuild replays from zero.
    (flaky as unknown as { failOn?: string }).failOn = undefined;
    await runner.rebuild('log');
    await append(store, 1);
    await runner.waitFor('log', 2, 2000);
    expect(runner.status()[0]).toMatchObject({ state: 'live', position: 2, generation: 2 });
    expect(runner.status()[0]?.error).toBeUndefined();
  });

  it('a failing rebuild leaves the live generation serving and no half-built tables', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 3);
    const projection = new LogProjection();
    const runner = make(store, db);
    runner.register(projection);
    runner.start();
    await runner.waitFor('log', 3, 2000);
    const live = runner.prefix('log');
    (projection as unknown as { failOn?: string }).failOn = 'Happened';
    await expect(runner.rebuild('log')).rejects.toThrow(/cannot fold Happened/);
    expect(runner.prefix('log')).toBe(live);
    expect(rows(db, live)).toBe(3);
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'rm_log_g2_%'`).pluck().get()).toBe(
      0,
    );
  });

  it('rebuilds from zero at register when the version changes', async () => {
    const store = new InMemoryEventStore();
    const db = new Database(':memory:');
    await append(store, 4);
    const first = make(store, db);
    first.register(new LogProjection(1));
    first.start();
    await first.waitFor('log', 4, 2000);
    await first.stop();

    const second = make(store, db);
    const bumped = new LogProjection(2);
    second.register(bumped);
    expect(second.status()[0]).toMatchObject({ position: 0, generation: 2 });
    expect(checkpoint(db)).toMatchObject({ version: 2, generation: 2, position: 0 });
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name LIKE 'rm_log_g1_%'`).pluck().get()).toBe(
      0,
    );
    second.start();
    await second.waitFor('log', 4, 2000);
    expect(bumped.applies).toBe(4);
    expect(rows(db, second.prefix('log'))).toBe(4);
  });

  it('resolves a waiter only after afterCommit ran (in-memory indexes are in step)', async () => {
    const store = new InMemoryEventStore();
    const projection = new LogProjection();
    const runner = make(store, new Database(':memory:'));
    runner.register(projection);
    runner.start();
    const head = await append(store, 1);
    await runner.waitFor('log', head, 2000);
    expect(projection.committed).toContain(head);
  });

  it('stop rejects pending waiters with ProjectionLaggingError', async () => {
    const runner = new ReadModelRunner(new InMemoryEventStore(), new Database(':memory:'));
    runner.register(new LogProjection());
    runner.start();
    const waiting = runner.waitFor('log', 10, 5000);
    await runner.stop();
    await expect(waiting).rejects.toBeInstanceOf(ProjectionLaggingError);
    expect(runner.status()[0]?.state).toBe('stopped');
  });

  describe('two connections on one file (the service and the CLI)', () => {
    const dirs: string[] = [];
    const connect = (file: string) => {
      const db = new Database(file, { timeout: 5000 });
      db.pragma('journal_mode = WAL');
      return db;
    };
    const tempFile = () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-rm-'));
      dirs.push(dir);
      return path.join(dir, 'events.db');
    };
    afterEach(() => {
      for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a rebuild switched by another connection is followed by the running one, which keeps serving', async () => {
      const store = new InMemoryEventStore();
      const file = tempFile();
      await append(store, 12);
      const service = make(store, connect(file), 5);
      const live = new LogProjection();
      service.register(live);
      service.start();
      await service.waitFor('log', 12, 2000);

      const cliDb = connect(file);
      const cli = make(store, cliDb, 5);
      cli.register(new LogProjection());
      await cli.rebuild('log');
      expect(cli.status()[0]?.generation).toBe(2);

      // The service reads from the new generation at once, its index reloaded from it.
      expect(service.prefix('log')).toBe(cli.prefix('log'));
      expect(live.activations.at(-1)).toBe(service.prefix('log'));
      expect(rows(service.db, service.prefix('log'))).toBe(12);
      const head = await append(store, 4);
      await service.waitFor('log', head, 2000);
      expect(rows(service.db, service.prefix('log'))).toBe(16);
      expect(service.status()[0]).toMatchObject({ state: 'live', generation: 2, position: 16 });
    });

    it('two runners following one file apply each event once', async () => {
      const store = new InMemoryEventStore();
      const file = tempFile();
      const a = make(store, connect(file), 3);
      const b = make(store, connect(file), 3);
      const pa = new LogProjection();
      const pb = new LogProjection();
      a.register(pa);
      b.register(pb);
      a.start();
      b.start();
      const head = await append(store, 30);
      await a.waitFor('log', head, 2000);
      await b.waitFor('log', head, 2000);
      expect(rows(a.db, a.prefix('log'))).toBe(30);
      expect(
        a.db
          .prepare(`SELECT sum(events) FROM ${a.prefix('log')}streams`)
          .pluck()
          .get(),
      ).toBe(30);
      expect(a.status()[0]?.state).not.toBe('failed');
      expect(b.status()[0]?.state).not.toBe('failed');
    });
  });
});
