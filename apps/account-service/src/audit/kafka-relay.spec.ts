// The relay's loop against a fake feed and a fake publisher: batches, checkpoint only after the
// acknowledgement, retry without skipping, resume from the checkpoint, at-least-once re-sends.
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '#audit';
import { MemoryCheckpointStore, type CheckpointStore } from '#projections';
import { MemoryRecordPublisher } from '../../../../libs/messaging/src/testing/index.js';
import type { AuditFeed, AuditQuery } from './audit-feed.js';
import { AUDIT_KAFKA_RELAY, AuditRelay, SERVICE_KEY, toMessage, type RelayOptions } from './kafka-relay.js';

const TENANTS = ['t-a', 't-b', ''];

/** A feed over an array that grows; positions have gaps (not every event is audited). */
class FakeFeed implements AuditFeed {
  readonly records: AuditRecord[] = [];
  readonly queries: AuditQuery[] = [];
  private position = 0;
  private readonly sequences = new Map<string, number>();
  private listeners: Array<() => void> = [];
  failReads = 0;

  add(count: number): void {
    for (let i = 0; i < count; i += 1) {
      this.position += 1 + (i % 3 === 0 ? 1 : 0);
      const tenantId = TENANTS[this.records.length % TENANTS.length]!;
      const sequence = (this.sequences.get(tenantId) ?? 0) + 1;
      this.sequences.set(tenantId, sequence);
      this.records.push({
        id: `event-${this.position}`,
        tenantId,
        sequence,
        globalPosition: this.position,
        hash: `h${this.position}`,
      } as unknown as AuditRecord);
    }
    const listeners = this.listeners;
    this.listeners = [];
    listeners.forEach((l) => l());
  }

  async after(query: AuditQuery): Promise<AuditRecord[]> {
    this.queries.push(query);
    if (this.failReads > 0) {
      this.failReads -= 1;
      throw new Error('feed unavailable');
    }
    return this.records.filter((r) => r.globalPosition > query.after).slice(0, query.limit);
  }

  async head(): Promise<number> {
    return this.records.at(-1)?.globalPosition ?? 0;
  }

  waitForMore(cursor: number, timeoutMs: number): Promise<void> {
    if (this.position > cursor) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.listeners.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Checkpoints that remember every write (and can fail). */
class RecordingCheckpoints implements CheckpointStore {
  readonly writes: number[] = [];
  failWrites = 0;
  private readonly inner = new MemoryCheckpointStore();
  get(name: string): Promise<number> {
    return this.inner.get(name);
  }
  async set(name: string, position: number): Promise<void> {
    if (this.failWrites > 0) {
      this.failWrites -= 1;
      throw new Error('disk full');
    }
    this.writes.push(position);
    await this.inner.set(name, position);
  }
}

const fast: RelayOptions = { pageSize: 500, initialBackoffMs: 1, maxBackoffMs: 8, idleWaitMs: 50 };

const relays: AuditRelay[] = [];
function startRelay(
  feed: AuditFeed,
  checkpoints: CheckpointStore,
  publisher: MemoryRecordPublisher,
  options: RelayOptions = {},
): AuditRelay {
  const relay = new AuditRelay(feed, checkpoints, publisher, { ...fast, ...options });
  relays.push(relay);
  relay.start();
  return relay;
}

const ids = (publisher: MemoryRecordPublisher) => publisher.messages.map((m) => m.headers?.['record-id']);

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop(100)));
});

describe('the audit Kafka relay', () => {
  it('maps a record to a message keyed by its chain, with its id and sequence in headers', () => {
    const record = { id: 'e1', tenantId: 't-a', sequence: 7, globalPosition: 42 } as unknown as AuditRecord;
    expect(toMessage(record)).toEqual({
      key: 't-a',
      value: JSON.stringify(record),
      headers: { 'record-id': 'e1', sequence: '7', 'global-position': '42' },
    });
    expect(toMessage({ ...record, tenantId: '' }).key).toBe(SERVICE_KEY);
    expect(toMessage({ ...record, tenantId: undefined } as unknown as AuditRecord).key).toBe(SERVICE_KEY);
  });

  it('publishes the feed in pages, one batch per page, and checkpoints each page after it', async () => {
    const feed = new FakeFeed();
    feed.add(1200);
    const checkpoints = new RecordingCheckpoints();
    const publisher = new MemoryRecordPublisher();
    const relay = startRelay(feed, checkpoints, publisher);
    await relay.caughtUp(await feed.head(), 2000);

    expect(publisher.attempts).toEqual([500, 500, 200]);
    expect(ids(publisher)).toEqual(feed.records.map((r) => r.id));
    expect(checkpoints.writes).toEqual([
      feed.records[499]!.globalPosition,
      feed.records[999]!.globalPosition,
      feed.records[1199]!.globalPosition,
    ]);
    expect(feed.queries.slice(0, 3).map((q) => q.after)).toEqual([0, ...checkpoints.writes.slice(0, 2)]);
    const status = await relay.status();
    expect(status).toMatchObject({ name: AUDIT_KAFKA_RELAY, state: 'running', lag: 0, failures: 0 });
  });

  it('follows the feed live once caught up', async () => {
    const feed = new FakeFeed();
    const publisher = new MemoryRecordPublisher();
    const relay = startRelay(feed, new RecordingCheckpoints(), publisher, { idleWaitMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    feed.add(3);
    await relay.caughtUp(await feed.head(), 1000);
    feed.add(2);
    await relay.caughtUp(await feed.head(), 1000);
    expect(ids(publisher)).toEqual(feed.records.map((r) => r.id));
  });

  it('moves the checkpoint only after the batch is acknowledged', async () => {
    const feed = new FakeFeed();
    feed.add(10);
    const checkpoints = new RecordingCheckpoints();
    const publisher = new MemoryRecordPublisher();
    publisher.hold();
    const relay = startRelay(feed, checkpoints, publisher);
    await new Promise((r) => setTimeout(r, 30));

    expect(publisher.attempts).toEqual([10]);
    expect(checkpoints.writes).toEqual([]);
    expect((await relay.status()).position).toBe(0);

    publisher.release();
    await relay.caughtUp(await feed.head(), 1000);
    expect(checkpoints.writes).toEqual([await feed.head()]);
  });

  it('retries the same page with a capped back-off until the broker is back, skipping nothing', async () => {
    const feed = new FakeFeed();
    feed.add(700);
    const checkpoints = new RecordingCheckpoints();
    const publisher = new MemoryRecordPublisher();
    publisher.failNext(6, new Error('Connection error: ECONNREFUSED'));
    const relay = startRelay(feed, checkpoints, publisher, { initialBackoffMs: 5, maxBackoffMs: 20 });

    await new Promise((r) => setTimeout(r, 15));
    const failing = await relay.status();
    expect(failing.state).toBe('retrying');
    expect(failing.lastError).toBe('Connection error: ECONNREFUSED');
    expect(failing.failures).toBeGreaterThan(0);
    expect(failing.position).toBe(0);
    expect(failing.lag).toBe(await feed.head());

    await relay.caughtUp(await feed.head(), 2000);
    // Seven attempts of the first page (six failed), then the second page.
    expect(publisher.attempts).toEqual([500, 500, 500, 500, 500, 500, 500, 200]);
    expect(new Set(feed.queries.slice(0, 7).map((q) => q.after))).toEqual(new Set([0]));
    expect(ids(publisher)).toEqual(feed.records.map((r) => r.id));
    expect(checkpoints.writes).toEqual([feed.records[499]!.globalPosition, await feed.head()]);
    const recovered = await relay.status();
    expect(recovered).toMatchObject({ state: 'running', failures: 0, lag: 0 });
    expect(recovered.lastError).toBeUndefined();
  });

  it('reports a broker it cannot reach before there is anything to send', async () => {
    const feed = new FakeFeed();
    const publisher = new MemoryRecordPublisher();
    publisher.failConnects = 3;
    const relay = startRelay(feed, new RecordingCheckpoints(), publisher, { initialBackoffMs: 20 });
    await new Promise((r) => setTimeout(r, 10));
    expect(await relay.status()).toMatchObject({
      state: 'retrying',
      lastError: 'Connection error: connect ECONNREFUSED',
    });
    expect(publisher.attempts).toEqual([]);
    feed.add(2);
    await relay.caughtUp(await feed.head(), 2000);
    expect(publisher.connects).toBe(4);
    expect(ids(publisher)).toEqual(feed.records.map((r) => r.id));
    expect((await relay.status()).state).toBe('running');
  });

  it('caps the back-off', async () => {
    const feed = new FakeFeed();
    feed.add(1);
    const publisher = new MemoryRecordPublisher();
    publisher.failNext(1000);
    const relay = startRelay(feed, new RecordingCheckpoints(), publisher, {
      initialBackoffMs: 2,
      maxBackoffMs: 10,
    });
    await new Promise((r) => setTimeout(r, 200));
    // Without a cap (2, 4, 8, 16, 32, 64 ...) about 7 attempts fit in 200 ms; capped at 10 ms, many more.
    expect(publisher.attempts.length).toBeGreaterThan(10);
    expect((await relay.status()).state).toBe('retrying');
  });

  it('retries when the feed cannot be read or the checkpoint cannot be written', async () => {
    const feed = new FakeFeed();
    feed.add(5);
    feed.failReads = 2;
    const checkpoints = new RecordingCheckpoints();
    checkpoints.failWrites = 1;
    const publisher = new MemoryRecordPublisher();
    const relay = startRelay(feed, checkpoints, publisher);
    await relay.caughtUp(await feed.head(), 1000);
    // The page was acknowledged once but not checkpointed: sent again (at least once).
    expect(ids(publisher)).toEqual([...feed.records, ...feed.records].map((r) => r.id));
    expect(checkpoints.writes).toEqual([await feed.head()]);
  });

  it('resumes after a restart from its checkpoint', async () => {
    const feed = new FakeFeed();
    feed.add(600);
    const checkpoints = new RecordingCheckpoints();
    const first = new MemoryRecordPublisher();
    const relay = startRelay(feed, checkpoints, first);
    await relay.caughtUp(await feed.head(), 1000);
    await relay.stop(100);
    expect(first.closed).toBe(true);

    feed.add(300);
    const second = new MemoryRecordPublisher();
    const again = startRelay(feed, checkpoints, second);
    await again.caughtUp(await feed.head(), 1000);
    expect(feed.queries.filter((q) => q.after === 0)).toHaveLength(1);
    expect(ids(second)).toEqual(feed.records.slice(600).map((r) => r.id));
  });

  it('re-sends a page whose acknowledgement was lost before a crash; ids de-duplicate', async () => {
    const feed = new FakeFeed();
    feed.add(800);
    const checkpoints = new RecordingCheckpoints();
    const first = new MemoryRecordPublisher();
    // The broker keeps the second page but its acknowledgement never arrives; the process then
    // dies (stopped while it backs off) before any retry.
    first.succeedNext();
    first.failNext(1, new Error('request timed out'), true);
    const relay = startRelay(feed, checkpoints, first, { initialBackoffMs: 60_000 });
    await relay.caughtUp(feed.records[499]!.globalPosition, 1000);
    await new Promise((r) => setTimeout(r, 20));
    await relay.stop(100);
    expect(first.messages).toHaveLength(800);
    expect(await checkpoints.get(AUDIT_KAFKA_RELAY)).toBe(feed.records[499]!.globalPosition);

    const second = new MemoryRecordPublisher();
    const restarted = startRelay(feed, checkpoints, second);
    await restarted.caughtUp(await feed.head(), 1000);
    // At least once: records 501..800 reached the topic twice ...
    expect(ids(second)).toEqual(feed.records.slice(500).map((r) => r.id));
    // ... and exactly once after de-duplication by record id, in order.
    const seen = new Set<string>();
    const unique = [...first.messages, ...second.messages].filter((m) => {
      const id = m.headers!['record-id']!;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    expect(unique.map((m) => m.headers!['record-id'])).toEqual(feed.records.map((r) => r.id));
  });

  it('never moves the checkpoint when stopped while a batch is failing', async () => {
    const feed = new FakeFeed();
    feed.add(10);
    const checkpoints = new RecordingCheckpoints();
    const publisher = new MemoryRecordPublisher();
    publisher.failNext(1000);
    const relay = startRelay(feed, checkpoints, publisher, { initialBackoffMs: 50, maxBackoffMs: 50 });
    await new Promise((r) => setTimeout(r, 20));
    const before = Date.now();
    await relay.stop(1000);
    expect(Date.now() - before).toBeLessThan(500);
    expect(checkpoints.writes).toEqual([]);
    expect((await relay.status()).state).toBe('stopped');
  });
});
