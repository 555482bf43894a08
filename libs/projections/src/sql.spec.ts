import { afterEach, describe, expect, it } from 'vitest';
import type { ReadModelDatabase } from './sql.js';
import { toPostgresPlaceholders } from './sql.js';
import { readModelDatabases } from './testing/databases.js';

describe('toPostgresPlaceholders', () => {
  it('numbers the placeholders in order', () => {
    expect(toPostgresPlaceholders('SELECT a FROM t WHERE b = ? AND c IN (?, ?)')).toBe(
      'SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)',
    );
  });
});

describe.each(readModelDatabases)('read-model database on $name', (factory) => {
  let db: ReadModelDatabase;
  let dispose: (() => Promise<void>) | undefined;

  const open = async (): Promise<ReadModelDatabase> => {
    const opened = await factory.open();
    dispose = opened.dispose;
    db = opened.db;
    const { int, text, tableOptions } = db.ddl;
    await db.exec(`CREATE TABLE t (k ${text} PRIMARY KEY, n ${int} NOT NULL)${tableOptions}`);
    return db;
  };

  afterEach(async () => {
    await dispose?.();
    dispose = undefined;
  });

  it('runs statements with parameters and reads rows back with numbers as numbers', async () => {
    await open();
    expect(await db.run('INSERT INTO t (k, n) VALUES (?, ?), (?, ?)', ['b', 2, 'a', 9007199254740991])).toBe(
      2,
    );
    expect(await db.all('SELECT k, n FROM t ORDER BY k')).toEqual([
      { k: 'a', n: 9007199254740991 },
      { k: 'b', n: 2 },
    ]);
    expect(await db.get('SELECT count(*) AS c, max(n) AS m FROM t')).toEqual({ c: 2, m: 9007199254740991 });
    expect(await db.get('SELECT k FROM t WHERE k = ?', ['zz'])).toBeUndefined();
    expect(await db.run('UPDATE t SET n = n + 1 WHERE k = ?', ['b'])).toBe(1);
    expect(await db.columns('t')).toEqual(['k', 'n']);
  });

  it('sorts text byte by byte on both databases', async () => {
    await open();
    for (const k of ['b', 'B', 'a', 'A', '_', 'é']) await db.run('INSERT INTO t (k, n) VALUES (?, 0)', [k]);
    const keys = (await db.all<{ k: string }>('SELECT k FROM t ORDER BY k')).map((r) => r.k);
    expect(keys).toEqual(['A', 'B', '_', 'a', 'b', 'é']);
  });

  it('rolls a failed transaction back whole and commits a good one', async () => {
    await open();
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', ['x', 1]);
        await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', ['x', 2]);
      }),
    ).rejects.toThrow();
    expect(await db.all('SELECT * FROM t')).toEqual([]);
    const result = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', ['x', 1]);
      return (await tx.get<{ n: number }>('SELECT n FROM t WHERE k = ?', ['x']))?.n;
    });
    expect(result).toBe(1);
    expect(await db.all('SELECT k FROM t')).toEqual([{ k: 'x' }]);
  });

  it('never shows a reader a transaction half done', async () => {
    await open();
    let inside!: () => void;
    const started = new Promise<void>((resolve) => (inside = resolve));
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const writing = db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', ['first', 1]);
      inside();
      await gate;
      await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', ['second', 2]);
    });
    await started;
    const reading = db.all<{ k: string }>('SELECT k FROM t ORDER BY k');
    finish();
    await writing;
    const seen = (await reading).map((r) => r.k);
    // Before or after, never between.
    expect([[], ['first', 'second']]).toContainEqual(seen);
  });

  it('streams a large result in chunks', async () => {
    await open();
    await db.transaction(async (tx) => {
      for (let i = 0; i < 2500; i++)
        await tx.run('INSERT INTO t (k, n) VALUES (?, ?)', [`k${String(i).padStart(5, '0')}`, i]);
    });
    const sizes: number[] = [];
    let last: unknown[] | undefined;
    for await (const rows of db.stream('SELECT k, n FROM t WHERE n >= ? ORDER BY k', [0], 1000)) {
      sizes.push(rows.length);
      last = rows[rows.length - 1];
    }
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(last).toEqual(['k02499', 2499]);
    // The connection is free again afterwards.
    expect(await db.get('SELECT count(*) AS c FROM t')).toEqual({ c: 2500 });
  });

  it('survives the server ending its connections, idle or in a transaction (PostgreSQL)', async () => {
    if (factory.name !== 'postgres') return;
    await open();
    const admin = await factory.open();
    try {
      // Every backend whose last query carried this run's marker (not the admin's own).
      const endAll = async () =>
        (
          await admin.db.get<{ n: number }>(
            `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND query LIKE ?`,
            [`%marker_${process.pid}%`],
          )
        )?.n;
      // An idle pooled connection ended by the server: no unhandled 'error' event, the next query works.
      await db.get(`SELECT 1 AS marker_${process.pid}`);
      expect(await endAll()).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await db.get(`SELECT 1 AS ok`)).toEqual({ ok: 1 });
      // Ended inside a transaction: the transaction fails, the process lives on.
      await expect(
        db.transaction(async (tx) => {
          await tx.get(`SELECT 1 AS marker_${process.pid}`);
          expect(await endAll()).toBe(1);
          await tx.run('INSERT INTO t (k, n) VALUES (?, 1)', ['lost']);
        }),
      ).rejects.toThrow();
      expect(await db.get('SELECT count(*) AS c FROM t')).toEqual({ c: 0 });
    } finally {
      await admin.dispose();
    }
  });
});
