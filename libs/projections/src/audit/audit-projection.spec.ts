// The audit projection on the audit library's sample log (every audited type, hostile values):
// the stored records are the library's chains byte for byte, a rebuild writes the same rows,
// queries filter as the feed promises, and verification names the first record edited behind the
// service's back. Every case runs on SQLite and on PostgreSQL.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type NewEvent, type RecordedEvent } from '#event-store';
import { GENESIS_HASH, SERVICE_CHAIN, hashRecord } from '#audit';
import { sampleLog, sampleRecords, TENANT_ID } from '../../../audit/src/testing/samples.js';
import { ReadModelRunner } from '../read-models.js';
import type { ReadModelDatabase, SqlValue } from '../sql.js';
import { readModelDatabases } from '../testing/databases.js';
import { AUDIT, AuditProjection, AuditRecords, auditTablePrefix } from './audit-projection.js';

const PREFIX = 'audit_test_';

const all = { after: 0, limit: 10_000 };

describe.each(readModelDatabases)('audit read model on $name', (factory) => {
  const disposals: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const dispose of disposals.splice(0).reverse()) await dispose();
  });

  async function open(): Promise<ReadModelDatabase> {
    const { db, dispose } = await factory.open();
    disposals.push(dispose);
    return db;
  }

  /** The tables set up and `events` applied in one transaction, as a runner's batch would. */
  async function projected(
    events: readonly RecordedEvent[] = sampleLog(),
    projection = new AuditProjection(),
    db?: ReadModelDatabase,
  ) {
    db ??= await open();
    const target = db;
    await target.transaction((tx) => projection.setup(tx, PREFIX, target.ddl));
    await target.transaction(async (tx) => {
      for (const e of events) await projection.apply(e, tx, PREFIX);
    });
    const records = new AuditRecords({ db: target, prefix: () => PREFIX }, projection);
    return { db: target, projection, records };
  }

  describe('AuditProjection', () => {
    it('stores exactly the chains the audit library builds (same records, same hashes)', async () => {
      const { records } = await projected();
      const expected = sampleRecords();
      expect(await records.after(all)).toEqual(expected);
      // Per chain: 1-based, gap-free, linked.
      for (const chain of new Set(expected.map((r) => r.tenantId))) {
        const mine = await records.after({ ...all, tenantIds: [chain] });
        expect(mine.map((r) => r.sequence)).toEqual(mine.map((_, i) => i + 1));
        expect(mine[0]!.previousHash).toBe(GENESIS_HASH);
        mine.forEach((r) => expect(hashRecord(r)).toBe(r.hash));
      }
    });

    it('stores the JSON that the hash covers, and the chain heads', async () => {
      const { db, records } = await projected();
      const row = await db.get<{ json: string; hash: string }>(
        `SELECT json, hash FROM ${PREFIX}records ORDER BY position LIMIT 1`,
      );
      expect(createHash('sha256').update(row!.json, 'utf8').digest('hex')).toBe(row!.hash);
      const heads = await db.all(`SELECT chain, sequence, hash FROM ${PREFIX}chain_heads ORDER BY chain`);
      const expected = sampleRecords();
      expect(heads).toEqual(
        (await records.chains()).map((chain) => {
          const last = expected.filter((r) => r.tenantId === chain).at(-1)!;
          return { chain, sequence: last.sequence, hash: last.hash };
        }),
      );
    });

    it('filters by chain, category, time, cursor bounds and limit, in global order', async () => {
      const { records } = await projected();
      const expected = sampleRecords();
      const positions = (list: readonly { globalPosition: number }[]) => list.map((r) => r.globalPosition);
      expect(positions(await records.after({ ...all, tenantIds: [SERVICE_CHAIN] }))).toEqual(
        positions(expected.filter((r) => r.tenantId === SERVICE_CHAIN)),
      );
      expect(await records.after({ ...all, tenantIds: [] })).toEqual([]);
      expect(positions(await records.after({ ...all, tenantIds: [TENANT_ID, SERVICE_CHAIN] }))).toEqual(
        positions(expected),
      );
      expect(positions(await records.after({ ...all, tenantIds: [TENANT_ID, 'no-such-tenant'] }))).toEqual(
        positions(expected.filter((r) => r.tenantId === TENANT_ID)),
      );
      expect(positions(await records.after({ ...all, category: 'SignInLogs' }))).toEqual(
        positions(expected.filter((r) => r.category === 'SignInLogs')),
      );
      const from = expected[3]!.activityDateTime;
      const to = expected[6]!.activityDateTime;
      // Bounds are inclusive and compared as instants (another spelling of the same instant works).
      expect(
        positions(
          await records.after({ ...all, from: from.replace('.000Z', 'Z'), to: to.replace('Z', '+00:00') }),
        ),
      ).toEqual(positions(expected.slice(3, 7)));
      const after = expected[2]!.globalPosition;
      const until = expected[8]!.globalPosition;
      expect(positions(await records.after({ after, until, limit: 3 }))).toEqual(
        positions(expected.slice(3, 6)),
      );
      expect(positions(await records.after({ after, until, limit: 100 }))).toEqual(
        positions(expected.slice(3, 9)),
      );
      await expect(records.after({ ...all, from: 'yesterday' })).rejects.toThrow(RangeError);
    });

    it('skips bookkeeping events and refuses a schema version it cannot map, unless upcast', async () => {
      const [first, ...rest] = sampleLog();
      const v2 = { ...first!, schemaVersion: 2 };
      await expect(projected([v2])).rejects.toThrow(/schema version 2/);
      const internal = { ...rest.find((e) => e.type === 'UniquenessClaimed')!, schemaVersion: 7 };
      expect(await (await projected([internal])).records.after(all)).toEqual([]);
      const upcasting = new AuditProjection({ upcast: (e) => ({ ...e, schemaVersion: 1 }) });
      const { db } = await projected([v2], upcasting);
      expect(await new AuditRecords({ db, prefix: () => PREFIX }).after(all)).toHaveLength(1);
    });

    it('sets up a second generation beside the first (index names do not collide)', async () => {
      const { db } = await projected();
      const projection = new AuditProjection();
      const next = 'audit_test_next_';
      await db.transaction((tx) => projection.setup(tx, next, db.ddl));
      await db.transaction(async (tx) => {
        for (const e of sampleLog()) await projection.apply(e, tx, next);
      });
      expect(await new AuditRecords({ db, prefix: () => next }).after(all)).toEqual(sampleRecords());
      expect(await db.columns(`${next}records`)).toEqual(await db.columns(`${PREFIX}records`));
    });

    it('reports an empty read model as head 0 and no chains', async () => {
      const { records } = await projected([]);
      expect(await records.head()).toBe(0);
      expect(await records.chains()).toEqual([]);
      expect(await records.after(all)).toEqual([]);
    });
  });

  describe('AuditRecords.waitForMore', () => {
    it('wakes on the projection’s change hook at once, and by polling without it', async () => {
      const log = sampleLog();
      const { db, projection, records } = await projected(log.slice(0, 3));
      const head = await records.head();
      expect(head).toBe(sampleRecords()[2]!.globalPosition);
      // Already there: resolves without waiting.
      let t0 = Date.now();
      await records.waitForMore(head - 1, 5000);
      expect(Date.now() - t0).toBeLessThan(1000);

      // Another writer (another instance) commits; the hook says so.
      const woken = records.waitForMore(head, 5000);
      await db.transaction(async (tx) => projection.apply(log[3]!, tx, PREFIX));
      t0 = Date.now();
      projection.changed(log[3]!.globalPosition);
      await woken;
      expect(Date.now() - t0).toBeLessThan(200);

      // Without the hook (a reader that hears of no commit), the head is polled.
      const polling = new AuditRecords({ db, prefix: () => PREFIX });
      const next = await polling.head();
      const waited = polling.waitForMore(next, 5000);
      t0 = Date.now();
      await db.transaction(async (tx) => projection.apply(log[4]!, tx, PREFIX));
      await waited;
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await polling.head()).toBeGreaterThan(next);
    });

    it('times out quietly, resolves at once on abort, and serves many waiters', async () => {
      const { records } = await projected();
      const head = await records.head();
      const t0 = Date.now();
      await records.waitForMore(head, 50);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      const abort = new AbortController();
      const pending = records.waitForMore(head, 60_000, abort.signal);
      abort.abort();
      await pending;
      const aborted = new AbortController();
      aborted.abort();
      await records.waitForMore(head, 60_000, aborted.signal);
      // Many at once: those below the head resolve, those at it time out.
      const t1 = Date.now();
      await Promise.all([
        ...Array.from({ length: 20 }, () => records.waitForMore(head - 1, 5000)),
        ...Array.from({ length: 5 }, () => records.waitForMore(head, 100)),
      ]);
      expect(Date.now() - t1).toBeLessThan(2000);
    });
  });

  describe('AuditRecords.verify', () => {
    it('passes every untouched chain', async () => {
      const { records } = await projected();
      for (const chain of await records.chains()) {
        const count = (await records.after({ ...all, tenantIds: [chain] })).length;
        expect(await records.verify(chain, { pageSize: 2 })).toEqual({
          tenantId: chain,
          ok: true,
          checked: count,
        });
      }
      expect(await records.verify('no-such-tenant')).toEqual({
        tenantId: 'no-such-tenant',
        ok: true,
        checked: 0,
      });
    });

    const edit = async (db: ReadModelDatabase, sql: string, ...params: SqlValue[]) =>
      expect(await db.run(sql, params)).toBe(1);

    it.each([
      [
        'the JSON edited',
        `UPDATE ${PREFIX}records SET json = replace(json, '"result":"success"', '"result":"failure"') WHERE chain = ? AND sequence = 5`,
        5,
        'hash_mismatch',
      ],
      [
        'the hash replaced',
        `UPDATE ${PREFIX}records SET hash = '${'f'.repeat(64)}' WHERE chain = ? AND sequence = 5`,
        5,
        'hash_mismatch',
      ],
      [
        'the previous hash column edited',
        `UPDATE ${PREFIX}records SET previous_hash = '${'0'.repeat(64)}' WHERE chain = ? AND sequence = 4`,
        4,
        'hash_mismatch',
      ],
      [
        'a record removed',
        `DELETE FROM ${PREFIX}records WHERE chain = ? AND sequence = 3`,
        3,
        'sequence_gap',
      ],
      [
        'the JSON made unreadable',
        `UPDATE ${PREFIX}records SET json = '{not json' WHERE chain = ? AND sequence = 6`,
        6,
        'unreadable_record',
      ],
    ] as const)('names the record when %s', async (_name, sql, sequence, reason) => {
      const { db, records } = await projected();
      await edit(db, sql, TENANT_ID);
      for (const pageSize of [1, 2, 1000]) {
        const result = await records.verify(TENANT_ID, { pageSize });
        expect(result).toMatchObject({
          ok: false,
          firstBrokenSequence: sequence,
          reason,
          checked: sequence - 1,
        });
      }
      // Other chains are not affected.
      expect((await records.verify(SERVICE_CHAIN)).ok).toBe(true);
    });

    it('sees the end of a chain cut off, and a head that does not match', async () => {
      const { db, records } = await projected();
      const last = (await records.after({ ...all, tenantIds: [TENANT_ID] })).length;
      await edit(db, `DELETE FROM ${PREFIX}records WHERE chain = ? AND sequence = ?`, TENANT_ID, last);
      expect(await records.verify(TENANT_ID)).toMatchObject({
        ok: false,
        checked: last - 1,
        firstBrokenSequence: last,
        reason: 'sequence_gap',
      });
      const other = await projected();
      await edit(
        other.db,
        `UPDATE ${PREFIX}chain_heads SET hash = ? WHERE chain = ?`,
        'e'.repeat(64),
        TENANT_ID,
      );
      expect(await other.records.verify(TENANT_ID)).toMatchObject({
        ok: false,
        firstBrokenSequence: last,
        reason: 'head_mismatch',
      });
    });
  });

  describe('AuditProjection in the read-model runner', () => {
    const runners: ReadModelRunner[] = [];
    afterEach(async () => {
      await Promise.all(runners.splice(0).map((r) => r.stop()));
    });

    async function running() {
      const store = new InMemoryEventStore();
      const db = await open();
      const runner = new ReadModelRunner(store, db, { batchSize: 7 });
      runners.push(runner);
      await runner.register(new AuditProjection());
      runner.start();
      const feed = AuditRecords.of(runner);
      const append = async (events: readonly RecordedEvent[]) => {
        for (const e of events) {
          const { streamId, streamVersion: _v, globalPosition: _p, ...rest } = e;
          await store.append([{ streamId, expectedVersion: 'any', events: [{ ...rest } as NewEvent] }]);
        }
        runner.notify();
        return store.headPosition();
      };
      return { store, db, runner, feed, append };
    }

    it('names its tables as the runner does', async () => {
      const { runner } = await running();
      expect(await runner.prefix(AUDIT)).toBe(auditTablePrefix(1));
    });

    it('wakes waiters after a commit, times out quietly, and a rebuild writes identical rows', async () => {
      const { runner, feed, append } = await running();
      const log = sampleLog();
      expect(await feed.head()).toBe(0);
      const waited = feed.waitForMore(0, 5000);
      const started = Date.now();
      const head = await append(log);
      await waited;
      expect(Date.now() - started).toBeLessThan(4000);
      await runner.waitFor(AUDIT, head, 5000);
      const before = await feed.after(all);
      expect(before.length).toBe(sampleRecords().length);
      expect(await feed.head()).toBe(before.at(-1)!.globalPosition);
      // Nothing more to come: resolves on the timeout, and at once on abort.
      const t0 = Date.now();
      await feed.waitForMore(await feed.head(), 50);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      const abort = new AbortController();
      const pending = feed.waitForMore(await feed.head(), 60_000, abort.signal);
      abort.abort();
      await pending;

      const digest = await runner.digest(AUDIT);
      await runner.rebuild(AUDIT);
      expect(await runner.prefix(AUDIT)).toBe(auditTablePrefix(2));
      expect(await runner.digest(AUDIT)).toBe(digest);
      expect(await feed.after(all)).toEqual(before);
      for (const chain of await feed.chains()) expect((await feed.verify(chain)).ok).toBe(true);
    });
  });
});
