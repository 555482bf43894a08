// Streaming the feed to a response: an export holds one page at a time and waits for a slow client
// (memory stays flat), ends at the head it started with, and the SSE tail sends heartbeats while
// idle and stops on abort.
import { Writable } from 'node:stream';
import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { toNdjsonLine, type AuditRecord } from '#audit';
import { sampleRecords } from '../../../../libs/audit/src/testing/samples.js';
import type { AuditFeed, AuditQuery } from './audit-feed.js';
import { exportRecords, tail } from './audit-streaming.js';

class FakeFeed implements AuditFeed {
  readonly records: AuditRecord[] = [];
  readonly queries: AuditQuery[] = [];
  private wake: Array<() => void> = [];

  add(count: number): void {
    const template = sampleRecords()[0]!;
    for (let i = 0; i < count; i++) {
      const position = this.records.length + 1;
      this.records.push({ ...template, id: `r-${position}`, globalPosition: position, sequence: position });
    }
    this.wake.splice(0).forEach((w) => w());
  }

  async after(query: AuditQuery): Promise<AuditRecord[]> {
    this.queries.push(query);
    return this.records
      .filter(
        (r) =>
          r.globalPosition > query.after && (query.until === undefined || r.globalPosition <= query.until),
      )
      .slice(0, query.limit);
  }

  async head(): Promise<number> {
    return this.records.at(-1)?.globalPosition ?? 0;
  }

  waitForMore(cursor: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if ((this.records.at(-1)?.globalPosition ?? 0) > cursor || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.wake.push(done);
    });
  }
}

/** A client that takes one chunk per tick, through a small socket buffer. */
function slowClient() {
  let received = '';
  let peakBuffered = 0;
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.toString('utf8');
      setImmediate(callback);
    },
  });
  const headers: Record<string, string> = {};
  const res = Object.assign(sink, {
    setHeader: (name: string, value: string) => {
      headers[name] = value;
    },
  });
  const write = sink.write.bind(sink);
  sink.write = ((chunk: string, ...rest: never[]) => {
    const ok = write(chunk, ...rest);
    peakBuffered = Math.max(peakBuffered, sink.writableLength);
    return ok;
  }) as typeof sink.write;
  return {
    res: res as unknown as Response,
    headers,
    received: () => received,
    peakBuffered: () => peakBuffered,
  };
}

describe('exportRecords', () => {
  it('pages through the feed up to the head it started with, one page buffered at a time', async () => {
    const feed = new FakeFeed();
    feed.add(5000);
    const client = slowClient();
    const pageSize = 100;
    const exporting = exportRecords(client.res, feed, { after: 0 }, toNdjsonLine, pageSize);
    // Records arriving during the export are left for the next one.
    feed.add(50);
    const result = await exporting;
    expect(result).toEqual({ records: 5000, until: 5000 });
    expect(client.headers['Audit-Head']).toBe('5000');
    const lines = client
      .received()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.map((l) => JSON.parse(l).globalPosition)).toEqual(
      feed.records.slice(0, 5000).map((r) => r.globalPosition),
    );
    expect(feed.queries.every((q) => q.until === 5000 && q.limit <= pageSize)).toBe(true);
    // Never more than about one page waiting in the response's buffer.
    const pageBytes = Buffer.byteLength(lines.slice(0, pageSize).join('\n'));
    expect(client.peakBuffered()).toBeLessThan(pageBytes + 16 * 1024 + 2 * pageSize);
  });

  it('stops after `limit` records', async () => {
    const feed = new FakeFeed();
    feed.add(1000);
    const client = slowClient();
    expect(await exportRecords(client.res, feed, { after: 10, limit: 250 }, toNdjsonLine, 100)).toEqual({
      records: 250,
      until: 1000,
    });
    const positions = client
      .received()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l).globalPosition);
    expect(positions).toEqual(Array.from({ length: 250 }, (_, i) => i + 11));
  });
});

describe('tail (server-sent events)', () => {
  it('sends heartbeats while idle, then the records, and stops on abort', async () => {
    const feed = new FakeFeed();
    const client = slowClient();
    const abort = new AbortController();
    const running = tail(client.res, feed, { after: 0, heartbeatMs: 30, signal: abort.signal, pageSize: 3 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.received()).toMatch(/^: heartbeat \S+\n\n: heartbeat/);
    feed.add(7);
    await new Promise((resolve) => setTimeout(resolve, 50));
    abort.abort();
    await running;
    const ids = [...client.received().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(client.received()).toContain('event: directoryAudit\ndata: {');
  });
});
