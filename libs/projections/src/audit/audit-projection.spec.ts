// The audit projection on the audit library's sample log (every audited type, hostile values):
// the stored records are the library's chains byte for byte, a rebuild writes the same rows,
// queries filter as the feed promises, and verification names the first record edited behind the
// service's back.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type NewEvent, type RecordedEvent } from '#event-store';
import { GENESIS_HASH, SERVICE_CHAIN, hashRecord } from '#audit';
import { sampleLog, sampleRecords, TENANT_ID } from '../../../audit/src/testing/samples.js';
import { ReadModelRunner } from '../read-models.js';
import { AUDIT, AuditProjection, AuditRecords, auditTablePrefix } from './audit-projection.js';

const PREFIX = 'audit_test_';

function projected(events: readonly RecordedEvent[] = sampleLog()) {
  const db = new Database(':memory:');
  const projection = new AuditProjection();
  projection.setup(db, PREFIX);
  db.transaction(() => events.forEach((e) => projection.apply(e, db, PREFIX)))();
  const records = new AuditRecords({ db, prefix: () => PREFIX }, projection);
  return { db, projection, records };
}

const all = { after: 0, limit: 10_000 };

describe('AuditProjection', () => {
  it('stores exactly the chains the audit library builds (same records, same hashes)', () => {
    const { records } = projected();
    const expected = sampleRecords();
    expect(records.page(all)).toEqual(expected);
    // Per chain: 1-based, gap-free, linked.
    for (const chain of new Set(expected.map((r) => r.tenantId))) {
      const mine = records.page({ ...all, tenantIds: [chain] });
      expect(mine.map((r) => r.sequence)).toEqual(mine.map((_, i) => i + 1));
      expect(mine[0]!.previousHash).toBe(GENESIS_HASH);
      mine.forEach((r) => expect(hashRecord(r)).toBe(r.hash));
    }
  });

  it('stores the JSON that the hash covers, and the chain heads', () => {
    const { db, records } = projected();
    const row = db.prepare(`SELECT json, hash FROM ${PREFIX}records ORDER BY position LIMIT 1`).get() as {
      json: string;
      hash: string;
    };
    expect(createHash('sha256').update(row.json, 'utf8').digest('hex')).toBe(row.hash);
    const heads = db.prepare(`SELECT chain, sequence, hash FROM ${PREFIX}chain_heads ORDER BY chain`).all();
    const expected = sampleRecords();
    expect(heads).toEqual(
      records.chains().map((chain) => {
        const last = expected.filter((r) => r.tenantId === chain).at(-1)!;
        return { chain, sequence: last.sequence, hash: last.hash };
      }),
    );
  });

  it('filters by chain, category, time, cursor bounds and limit, in global order', () => {
    const { records } = projected();
    const expected = sampleRecords();
    const positions = (list: readonly { globalPosition: number }[]) => list.map((r) => r.globalPosition);
    expect(positions(records.page({ ...all, tenantIds: [SERVICE_CHAIN] }))).toEqual(
      positions(expected.filter((r) => r.tenantId === SERVICE_CHAIN)),
    );
    expect(records.page({ ...all, tenantIds: [] })).toEqual([]);
    expect(positions(records.page({ ...all, tenantIds: [TENANT_ID, SERVICE_CHAIN] }))).toEqual(
      positions(expected),
    );
    expect(positions(records.page({ ...all, category: 'SignInLogs' }))).toEqual(
      positions(expected.filter((r) => r.category === 'SignInLogs')),
    );
    const from = expected[3]!.activityDateTime;
    const to = expected[6]!.activityDateTime;
    // Bounds are inclusive and compared as instants (another spelling of the same instant works).
    expect(
      positions(records.page({ ...all, from: from.replace('.000Z', 'Z'), to: to.replace('Z', '+00:00') })),
    ).toEqual(positions(expected.slice(3, 7)));
    const after = expected[2]!.globalPosition;
    const until = expected[8]!.globalPosition;
    expect(positions(records.page({ after, until, limit: 3 }))).toEqual(positions(expected.slice(3, 6)));
    expect(positions(records.page({ after, until, limit: 100 }))).toEqual(positions(expected.slice(3, 9)));
    expect(() => records.page({ ...all, from: 'yesterday' })).toThrow(RangeError);
  });

  it('skips bookkeeping events and refuses a schema version it cannot map, unless upcast', () => {
    const [first, ...rest] = sampleLog();
    const v2 = { ...first!, schemaVersion: 2 };
    expect(() => projected([v2])).toThrow(/schema version 2/);
    const internal = { ...rest.find((e) => e.type === 'UniquenessClaimed')!, schemaVersion: 7 };
    expect(projected([internal]).records.page(all)).toEqual([]);
    const db = new Database(':memory:');
    const projection = new AuditProjection({ upcast: (e) => ({ ...e, schemaVersion: 1 }) });
    projection.setup(db, PREFIX);
    projection.apply(v2, db, PREFIX);
    expect(new AuditRecords({ db, prefix: () => PREFIX }).page(all)).toHaveLength(1);
  });
});

describe('AuditRecords.verify', () => {
  const chains = () => projected();

  it('passes every untouched chain', async () => {
    const { records } = chains();
    for (const chain of records.chains()) {
      const count = records.page({ ...all, tenantIds: [chain] }).length;
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

  const edit = (db: Database.Database, sql: string, ...params: unknown[]) =>
    expect(db.prepare(sql).run(...params).changes).toBe(1);

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
    ['a record removed', `DELETE FROM ${PREFIX}records WHERE chain = ? AND sequence = 3`, 3, 'sequence_gap'],
    [
      'the JSON made unreadable',
      `UPDATE ${PREFIX}records SET json = '{not json' WHERE chain = ? AND sequence = 6`,
      6,
      'unreadable_record',
    ],
  ] as const)('names the record when %s', async (_name, sql, sequence, reason) => {
    const { db, records } = chains();
    edit(db, sql, TENANT_ID);
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
    const { db, records } = chains();
    const last = records.page({ ...all, tenantIds: [TENANT_ID] }).length;
    edit(db, `DELETE FROM ${PREFIX}records WHERE chain = ? AND sequence = ?`, TENANT_ID, last);
    expect(await records.verify(TENANT_ID)).toMatchObject({
      ok: false,
      checked: last - 1,
      firstBrokenSequence: last,
      reason: 'sequence_gap',
    });
    const other = chains();
    edit(other.db, `UPDATE ${PREFIX}chain_heads SET hash = ? WHERE chain = ?`, 'e'.repeat(64), TENANT_ID);
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
    const db = new Database(':memory:');
    const runner = new ReadModelRunner(store, db, { batchSize: 7 });
    runners.push(runner);
    runner.register(new AuditProjection());
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
    expect(runner.prefix(AUDIT)).toBe(auditTablePrefix(1));
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
    const before = feed.page(all);
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

    const digest = runner.digest(AUDIT);
    await runner.rebuild(AUDIT);
    expect(runner.prefix(AUDIT)).toBe(auditTablePrefix(2));
    expect(runner.digest(AUDIT)).toBe(digest);
    expect(feed.page(all)).toEqual(before);
    for (const chain of feed.chains()) expect((await feed.verify(chain)).ok).toBe(true);
  });
});
