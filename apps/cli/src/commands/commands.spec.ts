// The operator commands in-process, on SQLite files in a temporary directory, with a small read
// model of their own (so they don't depend on which projections the service registers).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventStore, type NewEvent, type RecordedEvent } from '#event-store';
import { ReadModelRunner, type ReadModelProjection, SqliteReadModelDatabase } from '#projections';
import { loadConfig } from '../../../account-service/src/config/config.js';
import { CliError } from '../errors.js';
import { digestProjections } from './digest.js';
import { exportEvents } from './export-events.js';
import { rebuildProjections } from './rebuild.js';
import { loadEvents, parseEventLine, readEventLog, replay } from './replay.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'als-cli-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  eventId: `00000000-0000-7000-8000-${String(++seq).padStart(12, '0')}`,
  type,
  schemaVersion: 1,
  data,
  occurredAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
  tenantId: 't1',
  correlationId: `c-${seq}`,
  actor: { appId: 'test', userId: 'u1' },
});

/** Counts events per type and remembers each stream's version: enough to see a lost or doubled event. */
const counting = (): ReadModelProjection => ({
  name: 'counting',
  version: 1,
  tables: ['types', 'streams'],
  async setup(tx, prefix, { int, text, tableOptions }) {
    await tx.exec(`CREATE TABLE ${prefix}types (type ${text} PRIMARY KEY, n ${int} NOT NULL)${tableOptions}`);
    await tx.exec(
      `CREATE TABLE ${prefix}streams (stream_id ${text} PRIMARY KEY, version ${int} NOT NULL)${tableOptions}`,
    );
  },
  async apply(e: RecordedEvent, tx, prefix) {
    await tx.run(
      `INSERT INTO ${prefix}types (type, n) VALUES (?, 1) ON CONFLICT(type) DO UPDATE SET n = ${prefix}types.n + 1`,
      [e.type],
    );
    const row = await tx.get<{ version: number }>(
      `SELECT version FROM ${prefix}streams WHERE stream_id = ?`,
      [e.streamId],
    );
    if ((row?.version ?? -1) + 1 !== e.streamVersion) throw new Error(`gap in ${e.streamId}`);
    await tx.run(
      `INSERT INTO ${prefix}streams (stream_id, version) VALUES (?, ?)
       ON CONFLICT(stream_id) DO UPDATE SET version = excluded.version`,
      [e.streamId, e.streamVersion],
    );
  },
});

/** A store and a runner on one data directory's files, opened the way the service opens them. */
async function open(file: string) {
  const store = new SqliteEventStore(file);
  const connection = new Database(`${file}.read-models`, { timeout: 5000 });
  connection.pragma('journal_mode = WAL');
  const db = new SqliteReadModelDatabase(connection);
  const runner = new ReadModelRunner(store, db, { batchSize: 50 });
  await runner.register(counting());
  return {
    store,
    runner,
    async close() {
      await runner.stop();
      await store.close();
      await db.close();
    },
  };
}

async function appendHistory(
  store: SqliteEventStore,
  streams: number,
  perStream: number,
  prefix = 's',
): Promise<void> {
  for (let s = 0; s < streams; s++) {
    for (let v = 0; v < perStream; v++) {
      await store.append([
        {
          streamId: `${prefix}-${s}`,
          expectedVersion: v === 0 ? 'no_stream' : v - 1,
          events: [event(`E${v % 3}`, { s, v })],
        },
      ]);
    }
  }
}

async function exported(store: SqliteEventStore): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportEvents(store, out, { pageSize: 7 });
  return Buffer.concat(chunks).toString('utf8');
}

describe('export-events', () => {
  it('writes one RecordedEvent per line, in global order, page by page, from --after', async () => {
    const side = await open(path.join(tempDir(), 'events.db'));
    await appendHistory(side.store, 3, 5);
    const lines = (await exported(side.store))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RecordedEvent);
    expect(lines.map((e) => e.globalPosition)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(lines[0]).toEqual((await side.store.readAll(0, 1))[0]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    expect(await exportEvents(side.store, out, { after: 12 })).toEqual({ events: 3, lastPosition: 15 });
    expect(text.trim().split('\n')).toHaveLength(3);
    await side.close();
  });
});

describe('replay', () => {
  const writeLog = (lines: readonly string[]): string => {
    const file = path.join(tempDir(), 'log.ndjson');
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  it('gives back the same log (ids, streams, versions, envelopes) and the same read models', async () => {
    const source = await open(path.join(tempDir(), 'events.db'));
    await appendHistory(source.store, 4, 6);
    const text = await exported(source.store);
    const file = writeLog(text.trim().split('\n'));
    const [original] = await rebuildProjections(source, ['counting']);

    const target = await open(path.join(tempDir(), 'events.db'));
    const loaded = await loadEvents(target.store, readEventLog(file), { batchSize: 5 });
    expect(loaded).toBe(24);
    expect(await exported(target.store)).toBe(text);
    const [rebuilt] = await rebuildProjections(target, ['counting']);
    expect(rebuilt?.digest).toBe(original?.digest);
    expect(rebuilt?.events).toBe(24);
    await source.close();
    await target.close();
  });

  it('re-assigns global positions gap-free in file order', async () => {
    const lines = [
      { ...event('A'), streamId: 'x', streamVersion: 0, globalPosition: 10 },
      { ...event('B'), streamId: 'y', streamVersion: 0, globalPosition: 20 },
      { ...event('C'), streamId: 'x', streamVersion: 1, globalPosition: 30 },
    ].map((e) => JSON.stringify(e));
    const target = await open(path.join(tempDir(), 'events.db'));
    await loadEvents(target.store, readEventLog(writeLog(lines)));
    const all = await target.store.readAll(0, 10);
    expect(all.map((e) => [e.globalPosition, e.streamId, e.streamVersion, e.type])).toEqual([
      [1, 'x', 0, 'A'],
      [2, 'y', 0, 'B'],
      [3, 'x', 1, 'C'],
    ]);
    await target.close();
  });

  it('names the line of a missing stream version, a duplicate id, bad JSON or a bad field', async () => {
    const a = { ...event('A'), streamId: 'x', streamVersion: 0 };
    const cases: Array<[string[], RegExp]> = [
      [
        [JSON.stringify(a), JSON.stringify({ ...event('B'), streamId: 'x', streamVersion: 2 })],
        /line 2: .*stream x/,
      ],
      [
        [
          JSON.stringify(a),
          JSON.stringify({ ...event('B'), streamId: 'y', streamVersion: 0 }),
          JSON.stringify({ ...event('C'), streamId: 'x', streamVersion: 3 }),
        ],
        /line 3: stream x is at version 0.*version 3/,
      ],
      [[JSON.stringify(a), '', JSON.stringify({ ...a, streamId: 'z' })], /line 3: duplicate eventId/],
      [[JSON.stringify(a), '{"eventId": '], /line 2: not JSON/],
      [[JSON.stringify({ ...a, streamVersion: -1 })], /line 1: streamVersion must be an integer >= 0/],
      [
        [JSON.stringify({ ...a, actor: { appId: 'x', role: 'admin' } })],
        /line 1: unknown field "actor.role"/,
      ],
      [[JSON.stringify({ ...a, tenantID: 'x' })], /line 1: unknown field "tenantID"/],
      [[JSON.stringify({ ...a, occurredAt: 'yesterday' })], /line 1: occurredAt "yesterday" is not a date/],
      [[JSON.stringify({ ...a, data: [] })], /line 1: data must be an object/],
    ];
    for (const [lines, message] of cases) {
      const target = await open(path.join(tempDir(), 'events.db'));
      await expect(loadEvents(target.store, readEventLog(writeLog(lines)), { batchSize: 2 })).rejects.toThrow(
        message,
      );
      await target.close();
    }
  });

  it('catches an id already stored in an earlier batch (which the store would take as a retry)', async () => {
    const a = { ...event('A'), streamId: 'x', streamVersion: 0 };
    const b = { ...event('B'), streamId: 'y', streamVersion: 0 };
    const file = writeLog([a, b, { ...a, streamId: 'z' }].map((e) => JSON.stringify(e)));
    const target = await open(path.join(tempDir(), 'events.db'));
    await expect(loadEvents(target.store, readEventLog(file), { batchSize: 2 })).rejects.toThrow(
      /line 3: .*duplicate eventId/,
    );
    await target.close();
  });

  it('refuses a data directory that is not empty, and a missing file', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'events.db'), '');
    const file = writeLog([JSON.stringify({ ...event('A'), streamId: 'x', streamVersion: 0 })]);
    await expect(replay(file, loadConfig({ DATA_DIR: dir }))).rejects.toThrow(/is not empty/);
    await expect(
      replay(path.join(dir, 'missing.ndjson'), loadConfig({ DATA_DIR: path.join(dir, 'new') })),
    ).rejects.toThrow(CliError);
  });

  it('parses an exported line back to the event it was', () => {
    const recorded = {
      ...event('A', { nested: { list: [1, 'two'] } }),
      causationId: 'k',
      streamId: 's',
      streamVersion: 4,
      globalPosition: 9,
    };
    const { globalPosition: _, ...rest } = recorded;
    expect(parseEventLine(JSON.stringify(recorded), 1)).toEqual(rest);
  });
});

describe('rebuild and digest', () => {
  it('rebuilds beside the live generation, reports events and a digest equal to the live one', async () => {
    const side = await open(path.join(tempDir(), 'events.db'));
    await appendHistory(side.store, 5, 10);
    side.runner.start();
    await side.runner.waitFor('counting', 50, 5000);
    const [live] = await digestProjections(side, ['counting']);
    expect(live).toMatchObject({ position: 50, generation: 1 });
    const updates: number[] = [];
    const [result] = await rebuildProjections(side, ['counting'], {
      progress: () => ({ update: (p) => updates.push(p), done: (p) => updates.push(-p) }),
    });
    expect(result).toMatchObject({ name: 'counting', events: 50, digest: live?.digest });
    expect(result?.eventsPerSecond).toBeGreaterThan(0);
    expect(updates.at(-1)).toBe(-50);
    const [after] = await digestProjections(side, ['counting']);
    expect(after).toMatchObject({ position: 50, generation: 2, digest: live?.digest });
    await side.close();
  });

  // What `npm run cli -- rebuild` does while the service runs: another process (here another
  // connection and runner on the same file) builds the next generation and switches to it.
  it('leaves a service running on the same file serving and following the log', async () => {
    const file = path.join(tempDir(), 'events.db');
    const service = await open(file);
    await appendHistory(service.store, 3, 10);
    service.runner.start();
    await service.runner.waitFor('counting', 30, 5000);

    const cli = await open(file);
    await rebuildProjections(cli, ['counting']);
    await cli.close();

    await appendHistory(service.store, 2, 5, 'later');
    await service.runner.waitFor('counting', 40, 5000);
    expect(service.runner.status()[0]).toMatchObject({ state: 'live', position: 40 });
    const log = path.join(tempDir(), 'log.ndjson');
    fs.writeFileSync(log, await exported(service.store));
    const fresh = await open(path.join(tempDir(), 'copy.db'));
    await loadEvents(fresh.store, readEventLog(log));
    const [rebuilt] = await rebuildProjections(fresh, ['counting']);
    expect(await service.runner.digest('counting')).toBe(rebuilt?.digest);
    await fresh.close();
    await service.close();
  });
});
