// The syslog relay against a plain TCP server on loopback: octet-counted frames, checkpoint after
// each written page, a receiver that is down at start, and one that drops the connection.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toSyslog, type AuditRecord } from '#audit';
import { MemoryCheckpointStore } from '#projections';
import { sampleRecords } from '../../../../libs/audit/src/testing/samples.js';
import type { AuditFeed, AuditQuery } from './audit-feed.js';
import { AUDIT_SYSLOG, SyslogRelay } from './syslog-relay.js';
import { readOctetCounted } from './testing/audit-scenario.js';

class FakeFeed implements AuditFeed {
  readonly records: AuditRecord[] = [];
  private wake: Array<() => void> = [];

  add(count: number): void {
    const samples = sampleRecords();
    for (let i = 0; i < count; i++) {
      const position = this.records.length + 1;
      this.records.push({ ...samples[i % samples.length]!, id: `r-${position}`, globalPosition: position });
    }
    this.wake.splice(0).forEach((w) => w());
  }

  async after(query: AuditQuery): Promise<AuditRecord[]> {
    return this.records.filter((r) => r.globalPosition > query.after).slice(0, query.limit);
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

/** A receiver: keeps every byte of every connection. */
class Receiver {
  private server: net.Server | undefined;
  readonly connections: Buffer[][] = [];
  private readonly sockets = new Set<net.Socket>();

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      this.connections.push(chunks);
      this.sockets.add(socket);
      socket.on('data', (d) => chunks.push(d));
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Drops every connection and stops listening. */
  async stop(): Promise<void> {
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  messages(): string[] {
    return this.connections.flatMap((chunks) => readOctetCounted(Buffer.concat(chunks)));
  }
}

const freePort = async () => {
  const probe = new Receiver();
  const port = await probe.listen();
  await probe.stop();
  return port;
};

describe('SyslogRelay', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const relayTo = (feed: FakeFeed, checkpoints: MemoryCheckpointStore, port: number) => {
    const relay = new SyslogRelay(feed, checkpoints, {
      target: { host: '127.0.0.1', port },
      hostname: 'test-host',
      pageSize: 40,
      initialBackoffMs: 20,
      maxBackoffMs: 100,
    });
    cleanups.push(() => relay.stop());
    return relay;
  };

  it('sends every record as an octet-counted RFC 5424 frame and checkpoints after the write', async () => {
    const receiver = new Receiver();
    const port = await receiver.listen();
    cleanups.push(() => receiver.stop());
    const feed = new FakeFeed();
    feed.add(100);
    const checkpoints = new MemoryCheckpointStore();
    await checkpoints.set(AUDIT_SYSLOG, 10);
    const relay = relayTo(feed, checkpoints, port);
    relay.start();
    await relay.caughtUp(100, 5000);
    feed.add(5);
    await relay.caughtUp(105, 5000);
    expect(await checkpoints.get(AUDIT_SYSLOG)).toBe(105);
    await expect.poll(() => receiver.messages().length).toBe(95);
    const options = { hostname: 'test-host', procId: String(process.pid) };
    expect(receiver.messages()).toEqual(feed.records.slice(10).map((r) => toSyslog(r, options)));
    expect(receiver.connections).toHaveLength(1);
    expect(await relay.status()).toMatchObject({
      state: 'connected',
      position: 105,
      head: 105,
      lag: 0,
      sent: 95,
    });
  });

  it('waits for a receiver that is down, and reconnects when it drops the connection, skipping nothing', async () => {
    const port = await freePort();
    const feed = new FakeFeed();
    feed.add(30);
    const checkpoints = new MemoryCheckpointStore();
    const relay = relayTo(feed, checkpoints, port);
    relay.start();
    await expect.poll(async () => (await relay.status()).state).toBe('retrying');
    expect((await relay.status()).failures).toBeGreaterThan(0);
    expect(await checkpoints.get(AUDIT_SYSLOG)).toBe(0);

    const receiver = new Receiver();
    await receiver.listen(port);
    cleanups.push(() => receiver.stop());
    await relay.caughtUp(30, 5000);
    await expect.poll(() => receiver.messages().length).toBe(30);
    // The receiver goes away while the relay is idle, records arrive, the receiver comes back.
    await receiver.stop();
    await expect.poll(async () => (await relay.status()).state).toBe('retrying');
    feed.add(20);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await checkpoints.get(AUDIT_SYSLOG)).toBe(30);
    await receiver.listen(port);
    await relay.caughtUp(50, 5000);
    await expect.poll(() => receiver.messages().length).toBe(50);
    expect(receiver.messages().map((m) => /recordId="([^"]+)"/.exec(m)?.[1])).toEqual(
      feed.records.map((r) => r.id),
    );
    expect(await relay.status()).toMatchObject({ state: 'connected', failures: 0 });
    await relay.stop();
    expect((await relay.status()).state).toBe('stopped');
  });
});

describe('SYSLOG_TARGET and SYSLOG_FORMAT', () => {
  it('reads host:port (TCP) and the MSG format; unset is off', async () => {
    const { loadConfig, ConfigError } = await import('../config/config.js');
    expect(loadConfig({}).syslogTarget).toBeUndefined();
    expect(loadConfig({}).syslogFormat).toBe('cef');
    expect(loadConfig({ SYSLOG_TARGET: 'siem.example:6514', SYSLOG_FORMAT: 'json' })).toMatchObject({
      syslogTarget: { host: 'siem.example', port: 6514 },
      syslogFormat: 'json',
    });
    expect(loadConfig({ SYSLOG_TARGET: '[::1]:514' }).syslogTarget).toEqual({ host: '::1', port: 514 });
    for (const bad of ['siem.example', 'siem.example:0', 'siem.example:70000', 'a b:1']) {
      expect(() => loadConfig({ SYSLOG_TARGET: bad }), bad).toThrow(ConfigError);
    }
    expect(() => loadConfig({ SYSLOG_FORMAT: 'xml' })).toThrow(ConfigError);
  });
});
