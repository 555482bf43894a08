import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { transformFile } from '@swc/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WrongExpectedVersionError, type RecordedEvent } from '../port.js';
import { eventStoreContract } from '../testing/contract.js';
import { newEvent } from '../testing/events.js';
import { SqliteEventStore } from './sqlite-event-store.js';

eventStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'event-store-contract-'));
  const store = new SqliteEventStore(join(dir, 'events.db'));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((done) => setTimeout(done, 5));
  }
}

describe('SqliteEventStore', () => {
  let dir: string;
  let file: string;
  const opened: SqliteEventStore[] = [];

  function open(): SqliteEventStore {
    const store = new SqliteEventStore(file);
    opened.push(store);
    return store;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'event-store-sqlite-'));
    file = join(dir, 'events.db');
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('runs in WAL mode with synchronous FULL and records its schema version', () => {
    const store = open();
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(store.db.prepare('SELECT version FROM event_store_schema_migrations').pluck().all()).toEqual([1]);
  });

  it('keeps the data across close and reopen, and continues the positions', async () => {
    const first = open();
    const event = newEvent('TenantCreated', { name: 'Contoso' }, { tenantId: 't-1' });
    await first.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]);
    await first.close();

    const second = open();
    expect(await second.readStream('tenant-1')).toEqual({
      version: 0,
      events: [{ ...event, streamId: 'tenant-1', streamVersion: 0, globalPosition: 1 }],
    });
    // The retry of an append acknowledged before a restart is still recognised.
    expect(
      await second.append([{ streamId: 'tenant-1', expectedVersion: 'no_stream', events: [event] }]),
    ).toEqual({
      lastGlobalPosition: 1,
      streams: [{ streamId: 'tenant-1', nextExpectedVersion: 0 }],
    });
    const result = await second.append([
      { streamId: 'tenant-1', expectedVersion: 0, events: [newEvent('DomainAdded')] },
    ]);
    expect(result.lastGlobalPosition).toBe(2);
    expect(second.db.prepare('SELECT COUNT(*) FROM event_store_schema_migrations').pluck().get()).toBe(1);
  });

  it('refuses a file whose schema is newer than the code', async () => {
    const store = open();
    store.db.prepare(`INSERT INTO event_store_schema_migrations VALUES (99, 'future', 'now')`).run();
    await store.close();
    expect(() => new SqliteEventStore(file)).toThrow(/newer/);
  });

  it('reads a stream from a version with an index seek: no scan of the stream, no sort', () => {
    // The statement the store really prepares, explained by SQLite.
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    const store = open();
    const sources = prepare.mock.calls.map(([source]) => source);
    prepare.mockRestore();
    const readFrom = sources.find((source) => source.includes('stream_version >= ?'));
    expect(readFrom).toBeDefined();
    const plan = store.db.prepare<[string, number], { detail: string }>(`EXPLAIN QUERY PLAN ${readFrom}`);
    expect(plan.all('s', 3).map((step) => step.detail)).toEqual([
      expect.stringMatching(/^SEARCH events USING INDEX \S+ \(stream_id=\? AND stream_version>\?\)$/),
    ]);
  });

  it('works on :memory:', async () => {
    const store = new SqliteEventStore(':memory:');
    opened.push(store);
    await store.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A')] }]);
    expect(await store.headPosition()).toBe(1);
  });

  describe('two instances on one file', () => {
    it("let exactly one 'no_stream' append win and keep positions gap-free", async () => {
      const a = open();
      const b = open();
      const attempts = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? a : b).append([
            { streamId: 'claim', expectedVersion: 'no_stream', events: [newEvent('Claimed', { index })] },
          ]),
        ),
      );
      expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(1);
      for (const attempt of attempts) {
        if (attempt.status === 'rejected') expect(attempt.reason).toBeInstanceOf(WrongExpectedVersionError);
      }

      await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          (index % 2 === 0 ? a : b).append([
            {
              streamId: `stream-${index % 3}`,
              expectedVersion: 'any',
              events: [newEvent('A'), newEvent('B')],
            },
          ]),
        ),
      );
      const all = await b.readAll(0, 1000);
      expect(all.map((event) => event.globalPosition)).toEqual(
        Array.from({ length: 81 }, (_, index) => index + 1),
      );
      for (const streamId of ['stream-0', 'stream-1', 'stream-2']) {
        const stream = await a.readStream(streamId);
        expect(stream.events.map((event) => event.streamVersion)).toEqual(
          stream.events.map((_, index) => index),
        );
      }
    });

    it('check expected versions against the file, not against what an instance saw before', async () => {
      const a = open();
      const b = open();
      await a.append([{ streamId: 's', expectedVersion: 'no_stream', events: [newEvent('A')] }]);
      await b.append([{ streamId: 's', expectedVersion: 0, events: [newEvent('B')] }]);
      await expect(
        a.append([{ streamId: 's', expectedVersion: 0, events: [newEvent('C')] }]),
      ).rejects.toMatchObject({ actual: 1 });
    });

    it('deliver to a subscriber on one instance what the other appends', async () => {
      const a = open();
      const b = open();
      await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('Before')] }]);
      const received: RecordedEvent[] = [];
      const sub = a.subscribe({ after: 0, handler: (event) => void received.push(event) });
      await waitUntil(() => received.length === 1, 'caught up to 1');
      await b.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('FromB')] }]);
      await a.append([{ streamId: 's', expectedVersion: 'any', events: [newEvent('FromA')] }]);
      await b.append([{ streamId: 't', expectedVersion: 'any', events: [newEvent('FromB2')] }]);
      await waitUntil(() => received.length === 4, 'caught up to 4');
      await sub.close();
      expect(received.map((event) => [event.globalPosition, event.type])).toEqual([
        [1, 'Before'],
        [2, 'FromB'],
        [3, 'FromA'],
        [4, 'FromB2'],
      ]);
    });
  });

  it('serialises appends from several processes on one file', async () => {
    const writers = 4;
    const rounds = 30;
    const script = await compileWriterScript(dir);
    const startAt = Date.now() + 1500;
    const watcher = open();
    const received: number[] = [];
    const sub = watcher.subscribe({ after: 0, handler: (event) => void received.push(event.globalPosition) });

    const outputs = await Promise.all(
      Array.from({ length: writers }, (_, id) =>
        promisify(execFile)(process.execPath, [script, file, String(id), String(startAt), String(rounds)]),
      ),
    );
    const reports = outputs.map(
      (output) => JSON.parse(output.stdout) as { claimed: boolean; counterRetries: number },
    );
    expect(reports.filter((report) => report.claimed)).toHaveLength(1);

    // One claim, two events per writer round, one counter increment per writer round.
    const total = 1 + writers * rounds * 3;
    const all = await watcher.readAll(0, 10_000);
    expect(all.map((event) => event.globalPosition)).toEqual(
      Array.from({ length: total }, (_, index) => index + 1),
    );
    const counter = await watcher.readStream('counter');
    expect(counter.events.map((event) => event.streamVersion)).toEqual(
      Array.from({ length: writers * rounds }, (_, index) => index),
    );
    await waitUntil(() => received.length === total, `subscriber caught up to ${total}`);
    await sub.close();
    expect(received).toEqual(Array.from({ length: total }, (_, index) => index + 1));
  });
});

/**
 * Builds a plain-JS copy of the adapter (Node 20 cannot run TypeScript) plus a writer script in
 * `dir`, so that real separate processes, each with its own connection, contend for the file.
 */
async function compileWriterScript(dir: string): Promise<string> {
  const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const outRoot = join(dir, 'compiled');
  const pending = [join(srcRoot, 'sqlite', 'sqlite-event-store.ts')];
  const done = new Set<string>();
  while (pending.length > 0) {
    const source = pending.pop();
    if (source === undefined || done.has(source)) continue;
    done.add(source);
    const text = await readFile(source, 'utf8');
    for (const match of text.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(resolve(dirname(source), `${match[1] ?? ''}.ts`));
    }
    const { code } = await transformFile(source, {
      swcrc: false,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    });
    const target = join(outRoot, relative(srcRoot, source)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
  }
  await writeFile(join(outRoot, 'package.json'), '{ "type": "module" }');
  // Lets the compiled copy resolve better-sqlite3 from the repository's node_modules.
  const nodeModules = dirname(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')));
  await symlink(nodeModules, join(outRoot, 'node_modules'), 'dir');

  const script = join(outRoot, 'writer.js');
  await writeFile(
    script,
    `
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteEventStore } from './sqlite/sqlite-event-store.js';
import { WrongExpectedVersionError } from './port.js';

const [file, id, startAt, rounds] = process.argv.slice(2);
const event = (type) => ({
  eventId: randomUUID(), type, schemaVersion: 1, data: { writer: id },
  occurredAt: new Date().toISOString(), correlationId: randomUUID(), actor: { appId: 'writer-' + id },
});
const store = new SqliteEventStore(file);
while (Date.now() < Number(startAt)) await sleep(2);

let claimed = false;
try {
  await store.append([{ streamId: 'claim', expectedVersion: 'no_stream', events: [event('Claimed')] }]);
  claimed = true;
} catch (error) {
  if (!(error instanceof WrongExpectedVersionError)) throw error;
}
let counterRetries = 0;
for (let round = 0; round < Number(rounds); round += 1) {
  await store.append([{ streamId: 'w' + id + '-' + round, expectedVersion: 'no_stream', events: [event('A'), event('B')] }]);
  // Read-modify-write under contention: only the expected version keeps the counter consistent.
  for (;;) {
    const { version } = await store.readStream('counter');
    try {
      await store.append([{ streamId: 'counter', expectedVersion: version, events: [event('Incremented')] }]);
      break;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      counterRetries += 1;
    }
  }
}
await store.close();
process.stdout.write(JSON.stringify({ claimed, counterRetries }));
`,
  );
  return script;
}
